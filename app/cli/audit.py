"""`dispatch-desk audit [--since ...] [--area ...] [--json]`: the audit trail of the rules,
newest first (app/services/audit.py): account and token changes, sign-ins that worked and
that failed, roster imports, rules files found changed at start, integration keys, webhooks,
maintenance windows, desks the store enrolled or revoked, and discarded entries.
`dispatch-desk server audit` lists the same from the store's entries (app/cli/server.py).

Reading it needs no sign-in: the trail is there to be read by whoever asks "who changed the
rota the night a page went to the wrong person". Every line goes through `emit` (names and
reasons come from people and files).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.cli import emit, print_json
from app.services.cards.timeline import local_time

if TYPE_CHECKING:
    from app.services.audit import AuditItem

AREAS = ("account", "token", "sign-in", "roster", "config", "integration", "webhook",
         "maintenance", "desk", "sync")


def show(items: Sequence[AuditItem], tz: Any, since: datetime | None, as_json: bool) -> int:
    """Print the trail (the desk's and `server audit`'s alike)."""
    if as_json:
        print_json([i.to_json() for i in items])
        return 0
    if not items:
        emit("nothing in the audit trail" + (f" since {since.isoformat()}" if since else ""))
    for item in items:
        emit(f"{local_time(item.at, tz, seconds=True)}  {item.area:<11} {item.who:<20} "
             f"{item.what}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from app.cli.signin import open_desk
    from app.cli.tokens import parse_when
    from app.services.audit import audit_trail

    with closing(open_desk(args, writes=False)) as desk:
        tz = desk.rules.tz
        since = parse_when(args.since, desk.clock.now(), tz, "since", ahead=False) \
            if args.since else None
        items = audit_trail(desk.journal, since, args.area or ())
    return show(items, tz, since, args.json)


def add_options(parser: Any) -> None:
    parser.add_argument("--since", help="24h, 7d, a date (2026-12-01) or a time; default: "
                        "everything")
    parser.add_argument("--area", action="append", choices=AREAS,
                        help="only this area (repeat for several)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="who changed the accounts, roster, rules, "
                           "integrations and desks, and who signed in (newest first)")
    add_options(audit)
    audit.set_defaults(handler=cmd_audit)
