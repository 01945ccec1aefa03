"""Who writes, on the command line: the one place a command's desk is built and signed in.

A desk with no operator accounts works as it always did: entries name the `operator`
setting (settings.toml). Once the desk knows an account, every command that writes signs
in first, and one that does not is refused before it does anything:

    a person   --login NAME          the PIN is asked with no echo (getpass), or read from
                                     the first line of standard input with --pin-stdin
    a script   DISPATCH_DESK_TOKEN   the token itself, in the environment, or
               --token-name NAME     the token kept in this machine's keyring (token:NAME)

A token is never taken from the command line: `ps` and the shell's history show argv to
anyone. `--operator` and `--role` are gone: they let a caller say who they were.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.errors import ConfigError, PermissionDenied, ValidationError
from app.protocol.accounts import Account
from app.protocol.rights import Right

if TYPE_CHECKING:
    from app.application import Desk

TOKEN_ENV = "DISPATCH_DESK_TOKEN"
HOW_TO_SIGN_IN = ("sign in with --login NAME (PIN prompted; --pin-stdin for a script that "
                  f"has one), or use a token (--token-name NAME, or ${TOKEN_ENV}; made with "
                  "dispatch-desk token create)")
GONE = {
    "--operator": "--operator is gone: sign in with --login NAME (PIN prompted) or use a "
                  "token: dispatch-desk token create --for NAME --rights ... (on a desk with no "
                  "operator accounts, the `operator` setting in settings.toml names the author)",
    "--role": "--role is gone: sign in with --login NAME (PIN prompted) or use a token: "
              "dispatch-desk token create --for NAME --rights ... (rights come from the "
              "account's roles, never from the caller)",
    # Refused by name: otherwise argparse would take it for --token-name, abbreviated.
    "--token": "--token: a token is never given on the command line (ps and the shell's "
               f"history show it to anyone); set ${TOKEN_ENV}, or keep it in the keyring and "
               "give --token-name NAME",
}


class _Gone(argparse.Action):
    """An option that no longer exists: one line saying what replaced it, exit status 2."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.pop("nargs", None)
        super().__init__(option_strings, dest, nargs="?", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        parser.exit(2, f"dispatch-desk: error: {GONE[self.option_strings[0]]}\n")


def add_options(parser: argparse.ArgumentParser, kw: dict[str, Any]) -> None:
    """The sign-in options, among the global ones (app/cli/__init__.py)."""
    # dest: not "login", which `operator add LOGIN` takes as its positional
    parser.add_argument("--login", dest="signin_login", metavar="NAME",
                        help="sign in as this operator (the PIN is asked); needed to write "
                        "once the desk has operator accounts", **kw)
    parser.add_argument("--pin-stdin", action="store_true",
                        help="read PINs from standard input, one per line (scripts)", **kw)
    parser.add_argument("--token-name", metavar="NAME", help="act as the token NAME kept in "
                        f"this machine's keyring (or set ${TOKEN_ENV})", **kw)
    for option in GONE:  # their dest stays (always None): settings_from_args reads it
        parser.add_argument(option, action=_Gone, help=argparse.SUPPRESS, **kw)


def read_pin(args: argparse.Namespace, login: str) -> str:
    """A PIN: the next line of standard input with --pin-stdin, else asked with no echo."""
    if getattr(args, "pin_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise ValidationError(f"--pin-stdin: no line for {login}'s PIN on standard input",
                                  field="pin")
        return line.rstrip("\r\n")
    return getpass.getpass(f"PIN for {login}: ")


def _token(args: argparse.Namespace) -> str | None:
    name = getattr(args, "token_name", None)
    if name:
        from app.adapters.secrets import SecretStore, token_secret_name

        secret = SecretStore().get(token_secret_name(name))
        if not secret:
            raise ConfigError(f"--token-name {name[:40]}: no token of that name in this "
                              "machine's keyring; an admin makes one here with: dispatch-desk "
                              f"token create --for {name[:40]} --rights ...", field="token")
        return secret
    return os.environ.get(TOKEN_ENV) or None


def sign_in(desk: Desk, args: argparse.Namespace) -> Account | None:
    """Sign `desk` in as the command line says; None on a desk without accounts."""
    login = getattr(args, "signin_login", None)
    token = _token(args)
    if not desk.needs_sign_in:
        if login or token:
            given = "--login" if login else ("--token-name" if args.token_name else TOKEN_ENV)
            raise ValidationError(f"{given}: this desk has no operator accounts, so nobody "
                                  "signs in; entries name the `operator` setting. An admin "
                                  "adds the first account with: dispatch-desk operator add",
                                  field="login")
        return None
    assert desk.operators is not None
    if login and token:
        raise ValidationError("give --login or a token, not both", field="login")
    if token:
        account = desk.operators.sign_in_token(token)
        desk.signed_in, desk.operator = account, desk.operator_for(account)
        return account
    if not login:
        raise PermissionDenied(f"Not done: this desk has operator accounts; {HOW_TO_SIGN_IN}")
    return desk.sign_in(login, read_pin(args, login))


def open_desk(args: argparse.Namespace, *, writes: bool = True,
              needs: Sequence[Right] = (), person: bool = False,
              settings: Any = None) -> Desk:
    """The desk for a command, built as every front end builds it (from `settings`, else the
    command line's); a command that `writes` is signed in first (and must hold `needs`, for
    writes that do not go through `Desk.handle`; `person`: a script's token may not)."""
    from app.bootstrap import build_desk
    from app.cli import settings_from

    desk = build_desk(settings if settings is not None else settings_from(args))
    if not writes:
        return desk
    try:
        sign_in(desk, args)
        if needs or person:
            require(desk, *needs, person=person)
    except BaseException:
        desk.close()
        raise
    return desk


def require(desk: Desk, *rights: Right, person: bool = False) -> None:
    """PermissionDenied in one line unless the signed-in operator holds `rights` (nothing to
    check on a desk without accounts)."""
    if not desk.needs_sign_in:
        return
    from app.services.operators.rights import demand

    assert desk.operators is not None
    account = desk.signed_in
    if person and account is not None and account.rights is not None:
        raise PermissionDenied(f"Not done: this is a person's decision and the {account.name} "
                               "is a script's; sign in with --login NAME")
    demand(account, frozenset(rights), desk.operators.table)
