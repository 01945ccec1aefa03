"""Fixtures for the desk window's flows: a real desk on a journal in tmp_path, a fake clock
the tests move, DeskEvents that never tick by themselves (tests emit `tick`), and the window
with its QSettings in tmp_path (never the person's own settings)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.services.cards.card import Card
from app.ui.events import DeskEvents

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# 02:00 in Berlin on a Monday night: the shipped rules' 24/7 clocks run, business ones wait.
NIGHT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NIGHT)


def open_desk(path: Path, clock: FakeClock, role: str = "dispatcher") -> Desk:
    return build_desk(Settings(journal=path, desk_code="B", operator="A. Novak",
                               role=role).validated(), clock)


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    d = open_desk(tmp_path / "desk.sqlite", clock)
    yield d
    d.close()


@pytest.fixture
def events(qtbot: Any, clock: FakeClock) -> DeskEvents:
    return DeskEvents(clock)


@pytest.fixture
def ui_settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot: Any, desk: Desk, events: DeskEvents, ui_settings: QSettings) -> Any:
    from app.ui.main_window import DeskWindow

    w = DeskWindow(desk, events, settings=ui_settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def register(desk: Desk, **extra: str) -> Card:
    """A card as another call taker registered it (P1 network: reaction 10 min, 24/7)."""
    intake = {
        "category": "network", "site": "Campus East", "symptom": "No network in building C",
        "q_what": "no network", "q_where": "building C", "q_when": "01:55, no change known",
        "q_workaround": "none", "q_contact": "ward C reception", "priority": "P1",
        "priority_reason": "patient intake stopped",
    }
    intake.update(extra)
    return desk.cards.register(intake, desk.operator)


def cell(window: Any, number: str, column: str) -> str:
    """What the queue shows for a card in a column (by header), as the view would read it."""
    from app.ui.queue_model import COLUMNS

    model = window.queue.model
    row = model.row_of(number)
    assert row is not None, f"{number} is not in the queue"
    col = [title for _, title in COLUMNS].index(column)
    return str(model.index(row, col).data())

