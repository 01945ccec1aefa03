"""`dispatch-desk journal ...` and `dispatch-desk demo`: checking and filling a journal."""

from __future__ import annotations

import argparse
from contextlib import closing
from typing import Any

from app.bootstrap import build_desk
from app.clock import SystemClock
from app.errors import ValidationError


def cmd_verify(args: argparse.Namespace) -> int:
    from app.cli import settings_from

    with closing(build_desk(settings_from(args))) as desk:
        integrity = desk.journal.integrity_check()
        problems = desk.journal.verify()
        if integrity != "ok":
            print(f"integrity check: {integrity}")
        for line in problems:
            print(line)
        if integrity == "ok" and not problems:
            count = desk.journal.count_cards()
            print(f"journal {desk.journal.path}: ok ({count} cards match their entries)")
            return 0
    return 1


def cmd_demo(args: argparse.Namespace) -> int:
    from app.cli import settings_from
    from app.services.demo import fill_demo

    with closing(build_desk(settings_from(args))) as desk:
        if desk.journal.count_cards() and not args.force:
            raise ValidationError(
                f"journal {desk.journal.path} already has cards; use a new --journal, "
                "or --force to add the demo shift anyway"
            )
        count = fill_demo(desk.journal, desk.rules, SystemClock().now())
        print(f"demo shift written to {desk.journal.path} ({count} cards)")
    return 0


def register(sub: Any) -> None:
    journal = sub.add_parser("journal", help="check the journal")
    jsub = journal.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    verify = jsub.add_parser(
        "verify", help="rebuild the cards from the entries and report any difference"
    )
    verify.set_defaults(handler=cmd_verify)

    demo = sub.add_parser("demo", help="fill a journal with a realistic demo shift")
    demo.add_argument("--force", action="store_true", help="add to a journal that has cards")
    demo.set_defaults(handler=cmd_demo)
