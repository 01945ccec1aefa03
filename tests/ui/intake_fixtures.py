"""Helpers shared by the intake, command bar and canned-note tests: a real desk on a journal
in tmp_path with a fake clock, and a recorder for what reaches the one error place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.services.cards.card import Operator
from app.ui.events import DeskEvents

START = FakeClock().now()

# A report as a dispatcher would take it on the phone (every field of the form).
REPORT: dict[str, str] = {
    "source_channel": "phone",
    "reporter": "R. Okafor, front desk, ext 2201",
    "kind_of_work": "emergency",
    "q_what": "Patient intake screens say 'service unavailable' for all front-desk staff",
    "symptom": "Patient intake app shows 'service unavailable'",
    "category": "application",
    "impact_scope": "a team",
    "affected_users": "12",
    "impact": "high",
    "risk_signs": "none",
    "site": "Clinic North",
    "building": "A",
    "floor": "1",
    "room": "Reception 1.02",
    "equipment": "all six intake PCs",
    "q_when": "since 07:40; Windows updates were installed overnight",
    "tried": "restarted two PCs, no change",
    "workaround": "paper intake forms, slow",
    "urgency": "high",
    "onsite_contact": "R. Okafor, +49 30 5550 2201",
    "confirmer": "Dr. Haas, ward lead",
    "priority_reason": "patient intake stopped at the main clinic",
}


def make_desk(path: Path, clock: FakeClock | None = None, role: str = "dispatcher") -> Desk:
    settings = Settings(journal=path, desk_code="B", operator="A. Novak", role=role)
    return build_desk(settings, clock or FakeClock(START))


@dataclass
class Heard:
    """Everything DeskEvents said, in order."""

    errors: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    changes: list[Any] = field(default_factory=list)

    @classmethod
    def on(cls, events: DeskEvents) -> Heard:
        heard = cls()
        events.error.connect(heard.errors.append)
        events.info.connect(heard.infos.append)
        events.changed.connect(heard.changes.append)
        return heard


def fill(form: Any, values: dict[str, str]) -> None:
    """Type values into the form's inputs as a person would set them."""
    for key, value in values.items():
        widget = form.ui.inputs[key]
        if isinstance(widget, QLineEdit):
            widget.setText(value)
            widget.editingFinished.emit()
        elif isinstance(widget, QComboBox) and widget.isEditable():
            widget.setCurrentText(value)
        else:
            index = widget.findData(value)
            assert index >= 0, f"{key}: no choice {value!r}"
            widget.setCurrentIndex(index)
            widget.activated.emit(index)


def register_directly(desk: Desk, site: str, category: str, symptom: str) -> str:
    """A card registered through the service, as another call taker would have."""
    intake = {
        "category": category, "site": site, "symptom": symptom, "q_what": symptom,
        "q_where": site, "q_when": "just now", "q_workaround": "none",
        "q_contact": "site duty desk", "priority": "P2", "priority_reason": "one floor down",
    }
    return desk.cards.register(intake, Operator("M. Keller")).number

# The intake and command-bar tests' own desk (their clock and operator), as fixtures.

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    d = make_desk(tmp_path / "journal.sqlite", clock)
    yield d
    d.close()


@pytest.fixture
def events(qtbot: object, clock: FakeClock) -> DeskEvents:
    return DeskEvents(clock)
