"""`dispatch-desk enroll URL CODE`, `dispatch-desk sync now`, `dispatch-desk sync status`."""

from __future__ import annotations

import argparse
import platform
from contextlib import closing
from typing import Any

from app.application import Desk
from app.bootstrap import build_desk
from app.errors import SyncError, ValidationError
from app.protocol.text import for_terminal
from app.sync.client import StoreClient
from app.sync.engine import SyncEngine
from app.sync.enroll import enroll_desk, enrolled, open_sync, store_url
from app.sync.protocol import PULL_WAIT_MAX_S
from app.sync.status import SyncStatus, initial_status


def _desk(args: argparse.Namespace) -> Desk:
    from app.cli import settings_from

    return build_desk(settings_from(args))


def cmd_enroll(args: argparse.Namespace) -> int:
    with closing(_desk(args)) as desk:
        name = args.name or f"{platform.node() or 'desk'} ({desk.journal.desk_code})"
        result = enroll_desk(desk.journal, args.url, args.code, name)
        print(
            f"desk {result.desk_id} (card numbers {desk.journal.desk_code}-…) enrolled with "
            f"store {result.store_id}; the secret is in the OS keyring"
        )
    return 0


def _engine(desk: Desk) -> SyncEngine:
    return open_sync(desk.journal, desk.clock, desk.settings.store_url)


def cmd_now(args: argparse.Namespace) -> int:
    if not 0 <= args.wait <= PULL_WAIT_MAX_S:
        raise ValidationError(f"--wait: use 0 to {PULL_WAIT_MAX_S:.0f} seconds", field="wait")
    with closing(_desk(args)) as desk:
        engine = _engine(desk)
        try:
            result = engine.round(wait=args.wait)
        finally:
            engine.client.close()
        print(f"sent {result.pushed}, received {result.pulled} new "
              f"({len(result.cards)} cards); {engine.status.summary(desk.rules.tz)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from app.cli import print_json

    with closing(_desk(args)) as desk:
        status = initial_status(desk.journal, enrolled=enrolled(desk.journal))
        if status.enrolled:
            status = _probe(desk, status)
        items = desk.journal.set_aside()
        if args.json:
            print_json({**status.to_json(), "set_aside_items": [i.to_json() for i in items]})
        else:
            print(for_terminal(status.summary(desk.rules.tz)))
            for item in items[:20]:  # every one stays listed until an operator resolves it
                print(for_terminal(f"  {item.direction} {item.id} ({item.kind or '?'}): "
                                   f"{item.reason}"))
            if len(items) > 20:
                print(f"  ... and {len(items) - 20} more: dispatch-desk journal quarantine")
    return 0


def _probe(desk: Desk, status: SyncStatus) -> SyncStatus:
    """Ask the store's health (short timeouts) for online/offline and the clock offset."""
    try:
        client = StoreClient(store_url(desk.journal, desk.settings.store_url), timeout=(2.0, 3.0))
    except SyncError as exc:
        return status.with_(last_error=str(exc))
    now = desk.clock.now()
    try:
        health = client.health()
    except SyncError as exc:
        return status.with_(online=False, since=now, last_error=str(exc))
    finally:
        client.close()
    offset = (health.time - now).total_seconds()
    return status.with_(online=True, since=now, clock_offset_s=round(offset, 3))


def register(sub: Any) -> None:
    enroll = sub.add_parser("enroll", help="enrol this desk with a central store")
    enroll.add_argument("url", help="the store's address, e.g. https://store.example:8770")
    enroll.add_argument("code", help="the one-time code from `dispatch-desk server add-desk`")
    enroll.add_argument("--name", help="the desk's name at the store (default: host and code)")
    enroll.set_defaults(handler=cmd_enroll)

    sync = sub.add_parser("sync", help="sync with the central store")
    ssub = sync.add_subparsers(dest="sync_command", metavar="ACTION", required=True)
    now = ssub.add_parser("now", help="send what is waiting and fetch what others wrote")
    now.add_argument("--wait", type=float, default=0.0,
                     help="seconds to wait for news from the store (long-poll, max 30)")
    now.set_defaults(handler=cmd_now)
    status = ssub.add_parser("status", help="the link to the store, entries waiting, last sync")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=cmd_status)
