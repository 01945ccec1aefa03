"""The stack of notices in the window: a P1 written by another process is heard and listed,
the typing in the intake form is not interrupted, F4 clears it, and a silenced kind is
listed without a sound (a P1 never is silenced)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.adapters.sound import NoSound
from tests.ui.conftest import open_desk, register


class Heard(NoSound):
    """The window's sound, kept: what it was asked to play (the player itself is tested in
    tests/alerts/test_sound.py)."""

    def __init__(self) -> None:
        super().__init__("test")
        self.kinds: list[str] = []

    def play(self, kind: str) -> bool:
        self.kinds.append(kind)
        return True


def make_window(qtbot: Any, desk: Any, events: Any, ui_settings: Any, sound: Heard) -> Any:
    from app.ui.main_window import DeskWindow

    w = DeskWindow(desk, events, settings=ui_settings, sound=sound)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_p1_from_another_process_is_heard_and_listed_without_taking_focus(
        qtbot, desk, events, ui_settings, tmp_path, clock) -> None:
    sound = Heard()
    window = make_window(qtbot, desk, events, ui_settings, sound)
    window.activateWindow()
    window.open_intake()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    field = QApplication.focusWidget()
    qtbot.keyClicks(field, "Campus")
    other = open_desk(desk.journal.path, clock)  # a second process writes the journal
    card = register(other)
    other.close()
    window.events.announce()  # what the journal watch does on another process's write
    assert sound.kinds == ["p1"]
    assert window.notices.isVisible()
    assert any(card.number in t and "New P1" in t for t in window.notices.texts())
    assert QApplication.focusWidget() is field  # the typing was not interrupted
    qtbot.keyClicks(field, " East")
    assert "Campus East" in (field.text() if hasattr(field, "text") else field.currentText())
    qtbot.keyClick(window, Qt.Key.Key_F4)
    assert not window.notices.isVisible() and window.notices.notices == []


def test_a_silenced_kind_is_listed_not_heard_and_the_breach_comes_once(
        qtbot, desk, events, ui_settings, clock) -> None:
    from dataclasses import replace

    desk.settings = replace(desk.settings, silence="running_out")
    sound = Heard()
    window = make_window(qtbot, desk, events, ui_settings, sound)
    register(desk)
    window.events.announce()
    clock.advance(timedelta(minutes=9))
    window.alerts.look()  # running out: silenced, listed
    clock.advance(timedelta(minutes=2))
    window.alerts.look()
    window.alerts.look()
    assert sound.kinds == ["p1", "breach"]
    kinds = [n.kind for n in window.notices.notices]
    assert kinds == ["breach", "running_out", "p1"]
    assert "F4 clears" in window.notices.title.text()
