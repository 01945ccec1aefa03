"""Small builders for roster tests: real domain objects, nothing mocked."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from app.services.roster import Contact, Group, Override, Roster, Rotation

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def person(pid: str, phone: str | None = None, **extra: Any) -> Contact:
    number = phone if phone is not None else f"+4930{zlib.crc32(pid.encode()) % 10**7:07d}"
    return Contact.create(pid, pid.title(), primary_phone=number, **extra)


def rotation(rid: str, group: str, role: str, pattern: str, members: Sequence[str], *,
             anchor: date = date(2026, 1, 5), handoff: time = time(9),
             tz: str = "Europe/Berlin") -> Rotation:
    return Rotation(rid, group, role, pattern, tuple(members), anchor, handoff, tz)


def roster(rotations: Sequence[Rotation], overrides: Sequence[Override] = (),
           contacts: Sequence[Contact] | None = None,
           extra_groups: Sequence[str] = ()) -> Roster:
    ids = sorted({m for r in rotations for m in r.members}
                 | {o.person_id for o in overrides}
                 | {o.replacement_id for o in overrides if o.replacement_id})
    people = contacts if contacts is not None else [person(i) for i in ids]
    groups = sorted({r.group for r in rotations} | set(extra_groups))
    return Roster(tuple(people), tuple(Group(g, g.title()) for g in groups),
                  tuple(rotations), tuple(overrides))


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0,
          minute: int = 0) -> datetime:
    """A wall-clock time at a place, as the UTC instant (fold=0 in a repeated hour)."""
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)
