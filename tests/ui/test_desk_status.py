"""Status changes from the card view and from the command bar, seen in the queue and the card."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.services.cards.commands import SetStatus
from app.ui.dialogs import StatusDialog
from tests.ui.conftest import cell, register


def answer(monkeypatch: pytest.MonkeyPatch, *choices: SetStatus | None) -> list[Any]:
    asked: list[Any] = []
    queue = list(choices)

    def ask(cls: type, parent: object, card: object, previous: object = None) -> Any:
        asked.append(previous)
        return queue.pop(0) if queue else None

    monkeypatch.setattr(StatusDialog, "ask", classmethod(ask))
    return asked


def test_status_change_from_the_card(qtbot, window, desk, monkeypatch) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    answer(monkeypatch, SetStatus(card.number, "in_progress", "engineer on site"))

    assert window.card.change_status() is True

    qtbot.waitUntil(lambda: cell(window, card.number, "Status") == "In progress")
    assert window.card.status.text() == "In progress"
    assert window.strip.saved.text().startswith("Journal saved")


def test_closing_without_the_closure_is_refused_and_the_words_come_back(
        qtbot, window, desk, monkeypatch) -> None:
    card = register(desk)
    desk.cards.change_status(card.number, "restored", desk.operator)
    window.events.announce()
    window.show_number(card.number)
    half = SetStatus(card.number, "closed", "", {"cause": "SFP failed", "workaround": "",
                                                 "fix": "", "lessons": ""}, "ward C")
    asked = answer(monkeypatch, half)

    assert window.card.change_status() is False

    assert "closing needs workaround" in window.message_bar.text.text()
    assert desk.cards.get(card.number).status == "restored"
    assert asked == [None, half]


def test_status_change_through_the_command_bar(qtbot, window, desk) -> None:
    card = register(desk)
    window.events.announce()
    window.queue.focus_table()
    qtbot.keyClick(window.queue.table, Qt.Key.Key_Slash)
    assert window.command_bar.hasFocus()

    qtbot.keyClicks(window.command_bar, f"s {card.number} in_progress")
    qtbot.keyClick(window.command_bar, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: cell(window, card.number, "Status") == "In progress")
    assert desk.cards.get(card.number).status == "in_progress"


def test_slash_while_typing_stays_in_the_text(qtbot, window, desk) -> None:
    register(desk)
    window.events.announce()
    window.queue.focus_filter()
    qtbot.keyClicks(window.queue.text, "a/b")
    assert window.queue.text.text() == "a/b"
    assert window.queue.text.hasFocus()


def test_a_dialog_action_confirms_and_replaces_the_last_error(qtbot, window, desk,
                                                             monkeypatch) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    window.events.error.emit("an earlier mistake")
    assert window.message_bar.kind == "error"
    answer(monkeypatch, SetStatus(card.number, "in_progress", "engineer on site"))

    assert window.card.change_status() is True
    assert window.message_bar.kind == "info"
    assert window.message_bar.text.text() == f"{card.number} saved: In progress, P1"
