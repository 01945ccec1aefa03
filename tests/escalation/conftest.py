from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.clock import FakeClock
from tests.escalation.harness import LadderDesk

# Monday 23 November 2026, 02:10 UTC: the drill's P1 at night.
T0 = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def desk(ladder_desk: LadderDesk) -> LadderDesk:
    return ladder_desk
