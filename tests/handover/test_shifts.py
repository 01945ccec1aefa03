"""Shift windows from configuration, including the nights the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.loaders import load_shifts
from app.services.handover.shifts import parse_shifts


def test_day_and_night_shift_in_local_time() -> None:
    plan = load_shifts()
    day = plan.shift_at(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # 13:00 in Berlin
    assert day.short_label == "08:00-20:00"
    assert day.start == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    night = plan.next_shift(day)
    assert night.short_label == "20:00-08:00"
    assert plan.previous_shift(night) == day
    assert plan.shift_at(night.start) == night  # the start instant belongs to the new shift
    assert plan.shift_by_key(night.key) == night


def test_night_shift_across_daylight_saving_changes() -> None:
    plan = load_shifts()
    # Clocks go forward at 02:00 on 29 March 2026: the night shift is an hour shorter.
    spring = plan.shift_at(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    assert spring.short_label == "20:00-08:00"
    assert spring.length == timedelta(hours=11)
    # ... and back at 03:00 on 25 October 2026: an hour longer.
    autumn = plan.shift_at(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert autumn.length == timedelta(hours=13)
    assert autumn.end.astimezone(plan.tz).hour == 8


def test_draft_time_is_before_the_end() -> None:
    plan = load_shifts()
    shift = plan.shift_at(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert plan.draft_time(shift) == shift.end - timedelta(minutes=30)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('starts = ["8 o\'clock"]', "starts"),
        ('starts = ["08:00", "08:00"]', "starts"),
        ('timezone = "Mars/Olympus"', "timezone"),
        ("overlap_minutes = -5", "overlap_minutes"),
        ('overlap_minutes = "15"', "overlap_minutes"),
        ("shift_length = 12", "shift_length"),
        ("breakglass_link_loss_minutes = 0", "breakglass_link_loss_minutes"),
        ("draft_minutes_before_end = 2000", "draft_minutes_before_end"),
        ('site = "Main\\u001b[2J centre"', "site"),
        ('site = "Main\\ncentre"', "site"),
    ],
)
def test_bad_shift_file_names_the_key(text: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_shifts(text, "shifts.toml")
    assert info.value.field == field
    assert "shifts.toml" in str(info.value)


def test_negative_minutes_name_the_key_and_the_range() -> None:
    with pytest.raises(ConfigError) as info:
        parse_shifts("overlap_minutes = -5", "shifts.toml")
    assert info.value.message == ("shifts.toml: overlap_minutes = -5: use a whole number of "
                                  "minutes from 0 to 1440")


def test_a_binary_shift_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "shifts.toml"
    bad.write_bytes(b"\xff\xfe" + "site = 'x'".encode("utf-16-le"))
    with pytest.raises(ConfigError, match="shift file .*shifts.toml: it is not UTF-8 text"):
        load_shifts(bad)
