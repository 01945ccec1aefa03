"""Rotations hand over at the agreed wall-clock time, including across both daylight-saving
changes, in Berlin (last Sundays of March and October) and New York (second Sunday of
March, first Sunday of November)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.errors import ValidationError
from app.services.roster import Rotation

from .helpers import BERLIN, NEW_YORK, local, roster, rotation

# 2026 changes: Berlin 29 March (02:00 -> 03:00) and 25 October (03:00 -> 02:00);
# New York 8 March (02:00 -> 03:00) and 1 November (02:00 -> 01:00).


def handoffs(r: Rotation, start: datetime, end: datetime) -> list[datetime]:
    return [s.start for s in r.shifts(start, end)]


@pytest.mark.parametrize("tz, spring, autumn", [
    (BERLIN, date(2026, 3, 29), date(2026, 10, 25)),
    (NEW_YORK, date(2026, 3, 8), date(2026, 11, 1)),
])
@pytest.mark.parametrize("pattern, members", [
    ("weekly", ["a", "b"]), ("2/2", ["a", "b"]), ("1-in-3", ["a", "b", "c"]),
])
def test_handoff_stays_at_wall_time_across_both_dst_changes(tz, spring, autumn, pattern,
                                                           members) -> None:
    r = rotation("r", "g", "primary", pattern, members, anchor=date(2026, 1, 4),
                 handoff=time(9), tz=tz.key)
    for change in (spring, autumn):
        start = local(tz, change.year, change.month, change.day) - timedelta(days=15)
        shifts = list(r.shifts(start, start + timedelta(days=30)))
        assert len(shifts) >= 4
        for before, after in zip(shifts, shifts[1:], strict=False):
            assert before.end == after.start  # no gap, no overlap
            assert before.member_id != after.member_id
        for s in shifts:
            wall = s.start.astimezone(tz)
            assert (wall.hour, wall.minute) == (9, 0), s
        lengths = {s.end - s.start for s in shifts}
        nominal = timedelta(days=r.shift_days)
        # exactly one shift spans the change and is an hour short (spring) or long (autumn)
        odd = lengths - {nominal}
        expected = nominal - timedelta(hours=1) if change == spring else \
            nominal + timedelta(hours=1)
        assert odd == {expected}


def test_weekly_rotation_whos_on_call_on_the_dst_sunday_in_berlin() -> None:
    # Handoff Monday 09:00; the week of the spring change has 167 hours.
    r = rotation("p", "power", "primary", "weekly", ["weber", "schulz"],
                 anchor=date(2026, 3, 23))
    ros = roster([r])
    assert ros.on_call("power", "primary", local(BERLIN, 2026, 3, 29, 3, 30)).id == "weber"
    assert ros.on_call("power", "primary", local(BERLIN, 2026, 3, 30, 8, 59)).id == "weber"
    assert ros.on_call("power", "primary", local(BERLIN, 2026, 3, 30, 9, 0)).id == "schulz"
    shift = r.shift_at(local(BERLIN, 2026, 3, 29, 12))
    assert shift is not None and shift.end - shift.start == timedelta(hours=167)


def test_two_two_gives_two_days_on_two_off() -> None:
    r = rotation("d", "duty", "primary", "2/2", ["novak", "sommer"], anchor=date(2026, 10, 23),
                 handoff=time(8))
    ros = roster([r])
    days = [ros.on_call("duty", "primary", local(BERLIN, 2026, 10, 23 + d, 12)).id
            for d in range(8)]
    assert days == ["novak", "novak", "sommer", "sommer"] * 2
    # 25 October is the autumn change: Novak's shift from the 23rd lasts 49 hours and
    # Sommer still takes over at 08:00 on the 25th, now winter time.
    shift = r.shift_at(local(BERLIN, 2026, 10, 24, 12))
    assert shift is not None and shift.end - shift.start == timedelta(hours=49)
    assert shift.end == local(BERLIN, 2026, 10, 25, 8) == datetime(2026, 10, 25, 7, tzinfo=UTC)


def test_one_in_three_puts_each_specialist_on_every_third_day_in_new_york() -> None:
    r = rotation("n", "network", "primary", "1-in-3", ["klein", "wolf", "neumann"],
                 anchor=date(2026, 3, 1), handoff=time(8), tz="America/New_York")
    ros = roster([r])
    seen = [ros.on_call("network", "primary", local(NEW_YORK, 2026, 3, d, 7, 59)).id
            for d in range(2, 14)]
    assert seen == ["klein", "wolf", "neumann"] * 4
    # The 8 March handoff (the DST day) is still at 08:00 New York time = 12:00 UTC.
    shift = r.shift_at(datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    assert shift is not None and shift.start == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert shift.member_id == "wolf"


def test_handoff_inside_the_skipped_hour_happens_when_the_clocks_jump() -> None:
    r = rotation("x", "g", "primary", "daily", ["a", "b"], anchor=date(2026, 3, 27),
                 handoff=time(2, 30))
    shift = r.shift_at(local(BERLIN, 2026, 3, 29, 12))
    assert shift is not None
    # 02:30 does not exist on 29 March; read with the winter offset it is 01:30 UTC.
    assert shift.start == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert shift.end == local(BERLIN, 2026, 3, 30, 2, 30)


def test_handoff_inside_the_repeated_hour_happens_at_the_first_one() -> None:
    r = rotation("x", "g", "primary", "daily", ["a", "b"], anchor=date(2026, 10, 23),
                 handoff=time(2, 30))
    shift = r.shift_at(datetime(2026, 10, 25, 12, tzinfo=UTC))
    assert shift is not None
    assert shift.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST


def test_nobody_before_the_anchor_and_next_is_the_first_shift() -> None:
    r = rotation("p", "power", "primary", "weekly", ["weber"], anchor=date(2026, 6, 1))
    ros = roster([r])
    at = local(BERLIN, 2026, 5, 30, 12)
    assert ros.on_call("power", "primary", at) is None
    now, nxt = ros.on_call_now_and_next("power", "primary", at)
    assert now is None and nxt is not None
    assert (nxt.contact.id, nxt.start) == ("weber", local(BERLIN, 2026, 6, 1, 9))


def test_now_and_next_reports_the_same_person_again_at_their_next_handoff() -> None:
    ros = roster([rotation("p", "power", "primary", "weekly", ["weber"])])
    now, nxt = ros.on_call_now_and_next("power", "primary", local(BERLIN, 2026, 3, 25, 12))
    assert now is not None and nxt is not None
    assert now.contact == nxt.contact and now.end == nxt.start == local(BERLIN, 2026, 3, 30, 9)


@pytest.mark.parametrize("change, field", [
    ({"pattern": "fortnightly"}, "pattern"),
    ({"members": ()}, "members"),
    ({"pattern": "1-in-3", "members": ("a", "b")}, "members"),
    ({"tz": "Europe/Atlantis"}, "tz"),
    ({"role": "on call"}, "role"),
    ({"handoff": time(9, tzinfo=UTC)}, "handoff"),
])
def test_bad_rotations_are_refused_naming_the_field(change, field) -> None:
    values = dict(id="r", group="g", role="primary", pattern="weekly", members=("a",),
                  anchor=date(2026, 1, 5), handoff=time(9), tz="Europe/Berlin")
    values.update(change)
    with pytest.raises(ValidationError) as err:
        Rotation(**values)
    assert err.value.field == field
