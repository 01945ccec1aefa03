"""What the poison tests share: a hostile desk that speaks raw wire entries to the real store,
and the facts about honest desks that must hold whatever it sends (the same entries, the same
entries set aside, no server error)."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clock import Clock
from app.models.entry import format_stamp
from app.models.journal import Journal
from app.sync import protocol as p
from tests.store.harness import Desk, ThreadStore, enrol

# Loggers whose ERROR records mean the store answered (or would answer) 5xx: the store's
# catch-all handler, its database errors, and uvicorn's "Exception in ASGI application".
SERVER_LOGGERS = ("app.store", "uvicorn")


def enrol_raw_desk(store: ThreadStore, folder: Path, clock: Clock, desk_code: str) -> Desk:
    """A desk that speaks the wire with `requests` (its journal only lends it an id), enrolled
    under a desk code the caller chose (unique in the store, so no card numbers are shared)."""
    code = store.add_desk_code(f"raw desk {desk_code}")
    journal = Journal.open(folder / f"raw-{desk_code}-{os.urandom(3).hex()}.sqlite", clock)
    journal.set_desk_code(desk_code)
    response = enrol(store.url, code, journal, desk_code)
    assert response.status_code == 200, response.text
    return Desk(store.url, journal, p.Enrollment.from_json(response.json()).secret, clock)


@dataclass
class HostileDesk:
    """Builds wire entries by hand (nothing checks them before the store does) and pushes them."""

    desk: Desk
    clock: Clock
    _count: int = field(default=0)

    @property
    def desk_id(self) -> str:
        return self.desk.desk_id

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def stamp(self, ms: int | None = None) -> str:
        """A stamp of this desk at `ms` (default: now), never the same twice."""
        self._count += 1
        return format_stamp(self.now_ms() if ms is None else ms, self._count, self.desk_id)

    def wire(self, kind: str, payload: Any, card_id: str, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": str(uuid.uuid4()), "card_id": card_id, "kind": kind, "payload": payload,
            "hlc": self.stamp(), "desk_id": self.desk_id, "operator": "M. Mallory", "schema": 1,
        }
        entry.update(fields)
        return entry

    def push(self, entries: list[Any]) -> list[dict[str, Any]]:
        """Push as-is; the store must answer 200 with one result per entry."""
        response = self.desk.push_raw(entries)
        assert response.status_code == 200, f"push answered {response.status_code}: " + \
            response.text[:500]
        results: list[dict[str, Any]] = response.json()["results"]
        assert len(results) == len(entries), results
        return results


def entry_set(journal: Journal) -> set[tuple[Any, ...]]:
    """Every entry a journal holds, as comparable values (the server seq included)."""
    return {(e.id, e.card_id, e.kind, e.payload_json(), e.hlc, e.desk_id, e.operator, e.schema,
             e.server_seq) for e in journal.all_entries()}


def set_aside_list(journal: Journal) -> list[tuple[Any, ...]]:
    """What a journal set aside, without when it noticed (desks notice at different times)."""
    return sorted((s.id, s.direction, s.seq, s.card_id, s.kind, s.reason)
                  for s in journal.set_aside(include_resolved=True))


def server_errors(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" + (f" ({r.exc_info[1]!r})" if r.exc_info else "")
            for r in records if r.levelno >= logging.ERROR and r.name.startswith(SERVER_LOGGERS)]
