"""SLA clocks: start rule, pauses, business hours (weekend, DST), breaches written once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.models.journal import Journal
from app.services.cards.rules import DEFAULT_RULES, DispatchRules, parse_rules
from app.services.cards.service import CardService
from app.services.cards.sla import ClockState, SlaWatch, clocks_for

from .conftest import DISPATCHER, intake

DEFAULT_TEXT = DEFAULT_RULES.read_text()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def workstation(**extra: str) -> dict[str, str]:
    return intake(category="workstation", impact="low", urgency="medium", **extra)


def test_reaction_and_recovery_run_from_registration(
    cards: CardService, rules: DispatchRules, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)  # network P1: 10m / 2h / 30m updates
    clocks = clocks_for(card, rules, clock.now())
    assert clocks.policy == "Network / communications, critical site"
    assert clocks.reaction.due == clock.now() + timedelta(minutes=10)
    assert clocks.recovery.due == clock.now() + timedelta(hours=2)
    assert clocks.update.due == clock.now() + timedelta(minutes=30)
    later = clock.now() + timedelta(minutes=5)
    assert clocks.reaction.used(later) == pytest.approx(0.5)
    assert clocks.nearest(later) == clocks.reaction


def test_clock_start_on_confirmation(journal: Journal, clock: FakeClock) -> None:
    text = DEFAULT_TEXT.replace(
        'categories = ["network", "telephony"]',
        'categories = ["network", "telephony"]\nclock_start = "confirmation"',
    )
    rules = parse_rules(text)
    cards = CardService(journal, rules, clock)
    card = cards.register(intake(), DISPATCHER)
    assert clocks_for(card, rules, clock.now()).reaction.state is ClockState.NOT_STARTED
    clock.advance(timedelta(minutes=7))
    confirmed = cards.confirm(card.number, DISPATCHER)
    clocks = clocks_for(confirmed, rules, clock.now())
    assert clocks.reaction.due == clock.now() + timedelta(minutes=10)


def test_waiting_pauses_recovery_and_is_recorded_separately(
    cards: CardService, rules: DispatchRules, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)
    first_due = clocks_for(card, rules, clock.now()).recovery.due
    clock.advance(timedelta(minutes=20))
    cards.change_status(card.number, "waiting_contractor", DISPATCHER, reason="vendor")
    clock.advance(timedelta(minutes=45))
    paused = cards.get(card.number)
    assert clocks_for(paused, rules, clock.now()).recovery.state is ClockState.PAUSED
    cards.change_status(card.number, "in_progress", DISPATCHER)
    resumed = cards.get(card.number)
    assert len(resumed.pauses) == 1
    start, end = resumed.pauses[0]
    assert end is not None and end - start == timedelta(minutes=45)
    assert first_due is not None
    assert clocks_for(resumed, rules, clock.now()).recovery.due == first_due + timedelta(
        minutes=45
    )


def test_business_hours_carry_over_the_weekend(
    journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    # Friday 20 November 2026, 17:30 in Berlin: half an hour of business time left.
    clock.set(utc(2026, 11, 20, 16, 30))
    cards = CardService(journal, rules, clock)
    card = cards.register(workstation(), DISPATCHER)  # reaction 1h, recovery 1 business day
    clocks = clocks_for(card, rules, clock.now())
    assert clocks.reaction.due == utc(2026, 11, 23, 7, 30)  # Monday 08:30 Berlin
    assert clocks.recovery.due == utc(2026, 11, 23, 16, 30)  # Monday 17:30 Berlin


def test_business_hours_across_the_autumn_clock_change(
    journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    # Friday 23 October 2026, 17:30 CEST (UTC+2); clocks go back on Sunday the 25th.
    clock.set(utc(2026, 10, 23, 15, 30))
    cards = CardService(journal, rules, clock)
    card = cards.register(workstation(), DISPATCHER)
    # Monday 26 October 08:30 CET is 07:30 UTC, not 06:30.
    assert clocks_for(card, rules, clock.now()).reaction.due == utc(2026, 10, 26, 7, 30)


def test_24_7_clocks_ignore_the_spring_clock_change(
    journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    # Sunday 28 March 2027, 01:30 CET; at 02:00 the clocks jump to 03:00.
    clock.set(utc(2027, 3, 28, 0, 30))
    cards = CardService(journal, rules, clock)
    card = cards.register(intake(), DISPATCHER)
    assert clocks_for(card, rules, clock.now()).recovery.due == utc(2027, 3, 28, 2, 30)


def test_holidays_are_not_business_time(
    journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    # Wednesday 23 December 2026, 17:30; 24th-26th are holidays, the 27th a Sunday.
    clock.set(utc(2026, 12, 23, 16, 30))
    cards = CardService(journal, rules, clock)
    card = cards.register(workstation(), DISPATCHER)
    assert clocks_for(card, rules, clock.now()).reaction.due == utc(2026, 12, 28, 7, 30)


def test_breach_is_written_once(
    cards: CardService, rules: DispatchRules, journal: Journal, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)
    watch = SlaWatch(journal, rules)
    assert watch.next_wake(clock.now()) == clock.now() + timedelta(minutes=10)
    clock.advance(timedelta(minutes=10))
    facts = watch.record_breaches(clock.now())
    assert [f.payload["clock"] for f in facts] == ["reaction"]
    assert facts[0].payload["noticed_late"] is False
    clock.advance(timedelta(seconds=30))
    assert watch.record_breaches(clock.now()) == []
    breaches = [e for e in journal.entries(card.id) if e.kind == "sla.breach"]
    assert len(breaches) == 1
    assert cards.get(card.number).breaches


def test_breach_while_the_desk_was_off_is_written_once_on_start(
    journal_path: Path, rules: DispatchRules, clock: FakeClock
) -> None:
    journal = Journal.open(journal_path, clock)
    number = CardService(journal, rules, clock).register(intake(), DISPATCHER).number
    journal.close()
    clock.advance(timedelta(hours=3))  # the desk is off past reaction, recovery and updates
    for _ in range(2):  # two starts; the second must add nothing
        reopened = Journal.open(journal_path, clock)
        SlaWatch(reopened, rules).record_breaches(clock.now())
        card = CardService(reopened, rules, clock).get(number)
        breaches = [e for e in reopened.entries(card.id) if e.kind == "sla.breach"]
        reopened.close()
        assert sorted(b.payload["clock"] for b in breaches) == ["reaction", "recovery", "update"]
        assert all(b.payload["noticed_late"] for b in breaches)
        # The breach is dated at its deadline, not at the moment it was noticed.
        assert {b.payload["at"] for b in breaches} == {b.payload["due"] for b in breaches}


def test_restored_card_meets_recovery(
    cards: CardService, rules: DispatchRules, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=50))
    restored = cards.change_status(card.number, "restored", DISPATCHER)
    clocks = clocks_for(restored, rules, clock.now() + timedelta(hours=5))
    assert clocks.recovery.state is ClockState.MET
    assert clocks.reaction.state is ClockState.BREACHED  # nobody acknowledged in 10 minutes
    assert clocks.update.state is ClockState.OFF
