"""SLA clock arithmetic: 24/7, business hours, DST, holidays, pauses and policy parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import ConfigError
from app.services.cards.calendar import (
    OperatingHours,
    add_operating_time,
    deadline_with_pauses,
    operating_time_between,
    parse_duration,
    remaining_operating_time,
)

BERLIN = ZoneInfo("Europe/Berlin")
ALWAYS = OperatingHours()
UTC_OFFICE = OperatingHours(always=False)
BERLIN_OFFICE = OperatingHours(always=False, tz="Europe/Berlin")
BERLIN_EVERY_DAY = OperatingHours(always=False, tz="Europe/Berlin", days=frozenset(range(7)))
# 01:00-05:00 local straddles both Berlin DST changes (02:00->03:00 in March, 03:00->02:00 in Oct).
BERLIN_NIGHT = OperatingHours(
    always=False, tz="Europe/Berlin", days=frozenset(range(7)), start=time(1), end=time(5)
)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Berlin wall-clock time, as the UTC instant the functions take and return."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


# --- 24/7 ------------------------------------------------------------------------------------


def test_always_is_plain_utc_arithmetic() -> None:
    assert add_operating_time(utc(2026, 1, 1, 23, 30), 2 * H, ALWAYS) == utc(2026, 1, 2, 1, 30)
    assert operating_time_between(utc(2026, 1, 1), utc(2026, 1, 3, 6), ALWAYS) == 54 * H
    assert operating_time_between(utc(2026, 1, 3), utc(2026, 1, 1), ALWAYS) == timedelta(0)
    assert ALWAYS.business_day_length() == 24 * H


def test_always_ignores_dst_even_with_a_local_zone() -> None:
    hours = OperatingHours(tz="Europe/Berlin")
    assert add_operating_time(utc(2026, 3, 29, 0, 30), H, hours) == utc(2026, 3, 29, 1, 30)
    assert add_operating_time(utc(2026, 10, 25, 0, 30), H, hours) == utc(2026, 10, 25, 1, 30)


def test_results_are_utc_even_for_other_aware_inputs() -> None:
    result = add_operating_time(datetime(2026, 1, 12, 9, tzinfo=BERLIN), H, BERLIN_OFFICE)
    assert result == utc(2026, 1, 12, 9) and result.tzinfo is UTC


def test_naive_and_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_operating_time(datetime(2026, 1, 1), H, ALWAYS)
    with pytest.raises(ValueError, match="negative"):
        add_operating_time(utc(2026, 1, 1), -H, ALWAYS)


# --- business hours --------------------------------------------------------------------------


def test_friday_afternoon_plus_two_hours_is_monday_morning() -> None:
    # Friday 2026-01-09 17:00 Berlin: one hour today, one hour from Monday's 08:00 opening.
    due = add_operating_time(berlin(2026, 1, 9, 17), 2 * H, BERLIN_OFFICE)
    assert due == berlin(2026, 1, 12, 9) == utc(2026, 1, 12, 8)
    assert operating_time_between(berlin(2026, 1, 9, 17), due, BERLIN_OFFICE) == 2 * H


def test_running_out_at_closing_time_is_due_at_closing_time() -> None:
    assert add_operating_time(utc(2026, 1, 9, 17), H, UTC_OFFICE) == utc(2026, 1, 9, 18)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc(2026, 1, 10, 12), utc(2026, 1, 12, 8, 30)),  # Saturday -> Monday opening
        (utc(2026, 1, 13, 5), utc(2026, 1, 13, 8, 30)),  # Tuesday before opening
        (utc(2026, 1, 13, 18), utc(2026, 1, 14, 8, 30)),  # Tuesday exactly at closing
        (utc(2026, 1, 13, 21), utc(2026, 1, 14, 8, 30)),  # Tuesday evening
    ],
)
def test_clock_started_outside_hours_begins_at_next_opening(
    start: datetime, expected: datetime
) -> None:
    assert add_operating_time(start, 30 * M, UTC_OFFICE) == expected


def test_time_outside_hours_does_not_count() -> None:
    # Friday 12:00 to Monday 12:00: 6 h Friday + 4 h Monday.
    assert operating_time_between(utc(2026, 1, 9, 12), utc(2026, 1, 12, 12), UTC_OFFICE) == 10 * H
    assert operating_time_between(utc(2026, 1, 10), utc(2026, 1, 11, 23), UTC_OFFICE) == 0 * H


def test_holiday_is_skipped() -> None:
    christmas = frozenset({date(2026, 12, 25)})
    hours = OperatingHours(always=False, tz="Europe/Berlin", holidays=christmas)
    # Thursday 24 Dec 17:00 + 2 h: Friday is a holiday, so Monday 28 Dec 09:00 CET.
    christmas_eve = berlin(2026, 12, 24, 17)
    assert add_operating_time(christmas_eve, 2 * H, hours) == utc(2026, 12, 28, 8)
    # Without the holiday it would be Friday 09:00.
    assert add_operating_time(christmas_eve, 2 * H, BERLIN_OFFICE) == utc(2026, 12, 25, 8)
    assert operating_time_between(berlin(2026, 12, 25), berlin(2026, 12, 26), hours) == 0 * H


def test_one_business_day_from_tuesday_morning_is_wednesday_morning() -> None:
    duration, business = parse_duration("1 business day", where="policy.p2.respond")
    assert business
    assert BERLIN_OFFICE.business_day_length() == 10 * H
    span = BERLIN_OFFICE.business_day_length() * duration.days
    due = add_operating_time(berlin(2026, 1, 13, 10), span, BERLIN_OFFICE)
    assert due == berlin(2026, 1, 14, 10) == utc(2026, 1, 14, 9)


def test_long_clocks_walk_day_by_day_quickly() -> None:
    # 250 business days of 10 h from Monday 2026-01-05 08:00 UTC: exactly 50 weeks later.
    due = add_operating_time(utc(2026, 1, 5, 8), 2500 * H, UTC_OFFICE)
    assert due == utc(2026, 12, 18, 18)
    assert operating_time_between(utc(2026, 1, 5, 8), due, UTC_OFFICE) == 2500 * H


def test_hours_that_never_open_raise_instead_of_looping() -> None:
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(60))
    hours = OperatingHours(always=False, days=frozenset({0}), holidays=mondays)
    with pytest.raises(ConfigError, match="never open"):
        add_operating_time(utc(2026, 1, 1), H, hours)
    with pytest.raises(ConfigError, match="never open"):
        operating_time_between(utc(2026, 1, 1), utc(2028, 1, 1), hours)


# --- daylight saving (Europe/Berlin: 2026-03-29 and 2026-10-25) ------------------------------


def test_weekend_over_spring_forward_moves_the_utc_opening() -> None:
    # Friday 17:00 CET = 16:00 UTC; Monday 09:00 CEST = 07:00 UTC.
    due = add_operating_time(utc(2026, 3, 27, 16), 2 * H, BERLIN_OFFICE)
    assert due == utc(2026, 3, 30, 7)


def test_weekend_over_fall_back_moves_the_utc_opening() -> None:
    # Friday 17:00 CEST = 15:00 UTC; Monday 09:00 CET = 08:00 UTC.
    assert add_operating_time(utc(2026, 10, 23, 15), 2 * H, BERLIN_OFFICE) == utc(2026, 10, 26, 8)


def test_daytime_window_on_dst_sunday_opens_at_local_eight() -> None:
    # Saturday 17:00 CET + 2 h = Sunday 09:00 CEST (07:00 UTC).
    assert add_operating_time(utc(2026, 3, 28, 16), 2 * H, BERLIN_EVERY_DAY) == utc(2026, 3, 29, 7)
    # Saturday 17:00 CEST + 2 h = Sunday 09:00 CET (08:00 UTC).
    due = add_operating_time(utc(2026, 10, 24, 15), 2 * H, BERLIN_EVERY_DAY)
    assert due == utc(2026, 10, 25, 8)


def test_spring_forward_window_is_one_hour_shorter() -> None:
    # 01:00 CET (00:00 UTC) to 05:00 CEST (03:00 UTC): three real hours.
    day = (utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert operating_time_between(*day, BERLIN_NIGHT) == 3 * H
    assert add_operating_time(utc(2026, 3, 29, 0), 3 * H, BERLIN_NIGHT) == utc(2026, 3, 29, 3)
    # Half an hour more spills into Monday 01:00 CEST = Sunday 23:00 UTC.
    due = add_operating_time(utc(2026, 3, 29, 0), 3.5 * H, BERLIN_NIGHT)
    assert due == utc(2026, 3, 29, 23, 30)


def test_fall_back_window_is_one_hour_longer() -> None:
    # 01:00 CEST (Saturday 23:00 UTC) to 05:00 CET (04:00 UTC): five real hours.
    day = (utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert operating_time_between(*day, BERLIN_NIGHT) == 5 * H
    due = add_operating_time(utc(2026, 10, 24, 12), 4.5 * H, BERLIN_NIGHT)
    assert due == utc(2026, 10, 25, 3, 30)
    assert add_operating_time(utc(2026, 10, 24, 12), 5 * H, BERLIN_NIGHT) == utc(2026, 10, 25, 4)


def test_opening_inside_the_spring_gap_uses_the_pre_change_offset() -> None:
    # 02:30 does not exist on 2026-03-29; PEP 495 fold=0 reads it as 02:30 CET = 01:30 UTC.
    hours = OperatingHours(
        always=False, tz="Europe/Berlin", days=frozenset({6}), start=time(2, 30), end=time(4)
    )
    assert add_operating_time(utc(2026, 3, 28), 10 * M, hours) == utc(2026, 3, 29, 1, 40)
    assert operating_time_between(utc(2026, 3, 28), utc(2026, 3, 30), hours) == 30 * M


# --- pauses ----------------------------------------------------------------------------------

T0 = utc(2026, 1, 5, 8)  # Monday


def test_closed_pause_extends_the_deadline() -> None:
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, []) == utc(2026, 1, 5, 12)
    pauses = [(utc(2026, 1, 5, 9), utc(2026, 1, 5, 10))]
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, pauses) == utc(2026, 1, 5, 13)


def test_open_pause_means_no_deadline() -> None:
    pauses: list[tuple[datetime, datetime | None]] = [
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 10)),
        (utc(2026, 1, 5, 11), None),
    ]
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, pauses) is None
    # Paused at 11:00 after 2 h of 4 h: 2 h left, and it stays that way while paused.
    assert remaining_operating_time(T0, 4 * H, ALWAYS, pauses, utc(2026, 1, 9)) == 2 * H


def test_overlapping_and_unsorted_pauses_count_once() -> None:
    overlapping = [
        (utc(2026, 1, 5, 10), utc(2026, 1, 5, 11)),
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 10, 30)),
    ]
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, overlapping) == utc(2026, 1, 5, 14)
    nested = [
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 12)),
        (utc(2026, 1, 5, 10), utc(2026, 1, 5, 11)),
    ]
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, nested) == utc(2026, 1, 5, 15)
    open_inside = [(utc(2026, 1, 5, 9), utc(2026, 1, 5, 12)), (utc(2026, 1, 5, 10), None)]
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, open_inside) is None


def test_pause_after_the_breach_does_not_hide_it() -> None:
    late_open: list[tuple[datetime, datetime | None]] = [(utc(2026, 1, 5, 10), None)]
    assert deadline_with_pauses(T0, H, ALWAYS, late_open) == utc(2026, 1, 5, 9)
    late_closed = [(utc(2026, 1, 5, 10), utc(2026, 1, 5, 12))]
    assert deadline_with_pauses(T0, H, ALWAYS, late_closed) == utc(2026, 1, 5, 9)
    # Used up exactly as the pause began: the breach is at the pause.
    assert deadline_with_pauses(T0, 2 * H, ALWAYS, late_open) == utc(2026, 1, 5, 10)


def test_pauses_before_or_across_the_start_are_clipped() -> None:
    pauses = [(utc(2026, 1, 5, 6), utc(2026, 1, 5, 7)), (utc(2026, 1, 5, 7), utc(2026, 1, 5, 9))]
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, pauses) == utc(2026, 1, 5, 13)
    waiting: list[tuple[datetime, datetime | None]] = [(utc(2026, 1, 4), None)]
    assert deadline_with_pauses(T0, 4 * H, ALWAYS, waiting) is None


def test_pauses_with_business_hours() -> None:
    # Monday 09:00-12:00 CET runs 3 h, paused until Tuesday 12:00; 7 h left of 10 h:
    # Tuesday 12:00-18:00 (6 h) and Wednesday 08:00-09:00 CET.
    pauses = [(berlin(2026, 1, 12, 12), berlin(2026, 1, 13, 12))]
    due = deadline_with_pauses(berlin(2026, 1, 12, 9), 10 * H, BERLIN_OFFICE, pauses)
    assert due == utc(2026, 1, 14, 8)
    # Breach Monday 18:00 CET, pause starting that evening does not excuse it.
    evening: list[tuple[datetime, datetime | None]] = [(berlin(2026, 1, 12, 20), None)]
    assert deadline_with_pauses(berlin(2026, 1, 12, 9), 9 * H, BERLIN_OFFICE, evening) == utc(
        2026, 1, 12, 17
    )


def test_pause_resumed_before_it_began_is_refused() -> None:
    with pytest.raises(ValueError, match="before it began"):
        deadline_with_pauses(T0, H, ALWAYS, [(utc(2026, 1, 5, 10), utc(2026, 1, 5, 9))])


def test_remaining_time_counts_down_and_goes_negative_when_overdue() -> None:
    pauses = [(utc(2026, 1, 5, 8, 30), utc(2026, 1, 5, 9))]
    assert deadline_with_pauses(T0, H, ALWAYS, pauses) == utc(2026, 1, 5, 9, 30)
    assert remaining_operating_time(T0, H, ALWAYS, pauses, utc(2026, 1, 5, 7)) == H
    assert remaining_operating_time(T0, H, ALWAYS, pauses, utc(2026, 1, 5, 8, 45)) == 30 * M
    assert remaining_operating_time(T0, H, ALWAYS, pauses, utc(2026, 1, 5, 9, 30)) == 0 * M
    assert remaining_operating_time(T0, H, ALWAYS, pauses, utc(2026, 1, 5, 10)) == -30 * M


def test_overdue_in_business_hours_counts_only_business_time() -> None:
    # Due Friday 18:00; by Monday 09:00 it is one business hour overdue, not 63 hours.
    start = utc(2026, 1, 9, 8)
    assert remaining_operating_time(start, 10 * H, UTC_OFFICE, [], utc(2026, 1, 12, 9)) == -H


# --- parse_duration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", (10 * M, False)),
        ("15 min", (15 * M, False)),
        ("2h", (2 * H, False)),
        ("4 h", (4 * H, False)),
        ("90s", (timedelta(seconds=90), False)),
        ("1d", (timedelta(days=1), False)),
        ("1 business day", (timedelta(days=1), True)),
        ("2 business days", (timedelta(days=2), True)),
        ("  3 Business  Days ", (timedelta(days=3), True)),
        ("45 minutes", (45 * M, False)),
    ],
)
def test_parse_duration_accepts_policy_forms(text: str, expected: tuple[timedelta, bool]) -> None:
    assert parse_duration(text, where="policy.p1.respond") == expected


@pytest.mark.parametrize(
    "text",
    ["", "soon", "1.5h", "-2h", "0m", "2 weeks", "h", "2 business", "10 mins please", "2h30m"],
)
def test_parse_duration_rejects_bad_text(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(text, where="policy.p1.respond")
    assert "policy.p1.respond" in str(info.value)
    assert "'2 business days'" in str(info.value)  # shows the accepted forms


def test_parse_duration_rejects_absurdly_long() -> None:
    with pytest.raises(ConfigError, match="too long"):
        parse_duration("99999999999999 days", where="policy.p1.respond")


# --- OperatingHours configuration ------------------------------------------------------------


def test_from_mapping_reads_business_hours() -> None:
    hours = OperatingHours.from_mapping(
        {
            "hours": "business",
            "tz": "Europe/Berlin",
            "days": ["mon", "Tue", "wednesday", "thu", "fri", "sat"],
            "start": "07:30",
            "end": time(16, 0),
            "holidays": ["2026-12-25", date(2026, 12, 26)],
        },
        where="policy.p1",
    )
    assert hours == OperatingHours(
        always=False,
        tz="Europe/Berlin",
        days=frozenset(range(6)),
        start=time(7, 30),
        end=time(16),
        holidays=frozenset({date(2026, 12, 25), date(2026, 12, 26)}),
    )
    assert hours.business_day_length() == 8.5 * H


def test_from_mapping_defaults() -> None:
    assert OperatingHours.from_mapping({"hours": "24/7"}, where="p") == ALWAYS
    assert OperatingHours.from_mapping({"hours": "business"}, where="p") == UTC_OFFICE


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "hours"),
        ({"hours": "sometimes"}, "hours"),
        ({"hours": "business", "tz": "Mars/Olympus_Mons"}, "tz"),
        ({"hours": "business", "tz": 1}, "tz"),
        ({"hours": "24/7", "tz": "Europe"}, "tz"),
        ({"hours": "business", "days": "mon-fri"}, "days"),
        ({"hours": "business", "days": []}, "days"),
        ({"hours": "business", "days": ["mon", "funday"]}, "days"),
        ({"hours": "business", "start": "8am"}, "start"),
        ({"hours": "business", "start": 8}, "start"),
        ({"hours": "business", "end": "24:00"}, "end"),
        ({"hours": "business", "start": "18:00", "end": "08:00"}, "end"),
        ({"hours": "business", "start": "08:00", "end": "08:00"}, "end"),
        ({"hours": "business", "holidays": "2026-12-25"}, "holidays"),
        ({"hours": "business", "holidays": ["2026-13-01"]}, "holidays"),
        ({"hours": "business", "holidays": ["25.12.2026"]}, "holidays"),
        ({"hours": "business", "holidays": [datetime(2026, 12, 25)]}, "holidays"),
        ({"hours": "business", "holiday": ["2026-12-25"]}, "holiday"),
        ({"hours": "24/7", "days": ["mon"]}, "days"),
    ],
)
def test_from_mapping_errors_name_where_and_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        OperatingHours.from_mapping(data, where="policies.toml [policy.p1]")
    message = str(info.value)
    assert message.startswith("policies.toml [policy.p1]: ")
    assert key in message
    assert "expected" in message or "must" in message
    assert info.value.field == key


def test_constructor_validates_too() -> None:
    with pytest.raises(ConfigError) as info:
        OperatingHours(tz="Nowhere/City")
    assert info.value.field == "tz"
    with pytest.raises(ConfigError) as info:
        OperatingHours(always=False, start=time(18), end=time(8))
    assert info.value.field == "end"
    with pytest.raises(ConfigError) as info:
        OperatingHours(always=False, days=frozenset({7}))
    assert info.value.field == "days"


# --- properties ------------------------------------------------------------------------------

ALL_HOURS = [
    ALWAYS,
    UTC_OFFICE,
    BERLIN_NIGHT,
    OperatingHours(
        always=False,
        tz="Europe/Berlin",
        days=frozenset({0, 2, 3, 5}),
        start=time(7, 45),
        end=time(19, 15),
        holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1)}),
    ),
    OperatingHours(always=False, tz="America/New_York", days=frozenset({6}), start=time(1, 30)),
]
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
seconds = st.integers(min_value=0, max_value=40 * 24 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=300, deadline=None)
@given(start=instants, duration=seconds, hours=st.sampled_from(ALL_HOURS))
def test_between_undoes_add(start: datetime, duration: timedelta, hours: OperatingHours) -> None:
    due = add_operating_time(start, duration, hours)
    assert due >= start
    assert operating_time_between(start, due, hours) == duration


pause_specs = st.lists(
    st.tuples(
        st.integers(min_value=-3 * 24 * 3600, max_value=20 * 24 * 3600),
        st.none() | st.integers(min_value=0, max_value=5 * 24 * 3600),
    ),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(
    start=instants,
    duration=st.integers(min_value=1, max_value=10 * 24 * 3600).map(lambda s: timedelta(seconds=s)),
    hours=st.sampled_from(ALL_HOURS),
    specs=pause_specs,
)
def test_deadline_agrees_with_remaining(
    start: datetime,
    duration: timedelta,
    hours: OperatingHours,
    specs: list[tuple[int, int | None]],
) -> None:
    pauses: list[tuple[datetime, datetime | None]] = [
        (
            start + timedelta(seconds=offset),
            None if length is None else start + timedelta(seconds=offset + length),
        )
        for offset, length in specs
    ]
    due = deadline_with_pauses(start, duration, hours, pauses)
    if due is None:
        latest = max(p for p, _ in pauses)
        assert remaining_operating_time(start, duration, hours, pauses, latest) > timedelta(0)
    else:
        assert remaining_operating_time(start, duration, hours, pauses, due) == timedelta(0)
        just_before = due - timedelta(microseconds=1)
        assert remaining_operating_time(start, duration, hours, pauses, just_before) > timedelta(0)
