"""Post-incident reviews: owed on closing a P1/P2, recorded with measures, each ticked off,
overdue when late; on the report, and the same state after a rebuild from the entries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.clock import FakeClock
from app.errors import TransitionError, ValidationError
from app.models.journal import Journal
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.measures import ReviewService, review_of
from app.services.measures.reviews import REVIEW_WITHIN, overdue_reviews, review_state

from .conftest import DISPATCHER, close, intake, report

P3 = {"impact": "medium", "urgency": "medium"}


@pytest.fixture
def reviews(journal: Journal, clock: FakeClock, rules: DispatchRules) -> ReviewService:
    return ReviewService(journal, clock, rules.tz)


def state(journal: Journal, card: Card) -> tuple[Card, object]:
    s = journal.card(card.id)
    return Card.from_state(s), review_of(s)


def test_a_review_from_owed_to_done(cards: CardService, journal: Journal, clock: FakeClock,
                                    rules: DispatchRules, reviews: ReviewService) -> None:
    card = cards.register(intake(), DISPATCHER)
    assert review_state(*state(journal, card), clock.now()) == ""  # open: nothing owed yet
    with pytest.raises(TransitionError, match="not closed yet"):
        reviews.record(card.number, "s", ["m"], "M. Keller", date(2026, 11, 30), DISPATCHER)
    close(cards, card.number, "PSU failed")
    assert review_state(*state(journal, card), clock.now()) == "owed"
    clock.advance(REVIEW_WITHIN + timedelta(minutes=1))
    assert review_state(*state(journal, card), clock.now()) == "overdue"
    assert [f.number for f in report(journal, rules, clock).reviews_overdue] == [card.number]
    due = clock.now().astimezone(rules.tz).date() + timedelta(days=3)
    review = reviews.record(card.number, "PSU failed under load", [
        "Replace both PSUs in rack 4", "Add PSU alarms to monitoring"], "M. Keller", due,
        DISPATCHER)
    assert [m.text for m in review.measures] == ["Replace both PSUs in rack 4",
                                                 "Add PSU alarms to monitoring"]
    assert review_state(*state(journal, card), clock.now()) == "recorded"
    reviews.measure_done(card.number, 2, DISPATCHER)
    with pytest.raises(TransitionError, match="already done"):
        reviews.measure_done(card.number, 2, DISPATCHER)
    clock.advance(timedelta(days=4))  # past the due date with measure 1 open
    assert review_state(*state(journal, card), clock.now()) == "overdue"
    assert overdue_reviews([state(journal, card)], clock.now())[0].number == card.number  # type: ignore[list-item]
    done = reviews.measure_done(card.number, 1, DISPATCHER)
    assert done.done and review_state(*state(journal, card), clock.now()) == "done"
    assert report(journal, rules, clock).reviews_overdue == ()
    assert journal.verify() == []  # the projection's review fields rebuild from the entries


@pytest.mark.parametrize(("summary", "measures", "owner", "field"), [
    ("", ["m"], "M. Keller", "summary"),
    ("s", [], "M. Keller", "measure"),
    ("s", ["a", "b", "c", "d"], "M. Keller", "measure"),
    ("s", ["two\nlines"], "M. Keller", "measure"),
    ("s", ["m"], " ", "owner"),
])
def test_bad_reviews_are_refused_and_change_nothing(
        cards: CardService, journal: Journal, reviews: ReviewService, summary: str,
        measures: list[str], owner: str, field: str) -> None:
    card = close(cards, cards.register(intake(), DISPATCHER).number)
    before = len(journal.entries(card.id))
    with pytest.raises(ValidationError) as caught:
        reviews.record(card.number, summary, measures, owner, date(2026, 12, 1), DISPATCHER)
    assert caught.value.field == field
    assert len(journal.entries(card.id)) == before


def test_only_p1_p2_past_due_dates_and_real_measures(
        cards: CardService, reviews: ReviewService) -> None:
    minor = close(cards, cards.register(intake(**P3), DISPATCHER).number)
    with pytest.raises(ValidationError, match="P1 and P2"):
        reviews.record(minor.number, "s", ["m"], "M. Keller", date(2026, 12, 1), DISPATCHER)
    major = close(cards, cards.register(intake(), DISPATCHER).number)
    with pytest.raises(ValidationError, match="has passed") as caught:
        reviews.record(major.number, "s", ["m"], "M. Keller", date(2026, 11, 22), DISPATCHER)
    assert caught.value.field == "due"
    with pytest.raises(TransitionError, match="no review yet"):
        reviews.measure_done(major.number, 1, DISPATCHER)
    reviews.record(major.number, "s", ["m"], "M. Keller", date(2026, 11, 23), DISPATCHER)
    with pytest.raises(ValidationError, match="measures 1 to 1"):
        reviews.measure_done(major.number, 2, DISPATCHER)
