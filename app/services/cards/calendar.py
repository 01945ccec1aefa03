"""Operating-time arithmetic for the SLA clocks on incident cards.

Why this exists: "respond within 2 business days" or "recover within 4 h, paused while we wait
for the customer" cannot be answered with plain ``datetime`` maths. Business time only counts
inside the site's operating hours, which are agreed in local time and therefore move against
UTC when daylight saving changes, and a clock stops while its card is paused.

Everything here is pure and deterministic: ``now`` is always passed in (from ``app.clock``),
instants go in timezone-aware and come out in UTC, and the calendar is walked one local day
at a time, so even a clock months long costs only a few hundred cheap steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import ConfigError

_Pauses: TypeAlias = Sequence[tuple[datetime, datetime | None]]
_MAX_IDLE_DAYS = 400
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_KEYS = ("hours", "tz", "days", "start", "end", "holidays")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(r"(\d+)\s*([a-z]+(?:\s+[a-z]+)?)")
_UNIT_GROUPS = (
    (("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1), False),
    (("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1), False),
    (("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1), False),
    (("d", "day", "days"), timedelta(days=1), False),
    (("business day", "business days"), timedelta(days=1), True),
)
_UNITS = {name: (unit, business) for names, unit, business in _UNIT_GROUPS for name in names}
_DURATION_FORMS = "a whole number and a unit, e.g. '90s', '15 min', '2h', '1d', '2 business days'"


@dataclass(frozen=True)
class OperatingHours:
    """When a clock runs. always=True means 24/7.

    Business hours are kept in local wall-clock time because that is how a site agrees them
    ("08:00-18:00 in Berlin"); they are turned into UTC one date at a time so that DST is
    honoured. Values are checked on construction so a bad policy fails when it is loaded,
    not hours later when a clock first needs it.
    """

    always: bool = True
    tz: str = "UTC"
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    start: time = time(8, 0)
    end: time = time(18, 0)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _zone(self.tz)
        object.__setattr__(self, "days", frozenset(self.days))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in self.days):
            raise ConfigError(
                f"days must be weekday numbers 0 (Monday) to 6, got {set(self.days)}", field="days"
            )
        if not self.always and not self.days:
            raise ConfigError("days must name at least one weekday", field="days")
        if self.end <= self.start:
            raise ConfigError(
                f"end ({self.end:%H:%M}) must be later than start "
                f"({self.start:%H:%M}); a window cannot span midnight",
                field="end",
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], *, where: str) -> OperatingHours:
        """Build from a policy file table; every error names `where`, the key and the fix."""
        for key in data:
            if key not in _KEYS:
                raise _bad(where, key, data[key], "no such key; known keys: " + ", ".join(_KEYS))
        kind = data.get("hours")
        tz = data.get("tz", "UTC")
        if not isinstance(tz, str):
            raise _bad(where, "tz", tz, "an IANA time zone name such as 'Europe/Berlin'")
        if kind not in ("24/7", "business"):
            raise _bad(where, "hours", kind, "'24/7' or 'business'")
        for key in ("days", "start", "end", "holidays"):
            if kind == "24/7" and key in data:
                raise _bad(where, key, data[key], "no such key with hours = '24/7'")
        days = _parse_days(data.get("days", ["mon", "tue", "wed", "thu", "fri"]), where)
        start = _parse_time(data.get("start", "08:00"), where, "start")
        end = _parse_time(data.get("end", "18:00"), where, "end")
        holidays = _parse_holidays(data.get("holidays", []), where)
        try:  # the constructor's own checks, re-raised with the file location added
            return cls(
                always=kind == "24/7", tz=tz, days=days, start=start, end=end, holidays=holidays
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc.message}", field=exc.field) from None

    def business_day_length(self) -> timedelta:
        """One nominal business day (end - start; 24h when always), ignoring DST shifts."""
        if self.always:
            return timedelta(hours=24)
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


def _bad(where: str, key: str, value: object, expected: str) -> ConfigError:
    got = "is missing" if value is None else f"= {value!r} is invalid"  # TOML has no null
    return ConfigError(f"{where}: {key} {got}; expected {expected}", field=key)


def _parse_days(value: object, where: str) -> frozenset[int]:
    expected = "a non-empty list of weekdays such as ['mon', 'tue', 'wed', 'thu', 'fri']"
    if not isinstance(value, list | tuple) or not value:
        raise _bad(where, "days", value, expected)
    days = set()
    for item in value:
        name = item.strip().lower() if isinstance(item, str) else ""
        matches = [i for i, full in enumerate(_DAY_NAMES) if name in (full, full[:3])]
        if not matches:
            raise _bad(where, "days", item, expected)
        days.add(matches[0])
    return frozenset(days)


def _parse_time(value: object, where: str, key: str) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value  # TOML local times arrive already parsed
    match = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return time(int(match[1]), int(match[2]))
    raise _bad(where, key, value, "a local time 'HH:MM' such as '08:00'")


def _parse_holidays(value: object, where: str) -> frozenset[date]:
    expected = "a list of local dates 'YYYY-MM-DD' such as ['2026-12-25']"
    if not isinstance(value, list | tuple):
        raise _bad(where, "holidays", value, expected)
    holidays = set()
    for item in value:  # TOML local dates arrive already parsed, strings need parsing
        parsed = item
        if isinstance(item, str) and _ISO_DATE.fullmatch(item.strip()):
            with suppress(ValueError):
                parsed = date.fromisoformat(item.strip())
        if not isinstance(parsed, date) or isinstance(parsed, datetime):
            raise _bad(where, "holidays", item, expected)
        holidays.add(parsed)
    return frozenset(holidays)


def _zone(name: object) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise ConfigError(
        f"tz {name!r} is not a known IANA time zone; expected a name such as 'Europe/Berlin'",
        field="tz",
    )


def _utc(moment: datetime, name: str) -> datetime:
    """Naive datetimes are refused: guessing their zone is how SLA clocks end up an hour off."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


@lru_cache(maxsize=4096)
def _day_window(hours: OperatingHours, day: date) -> tuple[datetime, datetime] | None:
    """The local date's (open, close) in UTC, or None. Cached: a year's report asks for the
    same few hundred days a hundred thousand times (bench.report)."""
    if day.weekday() not in hours.days or day in hours.holidays:
        return None
    zone = _zone(hours.tz)
    opens = datetime.combine(day, hours.start, zone).astimezone(UTC)
    closes = datetime.combine(day, hours.end, zone).astimezone(UTC)
    return (opens, closes) if closes > opens else None  # empty in a spring-forward gap


def _windows(hours: OperatingHours, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Yield each day's (open, close) in UTC, from the local date of `since` onwards.

    Local start/end are localised per date, so a DST day's window has its real length; a
    non-existent or repeated local time resolves by PEP 495 fold=0 (the pre-change offset).
    """
    day = since.astimezone(_zone(hours.tz)).date()
    idle = 0  # consecutive local dates without a window: the guard against endless walks
    while idle < _MAX_IDLE_DAYS:
        idle += 1
        window = _day_window(hours, day)
        if window is not None:
            idle = 0
            yield window
        day += timedelta(days=1)
    raise ConfigError(
        f"operating hours never open: no operating day in the {_MAX_IDLE_DAYS} days before {day}",
        field="days",
    )


def add_operating_time(start: datetime, duration: timedelta, hours: OperatingHours) -> datetime:
    """The instant at which `duration` of operating time has elapsed after `start`.

    This is the earliest such instant, so a clock that runs out exactly at closing time is due
    at closing time, not at the next opening.
    """
    start = _utc(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if hours.always or not duration:
        return start + duration
    left = duration
    for opens, closes in _windows(hours, start):
        opens = max(opens, start)
        if closes <= opens:
            continue
        if left <= closes - opens:
            return opens + left
        left -= closes - opens
    raise AssertionError("unreachable: _windows never ends")  # pragma: no cover


def operating_time_between(a: datetime, b: datetime, hours: OperatingHours) -> timedelta:
    """Operating time elapsed in [a, b); zero if b <= a."""
    a, b = _utc(a, "a"), _utc(b, "b")
    if b <= a:
        return timedelta(0)
    if hours.always:
        return b - a
    total = timedelta(0)
    for opens, closes in _windows(hours, a):
        if opens >= b:
            break
        total += max(timedelta(0), min(closes, b) - max(opens, a))
    return total


def _running(start: datetime, pauses: _Pauses) -> Iterator[tuple[datetime, datetime | None]]:
    """Yield the spans in which the clock runs (end None = still running), pauses merged.

    Pauses may arrive unsorted and overlapping (two people pausing one card); walking them in
    order of start with a cursor subtracts each instant once. An open pause stops it for good.
    """
    spans = []
    for paused_at, resumed_at in pauses:
        paused = _utc(paused_at, "paused_at")
        resumed = None if resumed_at is None else _utc(resumed_at, "resumed_at")
        if resumed is not None and resumed < paused:
            raise ValueError(f"pause resumed at {resumed} before it began at {paused}")
        spans.append((paused, resumed))
    spans.sort(key=lambda span: span[0])
    cursor = start  # pauses before `start` only ever move the cursor to `start` or later
    for paused, resumed in spans:
        if paused > cursor:
            yield cursor, paused
        if resumed is None:
            return
        cursor = max(cursor, resumed)
    yield cursor, None


def deadline_with_pauses(
    start: datetime, duration: timedelta, hours: OperatingHours, pauses: _Pauses
) -> datetime | None:
    """When `duration` of operating time has run, not counting (paused_at, resumed_at) pauses.

    Pauses may be unsorted and overlapping; resumed_at None means still paused. Returns None
    while paused with time left. A later pause must never excuse an earlier breach, so running
    spans are consumed in time order and an instant before a pause is returned if due there.
    """
    start = _utc(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    left = duration
    for begin, stop in _running(start, pauses):
        if stop is not None:
            ran = operating_time_between(begin, stop, hours)
            if ran < left:
                left -= ran
                continue
        return add_operating_time(begin, left, hours)
    return None


def remaining_operating_time(
    start: datetime, duration: timedelta, hours: OperatingHours, pauses: _Pauses, now: datetime
) -> timedelta:
    """duration minus the operating time the clock has run by `now` (may be negative = overdue).

    Negative values are kept, not clamped, so the card can show how far overdue it is.
    """
    start, now = _utc(start, "start"), _utc(now, "now")
    ran = timedelta(0)
    for begin, stop in _running(start, pauses):
        if begin >= now:
            break
        ran += operating_time_between(begin, now if stop is None else min(stop, now), hours)
    return duration - ran


def parse_duration(text: str, *, where: str) -> tuple[timedelta, bool]:
    """Parse a policy duration such as '10m', '15 min', '2h', '90s', '1d' or '2 business days'.

    Returns (duration, business). For business=True the timedelta holds N days meaning N
    business days; convert with ``hours.business_day_length() * duration.days``. The count is
    kept rather than converted because the policy file is parsed before it is known which
    hours apply. Zero is refused: an SLA due the instant it starts is always a typo.
    """
    match = _DURATION.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    unit = _UNITS.get(" ".join(match[2].split())) if match else None
    if match is None or unit is None or int(match[1]) == 0:
        raise ConfigError(
            f"{where}: duration {text!r} is invalid; expected {_DURATION_FORMS}", field=where
        )
    try:
        return int(match[1]) * unit[0], unit[1]
    except OverflowError:
        raise ConfigError(f"{where}: duration {text!r} is too long", field=where) from None
