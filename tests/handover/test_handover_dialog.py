"""The handover dialog: an edit through the dialog, acceptance refused without the read-back
ticks, accepted with them, and the override with a reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.clock import FakeClock
from app.services.handover.service import HandoverService
from app.ui.events import DeskEvents
from app.ui.handover_dialog import HandoverDialog


@pytest.fixture
def dialog(qtbot: QtBot, desk: Desk, handover: HandoverService,
           clock: FakeClock) -> Iterator[tuple[HandoverDialog, list[str]]]:
    events = DeskEvents(clock)
    errors: list[str] = []
    events.error.connect(errors.append)
    d = HandoverDialog(desk, events, handover)
    qtbot.addWidget(d)
    yield d, errors


def test_accept_needs_every_read_back_tick(dialog: tuple[HandoverDialog, list[str]],
                                           handover: HandoverService) -> None:
    d, errors = dialog
    assert d.sheet is not None and d.read_back.count() == len(d.sheet.critical_numbers) > 1
    d.target.setCurrentIndex(1)  # the riskiest card
    d.field.setCurrentText("next_step")
    d.text.setText("Call L. Fischer for the switch ETA")
    d.save_edit()
    assert not errors and "Call L. Fischer for the switch ETA" in d.view.toPlainText()

    d.incoming.setText("S. Yilmaz")
    d.read_back.item(0).setCheckState(Qt.CheckState.Checked)
    d.accept_handover()
    assert errors and "read back the critical card" in errors[-1]
    assert handover.status().state == "pending"

    for i in range(d.read_back.count()):
        d.read_back.item(i).setCheckState(Qt.CheckState.Checked)
    d.accept_handover()
    assert handover.status().state == "accepted"
    assert not d.accept_button.isEnabled()  # re-drafted from the journal on `changed`
    assert "Accepted at 19:45" in d.view.toPlainText()


def test_override_asks_for_a_reason(dialog: tuple[HandoverDialog, list[str]],
                                    handover: HandoverService,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    d, errors = dialog
    monkeypatch.setattr(HandoverDialog, "ask_reason", classmethod(lambda cls, parent: ""))
    d.override_handover()
    assert errors and "reason" in errors[-1] and handover.status().state == "pending"
    monkeypatch.setattr(HandoverDialog, "ask_reason",
                        classmethod(lambda cls, parent: "incoming lead ill, manager informed"))
    d.override_handover()
    assert handover.status().state == "overridden"
