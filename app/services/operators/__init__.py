"""People at the desk: operator accounts, signing in, and the rights each command needs.

The shared half -- the account fold, the role -> rights table and what each entry needs -- is
in `app.protocol.accounts` and `app.protocol.rights`, because the store judges pushed entries
by the same rules (app/store/authorise.py); this package adds the desk's half: PIN hashes,
sign-in with lockout, the rights of each command and the refusal line, and the service that
writes an admin's changes.
"""

from app.protocol.accounts import Account, accounts, by_login, enabled_at, held_at, roles_at
from app.protocol.catalogue import OPERATORS_CARD, SIGNINS_CARD
from app.protocol.rights import MACHINE_ACTORS, Right, RoleRights, parse_roles
from app.protocol.tokens import TOKEN_PREFIX, TOKEN_RIGHTS, Token, hash_token
from app.services.operators.commands import (
    AddOperator,
    ChangeRoles,
    CreateToken,
    DisableOperator,
    EnableOperator,
    OperatorCommand,
    ResetPin,
    RevokeToken,
)
from app.services.operators.pins import PinHasher, check_pin
from app.services.operators.rights import authorise, refusal, required_for, required_rights
from app.services.operators.service import OperatorService
from app.services.operators.signin import (
    LOCK_AFTER,
    LOCK_FOR,
    SIGNIN_ACTOR,
    Attempts,
    SignIn,
    attempts,
    sign_in,
)
from app.services.operators.tokens import SECRET_PREFIX, token_actor

__all__ = [
    "LOCK_AFTER", "LOCK_FOR", "MACHINE_ACTORS", "OPERATORS_CARD", "SECRET_PREFIX",
    "SIGNINS_CARD", "SIGNIN_ACTOR", "TOKEN_PREFIX", "TOKEN_RIGHTS", "Account", "AddOperator",
    "Attempts", "ChangeRoles", "CreateToken", "DisableOperator", "EnableOperator",
    "OperatorCommand", "OperatorService", "PinHasher", "ResetPin", "RevokeToken", "Right",
    "RoleRights", "SignIn", "Token", "accounts", "attempts", "authorise", "by_login",
    "check_pin", "enabled_at", "hash_token", "held_at", "parse_roles", "refusal",
    "required_for", "required_rights", "roles_at", "sign_in", "token_actor",
]
