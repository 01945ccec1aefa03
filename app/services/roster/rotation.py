"""Rotations (who holds a role, turn by turn) and overrides (who covers a vacation).

Instants going in and out are aware UTC datetimes. Local time lives only inside a rotation,
because handoffs are agreed in wall-clock time ("09:00 in Berlin") and must stay there
across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .contact import as_utc, check_id, check_line, fail

# The two-contact rule: every group needs these two roles. Other roles ("secondary",
# "lead") may have rotations too, for ladders that page them.
ROLES = ("primary", "backup")
# Shift length in local days. 1-in-3 and daily both hand over every day; 1-in-3 differs in
# promising each specialist exactly every third day, so it insists on exactly three members.
# 2/2 gives each member two days on, then the others' two days (two members: 2 on, 2 off).
PATTERN_DAYS: dict[str, int] = {"weekly": 7, "2/2": 2, "1-in-3": 1, "daily": 1}


@dataclass(frozen=True)
class Override:
    """``person_id`` is away (vacation, sick leave) from ``start`` to ``end``; whoever's
    shift falls in that window is covered by ``replacement_id``, or, when that is None, by
    the person's own ``vacation_replacement``. Stored in UTC."""

    person_id: str
    replacement_id: str | None
    start: datetime
    end: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        if self.replacement_id == "":
            object.__setattr__(self, "replacement_id", None)
        check_id(self.person_id, "person")
        if self.replacement_id is not None:
            check_id(self.replacement_id, "replacement")
            if self.person_id == self.replacement_id:
                raise fail("replacement", "is the person themselves; name someone else")
        check_line(self.reason, "reason")
        object.__setattr__(self, "start", as_utc(self.start, "start"))
        object.__setattr__(self, "end", as_utc(self.end, "end"))
        if self.end <= self.start:
            raise fail("end", "is not after start; swap them or fix the dates")

    def covers(self, person_id: str, at: datetime) -> bool:
        return self.person_id == person_id and self.start <= at < self.end


@dataclass(frozen=True)
class Shift:
    """One scheduled turn of a rotation member, handoff to handoff, in UTC."""

    member_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rotation:
    """Who of ``members`` holds ``role`` for ``group``, by ``pattern``.

    Shifts run from handoff to handoff in LOCAL time in ``tz``, starting at ``handoff`` on
    ``anchor`` with the first member. Across a daylight-saving change the handoff stays at
    the same wall-clock time, so that shift lasts 23 or 25 hours (a weekly one 167 or 169).
    A handoff inside the skipped spring hour happens when the clocks jump (PEP 495 fold=0
    reads the missing wall time with the winter offset); inside the repeated autumn hour it
    happens at the first of the two. Before the anchor nobody is on call from the rotation.
    """

    id: str
    group: str
    role: str
    pattern: str
    members: tuple[str, ...]
    anchor: date
    handoff: time
    tz: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        check_id(self.id, "id")
        check_id(self.group, "group")
        check_id(self.role, "role")
        if self.pattern not in PATTERN_DAYS:
            raise fail("pattern", f"{self.pattern!r} is unknown; use {', '.join(PATTERN_DAYS)}")
        if not self.members:
            raise fail("members", "is empty; list at least one contact id")
        for member in self.members:
            check_id(member, "members")
        if self.pattern == "1-in-3" and len(self.members) != 3:
            raise fail("members", f"has {len(self.members)} people but '1-in-3' needs exactly "
                       "3 (each on every third day); for another pool size use 'daily'")
        if self.handoff.tzinfo is not None:
            raise fail("handoff", "must be a local time without offset, e.g. 09:00")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise fail("tz", f"{self.tz!r} is not an IANA time zone; use e.g. "
                       "'Europe/Berlin'") from None

    @property
    def shift_days(self) -> int:
        return PATTERN_DAYS[self.pattern]

    def _handoff_at(self, day: date) -> datetime:
        # fold=0: in a repeated hour the first occurrence; in a skipped hour zoneinfo reads
        # the wall time with the old offset, so the handoff still lands on the same day.
        return datetime.combine(day, self.handoff, tzinfo=ZoneInfo(self.tz)).astimezone(UTC)

    def _shift_from(self, block: int) -> Shift:
        first_day = self.anchor + timedelta(days=block * self.shift_days)
        return Shift(self.members[block % len(self.members)], self._handoff_at(first_day),
                     self._handoff_at(first_day + timedelta(days=self.shift_days)))

    def _block_at(self, at: datetime) -> int:
        """The number of the shift running at ``at``; negative before the anchor."""
        day = at.astimezone(ZoneInfo(self.tz)).date()
        if at < self._handoff_at(day):
            day -= timedelta(days=1)  # before today's handoff: yesterday's shift still runs
        return (day - self.anchor).days // self.shift_days

    def shift_at(self, at: datetime) -> Shift | None:
        """The shift in progress at ``at``, or None before the rotation starts."""
        block = self._block_at(as_utc(at, "at"))
        return self._shift_from(block) if block >= 0 else None

    def shifts(self, start: datetime, end: datetime) -> Iterator[Shift]:
        """Every shift overlapping [start, end), in order; none before the anchor."""
        start, end = as_utc(start, "start"), as_utc(end, "end")
        block = max(0, self._block_at(start))
        while True:
            shift = self._shift_from(block)
            if shift.start >= end:
                return
            if shift.end > start:
                yield shift
            block += 1

    def first_start(self) -> datetime:
        """The UTC instant the rotation's first shift begins."""
        return self._handoff_at(self.anchor)
