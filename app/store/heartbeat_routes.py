"""Heartbeat monitors at the store: ``POST /v1/intake/heartbeat[/{key}]``, and the check that
turns a missed beat into an intake item (app/runtime/heartbeats.py says what a monitor is).

    POST /v1/intake/heartbeat        Authorization: Bearer KEY
    POST /v1/intake/heartbeat/{key}  for a cron line: curl -fsS -X POST URL/KEY

**The store raises the misses of the monitors that beat here** (a desk's own door raises those
that beat there, so each miss is raised on one side only). Every store process runs the check
(`StoreBeats.run`, every CHECK_EVERY_S, on the store's injected clock), and each miss is
raised exactly once, however many processes look: the check *claims* the miss with a
conditional UPDATE of the monitor's row (``raised_for`` set to the beat it follows, only where
it is not yet) in the same transaction that stores the item, so a second process, or a crash
before the commit, leaves one item or none to raise again. The item is written the way the
monitoring doors write theirs (`intake_store.plan`: a miss while an earlier miss of the same
monitor is still open in the tray is counted on that item). The next beat adds an
``intake.repeated`` with status resolved ("alive again") to the item, with an id made from
the miss, in the beat's own transaction.

The key checks are those of the monitoring doors (`intake_routes.IntakeDoor`: lookup, refusal
counts, the failed-key brake). A beat's body, if any, is never read (`limits.BodyCap` caps it).
This router is included before the doors' ``/v1/intake/{kind}`` route, which would take the
path otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from starlette.concurrency import run_in_threadpool

from app.models.entry import SCHEMA_VERSION, Entry
from app.protocol.intake_formats import Integration, occurrence_key
from app.runtime.heartbeats import (
    CHECK_EVERY_S,
    HEARTBEAT,
    Beats,
    Monitor,
    alive_alert,
    alive_entry_id,
    missed_alert,
    monitor_of,
)
from app.store import intake_store, replies
from app.store.database import reading, writing
from app.store.intake_routes import OPERATOR, PREFIX, IntakeDoor
from app.store.limits import AuthLimiter
from app.store.notify import announce
from app.store.push import store_batch
from app.store.storage import Store
from app.store.tables import heartbeats, intake_keys, intake_seen
from app.sync.protocol import ERR_INVALID, ERR_UNAUTHORIZED, format_time, parse_time

PATH = PREFIX + HEARTBEAT

log = logging.getLogger(__name__)


def _time(value: str | None) -> datetime | None:
    return parse_time(value, "last_beat") if value else None


class StoreBeats:
    """The blocking half (run on the thread pool): beats in, misses out."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.door = IntakeDoor(store)  # its keys, refusal counts, author and stamps

    def monitors(self, conn: Connection) -> dict[str, Monitor]:
        """The live heartbeat integrations the store knows (`intake_keys`)."""
        found: dict[str, Monitor] = {}
        for row in conn.execute(select(intake_keys.c.settings).where(
                intake_keys.c.kind == HEARTBEAT, intake_keys.c.state == intake_store.LIVE)):
            monitor = monitor_of(Integration.from_payload(json.loads(row.settings)))
            if monitor is not None:
                found[monitor.name] = monitor
        return found

    def _store(self, conn: Connection, made: list[Entry], now: datetime) -> int:
        """Entries the store makes, in the caller's transaction (as `IntakeDoor.record`)."""
        if not made:
            return 0
        outcome = store_batch(conn, list(made), self.door.author, now)
        if outcome.stored and self.store.shared:
            announce(conn, outcome.head)
        return outcome.stored

    def beat(self, monitor: Monitor) -> bool:
        """Record a beat; True when it ended a miss (an alive-again was stored)."""
        store, now = self.store, self.store.clock.now()
        stored = 0
        with writing(store.engine, store.url) as conn:
            row = conn.execute(select(heartbeats).where(heartbeats.c.name == monitor.name)
                               .with_for_update()).first()
            beats = Beats(_time(row.last_beat), _time(row.raised_for)) if row else Beats()
            alive = beats.missing and row is not None and row.item_id is not None
            if alive and beats.raised is not None and row is not None:
                alert = alive_alert(monitor, beats.raised, now)
                stored = self._store(conn, [Entry(
                    alive_entry_id(monitor.name, beats.raised), row.item_id, "intake.repeated",
                    alert.repeated_payload(), self.door.hlc.tick(), self.door.author.desk_id,
                    OPERATOR, SCHEMA_VERSION)], now)
            values = {"name": monitor.name, "last_beat": format_time(now), "raised_for": None,
                      "item_id": None}
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(heartbeats).values(values).on_conflict_do_update(
                index_elements=["name"], set_={k: v for k, v in values.items() if k != "name"}))
        if stored:
            store.wakeup.wake()
        return alive

    def check(self) -> list[str]:
        """Raise every miss that is due; the monitors raised by this call."""
        store, now = self.store, self.store.clock.now()
        with reading(store.engine, store.url) as conn:
            monitors = self.monitors(conn)
            rows = conn.execute(select(heartbeats)).all()
        raised = []
        for row in rows:
            monitor = monitors.get(row.name)
            last = _time(row.last_beat)
            if monitor is None or last is None or \
                    not Beats(last, _time(row.raised_for)).overdue(monitor, now):
                continue
            if self._raise(monitor, row.last_beat, last, now):
                raised.append(monitor.name)
        return raised

    def _raise(self, monitor: Monitor, last_text: str, last: datetime, now: datetime) -> bool:
        store = self.store
        with writing(store.engine, store.url) as conn:
            claimed = conn.execute(update(heartbeats).where(
                heartbeats.c.name == monitor.name, heartbeats.c.last_beat == last_text,
                or_(heartbeats.c.raised_for.is_(None), heartbeats.c.raised_for != last_text),
            ).values(raised_for=last_text)).rowcount
            if claimed != 1:
                return False  # another process raised it, or a beat came in the meantime
            alert = missed_alert(monitor, last, now)
            made, summary = intake_store.plan(conn, [alert], now, self.door.hlc.tick,
                                              self.door.author.desk_id, OPERATOR)
            item = (summary.items or [""])[0] or conn.execute(
                select(intake_seen.c.item_id).where(
                    intake_seen.c.occurrence == occurrence_key(alert))).scalar()
            conn.execute(update(heartbeats).where(heartbeats.c.name == monitor.name)
                         .values(item_id=item))
            stored = self._store(conn, made, now)
        if stored:
            store.wakeup.wake()
        log.info("heartbeat %s missed (last beat %s)", monitor.name, last_text)
        return True

    async def run(self, every_s: float = CHECK_EVERY_S) -> None:
        """The check, every `every_s` seconds, until cancelled (the app's lifespan)."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await run_in_threadpool(self.check)
            except Exception:  # a database hiccup must not end the loop; it is logged
                log.exception("heartbeat check failed")


def _bearer(header: str | None) -> str:
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def make_router(beats: StoreBeats) -> APIRouter:
    router = APIRouter()
    door = beats.door

    async def beat(request: Request, key: str) -> JSONResponse:
        limiter: AuthLimiter = request.app.state.auth_limiter
        address = request.client.host if request.client else None
        credential = f"Bearer {key}"
        limiter.check(address, credential)  # a braked guesser costs no query (429)
        record = await run_in_threadpool(door.lookup, key) if key else None
        if record is None:
            if key:
                limiter.failed(address, credential)
            await run_in_threadpool(door.refused, "", "unknown_key" if key else "no_key")
            response = replies.error(401, ERR_UNAUTHORIZED, (
                "this integration key is not known here; check the key" if key else
                f"no integration key: send Authorization: Bearer KEY or post to {PATH}/KEY"))
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        integration = record.integration
        if record.state != intake_store.LIVE:
            limiter.failed(address, credential)
            await run_in_threadpool(door.refused, integration.name, record.state)
            return replies.error(403, "key_revoked", f"the key of integration "
                                 f"{integration.name!r} is {record.state}; give the sender "
                                 "its current key")
        if integration.kind != HEARTBEAT:
            await run_in_threadpool(door.refused, integration.name, "wrong_kind")
            return replies.error(403, "wrong_kind", f"kind: the key of {integration.name!r} "
                                 f"is for the {integration.kind} door; post to "
                                 f"{PREFIX}{integration.kind}", field="kind")
        limiter.succeeded(credential)
        monitor = monitor_of(integration)
        if monitor is None:
            return replies.error(422, ERR_INVALID, f"every_min: integration "
                                 f"{integration.name!r} has no interval; add it again with "
                                 "--every-min", field="every_min")
        alive = await run_in_threadpool(beats.beat, monitor)
        return replies.AsciiJSON({"beat": integration.name, "alive_again": alive,
                                  "at": format_time(beats.store.clock.now())})

    @router.api_route(PATH, methods=["POST", "PUT"], include_in_schema=False)
    async def heartbeat_header_key(request: Request) -> JSONResponse:
        return await beat(request, _bearer(request.headers.get("Authorization")))

    @router.api_route(PATH + "/{key}", methods=["POST", "PUT"], include_in_schema=False)
    async def heartbeat_path_key(request: Request, key: str) -> JSONResponse:
        return await beat(request, key)

    return router
