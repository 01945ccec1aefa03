"""The review dialog: what is typed becomes the review; a refusal reopens it with the words
kept and the reason shown; the wallboard then no longer counts the review as overdue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.application import Desk
from app.clock import FakeClock
from app.services.measures.reviews import review_of
from app.ui import review_dialog
from app.ui.review_dialog import ReviewAnswer, ReviewDialog, record_review
from app.ui.wallboard_view import build_view
from tests.ui.conftest import clock, desk, register  # noqa: F401 - the window tests' desk


def closed_p1(desk: Desk) -> Any:  # noqa: F811
    card = register(desk)
    desk.cards.change_status(card.number, "restored", desk.operator)
    return desk.cards.change_status(card.number, "closed", desk.operator, confirmed_by="ward",
                                    closure={"cause": "PSU", "workaround": "spare",
                                             "fix": "new PSU", "lessons": "stock PSUs"})


def test_the_dialog_keeps_what_was_typed(qtbot: Any, desk: Desk) -> None:  # noqa: F811
    card = closed_p1(desk)
    typed = ReviewAnswer("PSU failed", ("Replace PSUs", "Alarm on PSU"), "M. Keller",
                         date(2026, 12, 7))
    dialog = ReviewDialog(None, card, date(2026, 11, 23), typed, "owner missing")
    qtbot.addWidget(dialog)
    assert dialog.answer() == typed
    assert not dialog.error.isHidden() and dialog.error.text() == "owner missing"
    fresh = ReviewDialog(None, card, date(2026, 11, 23))
    qtbot.addWidget(fresh)
    assert fresh.answer().due == date(2026, 12, 7) and fresh.answer().measures == ()


def test_record_review_asks_again_until_the_service_accepts(
        monkeypatch: pytest.MonkeyPatch, desk: Desk, clock: FakeClock) -> None:  # noqa: F811
    card = closed_p1(desk)
    clock.advance(timedelta(days=8))  # owed for more than a week: overdue on the board
    states = [desk.journal.card(card.id)]

    def board() -> str:
        from app.services.cards.card import Card

        pairs = [(Card.from_state(s), review_of(s)) for s in states]
        return build_view(cards=[], rules=desk.rules, now=clock.now(), loaded_at=clock.now(),
                          reviews=pairs).reviews_overdue

    assert board() == f"1 · {card.number}"
    answers = [ReviewAnswer("PSU failed", ("Replace PSUs",), " ", date(2026, 12, 7)),
               ReviewAnswer("PSU failed", ("Replace PSUs",), "M. Keller", date(2026, 12, 7))]
    seen: list[tuple[Any, str]] = []

    def ask(parent: Any, c: Any, today: date, previous: Any = None, error: str = "") -> Any:
        seen.append((previous, error))
        return answers.pop(0)

    monkeypatch.setattr(review_dialog.ReviewDialog, "ask", staticmethod(ask))
    review = record_review(desk, card)
    assert review is not None and review.owner == "M. Keller"
    assert seen[1][0].owner == " " and "owner" in seen[1][1]  # the refused words came back
    states = [desk.journal.card(card.id)]
    assert board() == ""
