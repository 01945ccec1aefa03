"""`dispatch-desk enroll URL CODE`, `dispatch-desk sync now`, `dispatch-desk sync status`."""

from __future__ import annotations

import argparse
from contextlib import closing
from datetime import datetime
from typing import Any

from app.application import Desk
from app.bootstrap import build_desk, build_sync
from app.errors import DeskError, SyncError, ValidationError
from app.protocol.text import for_terminal
from app.services.cards.timeline import local_time
from app.services.escalation.runner import HEARTBEAT_STALE
from app.sync.client import StoreClient, StoreRefused
from app.sync.engine import SyncEngine
from app.sync.enroll import enroll_desk, enrolled, open_sync, store_url
from app.sync.protocol import PULL_WAIT_MAX_S, DeskSeen
from app.sync.status import SyncStatus, initial_status


def _desk(args: argparse.Namespace) -> Desk:
    from app.cli import settings_from

    return build_desk(settings_from(args))


def cmd_enroll(args: argparse.Namespace) -> int:
    with closing(_desk(args)) as desk:
        # No --name: the store keeps the name the admin gave `server add-desk`.
        result = enroll_desk(desk.journal, args.url, args.code, args.name)
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
        seen, refused = _desks(desk) if status.enrolled and status.online else (None, None)
        if refused:  # the store answers, but not this desk: revoked, or its secret is wrong
            status = status.with_(last_error=refused)
        now = desk.clock.now()
        if args.json:
            print_json({**status.to_json(), "set_aside_items": [i.to_json() for i in items],
                        "as_of": now.isoformat(),
                        "desks": None if seen is None else [_desk_json(d, now) for d in seen]})
        else:
            print(for_terminal(status.summary(desk.rules.tz)))
            for d in seen or ():
                print(for_terminal("  " + _desk_line(d, now, desk.rules.tz)))
            for item in items[:20]:  # every one stays listed until an operator resolves it
                print(for_terminal(f"  {item.direction} {item.id} ({item.kind or '?'}): "
                                   f"{item.reason}"))
            if len(items) > 20:
                print(f"  ... and {len(items) - 20} more: dispatch-desk journal quarantine")
    return 0


def _desks(desk: Desk) -> tuple[list[DeskSeen] | None, str | None]:
    """Every desk enrolled at the store with its last contact (None when it cannot be
    asked), and the store's refusal of this desk when that is why (a signed request: the
    health probe alone cannot tell a revoked desk)."""
    try:
        engine = build_sync(desk)
        if engine is None:
            return None, None
        try:
            return engine.client.desks(), None
        finally:
            engine.client.close()
    except StoreRefused as exc:
        return None, f"REFUSED: {exc}"
    except DeskError as exc:
        print(for_terminal(f"  other desks: not known ({exc})"))
        return None, None


def _stale(d: DeskSeen, now: datetime) -> bool:
    # The ladder takes over a desk silent this long: past it, its facts are not current.
    return d.last_seen is None or now - d.last_seen > HEARTBEAT_STALE


def _desk_json(d: DeskSeen, now: datetime) -> dict[str, Any]:
    return {"desk_id": d.desk_id, "name": d.name, "desk_code": d.desk_code,
            "last_seen": d.last_seen.isoformat() if d.last_seen else None,
            "stale": _stale(d, now)}


def _desk_line(d: DeskSeen, now: datetime, tz: Any) -> str:
    if d.last_seen is None:
        return f"desk {d.desk_code} ({d.name}): never seen: STALE"
    ago = int((now - d.last_seen).total_seconds() // 60)
    when = local_time(d.last_seen, tz, seconds=True)
    return (f"desk {d.desk_code} ({d.name}): last contact {when}"
            + (f", {ago} min ago: STALE (its cards and ladders may be out of date)"
               if _stale(d, now) else ""))


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
    enroll.add_argument("--name", help="the desk's name at the store (default: the name the "
                        "admin gave `server add-desk`)")
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
