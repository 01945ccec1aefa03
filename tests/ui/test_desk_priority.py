"""Changing a card's priority from the card view: a reason is required, the role is checked by
the service, a refusal reaches the message bar and changes nothing, and what was typed comes
back in the dialog."""

from __future__ import annotations

from typing import Any

import pytest

from app.services.cards.commands import ChangePriority
from app.ui.dialogs import PriorityDialog
from tests.ui.conftest import cell, open_desk, register


def answer(monkeypatch: pytest.MonkeyPatch, *choices: ChangePriority | None) -> list[Any]:
    """Make PriorityDialog.ask return `choices` in turn; record what it was given."""
    asked: list[Any] = []
    queue = list(choices)

    def ask(cls: type, parent: object, card: object, previous: object = None) -> Any:
        asked.append(previous)
        return queue.pop(0) if queue else None

    monkeypatch.setattr(PriorityDialog, "ask", classmethod(ask))
    return asked


def test_priority_change_without_a_reason_is_refused_and_changes_nothing(
        qtbot, window, desk, monkeypatch) -> None:
    card = register(desk, priority="P3", priority_reason="wired network works")
    window.events.announce()
    window.show_number(card.number)
    before = len(desk.cards.timeline(card.number))
    asked = answer(monkeypatch, ChangePriority(card.number, "P1", "   ", "ward called again"))

    assert window.card.change_priority() is False

    qtbot.waitUntil(lambda: window.message_bar.isVisible())
    text = window.message_bar.text.text()
    assert "reason" in text and "Nothing was changed" in text
    assert desk.cards.get(card.number).priority == "P3"
    assert len(desk.cards.timeline(card.number)) == before
    assert cell(window, card.number, "Pri") == "P3"
    # The dialog came back with what had been typed, so the evidence is not lost.
    assert asked == [None, ChangePriority(card.number, "P1", "   ", "ward called again")]


def test_priority_change_with_a_reason_reaches_queue_card_and_timeline(
        qtbot, window, desk, monkeypatch) -> None:
    card = register(desk, priority="P3", priority_reason="wired network works")
    window.events.announce()
    window.show_number(card.number)
    answer(monkeypatch, ChangePriority(card.number, "P1", "whole building now offline",
                                       "ward C phoned"))

    assert window.card.change_priority() is True

    qtbot.waitUntil(lambda: cell(window, card.number, "Pri") == "P1")
    assert window.card.badge.text() == "P1"
    assert desk.cards.get(card.number).priority_reason == "whole building now offline"
    whats = [window.card.timeline.item(r, 2).text() for r in range(window.card.timeline.rowCount())]
    assert "Priority P3 → P1" in whats
    assert window.message_bar.kind == "info"  # the action confirms; no error is shown


def test_a_role_without_the_right_is_refused_by_the_service(qtbot, tmp_path, clock, events,
                                                            ui_settings, monkeypatch) -> None:
    from app.ui.main_window import DeskWindow

    observer = open_desk(tmp_path / "obs.sqlite", clock, role="observer")
    try:
        card = register(observer, priority="P3", priority_reason="wired network works")
        w = DeskWindow(observer, events, settings=ui_settings)
        qtbot.addWidget(w)
        w.show_number(card.number)
        answer(monkeypatch, ChangePriority(card.number, "P1", "looks bad to me"))
        assert w.card.change_priority() is False
        assert "may not change a priority" in w.message_bar.text.text()
        assert observer.cards.get(card.number).priority == "P3"
    finally:
        observer.close()
