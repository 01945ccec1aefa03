"""`dispatch-desk operator ...` and `dispatch-desk server operator ...`: operator accounts.

    dispatch-desk operator add LOGIN --name NAME --roles dispatcher[,shift_lead] [--as ADMIN]
    dispatch-desk operator roles LOGIN ROLE[,ROLE] [--reason TEXT] [--as ADMIN]
    dispatch-desk operator disable|enable LOGIN [--reason TEXT] [--as ADMIN]
    dispatch-desk operator reset LOGIN [--as ADMIN]          a new PIN
    dispatch-desk operator list [--json]
    dispatch-desk server operator add|roles|disable|enable|reset|list ... [--db URL]

`operator` changes the accounts in this desk's journal (a desk with no store; they reach the
store at the next sync like any entry, and the store judges them). Once the journal holds an
account, each change needs an admin who signs in with `--as LOGIN` and their PIN; the very
first account needs none and must be an admin. `server operator` writes straight into the
store (its admin is trusted, like `server integration add`); every desk pulls the accounts.

A PIN is never taken from the command line (it would sit in the shell's history and in `ps`):
it is asked twice with no echo, or read from standard input with `--pin-stdin`, one per line:
the admin's PIN first (when `--as` is needed), then the new PIN (add, reset).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from typing import Any

from app.cli import emit, print_json
from app.errors import PermissionDenied, ValidationError
from app.protocol.accounts import Account
from app.protocol.rights import RoleRights


class _Secrets:
    """PINs, from stdin (--pin-stdin, one per line) or asked with no echo."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin

    def _line(self, what: str) -> str:
        line = sys.stdin.readline()
        if not line:
            raise ValidationError(f"--pin-stdin: no line for {what} on standard input",
                                  field="pin")
        return line.rstrip("\r\n")

    def existing(self, login: str) -> str:
        return self._line(f"{login}'s PIN") if self.from_stdin else \
            getpass.getpass(f"PIN for {login}: ")

    def new(self, login: str) -> str:
        if self.from_stdin:
            return self._line(f"the new PIN of {login}")
        first = getpass.getpass(f"New PIN for {login}: ")
        if getpass.getpass("The same PIN again: ") != first:
            raise ValidationError("the two PINs differ; nothing was changed", field="pin")
        return first


def _split(text: str) -> list[str]:
    return [r.strip() for r in text.replace(";", ",").split(",") if r.strip()]


def _row(account: Account, table: RoleRights) -> dict[str, Any]:
    return {"id": account.id, "login": account.login, "name": account.name,
            "roles": list(account.roles), "enabled": account.enabled,
            "changes": len(account.history), "roles_label": table.labels(account.roles)}


def _print(accounts: dict[str, Account], table: RoleRights, as_json: bool) -> None:
    rows = [_row(a, table) for a in sorted(accounts.values(), key=lambda a: a.login)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        emit("no operator accounts yet; add the first admin with: dispatch-desk operator add "
             "LOGIN --name NAME --roles admin")
    for r in rows:
        state = "enabled " if r["enabled"] else "DISABLED"
        emit(f"{r['login']:<20} {state} {r['roles_label']:<36} {r['name']}")


# -- on this desk ------------------------------------------------------------------------

def cmd_operator(args: argparse.Namespace) -> int:
    from app.bootstrap import build_desk
    from app.cli import settings_from
    from app.roles import load_roles
    from app.services import operators as ops

    desk = build_desk(settings_from(args))
    try:
        service = ops.OperatorService(desk.journal, desk.clock, load_roles(args.roles_file))
        if args.operator_command == "list":
            _print(service.accounts(), service.table, args.json)
            return 0
        secrets = _Secrets(bool(args.pin_stdin))
        actor = _sign_in(service, args, secrets)
        command = _command(args, secrets, ops)
        account = service.handle(command, actor)
        emit(f"{args.operator_command}: {account.login} ({account.name}) is "
             f"{'enabled' if account.enabled else 'disabled'}, "
             f"{service.table.labels(account.roles)}; in this desk's journal (it reaches the "
             "store at the next sync)")
    finally:
        desk.close()
    return 0


def _sign_in(service: Any, args: argparse.Namespace, secrets: _Secrets) -> Account | None:
    if not service.any_accounts():
        if args.operator_command != "add":
            raise ValidationError("this desk has no operator accounts yet; add the first "
                                  "admin with: dispatch-desk operator add", field="login")
        return None  # the first account, which must be an admin (plan_add checks)
    login = args.as_login or getattr(args, "signin_login", None)
    if not login:
        raise PermissionDenied("this desk has operator accounts: sign in as an admin with "
                               "--as YOUR_LOGIN (you are asked for your PIN)")
    result = service.sign_in(login, secrets.existing(login))
    if not result.ok:
        raise PermissionDenied(result.refusal or "Not signed in")
    account: Account = result.account
    return account


def _command(args: argparse.Namespace, secrets: _Secrets, ops: Any) -> Any:
    action = args.operator_command
    if action == "add":
        return ops.AddOperator(args.login, args.name, _split(args.roles),
                               secrets.new(args.login), args.id, args.note)
    if action == "roles":
        return ops.ChangeRoles(args.login, _split(args.new_roles), args.reason)
    if action == "disable":
        return ops.DisableOperator(args.login, args.reason)
    if action == "enable":
        return ops.EnableOperator(args.login, args.reason)
    return ops.ResetPin(args.login, secrets.new(args.login), args.reason)


# -- on the store --------------------------------------------------------------------------

def cmd_server_operator(args: argparse.Namespace) -> int:
    from app.cli.server import _need_extras

    _need_extras()
    from app.services.operators.pins import PinHasher
    from app.store.operators import StoreOperators
    from app.store.storage import Store

    store = Store(args.db)
    try:
        admin = StoreOperators(store)
        action = args.operator_command
        if action == "list":
            _print(admin.accounts(), admin.table, args.json)
            return 0
        account = _server_change(admin, args, _Secrets(bool(args.pin_stdin)), PinHasher())
        emit(f"{action}: {account.login} ({account.name}) is "
             f"{'enabled' if account.enabled else 'disabled'}, "
             f"{admin.table.labels(account.roles)}; every desk has it after its next sync")
    finally:
        store.close()
    return 0


def _server_change(admin: Any, args: argparse.Namespace, secrets: _Secrets,
                   hasher: Any) -> Account:
    action = args.operator_command
    if action == "add":
        pin_hash = hasher.hash(secrets.new(args.login), args.login)
        account: Account = admin.add(login=args.login, name=args.name,
                                     roles=_split(args.roles), pin_hash=pin_hash, id=args.id,
                                     note=args.note)
    elif action == "roles":
        account = admin.set_roles(args.login, _split(args.new_roles), args.reason)
    elif action == "disable":
        account = admin.disable(args.login, args.reason)
    elif action == "enable":
        account = admin.enable(args.login, args.reason)
    else:
        from app.protocol.accounts import find

        login = find(admin.accounts(), args.login).login  # before asking for a PIN
        account = admin.reset_pin(args.login, hasher.hash(secrets.new(login), login),
                                  args.reason)
    return account


# -- the parsers ------------------------------------------------------------------------------

def _actions(group: argparse.ArgumentParser, *, server: bool) -> Iterator[argparse.ArgumentParser]:
    sub = group.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="a new account (asks for its PIN twice)")
    add.add_argument("login", help="what the person types to sign in, e.g. jdoe")
    add.add_argument("--name", required=True, help="the person's name as colleagues know it")
    add.add_argument("--roles", required=True,
                     help="comma-separated roles, e.g. dispatcher,shift_lead (see roles.toml)")
    add.add_argument("--id", default=None, help="the id entries carry (default: the login)")
    add.add_argument("--note", default="", help="for the admin")
    roles = sub.add_parser("roles", help="replace an account's roles")
    roles.add_argument("login")
    roles.add_argument("new_roles", metavar="ROLES", help="comma-separated, e.g. observer")
    disable = sub.add_parser("disable", help="refuse the account's sign-in and entries from now")
    disable.add_argument("login")
    enable = sub.add_parser("enable", help="let a disabled account sign in again")
    enable.add_argument("login")
    reset = sub.add_parser("reset", help="set a new PIN (asks twice)")
    reset.add_argument("login")
    listing = sub.add_parser("list", help="every account, its roles and state")
    listing.add_argument("--json", action="store_true")
    for parser in (roles, disable, enable, reset):
        parser.add_argument("--reason", default="", help="why (kept in the entry)")
    for parser in (add, roles, disable, enable, reset):
        # --pin-stdin is a global option (app/cli/signin.py): PINs one per line on stdin
        if not server:
            parser.add_argument("--as", dest="as_login", default=None, metavar="LOGIN",
                                help="the admin who signs in to make the change (or --login)")
    yield from (add, roles, disable, enable, reset, listing)


def register(sub: Any) -> None:
    group = sub.add_parser("operator", help="operator accounts in this desk's journal")
    for parser in [group, *_actions(group, server=False)]:
        parser.add_argument("--roles-file", default=argparse.SUPPRESS,
                            help="the roles file (default: $DISPATCH_DESK_ROLES or the shipped "
                            "one)")
    group.set_defaults(handler=cmd_operator, roles_file=None)


def register_server(ssub: Any, with_db: Callable[[Any], Any]) -> None:
    """`server operator ...` (called from app/cli/server.py)."""
    group = ssub.add_parser("operator", help="operator accounts on the store (every desk "
                            "pulls them)")
    for parser in [group, *_actions(group, server=True)]:
        parser.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    group.set_defaults(handler=with_db(cmd_server_operator))
