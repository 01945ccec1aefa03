from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.application import Desk
from app.clock import FakeClock
from tests.intake.helpers import T0, desk_at


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    made = desk_at(tmp_path / "journal.sqlite", clock)
    yield made
    made.close()
