from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.clock import FakeClock
from tests.messages.harness import Inbox, MessageDesk, build, smtp_server
from tests.twilio_standin import TwilioStandIn

# Monday 23 November 2026, 02:10 UTC: the drill's P1 at night.
T0 = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)



@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as found:
        yield found


@pytest.fixture
def md(tmp_path: Path, clock: FakeClock, twilio: TwilioStandIn,
       smtp: tuple[Inbox, int]) -> Iterator[MessageDesk]:
    made = build(tmp_path, clock, twilio.base_url, twilio.account_sid, twilio.auth_token,
                 smtp_port=smtp[1])
    yield made
    made.close()
