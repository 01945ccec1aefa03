"""F5-F8 add the site's canned notes to the card in view, through the CardService."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from app.application import Desk
from app.clock import FakeClock
from app.ui.canned_notes import canned_note_handlers, install_canned_notes
from app.ui.events import DeskEvents
from tests.ui.intake_fixtures import START, Heard, make_desk, register_directly


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = make_desk(tmp_path / "journal.sqlite", FakeClock(START))
    yield d
    d.close()


def _notes(desk: Desk, number: str) -> list[str]:
    return [e.payload["text"] for e in desk.cards.timeline(number) if e.kind == "card.note"]


def test_f_keys_add_the_configured_notes_to_the_current_card(qtbot, desk) -> None:
    number = register_directly(desk, "HQ", "network", "No network")
    events = DeskEvents(desk.clock)
    heard = Heard.on(events)
    host = QWidget()
    typing = QLineEdit(host)  # F-keys work while the cursor is in a text field
    QVBoxLayout(host).addWidget(typing)
    qtbot.addWidget(host)
    current: list[str | None] = [number]
    actions = install_canned_notes(host, desk, events, lambda: current[0])
    assert [a.shortcut().toString() for a in actions] == ["F5", "F6", "F7", "F8"]
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    typing.setFocus()
    qtbot.waitUntil(typing.hasFocus)
    typing.setText("half a sentence")
    with qtbot.waitSignal(events.changed, timeout=2000):
        qtbot.keyClick(typing, Qt.Key.Key_F5)
    qtbot.keyClick(typing, Qt.Key.Key_F8)
    texts = {n.key: n.text for n in desk.rules.canned_notes}
    assert _notes(desk, number) == [texts["F5"], texts["F8"]]
    assert typing.text() == "half a sentence"
    assert heard.errors == []
    # No card in view: the person is told, nothing is written.
    current[0] = None
    qtbot.keyClick(typing, Qt.Key.Key_F6)
    assert "open or select the card first" in heard.errors[-1]
    assert len(_notes(desk, number)) == 2


def test_handlers_for_an_action_registry(qtbot, desk) -> None:
    number = register_directly(desk, "HQ", "network", "No network")
    events = DeskEvents(desk.clock)
    handlers = canned_note_handlers(desk, events, lambda: number)
    assert sorted(handlers) == ["canned:F5", "canned:F6", "canned:F7", "canned:F8"]
    card = handlers["canned:F7"]()
    assert card is not None and card.number == number
    assert _notes(desk, number) == [desk.rules.canned_notes[2].text]
