"""`dispatch-desk audit [--since ...] [--area ...] [--json]`: the audit trail of the rules,
newest first (app/services/audit.py): account and token changes, sign-ins that worked and
that failed, roster imports, rules files found changed at start, integrations, webhooks,
maintenance windows and discarded entries.

Reading it needs no sign-in: the trail is there to be read by whoever asks "who changed the
rota the night a page went to the wrong person". Every line goes through `emit` (names and
reasons come from people and files).
"""

from __future__ import annotations

import argparse
from contextlib import closing
from typing import Any

from app.cli import emit, print_json
from app.services.cards.timeline import local_time

AREAS = ("account", "token", "sign-in", "roster", "config", "integration", "webhook",
         "maintenance", "sync")


def cmd_audit(args: argparse.Namespace) -> int:
    from app.cli.signin import open_desk
    from app.cli.tokens import parse_when
    from app.services.audit import audit_trail

    with closing(open_desk(args, writes=False)) as desk:
        tz = desk.rules.tz
        since = parse_when(args.since, desk.clock.now(), tz, "since", ahead=False) \
            if args.since else None
        items = audit_trail(desk.journal, since, args.area or ())
    if args.json:
        print_json([i.to_json() for i in items])
        return 0
    if not items:
        emit("nothing in the audit trail" + (f" since {since.isoformat()}" if since else ""))
    for item in items:
        emit(f"{local_time(item.at, tz, seconds=True)}  {item.area:<11} {item.who:<20} "
             f"{item.what}")
    return 0


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="who changed the accounts, roster, rules and "
                           "integrations, and who signed in (newest first)")
    audit.add_argument("--since", help="24h, 7d, a date (2026-12-01) or a time; default: "
                       "everything")
    audit.add_argument("--area", action="append", choices=AREAS,
                       help="only this area (repeat for several)")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.set_defaults(handler=cmd_audit)
