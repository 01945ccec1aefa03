"""A desk on a real journal and a fake clock, for the doors' tests (a module that needs
another desk or clock defines its own fixture of the same name)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    made = build_desk(Settings(journal=tmp_path / "desk.sqlite").validated(), clock)
    yield made
    made.close()
