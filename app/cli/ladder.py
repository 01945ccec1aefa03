"""`dispatch-desk ladder ...`: run the escalation ladder headless, check a ladder file, and
store the Twilio credentials in the OS keyring.

Alarms, errors and tier lines name people and numbers from files and the journal: they are
printed through `emit`, which escapes control and bidi characters."""

from __future__ import annotations

import argparse
import getpass
import re
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
    if roster.exists:
        # Every tier must be able to page someone: a role without a rotation in a group the
        # card can be routed to is an error here, never a silent skip at 03:00.
        problems = tier_problems(ladder, roster.roster, roster.routing)
        if problems:
            raise ConfigError(f"the ladder does not fit the roster {roster.path}: "
                              + "; ".join(problems), field="tier")
    emit(f"ladder {ladder.name!r}: ok")
    return 0


def _ask(prompt: str, pattern: re.Pattern[str], field: str, example: str) -> str:
    value = input(prompt).strip()
    if not pattern.match(value):
        raise ValidationError(f"{field} {value[:40]!r} is not valid; it looks like {example}. "
                              "Nothing was stored.", field=field)
    return value


def cmd_set_credentials(args: argparse.Namespace) -> int:
    from app.adapters.secrets import SecretStore
    from app.bootstrap import TWILIO_SECRETS

    sid = _ask("Twilio account SID: ", _SID, "account SID", "AC followed by 32 hex digits")
    token = getpass.getpass("Twilio auth token (not shown): ").strip()
    if len(token) < 16:
        raise ValidationError("the auth token is too short; copy it from the Twilio console. "
                              "Nothing was stored.", field="auth token")
    number = _ask("Sending number (E.164): ", _E164, "from-number", "+15551234567")
    store = SecretStore()
    for name, value in zip(TWILIO_SECRETS, (sid, token, number), strict=True):
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
    creds = lsub.add_parser("set-credentials",
                            help="store the Twilio account SID, auth token and number")
    creds.set_defaults(handler=cmd_set_credentials)
