"""Maintenance windows: planned hours in which alerts are collected, not paged.

A window is a ``maintenance.scheduled`` entry (under the pseudo card MAINTENANCE_CARD) until a
``maintenance.cancelled`` names its id. It covers a site, a category, an integration, or any
mix (none: everything), once or again every day or every week, at the same local wall-clock
hours in its time zone (the site's): a daily 02:00-04:00 window stays 02:00-04:00 across a
change of the clocks.

Each occurrence collects its alerts into one tray item: `occurrence_key` is the dedup key
they share (DOMAIN.md, "Alert hygiene": alerts fire only when action is needed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import ValidationError
from app.models.entry import Entry, NewEntry
from app.protocol.catalogue import MAINTENANCE_CARD

REPEATS = ("none", "daily", "weekly")
_PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@dataclass(frozen=True)
class Window:
    id: str
    name: str
    starts: datetime  # the first occurrence (aware)
    ends: datetime
    site: str = ""
    category: str = ""
    integration: str = ""
    repeat: str = "none"
    tz: str = "UTC"
    scheduled_by: str = ""
    cancelled: bool = False
    reason: str = ""

    @property
    def length(self) -> timedelta:
        return self.ends - self.starts

    def applies_to(self, site: str, category: str, integration: str) -> bool:
        return ((not self.site or self.site.casefold() == site.casefold())
                and (not self.category or self.category == category)
                and (not self.integration or self.integration == integration))

    def occurrence_at(self, when: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence (start, end) that covers `when`, or None."""
        if self.cancelled or when < self.starts:
            return None
        if self.repeat == "none":
            return (self.starts, self.ends) if when < self.ends else None
        tz = ZoneInfo(self.tz)
        first = self.starts.astimezone(tz)
        local = when.astimezone(tz)
        step = _PERIOD[self.repeat].days
        # Candidate days: the occurrence that began on `when`'s local day or the period
        # before it (a window over midnight began yesterday).
        days = (local.date() - first.date()).days
        for back in (0, step):
            n = (days - back) // step
            if n < 0:
                continue
            day = first.date() + timedelta(days=n * step)
            start = _local(day, first, tz)
            if start <= when < start + self.length:
                return start, start + self.length
        return None

    def occurrences(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Every occurrence that overlaps [start, end) (the handover sheet's shift)."""
        if self.cancelled:
            return []
        if self.repeat == "none":
            return [(self.starts, self.ends)] if self.starts < end and self.ends > start else []
        tz = ZoneInfo(self.tz)
        first = self.starts.astimezone(tz)
        step = _PERIOD[self.repeat].days
        out: list[tuple[datetime, datetime]] = []
        offset = max(0, ((start - self.length).astimezone(tz).date() - first.date()).days)
        n = offset // step
        while True:
            begin = _local(first.date() + timedelta(days=n * step), first, tz)
            if begin >= end:
                return out
            if begin + self.length > start:
                out.append((begin, begin + self.length))
            n += 1

    def occurrence_key(self, start: datetime) -> str:
        return f"maintenance:{self.id}:{start.astimezone(ZoneInfo('UTC')).isoformat()}"


def _local(day: date, first: datetime, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, first.timetz().replace(tzinfo=None), tz)


def windows_from(entries: Iterable[Entry]) -> list[Window]:
    """Every window the journal knows, cancelled ones included (flagged), by start."""
    found: dict[str, Window] = {}
    cancelled: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: (e.hlc, e.id)):
        p = entry.payload
        if entry.kind == "maintenance.scheduled":
            found[p["id"]] = Window(
                id=p["id"], name=p["name"], starts=datetime.fromisoformat(p["starts"]),
                ends=datetime.fromisoformat(p["ends"]), site=p.get("site", ""),
                category=p.get("category", ""), integration=p.get("integration", ""),
                repeat=p.get("repeat", "none"), tz=p.get("tz") or "UTC",
                scheduled_by=entry.operator)
        elif entry.kind == "maintenance.cancelled":
            cancelled[p["id"]] = p.get("reason", "")
    out = []
    for window in found.values():
        if window.id in cancelled:
            window = Window(**{**window.__dict__, "cancelled": True,
                               "reason": cancelled[window.id]})
        out.append(window)
    return sorted(out, key=lambda w: (w.starts, w.id))


def covering(windows: Sequence[Window], when: datetime, site: str, category: str,
             integration: str) -> tuple[Window, datetime] | None:
    """The first window (by start) whose occurrence covers an alert, and that occurrence's
    start; every desk that has the same entries picks the same one."""
    for window in windows:
        if window.applies_to(site, category, integration):
            hit = window.occurrence_at(when)
            if hit is not None:
                return window, hit[0]
    return None


def schedule(name: str, starts: datetime, ends: datetime, *, tz: str, site: str = "",
             category: str = "", integration: str = "", repeat: str = "none") -> NewEntry:
    """A ``maintenance.scheduled`` entry, checked: a bad value names its field."""
    if starts.tzinfo is None or ends.tzinfo is None:
        raise ValidationError("starts and ends need a time zone", field="starts")
    if ends <= starts:
        raise ValidationError("ends must be after starts", field="ends")
    if repeat not in REPEATS:
        raise ValidationError(f"repeat must be one of {', '.join(REPEATS)}", field="repeat")
    if repeat in _PERIOD and ends - starts >= _PERIOD[repeat]:
        raise ValidationError(f"a {repeat} window must be shorter than its period",
                              field="ends")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {tz!r}; use a name such as Europe/Berlin",
                              field="tz") from None
    if not name.strip():
        raise ValidationError("a maintenance window needs a name", field="name")
    payload: dict[str, Any] = {"id": uuid.uuid4().hex[:12], "name": name.strip(),
                               "starts": starts.isoformat(), "ends": ends.isoformat(),
                               "repeat": repeat, "tz": tz}
    for key, value in (("site", site), ("category", category), ("integration", integration)):
        if value.strip():
            payload[key] = value.strip()
    return NewEntry(MAINTENANCE_CARD, "maintenance.scheduled", payload)


def cancel(windows: Sequence[Window], window_id: str, reason: str) -> NewEntry:
    """A ``maintenance.cancelled`` entry for a window given by its id or a unique prefix."""
    key = window_id.strip()
    found = [w for w in windows if w.id.startswith(key)] if key else []
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise ValidationError(f"{what} maintenance window has the id {window_id!r}; see "
                              "`dispatch-desk maintenance list`", field="id")
    if found[0].cancelled:
        raise ValidationError(f"window {found[0].id} is already cancelled", field="id")
    return NewEntry(MAINTENANCE_CARD, "maintenance.cancelled",
                    {"id": found[0].id, "reason": reason.strip()})
