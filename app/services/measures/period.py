"""A report's period: local dates in the site's time zone, the last day included; and the
report's instants, whole microseconds since the epoch (`to_us`, see measures/figures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 7
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """An aware moment as whole microseconds since the epoch (exact: the journal's times
    have microseconds at most)."""
    return (moment - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class Period:
    start: datetime  # local midnight of the first day
    end: datetime  # local midnight after the last day (exclusive)
    tz: ZoneInfo

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        return (self.end.astimezone(self.tz) - timedelta(microseconds=1)).date()

    @property
    def whole_days(self) -> bool:
        return all(t.astimezone(self.tz).time() == time(0) for t in (self.start, self.end))

    @property
    def label(self) -> str:
        """'2026-11-20 to 2026-11-26', or with the hours for a shift."""
        if self.whole_days:
            return f"{self.first_day} to {self.last_day}"
        a, b = self.start.astimezone(self.tz), self.end.astimezone(self.tz)
        return f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}"

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def weeks(self) -> Iterator[Period]:
        """The period cut into weeks starting on Mondays (the first and last may be short;
        a period that is not whole days, such as a shift, keeps its own ends)."""
        day = self.first_day
        while day <= self.last_day:
            monday = day - timedelta(days=day.weekday())
            last = min(monday + timedelta(days=6), self.last_day)
            week = period_for(self.start, self.tz, day, last)
            yield Period(max(week.start, self.start), min(week.end, self.end), self.tz)
            day = last + timedelta(days=1)


def period_for(
    now: datetime, tz: ZoneInfo, first: date | None = None, last: date | None = None
) -> Period:
    """From `first` to `last` (local dates, both included). Without `last`: today; without
    `first`: the DEFAULT_DAYS days ending on `last`."""
    last = last or now.astimezone(tz).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError(f"the period starts ({first}) after it ends ({last})")
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    return Period(start, end, tz)


def day_of(now: datetime, tz: ZoneInfo) -> Period:
    """Today in the site's time zone: the wallboard's period."""
    return period_for(now, tz, now.astimezone(tz).date())


def week_of(now: datetime, tz: ZoneInfo) -> Period:
    """This week in the site's time zone: Monday to today."""
    today = now.astimezone(tz).date()
    return period_for(now, tz, today - timedelta(days=today.weekday()), today)


def between(start: datetime, end: datetime, tz: ZoneInfo) -> Period:
    """A period that is not whole days, such as a shift: [start, end)."""
    if end <= start:
        raise ValueError(f"the period starts ({start}) at or after it ends ({end})")
    return Period(start.astimezone(tz), end.astimezone(tz), tz)
