"""The card's paging section acts on the ladder: "Escalate now" (Ctrl+Shift+E), "Hold the
ladder…" with a reason and "Resume" (Ctrl+Shift+H), each confirmed in the section; the hold
dialog keeps the focus rules of issue 15. The real window, the real ladder against the
Twilio stand-in, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QPushButton

from app.adapters.roster_store import DEFAULT_EXAMPLE
from app.bootstrap import build_escalation, twilio_pager_from
from app.services.escalation.commands import HoldLadder
from app.services.escalation.service import EscalationService
from app.ui.ladder_dialogs import HoldDialog
from tests.twilio_standin import TwilioStandIn
from tests.ui.conftest import register
from tests.ui.test_paging_section import Secrets

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def ladder(desk: Any, twilio: TwilioStandIn) -> Iterator[EscalationService]:
    desk.roster.import_file(DEFAULT_EXAMPLE)
    service = build_escalation(desk, twilio_pager_from(Secrets(twilio), twilio.base_url))
    yield service
    service.close()


def _paged_card(window: Any, desk: Any, ladder: EscalationService) -> Any:
    card = register(desk)  # P1 network
    ladder.run_due()
    window.events.announce()
    window.show_number(card.number)
    return card


def _kinds(desk: Any, card_id: str) -> list[str]:
    return [e.kind for e in desk.journal.entries(card_id)]


def test_escalate_now_pages_the_next_tier_and_says_so_in_the_section(
        qtbot, window, desk, ladder, twilio) -> None:
    card = _paged_card(window, desk, ladder)
    section = window.card.paging
    assert section.escalate.isEnabled() and section.hold.text().startswith("Hold the ladder…")
    qtbot.keyClick(window.queue.table, Qt.Key.Key_E, CTRL_SHIFT)
    assert _kinds(desk, card.id).count("ladder.escalate") == 1
    assert section.done.text().startswith("Escalated at ")
    assert "next: tier 2 at" in section.done.text()
    ladder.run_due()
    window.events.announce(frozenset({card.id}))
    backup = ladder.state(card.id).steps[1]
    assert backup.tier == 2 and backup.channels["sms"].sent_at is not None
    assert section.view is not None and section.view.ladder.startswith("tier 2 of ")
    assert "escalated at" in section.view.steps[0]
    assert section.done.text().startswith("Escalated at ")  # kept while the card is shown


def test_hold_asks_why_then_the_same_key_resumes(qtbot, window, desk, ladder, clock,
                                                 monkeypatch) -> None:
    card = _paged_card(window, desk, ladder)
    section = window.card.paging
    asked: list[Any] = []

    def ask(cls: Any, parent: Any, c: Any, previous: Any = None) -> HoldLadder:
        asked.append(previous)
        return HoldLadder(c.id, "technician rang back: on site in 20 min")

    monkeypatch.setattr(HoldDialog, "ask", classmethod(ask))
    qtbot.keyClick(window.queue.table, Qt.Key.Key_H, CTRL_SHIFT)
    assert asked == [None]
    assert section.done.text().startswith("Held at ")
    assert "HELD by A. Novak" in section.ladder_line.text()
    assert section.hold.text().startswith("Resume the ladder")
    assert not section.escalate.isEnabled()
    clock.advance(600)
    ladder.run_due()
    assert len(ladder.state(card.id).steps) == 1  # nothing new fired while held

    qtbot.keyClick(window.queue.table, Qt.Key.Key_H, CTRL_SHIFT)
    assert asked == [None]  # resuming asks nothing
    assert section.done.text().startswith("Resumed at ")
    assert section.hold.text().startswith("Hold the ladder…")
    ladder.run_due()
    assert len(ladder.state(card.id).steps) == 2
    assert _kinds(desk, card.id).count("ladder.hold") == 1


def test_a_refused_hold_asks_again_with_the_words_kept(qtbot, window, desk, ladder,
                                                       monkeypatch) -> None:
    card = _paged_card(window, desk, ladder)
    asked: list[Any] = []
    too_long = "x" * 600

    def ask(cls: Any, parent: Any, c: Any, previous: Any = None) -> HoldLadder | None:
        asked.append(previous)
        return HoldLadder(c.id, too_long) if previous is None else None

    monkeypatch.setattr(HoldDialog, "ask", classmethod(ask))
    assert window.card.paging.hold_or_resume() is False
    assert asked == [None, HoldLadder(card.id, too_long)]
    assert "keep it under 500" in window.message_bar.text.text()
    assert "ladder.hold" not in _kinds(desk, card.id)


def test_a_card_without_a_ladder_offers_nothing(qtbot, window, desk, ladder,
                                                monkeypatch) -> None:
    card = register(desk, priority="P4", priority_reason="one printer")
    window.events.announce()
    window.show_number(card.number)
    section = window.card.paging
    assert not section.escalate.isEnabled() and not section.hold.isEnabled()
    asked: list[Any] = []
    monkeypatch.setattr(HoldDialog, "ask", classmethod(lambda cls, *a, **k: asked.append(a)))
    qtbot.keyClick(window.queue.table, Qt.Key.Key_H, CTRL_SHIFT)
    assert asked == []  # no words asked for a hold that cannot be
    assert "no ladder to hold: P4 cards are not paged" in window.message_bar.text.text()
    qtbot.keyClick(window.queue.table, Qt.Key.Key_E, CTRL_SHIFT)
    assert "no ladder to escalate" in window.message_bar.text.text()
    assert "ladder.escalate" not in _kinds(desk, card.id)


def test_the_hold_dialog_keeps_the_focus_rules(qtbot, desk) -> None:
    card = register(desk)
    dialog = HoldDialog(None, card, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.reason)
    assert not [b.text() for b in dialog.findChildren(QPushButton)
                if b.isDefault() or b.autoDefault()]
    assert not dialog.ok.isEnabled()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible()  # no reason: nothing to hold
    qtbot.keyClicks(dialog.reason, "caller on the line")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # the one line: Enter holds
    assert dialog.result() == QDialog.DialogCode.Accepted
    again = HoldDialog(None, card, HoldLadder(card.id, "kept"))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.reason.text() == "kept"
    qtbot.waitUntil(lambda: QApplication.focusWidget() is again.reason)
    qtbot.keyClick(again.reason, Qt.Key.Key_Escape)
    assert again.result() == QDialog.DialogCode.Rejected and not again.isVisible()


def test_f1_lists_the_ladder_keys(window) -> None:
    rows = dict(window.registry.cheat_sheet())
    assert rows["Ctrl+Shift+E"] == "Escalate the ladder now"
    assert rows["Ctrl+Shift+H"] == "Hold / resume the ladder…"
