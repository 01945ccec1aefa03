from datetime import UTC, datetime, timedelta

import pytest

from app.clock import FakeClock


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    clock.advance(90)
    assert clock.now() == datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC)
    clock.advance(timedelta(hours=1))
    assert clock.now().hour == 1


def test_fake_clock_refuses_naive_time() -> None:
    with pytest.raises(ValueError):
        FakeClock(datetime(2026, 1, 1))
