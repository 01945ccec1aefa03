"""The entry kinds about people and the rules, beside the cards' (app/protocol/catalogue.py
merges them and re-exports every name): operator accounts and tokens, the audit trail of the
rules, and the store's own facts about desks. Each lives under a pseudo card of its own.
"""

from __future__ import annotations

import re
from typing import Any

from app.errors import ValidationError
from app.protocol.checks import (
    Obj,
    flag,
    happened,
    integer,
    list_of,
    moment,
    nullable,
    one_of,
    text,
)
from app.protocol.checks import (
    line as line,
)

_who = line(120, empty=False)

#: The audit trail of the rules (app/services/audit.py): a roster import and a changed
#: configuration file (policies, ladder, shifts, intake rules, roles, roster) found when the
#: desk starts, under the pseudo card AUDIT_CARD. Digests are SHA-256 of the file's bytes.
AUDIT_CARD = "audit"
_digest = line(64, empty=False)
_count = integer(0, 1_000_000)
AUDIT_PAYLOADS: dict[str, Obj] = {
    "roster.imported": Obj(
        {"by": _who, "digest": _digest, "contacts": _count, "rotations": _count,
         "overrides": _count},
        {"source": line(500), "groups": _count, "routes": _count, "summary": text(2000),
         "at": happened}),
    "config.changed": Obj(
        {"setting": line(40, empty=False), "file": line(500, empty=False), "digest": _digest},
        {"previous_digest": nullable(_digest), "by": line(120), "at": happened}),
}
AUDIT_KINDS = frozenset(AUDIT_PAYLOADS)

#: The store's own facts about desks (app/store/desk_facts.py): a desk enrolled (again, with
#: a code bound to it) or revoked, written by the store as `store-<store_id>` under the pseudo
#: card DESKS_CARD and pulled by every desk, so `dispatch-desk audit` lists them anywhere.
#: Only entries whose desk id is the store's count (no desk may enrol with such an id).
DESKS_CARD = "desks"
_desk_id = line(40, empty=False)
STORE_PAYLOADS: dict[str, Obj] = {
    "store.desk_enrolled": Obj(
        {"desk_id": _desk_id, "name": line(120, empty=False), "desk_code": line(3, empty=False)},
        {"again": flag, "at": happened}),
    "store.desk_revoked": Obj(
        {"desk_id": _desk_id},
        {"name": line(120), "desk_code": line(3), "reason": line(300), "by": line(120),
         "at": happened}),
}
STORE_KINDS = frozenset(STORE_PAYLOADS)


#: Operator accounts (app/protocol/accounts.py, app/services/operators): who may sign in at a
#: desk, with which roles, and their history, under the pseudo card OPERATORS_CARD; sign-in
#: facts under SIGNINS_CARD (the store reads every account entry on each push, and sign-ins
#: grow without end). A PIN is only ever an Argon2id hash in an entry.
OPERATORS_CARD = "operators"
SIGNINS_CARD = "signins"
#: An account id or login: lower case, so "JDoe" and "jdoe" are one person.
OPERATOR_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
ROLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ARGON2ID = re.compile(r"\$argon2id\$v=19\$m=\d{1,8},t=\d{1,4},p=\d{1,3}\$[A-Za-z0-9+/]{8,128}"
                       r"\$[A-Za-z0-9+/]{16,256}")


def _matching(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any, path: str, _: Any) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValidationError(f"{path} must be {what}", field=path.rsplit(".", 1)[-1])

    return check


_op_id = _matching(OPERATOR_ID, "1 to 40 lower-case letters, digits, '.', '_' or '-'")
_pin_hash = _matching(_ARGON2ID, "an Argon2id hash ($argon2id$v=19$...), never a PIN")
_roles = list_of(_matching(ROLE_NAME, "a role name such as shift_lead"), 20)
OPERATOR_PAYLOADS: dict[str, Obj] = {
    "operator.added": Obj({"id": _op_id, "login": _op_id, "name": line(120, empty=False),
                           "roles": _roles, "pin_hash": _pin_hash}, {"note": line(300)}),
    "operator.roles": Obj({"id": _op_id, "roles": _roles}, {"reason": line(300)}),
    "operator.disabled": Obj({"id": _op_id}, {"reason": line(300)}),
    "operator.enabled": Obj({"id": _op_id}, {"reason": line(300)}),
    "operator.pin_set": Obj({"id": _op_id, "pin_hash": _pin_hash}, {"reason": line(300)}),
    # what was typed as the login (it may be no account's), and why it failed
    "operator.signin_failed": Obj({"login": line(80, empty=False)},
                                  {"at": happened,
                                   "reason": one_of("wrong_pin", "unknown_login", "disabled")}),
    "operator.signed_in": Obj({"id": _op_id}, {"at": happened}),
    # A token for a script or a monitoring hook (app/protocol/tokens.py): it writes as the
    # actor TOKEN_PREFIX + name with exactly these rights; only its SHA-256 is in the entry.
    "operator.token_created": Obj(
        {"name": _op_id, "rights": list_of(_matching(ROLE_NAME, "a right such as "
                                                     "write_cards"), 20),
         "token_hash": _matching(re.compile(r"sha256:[0-9a-f]{64}"),
                                 "sha256: and 64 hex digits (the token's hash, never the "
                                 "token)")},
        {"expires_at": moment, "note": line(300)}),
    "operator.token_revoked": Obj({"name": _op_id}, {"reason": line(300)}),
}
SIGNIN_KINDS = frozenset({"operator.signin_failed", "operator.signed_in"})
TOKEN_KINDS = frozenset({"operator.token_created", "operator.token_revoked"})
#: Who an entry written with a token names: "token:" and the token's name.
TOKEN_PREFIX = "token:"
OPERATOR_KINDS = frozenset(OPERATOR_PAYLOADS)


