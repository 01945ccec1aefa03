"""Shifts as configuration: when they change, how long the overlap is, the site's time zone.

Shift starts are agreed in local wall-clock time ("20:00 in Berlin") and stay there across
daylight-saving changes, so the night shift that spans the change is an hour longer or
shorter. Instants go in and come out as aware UTC datetimes; nothing here reads a clock.
`app/defaults/shifts.toml` is the shipped default and documents every key; a broken file is a
ConfigError naming the file and the key, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import ConfigError, ValidationError
from app.protocol.text import text_problem

DEFAULT_SHIFTS = Path(__file__).resolve().parents[2] / "defaults" / "shifts.toml"
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_KEYS = {
    "site": str,
    "timezone": str,
    "starts": list,
    "overlap_minutes": int,
    "draft_minutes_before_end": int,
    "breakglass_link_loss_minutes": int,
    "breakglass_blank_cards": int,
}


def parse_hhmm(text: str, field: str) -> time:
    """'08:00' -> time(8, 0); anything else is refused with the field named."""
    match = _HHMM.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(f"{field}: {text!r} is not a time; write HH:MM, e.g. 20:00",
                              field=field)
    return time(int(match[1]), int(match[2]))


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. A time skipped by the spring change
    (02:30) falls to the same wall time on the old offset, i.e. an hour later in real time;
    an ambiguous time in autumn takes its first occurrence."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class ShiftWindow:
    """One shift: [start, end) in UTC, with the label people use ("20:00-08:00")."""

    start: datetime
    end: datetime
    tz: ZoneInfo

    @property
    def key(self) -> str:
        """Identifies the shift in journal entries: its start instant in UTC."""
        return self.start.isoformat()

    @property
    def label(self) -> str:
        a, b = self.start.astimezone(self.tz), self.end.astimezone(self.tz)
        return f"{a:%a %d.%m %H:%M} - {b:%a %d.%m %H:%M} {b:%Z}"

    @property
    def short_label(self) -> str:
        a, b = self.start.astimezone(self.tz), self.end.astimezone(self.tz)
        return f"{a:%H:%M}-{b:%H:%M}"

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class ShiftPlan:
    site: str
    timezone: str
    starts: tuple[time, ...]
    overlap: timedelta = timedelta(minutes=15)
    draft_before_end: timedelta = timedelta(minutes=30)
    breakglass_link_loss: timedelta = timedelta(minutes=10)
    breakglass_blank_cards: int = 6

    def __post_init__(self) -> None:
        if not self.starts:
            raise ConfigError("starts: give at least one shift start, e.g. ['08:00', '20:00']",
                              field="starts")
        if len(set(self.starts)) != len(self.starts):
            raise ConfigError("starts: two shifts start at the same time; remove one",
                              field="starts")
        object.__setattr__(self, "starts", tuple(sorted(self.starts)))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"timezone: unknown time zone {self.timezone!r}; use an IANA "
                              "name such as 'Europe/Berlin'", field="timezone") from exc
        if self.overlap < timedelta(0) or self.draft_before_end < timedelta(0):
            raise ConfigError("overlap and draft minutes cannot be negative",
                              field="overlap_minutes")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _starts_around(self, instant: datetime) -> list[datetime]:
        day = instant.astimezone(self.tz).date()
        return sorted(
            local_instant(day + timedelta(days=d), t, self.tz)
            for d in (-2, -1, 0, 1, 2)
            for t in self.starts
        )

    def shift_at(self, instant: datetime) -> ShiftWindow:
        """The shift that `instant` falls in."""
        if instant.tzinfo is None:
            raise ValidationError("the instant must be timezone-aware", field="at")
        starts = self._starts_around(instant)
        i = max(n for n, s in enumerate(starts) if s <= instant)
        return ShiftWindow(starts[i], starts[i + 1], self.tz)

    def next_shift(self, shift: ShiftWindow) -> ShiftWindow:
        return self.shift_at(shift.end)

    def previous_shift(self, shift: ShiftWindow) -> ShiftWindow:
        return self.shift_at(shift.start - timedelta(microseconds=1))

    def shift_by_key(self, key: str) -> ShiftWindow:
        try:
            start = datetime.fromisoformat(key)
        except ValueError as exc:
            raise ValidationError(f"shift {key!r} is not a shift start", field="shift") from exc
        shift = self.shift_at(start)
        if shift.start != start:
            raise ValidationError(f"no shift starts at {key}", field="shift")
        return shift

    def draft_time(self, shift: ShiftWindow) -> datetime:
        """When the handover for `shift` is drafted and starts to show as pending."""
        return max(shift.start, shift.end - self.draft_before_end)


def _minutes(data: dict[str, Any], key: str, default: int, least: int = 0) -> timedelta:
    value = data.get(key, default)
    if not least <= value <= 24 * 60:
        raise ConfigError(f"{key} = {value}: use a whole number of minutes from {least} to "
                          "1440", field=key)
    return timedelta(minutes=value)


def _site(data: dict[str, Any]) -> str:
    # Printed in the header of every sheet: one line of text.
    site = str(data.get("site", "Dispatch desk")).strip() or "Dispatch desk"
    if problem := text_problem(site):
        raise ConfigError(f"site {site[:40]!r}: {problem}", field="site")
    return site


def parse_shifts(text: str, source: str = "shifts") -> ShiftPlan:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    for key, value in data.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise ConfigError(f"{source}: unknown key {key!r}; known: {', '.join(_KEYS)}",
                              field=key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{source}.{key}: expected {kind.__name__}, got {value!r}",
                              field=key)
    try:
        starts = tuple(parse_hhmm(str(s), "starts") for s in data.get("starts", ["08:00"]))
        cards = int(data.get("breakglass_blank_cards", 6))
        if not 0 <= cards <= 50:
            raise ConfigError("breakglass_blank_cards: use 0 to 50", field="breakglass_blank_cards")
        return ShiftPlan(
            site=_site(data),
            timezone=str(data.get("timezone", "UTC")),
            starts=starts,
            overlap=_minutes(data, "overlap_minutes", 15),
            draft_before_end=_minutes(data, "draft_minutes_before_end", 30),
            # 0 would print a packet at every blip of the link.
            breakglass_link_loss=_minutes(data, "breakglass_link_loss_minutes", 10, least=1),
            breakglass_blank_cards=cards,
        )
    except (ConfigError, ValidationError) as exc:
        raise ConfigError(f"{source}: {exc.message}", field=exc.field) from None
