"""The ladder derives a new P1 once: its own writes bring the cached state up to date, and
that state is exactly what deriving the card again from the journal gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.clock import FakeClock
from app.models.entry import NewEntry
from app.services.escalation import service as escalation
from app.services.escalation import state as escalation_state
from tests.escalation.harness import LadderDesk
from tests.twilio_standin import TwilioStandIn


def count_derives(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = escalation_state.derive

    def counted(card: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(card["id"])
        return real(card, *args, **kwargs)

    monkeypatch.setattr(escalation, "derive", counted)
    return calls


def fresh(desk: LadderDesk, card_id: str) -> Any:
    return escalation_state.derive(desk.journal.card(card_id), desk.journal.entries(card_id),
                                   desk.service.ladder)


def test_a_p1_is_derived_once_and_its_advanced_state_equals_a_fresh_derive(
        desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_derives(monkeypatch)
    card_id = desk.register("P1")
    desk.service.run_due()
    assert calls == [card_id]
    assert twilio.requests_to("POST", "/Messages.json")  # tier 1 was paged
    (cached,) = desk.service.states(active_only=True)
    assert cached == fresh(desk, card_id)

    clock.advance(timedelta(minutes=30))  # tier 2 falls due: fired from the cached state
    desk.service.run_due()
    assert calls == [card_id]
    (cached,) = desk.service.states(active_only=True)
    assert len(cached.steps) >= 2 and cached == fresh(desk, card_id)


def test_an_entry_from_elsewhere_between_the_ladder_writes_makes_it_derive_again(
        desk: LadderDesk, twilio: TwilioStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_derives(monkeypatch)
    card_id = desk.register("P1")
    desk.service.run_due()
    desk.journal.write([NewEntry(card_id, "card.note", {"text": "caller rang again"})], "ops")
    (state,) = desk.service.states(active_only=True)
    assert calls == [card_id, card_id]
    assert state == fresh(desk, card_id)
