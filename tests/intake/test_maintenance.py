"""Maintenance windows in the site's time zone: once, daily, weekly, over midnight and across
a change of the clocks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.errors import ValidationError
from app.services.intake.maintenance import Window, schedule

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def window(starts: str, ends: str, repeat: str = "none", **kw: str) -> Window:
    return Window("w1", "patch", at(starts), at(ends), repeat=repeat, tz="Europe/Berlin", **kw)


def test_a_daily_window_keeps_its_local_hours_across_the_clock_change():
    daily = window("2026-10-20T02:00", "2026-10-20T03:00", "daily")
    # 25 October 2026: Berlin goes from CEST (+02) to CET (+01).
    for day in ("2026-10-24", "2026-10-25", "2026-10-26"):
        hit = daily.occurrence_at(at(f"{day}T02:30"))
        assert hit is not None and hit[0].astimezone(BERLIN).hour == 2
        assert daily.occurrence_at(at(f"{day}T03:30")) is None
    assert daily.occurrence_at(at("2026-10-19T02:30")) is None  # before its first day


def test_a_weekly_window_over_midnight():
    weekly = window("2026-11-22T23:00", "2026-11-23T01:00", "weekly")  # Sunday night
    assert weekly.occurrence_at(at("2026-11-30T00:30")) is not None  # next Monday 00:30
    assert weekly.occurrence_at(at("2026-11-30T01:30")) is None
    assert weekly.occurrence_at(at("2026-11-24T00:30")) is None  # a Tuesday
    shift = weekly.occurrences(at("2026-11-29T20:00"), at("2026-11-30T08:00"))
    assert [s.astimezone(BERLIN).day for s, _ in shift] == [29]


def test_a_window_applies_to_its_site_category_and_integration():
    scoped = window("2026-11-23T01:00", "2026-11-23T05:00", site="HQ", category="server")
    assert scoped.applies_to("hq", "server", "any")
    assert not scoped.applies_to("HQ", "network", "any")
    assert not scoped.applies_to("Plant 2", "server", "any")


@pytest.mark.parametrize(("kw", "field"), [
    ({"ends": at("2026-11-23T01:00")}, "ends"),
    ({"repeat": "daily", "ends": at("2026-11-24T03:00")}, "ends"),
    ({"repeat": "monthly"}, "repeat"),
    ({"tz": "Mars/Olympus"}, "tz"),
])
def test_a_bad_window_names_its_field(kw: dict[str, object], field: str):
    args: dict[str, object] = {"starts": at("2026-11-23T02:00"),
                               "ends": at("2026-11-23T04:00"), "tz": "Europe/Berlin"}
    args.update(kw)
    with pytest.raises(ValidationError) as err:
        schedule("patch", **args)  # type: ignore[arg-type]
    assert err.value.field == field
