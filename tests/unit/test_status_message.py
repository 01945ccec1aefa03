"""The status-message composer fills DOMAIN.md's fixed phrasing from a real card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import ValidationError
from app.loaders import load_rules
from app.models.journal import Journal
from app.services.cards.card import Card, Operator
from app.services.cards.service import CardService
from app.services.cards.status_message import compose, next_update_at

# 01:15 UTC is 02:15 in Berlin (the shipped rules' zone) in November.
START = datetime(2026, 11, 23, 1, 15, tzinfo=UTC)
DISPATCHER = Operator("A. Novak", "dispatcher")


def intake(**extra: str) -> dict[str, str]:
    base = {
        "category": "network", "site": "Campus East", "symptom": "No access to the booking service",
        "q_what": "booking", "q_where": "Campus East", "q_when": "02:15",
        "q_workaround": "none", "q_contact": "ward C", "priority": "P1",
        "priority_reason": "patient intake stopped",
    }
    base.update(extra)
    return base


@pytest.fixture
def world(tmp_path: Path):
    clock = FakeClock(START)
    journal = Journal.open(tmp_path / "j.sqlite", clock)
    rules = load_rules()
    yield clock, rules, CardService(journal, rules, clock)
    journal.close()


def test_opening_message_has_the_fixed_shape_and_the_next_update(world) -> None:
    clock, rules, cards = world
    card = cards.register(intake(), DISPATCHER)
    card = cards.update_fields(card.number, {"assignee": "Ivanov"}, DISPATCHER)
    clock.advance(timedelta(minutes=10))
    msg = compose("opening", card, rules, clock.now())
    # P1 on the network policy updates every 30 min: 02:25 local + 30 min.
    assert msg.text == ("P1. No access to the booking service at Campus East since 02:15. "
                        "Assigned: Ivanov. Next update at 02:55.")
    assert msg.next_update_at == clock.now() + timedelta(minutes=30)


def test_unassigned_card_says_so_and_the_cadence_follows_the_policy(world) -> None:
    clock, rules, cards = world
    card = cards.register(intake(category="server", priority="P2"), DISPATCHER)
    msg = compose("opening", card, rules, clock.now(), {"what": "VM host down."})
    assert "Assigned: not yet assigned." in msg.text
    assert msg.text.startswith("P2. VM host down at Campus East")
    assert msg.next_update_at == clock.now() + timedelta(hours=1)  # server policy: hourly


def test_progress_and_workaround_shapes(world) -> None:
    clock, rules, cards = world
    card = cards.register(intake(), DISPATCHER)
    msg = compose("progress", card, rules, clock.now(),
                  {"done": "service restart, no effect", "requested": "Requested logs from site"})
    assert msg.text.startswith("Cause under investigation. Done: service restart, no effect. "
                               "Requested logs from site. Next update at ")
    msg = compose("workaround", card, rules, clock.now(),
                  {"workaround": "switched users to reserve channel"})
    assert msg.text.startswith("Workaround: switched users to reserve channel. "
                               "Service partially restored. Next update at")


def test_closed_message_has_no_next_update(world) -> None:
    clock, rules, cards = world
    card = cards.register(intake(), DISPATCHER)
    for status in ("in_progress", "restored"):
        card = cards.change_status(card.number, status, DISPATCHER)
    clock.advance(timedelta(hours=1, minutes=50))  # 04:05 local
    card = cards.change_status(card.number, "closed", DISPATCHER, confirmed_by="site duty",
                               closure={"cause": "SFP", "workaround": "reserve", "fix": "x",
                                        "lessons": "spares"})
    msg = compose("closed", card, rules, clock.now(), {"fix": "replace SFP, check the line"})
    assert msg.text == "Incident closed at 04:05. Permanent fix: replace SFP, check the line."
    assert msg.next_update_at is None
    assert next_update_at(card, rules, clock.now()) is None


@pytest.mark.parametrize(("shape", "parts", "field"), [
    ("progress", {}, "done"),
    ("workaround", {"workaround": "   "}, "workaround"),
    ("gossip", {}, "shape"),
    ("progress", {"done": "x" * 600}, "text"),
])
def test_missing_words_are_refused_by_name(world, shape: str, parts: dict[str, str],
                                           field: str) -> None:
    clock, rules, cards = world
    card: Card = cards.register(intake(), DISPATCHER)
    with pytest.raises(ValidationError) as err:
        compose(shape, card, rules, clock.now(), parts)
    assert err.value.field == field


def test_composed_message_is_accepted_by_the_card_service(world) -> None:
    clock, rules, cards = world
    card = cards.register(intake(), DISPATCHER)
    msg = compose("opening", card, rules, clock.now())
    after = cards.post_status_message(card.number, msg.text, msg.next_update_at, DISPATCHER)
    assert after.next_update_at == msg.next_update_at


def test_planned_work_follows_its_own_update_cadence(world) -> None:
    """A planned P1 owes updates on its kind-of-work policy ("on request"), not on the
    network P1's cadence like an emergency (issue 14: the kind of work was ignored)."""
    clock, rules, cards = world
    emergency = cards.register(intake(kind_of_work="emergency"), DISPATCHER)
    planned = cards.register(intake(kind_of_work="planned", site="Depot"), DISPATCHER)
    assert next_update_at(emergency, rules, clock.now()) is not None
    assert next_update_at(planned, rules, clock.now()) is None
