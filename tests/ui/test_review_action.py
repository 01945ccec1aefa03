"""Ctrl+Shift+V in the window records the post-incident review a closed P1 owes."""

from __future__ import annotations

from datetime import date

from app.ui.review_dialog import ReviewAnswer, ReviewDialog
from tests.ui.conftest import register

CLOSURE = {"cause": "SFP failed", "workaround": "reserve uplink", "fix": "SFP replaced",
           "lessons": "keep spares on site"}


def test_the_window_records_the_review_of_a_closed_p1(qtbot, window, desk, monkeypatch) -> None:
    card = register(desk)
    desk.cards.change_status(card.number, "restored", desk.operator)
    desk.cards.change_status(card.number, "closed", desk.operator, closure=CLOSURE,
                             confirmed_by="ward C")
    window.events.announce()
    window.show_number(card.number)
    answer = ReviewAnswer("uplink SFP failed", ("stock two spare SFPs",), "L. Fischer",
                          date(2026, 12, 7))
    monkeypatch.setattr(ReviewDialog, "ask", classmethod(lambda cls, *a, **k: answer))
    window.record_review()
    kinds = [e.kind for e in desk.cards.timeline(card.number)]
    assert "card.review" in kinds
    assert "Ctrl+Shift+V" in dict(window.registry.cheat_sheet())
