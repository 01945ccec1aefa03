"""Journal entries: the unit of truth, the unit of sync.

An entry is self-describing and idempotent: its id is made on the desk (UUIDv7, so ids sort by
creation time and never collide between desks), and it carries a hybrid-logical-clock stamp that
orders it against every other entry from every desk. The stamp is a string that sorts
lexicographically in HLC order with the desk id as the final tie-break, so "last writer wins"
is a plain string comparison everywhere (Python, SQLite, PostgreSQL).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.clock import Clock
from app.protocol.catalogue import MAX_STAMP_AHEAD_S, check_operator, check_payload

SCHEMA_VERSION = 1

# Derived facts (a breach, a ladder step) get a deterministic id from their idempotency key, so
# two desks that both notice the same fact produce the same entry and the store keeps one.
FACT_NAMESPACE = uuid.UUID("6f1d3c1e-5a0b-4f3e-9a57-2f1c0d9e8b42")


def uuid7(unix_ms: int) -> str:
    """A UUIDv7 (RFC 9562): 48 bits of milliseconds, then random bits."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 68) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"  # formatted directly: uuid.UUID() costs more than the rest of a save
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def fact_id(key: str) -> str:
    """The id of a derived fact, the same on every desk for the same key."""
    return str(uuid.uuid5(FACT_NAMESPACE, key))


_AHEAD_MS = int(MAX_STAMP_AHEAD_S * 1000)


def format_stamp(wall_ms: int, counter: int, desk_id: str) -> str:
    return f"{wall_ms:015d}.{counter:05d}.{desk_id}"


def parse_stamp(stamp: str) -> tuple[int, int, str]:
    wall, counter, desk = stamp.split(".", 2)
    return int(wall), int(counter), desk


def stamp_time(stamp: str) -> datetime:
    return datetime.fromtimestamp(parse_stamp(stamp)[0] / 1000, UTC)


class HybridClock:
    """Hybrid logical clock: physical milliseconds plus a counter.

    Stamps from one desk strictly increase even if the wall clock steps back, and a desk that
    has seen a remote stamp never issues a smaller one, so causal order is kept across desks.
    """

    def __init__(self, clock: Clock, desk_id: str, last: str | None = None) -> None:
        self._clock = clock
        self._desk = desk_id
        self._wall, self._counter = (0, 0)
        if last:
            self._wall, self._counter, _ = parse_stamp(last)

    def _physical_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def tick(self) -> str:
        physical = self._physical_ms()
        if physical > self._wall:
            self._wall, self._counter = physical, 0
        elif self._wall - physical > _AHEAD_MS:
            # The desk clock ran far ahead and was set right: follow it again rather than
            # stamp everything in the future until real time catches up (the store would
            # refuse all of it). What was stamped ahead is listed as refused meanwhile.
            self._wall, self._counter = physical, 0
        else:
            self._counter += 1
        return format_stamp(self._wall, self._counter, self._desk)

    def observe(self, stamp: str) -> None:
        """Move past a remote stamp, but never more than MAX_STAMP_AHEAD_S ahead of this
        desk's own clock: one entry stamped in 2100 must not push every later card there."""
        wall, counter, _ = parse_stamp(stamp)
        ceiling = self._physical_ms() + _AHEAD_MS
        if wall > ceiling:
            wall, counter = ceiling, 0
        if (wall, counter) > (self._wall, self._counter):
            self._wall, self._counter = wall, counter

    @property
    def last(self) -> str:
        return format_stamp(self._wall, self._counter, self._desk)


@dataclass(frozen=True)
class Entry:
    id: str
    card_id: str
    kind: str
    payload: dict[str, Any]
    hlc: str
    desk_id: str
    operator: str
    schema: int = SCHEMA_VERSION
    server_seq: int | None = field(default=None, compare=False)

    @property
    def at(self) -> datetime:
        """When the entry was made (the stamp's physical part)."""
        return stamp_time(self.hlc)

    def payload_json(self) -> str:
        return json.dumps(self.payload, sort_keys=True, separators=(",", ":"))

    def check(self) -> None:
        """ValidationError (naming the field) unless the catalogue accepts this entry."""
        check_operator(self.operator)
        check_payload(self.kind, self.card_id, self.payload, self.hlc)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "card_id": self.card_id,
            "kind": self.kind,
            "payload": self.payload,
            "hlc": self.hlc,
            "desk_id": self.desk_id,
            "operator": self.operator,
            "schema": self.schema,
        }


@dataclass(frozen=True)
class NewEntry:
    """An entry before the journal stamps it; `id` is set only for derived facts."""

    card_id: str
    kind: str
    payload: dict[str, Any]
    id: str | None = None
