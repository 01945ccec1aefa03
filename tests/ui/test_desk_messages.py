"""The status-message composer in the card view, the assignee, and the dialogs' own checks."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QDialogButtonBox

from app.services.cards.commands import Assign, PostStatusMessage
from app.services.cards.status_message import compose
from app.ui.dialogs import AssignDialog, StatusMessageDialog
from tests.ui.conftest import cell, register


def test_composer_previews_the_fixed_phrasing_and_refuses_blanks(qtbot, desk, clock) -> None:
    card = register(desk)
    dialog = StatusMessageDialog(
        None, card, lambda shape, parts: compose(shape, card, desk.rules, clock.now(), parts),
        None)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.preview.text() == ("P1. No network in building C at Campus East since 02:00. "
                                     "Assigned: not yet assigned. Next update at 02:30.")
    assert ok.isEnabled()

    dialog.shape.setCurrentIndex(dialog.shape.findData("progress"))
    assert "what was done is needed" in dialog.preview.text()
    assert not ok.isEnabled()  # nothing unfinished can be sent
    dialog.parts["done"].setText("switch stack power-cycled, no effect")
    assert dialog.preview.text().startswith(
        "Cause under investigation. Done: switch stack power-cycled, no effect.")
    assert ok.isEnabled()
    assert dialog.message is not None
    assert dialog.message.next_update_at == clock.now() + timedelta(minutes=30)


def test_status_message_sets_the_next_update_clock(qtbot, window, desk, clock,
                                                   monkeypatch) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)

    def ask(cls, parent, card, fill, previous=None):  # type: ignore[no-untyped-def]
        if previous is not None:
            return None
        message = fill("workaround", {"workaround": "users moved to the reserve channel"})
        return PostStatusMessage(card.number, message.text, message.next_update_at)

    monkeypatch.setattr(StatusMessageDialog, "ask", classmethod(ask))
    clock.advance(timedelta(minutes=5))
    assert window.card.status_message() is True
    after = desk.cards.get(card.number)
    assert after.next_update_at == clock.now() + timedelta(minutes=30)
    qtbot.waitUntil(lambda: cell(window, card.number, "Next update") == "30m")
    last = desk.cards.timeline(card.number)[-1]
    assert last.payload["text"].startswith("Workaround: users moved to the reserve channel.")


def test_assignee_reaches_the_queue(qtbot, window, desk, monkeypatch) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    monkeypatch.setattr(AssignDialog, "ask", classmethod(
        lambda cls, parent, card, previous=None: None if previous else Assign(card.number,
                                                                          "L. Fischer")))
    assert window.card.assign() is True
    qtbot.waitUntil(lambda: cell(window, card.number, "Assigned") == "L. Fischer")
