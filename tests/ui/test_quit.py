"""Quitting asks first when something is at stake (P1/P2 cards open, a report half typed),
and only then: a quiet desk and the wallboard alone quit at once."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.ui.events import DeskEvents
from app.ui.quit_guard import QuitGuard
from tests.ui.conftest import register

# The real question, kept before any fixture replaces it (a conftest may, for every test).
REAL_ASK = QuitGuard.ask


class Asker:
    """Stands in for the question: records each one, answers "Stay" unless told to quit."""

    def __init__(self) -> None:
        self.questions: list[list[str]] = []
        self.quit = False

    def __call__(self, parent: object, reasons: list[str]) -> bool:
        self.questions.append(list(reasons))
        return self.quit


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Asker:
    asker = Asker()
    monkeypatch.setattr(QuitGuard, "ask", classmethod(lambda _cls, p, r: asker(p, r)))
    return asker


def _ctrl_q(qtbot: QtBot, window: Any) -> None:
    window.activateWindow()
    qtbot.keyClick(window.queue.table, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_q_with_p1_and_p2_open_asks_and_stay_keeps_the_desk(
        qtbot: QtBot, desk: Desk, window: Any, asked: Asker) -> None:
    for _ in range(4):
        register(desk)
    register(desk, priority="P2")
    window.queue.reload()

    _ctrl_q(qtbot, window)

    assert asked.questions == [["4 P1 cards open", "1 P2 card open"]]
    assert window.isVisible()  # "Stay": the desk is still there


def test_quit_anyway_closes_the_window(qtbot: QtBot, desk: Desk, window: Any,
                                       asked: Asker) -> None:
    register(desk)
    window.queue.reload()
    asked.quit = True

    _ctrl_q(qtbot, window)

    assert asked.questions == [["1 P1 card open"]]
    assert not window.isVisible()


def test_a_half_typed_report_asks(qtbot: QtBot, window: Any, asked: Asker) -> None:
    window.open_intake()
    qtbot.keyClicks(window.intake.ui.q_what, "smoke from the server room")

    assert not window.close()  # closing the window (title bar, Alt+F4) asks too

    assert len(asked.questions) == 1 and "half typed" in asked.questions[0][0]
    assert window.isVisible()


def test_a_quiet_desk_quits_at_once(qtbot: QtBot, desk: Desk, window: Any,
                                    asked: Asker) -> None:
    register(desk, priority="P3", priority_reason="one printer")
    window.queue.reload()

    _ctrl_q(qtbot, window)

    assert asked.questions == []
    assert not window.isVisible()


def test_the_wallboard_alone_quits_at_once(qtbot: QtBot, desk: Desk, events: DeskEvents,
                                           asked: Asker) -> None:
    from app.ui.launch import build_window

    register(desk)
    board = build_window(desk, events, wallboard=True)
    qtbot.addWidget(board)
    board.show()

    assert board.close()
    assert asked.questions == []


def test_the_question_defaults_to_stay_and_esc_stays(qtbot: QtBot) -> None:
    seen: list[tuple[str, str, str]] = []

    def answer_with_esc() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append((box.text(), box.defaultButton().text(), box.escapeButton().text()))
        qtbot.keyClick(box, Qt.Key.Key_Escape)

    QTimer.singleShot(0, answer_with_esc)
    assert REAL_ASK(None, ["1 P1 card open"]) is False
    text, default, escape = seen[0]
    assert "Quit" in text and default == escape == "&Stay"
