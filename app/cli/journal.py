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
    from app.cli.signin import open_desk
    from app.services.demo import fill_demo

    with closing(open_desk(args)) as desk:
        if desk.journal.count_cards() and not args.force:
            raise ValidationError(
                f"journal {desk.journal.path} already has cards; use a new --journal, "
                "or --force to add the demo shift anyway"
            )
        count = fill_demo(desk.journal, desk.rules, SystemClock().now())
        print(f"demo shift written to {desk.journal.path} ({count} cards)")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    """List the entries set aside at this desk, or retry or discard one."""
    from app.cli import print_json
    from app.cli.signin import open_desk
    from app.protocol.text import for_terminal
    from app.sync import quarantine

    with closing(open_desk(args, writes=args.action != "list")) as desk:
        if args.action == "retry":
            print(for_terminal(quarantine.retry(desk.journal, _one(args))))
            return 0
        if args.action == "discard":
            if not args.reason:
                raise ValidationError("discard needs --reason TEXT (it is kept as a journal "
                                      "entry every desk sees)", field="reason")
            quarantine.discard(desk.journal, _one(args), args.reason, desk.operator.name)
            print(f"{for_terminal(args.ids[0])} discarded")
            return 0
        items = desk.journal.set_aside(include_resolved=args.all)
        if args.json:
            print_json({"set_aside": [i.to_json() for i in items]})
            return 0
        if not items:
            print("nothing is set aside at this desk")
        for i in items:
            state = f"resolved: {i.resolution}" if i.resolved_at else "OPEN"
            print(for_terminal(f"{i.id}  {i.direction:<7} {i.kind or '?':<20} seq {i.seq or '-'}"
                               f"  {i.noted_at[:19]}  {state}"))
            print("    " + for_terminal(i.reason))
    return 0


def _one(args: argparse.Namespace) -> str:
    if len(args.ids) != 1:
        raise ValidationError(f"{args.action} takes one id (from dispatch-desk journal "
                              "quarantine)", field="id")
    return str(args.ids[0])


def register(sub: Any) -> None:
    journal = sub.add_parser("journal", help="check the journal")
    jsub = journal.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    verify = jsub.add_parser(
        "verify", help="rebuild the cards from the entries and report any difference"
    )
    verify.set_defaults(handler=cmd_verify)
    q = jsub.add_parser(
        "quarantine", help="entries set aside (refused by the store, or unreadable here)",
        description="Without an action: list what is set aside. `retry ID` sends a refused "
        "entry again or applies a pulled one this version now reads; `discard ID --reason "
        "TEXT` lets it go, with the reason written to the journal.")
    q.add_argument("action", nargs="?", choices=("list", "retry", "discard"), default="list")
    q.add_argument("ids", nargs="*", metavar="ID")
    q.add_argument("--reason", help="why it is discarded (discard)")
    q.add_argument("--all", action="store_true", help="include resolved ones")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=cmd_quarantine)

    demo = sub.add_parser("demo", help="fill a journal with a realistic demo shift")
    demo.add_argument("--force", action="store_true", help="add to a journal that has cards")
    demo.set_defaults(handler=cmd_demo)
