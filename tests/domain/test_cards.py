"""The dispatch rules for cards: intake, priority, statuses, closure, reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import FakeClock
from app.errors import NotFoundError, PermissionDenied, TransitionError, ValidationError
from app.models.journal import Journal
from app.services.cards.card import Operator
from app.services.cards.service import CardService

from .conftest import DISPATCHER, LEAD, intake

CLOSURE = {"cause": "PSU failed", "workaround": "spare switch", "fix": "PSU replaced",
           "lessons": "keep a spare PSU on site"}


def entry_count(journal: Journal) -> int:
    return sum(1 for _ in journal.all_entries())


def test_register_gives_a_readable_number_and_matrix_priority(cards: CardService) -> None:
    first = cards.register(intake(), DISPATCHER)
    second = cards.register(intake(impact="low", urgency="medium"), DISPATCHER)
    assert (first.number, second.number) == ("A-0001", "A-0002")
    assert first.priority == "P1"
    assert second.priority == "P4"
    assert first.status == "registered"
    assert first.priority_reason == "whole site offline"


def test_register_names_every_missing_answer_and_writes_nothing(
    cards: CardService, journal: Journal
) -> None:
    with pytest.raises(ValidationError) as err:
        cards.register(intake(q_when="", q_contact=" ", site=""), DISPATCHER)
    message = str(err.value)
    assert "site" in message
    assert "When did it start" in message
    assert "Who is the contact" in message
    assert err.value.field == "site"
    assert entry_count(journal) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "plumbing"}, "category"),
        ({"priority_reason": ""}, "priority_reason"),
        ({"priority_reason": "two\nlines"}, "priority_reason"),
        ({"impact": None, "urgency": None}, "priority"),
        ({"priority": "P7"}, "priority"),
        ({"kind_of_work": "urgent"}, "kind_of_work"),
    ],
)
def test_bad_intake_is_refused_with_the_field(
    cards: CardService, journal: Journal, change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        cards.register(intake(**change), DISPATCHER)
    assert err.value.field == field or field in str(err.value)
    assert entry_count(journal) == 0


def test_priority_change_records_who_when_why_and_evidence(
    cards: CardService, journal: Journal, clock: FakeClock
) -> None:
    card = cards.register(intake(impact="medium", urgency="medium"), DISPATCHER)
    clock.advance(timedelta(minutes=3))
    changed = cards.change_priority(card.number, "P2", "second floor also down", LEAD,
                                    evidence="call from floor 2")
    assert changed.priority == "P2"
    last = journal.entries(card.id)[-1]
    assert last.kind == "card.priority"
    assert last.operator == "M. Keller"
    assert last.at == clock.now()
    assert last.payload == {"priority": "P2", "from": "P3", "reason": "second floor also down",
                            "evidence": "call from floor 2", "role": "shift_lead"}


def test_priority_change_needs_a_reason_and_a_role(cards: CardService, journal: Journal) -> None:
    card = cards.register(intake(), DISPATCHER)
    before = entry_count(journal)
    with pytest.raises(ValidationError) as err:
        cards.change_priority(card.number, "P2", "  ", DISPATCHER)
    assert err.value.field == "reason"
    with pytest.raises(PermissionDenied, match="may not change a priority"):
        cards.change_priority(card.number, "P2", "reason", Operator("Guest", "viewer"))
    assert entry_count(journal) == before
    assert cards.get(card.number).priority == "P1"


def test_statuses_follow_the_allowed_transitions(cards: CardService, clock: FakeClock) -> None:
    card = cards.register(intake(), DISPATCHER)
    cards.change_status(card.number, "in_progress", DISPATCHER)
    cards.change_status(card.number, "waiting_contractor", DISPATCHER, reason="vendor on way")
    cards.change_status(card.number, "in progress", DISPATCHER)
    restored = cards.change_status(card.number, "restored", DISPATCHER)
    assert restored.status == "restored"
    assert restored.restored_at == clock.now()
    with pytest.raises(TransitionError, match="cannot go from Restored .* to Waiting"):
        cards.change_status(card.number, "waiting_customer", DISPATCHER)
    with pytest.raises(TransitionError, match="already"):
        cards.change_status(card.number, "restored", DISPATCHER)
    with pytest.raises(ValidationError, match="unknown status 'fixed'"):
        cards.change_status(card.number, "fixed", DISPATCHER)


def test_closing_needs_closure_fields_and_the_observation_period(
    cards: CardService, clock: FakeClock, journal: Journal
) -> None:
    card = cards.register(intake(), DISPATCHER)
    cards.change_status(card.number, "restored", DISPATCHER)
    before = entry_count(journal)
    with pytest.raises(ValidationError, match="closing needs cause, workaround, fix, lessons"):
        cards.change_status(card.number, "closed", DISPATCHER)
    with pytest.raises(TransitionError, match="in monitoring for 30 more min"):
        cards.change_status(card.number, "closed", DISPATCHER, closure=CLOSURE)
    assert entry_count(journal) == before
    clock.advance(timedelta(minutes=30))
    closed = cards.change_status(card.number, "closed", DISPATCHER, closure=CLOSURE)
    assert closed.status == "closed"
    assert closed.closure is not None and closed.closure["cause"] == "PSU failed"
    with pytest.raises(TransitionError, match="closed; it cannot be changed"):
        cards.change_priority(card.number, "P3", "late", LEAD)


def test_closing_early_names_who_confirmed(cards: CardService) -> None:
    card = cards.register(intake(), DISPATCHER)
    cards.change_status(card.number, "restored", DISPATCHER)
    closed = cards.change_status(card.number, "closed", DISPATCHER, closure=CLOSURE,
                                 confirmed_by="J. Weber (site)")
    assert closed.closure is not None and closed.closure["confirmed_by"] == "J. Weber (site)"


@pytest.mark.parametrize(("impact", "urgency", "owed"),
                         [("high", "high", True), ("high", "medium", True),
                          ("medium", "medium", False), ("low", "low", False)])
def test_p1_and_p2_owe_a_post_incident_review(
    cards: CardService, impact: str, urgency: str, owed: bool
) -> None:
    card = cards.register(intake(impact=impact, urgency=urgency), DISPATCHER)
    assert card.review_owed is owed


def test_a_paper_card_keeps_its_handwritten_time(cards: CardService, clock: FakeClock) -> None:
    written = clock.now() - timedelta(minutes=40)
    card = cards.register(intake(), DISPATCHER, registered_at=written)
    assert card.registered_at == written
    assert card.entered_late
    with pytest.raises(ValidationError, match="future"):
        cards.register(intake(), DISPATCHER, registered_at=clock.now() + timedelta(minutes=1))


def test_duplicates_and_probable_emergency(cards: CardService, clock: FakeClock) -> None:
    card = cards.register(intake(category="power", symptom="lights out"), DISPATCHER)
    assert [c.number for c in cards.similar_open("hq", "power")] == [card.number]
    assert cards.similar_open("HQ", "network") == []
    assert not cards.probable_emergency("HQ", "power")
    clock.advance(timedelta(minutes=4))
    cards.attach_report(card.number, "reception", "lobby dark too", DISPATCHER)
    assert cards.get(card.number).report_count >= 1
    # A third report within 10 minutes of the first: the one being taken now makes three.
    assert cards.probable_emergency("HQ", "power")
    clock.advance(timedelta(minutes=9))
    assert not cards.probable_emergency("HQ", "power")


def test_malformed_and_unknown_numbers(cards: CardService) -> None:
    with pytest.raises(ValidationError, match="look like B-0042"):
        cards.get("42")
    with pytest.raises(NotFoundError, match="no card A-0099"):
        cards.get("a-0099")


def test_acknowledgement_stops_the_reaction_clock(cards: CardService, clock: FakeClock) -> None:
    card = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=4))
    acked = cards.acknowledge(card.number, "P. Braun", "phone", DISPATCHER)
    assert acked.acknowledged_at == clock.now()
    assert acked.acknowledged_by == "P. Braun"
    with pytest.raises(ValidationError, match="how must be one of"):
        cards.acknowledge(card.number, "P. Braun", "pigeon", DISPATCHER)
