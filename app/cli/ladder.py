"""`dispatch-desk ladder ...`: run the escalation ladder headless, check a ladder file, and
store the Twilio credentials in the OS keyring.

Alarms, errors and tier lines name people and numbers from files and the journal: they are
printed through `emit`, which escapes control and bidi characters."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from pathlib import Path
from typing import Any

from app.cli import emit
from app.cli.run import add_runtime_options
from app.errors import ConfigError, ValidationError

_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def cmd_run(args: argparse.Namespace) -> int:
    """The ladder headless: `dispatch-desk run` without sync (the journal watch included, so
    a card another process writes is paged at once)."""
    from app.cli.run import run_headless

    return run_headless(args, sync=False)


def cmd_check(args: argparse.Namespace) -> int:
    from app.adapters.roster_store import DeskRoster
    from app.cli import settings_from
    from app.loaders import load_ladder, load_rules
    from app.services.escalation.recipients import tier_problems

    settings = settings_from(args)
    ladder = load_ladder(args.file or settings.ladder)  # the ladder `run` would use
    ladder.check_against(load_rules(settings.policies).notify)
    for tier in ladder.tiers:
        repeat = f" x{tier.repeat}" if tier.repeat > 1 else ""
        emit(f"tier {tier.number}: {tier.who}{repeat}, {' + '.join(tier.channels)}, "
             f"wait {int(tier.wait.total_seconds())} s")
    roster = DeskRoster.for_journal(settings.journal_path)
    if not roster.exists:
        emit(f"no roster at {roster.path}: the tiers were not checked against the people; "
             "import one with `dispatch-desk roster import FILE`")
    else:
        # Every tier must be able to page someone: a role without a rotation in a group the
        # card can be routed to is an error here, never a silent skip at 03:00.
        problems = tier_problems(ladder, roster.roster, roster.routing)
        if problems:
            raise ConfigError(f"the ladder does not fit the roster {roster.path}: "
                              + "; ".join(problems), field="tier")
    emit(f"ladder {ladder.name!r}: ok")
    return 0


def cmd_control(args: argparse.Namespace) -> int:
    """`ladder escalate|hold|resume NUMBER`: the dispatcher's say over a running ladder,
    through the same commands as the window's paging section. A running desk (the window or
    `dispatch-desk run`) sees the entry at its next tick and acts on it."""
    from app.cli.signin import open_desk
    from app.services.escalation.commands import (
        EscalateNow,
        HoldLadder,
        LadderCommand,
        ResumeLadder,
    )
    from app.services.escalation.paging_view import ladder_summary

    desk = open_desk(args)  # signed in once the desk has accounts
    try:
        card = desk.cards.get(args.number)
        reason, action = args.reason or "", args.ladder_command
        command: LadderCommand = (
            EscalateNow(card.id, reason) if action == "escalate"
            else HoldLadder(card.id, reason) if action == "hold"
            else ResumeLadder(card.id, reason))
        state = desk.handle(command)
        done = {"escalate": "escalated", "hold": "held", "resume": "resumed"}[action]
        where, nxt = ladder_summary(state, desk.ladder, desk.clock.now(), desk.rules.tz)
        emit(f"{card.number}: ladder {done}; {where}" + (f"; next: {nxt}" if nxt else ""))
    finally:
        desk.close()
    return 0


def _check(value: str, pattern: re.Pattern[str], field: str, example: str) -> str:
    if not pattern.match(value):
        raise ValidationError(f"{field} {value[:40]!r} is not valid; it looks like {example}. "
                              "Nothing was stored.", field=field)
    return value


def _ask(prompt: str, pattern: re.Pattern[str], field: str, example: str) -> str:
    return _check(input(prompt).strip(), pattern, field, example)


#: The environment variables `--from-env` reads (Twilio's own names for the first two).
CREDENTIAL_ENV = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")


def _credentials(args: argparse.Namespace) -> tuple[str, str, str]:
    """(SID, token, number) from stdin (three lines), the environment, or the prompts --
    never from the command line, where every process on the machine could read them."""
    if args.from_stdin:
        lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
        if len(lines) != 3:
            raise ValidationError("--from-stdin reads three lines: the account SID, the auth "
                                  f"token and the sending number; got {len(lines)}. Nothing "
                                  "was stored.", field="stdin")
        sid, token, number = lines
    elif args.from_env:
        missing = [name for name in CREDENTIAL_ENV if not os.environ.get(name, "").strip()]
        if missing:
            raise ValidationError(f"--from-env: {', '.join(missing)} not set. Nothing was "
                                  "stored.", field=missing[0])
        sid, token, number = (os.environ[name].strip() for name in CREDENTIAL_ENV)
    else:
        sid = _ask("Twilio account SID: ", _SID, "account SID", "AC followed by 32 hex digits")
        token = getpass.getpass("Twilio auth token (not shown): ").strip()
        number = input("Sending number (E.164): ").strip()
    _check(sid, _SID, "account SID", "AC followed by 32 hex digits")
    if len(token) < 16:
        raise ValidationError("the auth token is too short; copy it from the Twilio console. "
                              "Nothing was stored.", field="auth token")
    _check(number, _E164, "from-number", "+15551234567")
    return sid, token, number


def cmd_set_credentials(args: argparse.Namespace) -> int:
    from app.adapters.secrets import SecretStore
    from app.bootstrap import TWILIO_SECRETS

    values = _credentials(args)
    store = SecretStore()
    for name, value in zip(TWILIO_SECRETS, values, strict=True):
        store.set(name, value)
    emit(f"Twilio credentials stored in the OS keyring (service {store.service!r})")
    return 0


def register(sub: Any) -> None:
    ladder = sub.add_parser("ladder", help="the escalation ladder and paging")
    lsub = ladder.add_subparsers(dest="ladder_command", metavar="ACTION", required=True)
    run = lsub.add_parser("run", help="run the ladder headless (pages by Twilio)")
    add_runtime_options(run)
    run.set_defaults(handler=cmd_run)
    check = lsub.add_parser("check", help="check a ladder file against the rules and roster")
    check.add_argument("file", type=Path, nargs="?",
                       help="ladder TOML (default: the `ladder` setting, else the shipped one)")
    check.set_defaults(handler=cmd_check)
    for name, what, needs in (
            ("escalate", "page the card's next tier now (before the first: start now)", False),
            ("hold", "hold the card's ladder: no new tier fires until resumed", True),
            ("resume", "resume a held ladder; a tier whose time passed fires at once", False)):
        control = lsub.add_parser(name, help=what)
        control.add_argument("number", metavar="NUMBER", help="the card, e.g. B-0042")
        control.add_argument("--reason", required=needs,
                             help="why (required to hold); it goes on the card's timeline")
        control.set_defaults(handler=cmd_control)
    creds = lsub.add_parser("set-credentials",
                            help="store the Twilio account SID, auth token and number")
    source = creds.add_mutually_exclusive_group()
    source.add_argument("--from-stdin", action="store_true",
                        help="read three lines (SID, token, number) from stdin, for scripts")
    source.add_argument("--from-env", action="store_true",
                        help="read TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER")
    creds.set_defaults(handler=cmd_set_credentials)
