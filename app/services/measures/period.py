"""A report's period: local dates in the site's time zone, the last day included."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 7


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
        return (self.end.astimezone(self.tz) - timedelta(days=1)).date()

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def weeks(self) -> Iterator[Period]:
        """The period cut into weeks starting on Mondays (the first and last may be short)."""
        day = self.first_day
        while day <= self.last_day:
            monday = day - timedelta(days=day.weekday())
            last = min(monday + timedelta(days=6), self.last_day)
            yield period_for(self.start, self.tz, day, last)
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
