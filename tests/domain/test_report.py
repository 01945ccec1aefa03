"""The weekly report's figures on a real journal with a fake clock, against hand-computed
answers. Every card is network (10 min reaction, 2 h recovery, 24/7) unless it says so."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.clock import FakeClock
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.measures.report import Report, build_report, csv_rows, period_for, summary_lines

from .conftest import DISPATCHER, MONDAY_10, intake

P2 = {"impact": "high", "urgency": "medium"}
P4 = {"impact": "low", "urgency": "low"}


def close(cards: CardService, number: str, cause: str) -> Card:
    cards.change_status(number, "restored", DISPATCHER)
    closure = {"cause": cause, "workaround": "none", "fix": "replaced", "lessons": "none"}
    return cards.change_status(number, "closed", DISPATCHER, closure=closure,
                               confirmed_by="J. Weber")


def report(journal: Journal, rules: DispatchRules, clock: FakeClock, **period: Any) -> Report:
    states = [Card.from_state(s) for s in journal.cards()]
    entries = {c.id: journal.entries(c.id) for c in states}
    now = clock.now()
    return build_report(states, entries, rules, period_for(now, rules.tz, **period), now)


@pytest.fixture
def week(cards: CardService, clock: FakeClock) -> dict[str, Card]:
    """A: P1 acked at 4 min, restored at 60 min: both met. B (same site, same cause, an hour
    later): acked at 20 min, restored at 3 h: both breached. C: P2 acked at 8 min, recovery
    still running. D: P4 never acked (reaction breached at 10 min), recovery running."""
    a = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=4))
    cards.acknowledge(a.number, "P. Braun", "phone", DISPATCHER)
    clock.advance(timedelta(minutes=56))
    close(cards, a.number, "power blip")
    b = cards.register(intake(symptom="Core switch down again"), DISPATCHER)
    clock.advance(timedelta(minutes=20))
    cards.acknowledge(b.number, "P. Braun", "phone", DISPATCHER)
    clock.advance(timedelta(minutes=150))  # B 2 h 50 in
    c = cards.register(intake(site="Depot", **P2), DISPATCHER)
    d = cards.register(intake(site="Depot", category="telephony", **P4), DISPATCHER)
    clock.advance(timedelta(minutes=8))
    cards.acknowledge(c.number, "P. Braun", "phone", DISPATCHER)
    clock.advance(timedelta(minutes=2))  # B restored 3 h in; D's 10 min are up
    close(cards, b.number, "Power blip")
    return {"a": a, "b": b, "c": c, "d": d}


def test_breach_share_counts_decided_clocks_only(
    week: dict[str, Card], journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    clock.advance(timedelta(minutes=109))  # 1 h 59 after C and D: their recovery still runs
    r = report(journal, rules, clock)
    reaction, recovery = r.breaches["reaction"], r.breaches["recovery"]
    assert (reaction["P1"].breached, reaction["P1"].decided) == (1, 2)
    assert (reaction["P2-P4"].breached, reaction["P2-P4"].decided) == (1, 2)  # D breached
    assert (reaction["P4"].breached, reaction["P4"].decided) == (1, 1)
    assert (recovery["P1"].breached, recovery["P1"].decided) == (1, 2)
    assert recovery["P2-P4"].decided == 0 and recovery["P2-P4"].share is None
    text = "\n".join(summary_lines(r))
    assert "P1     50% breached (1 of 2)" in text
    assert "P2-P4  not recorded (no decided clocks)" in text
    clock.advance(timedelta(minutes=1))  # now C's and D's recovery clocks are breached
    assert report(journal, rules, clock).breaches["recovery"]["P2-P4"].decided == 2


def test_median_and_p90_reaction(
    week: dict[str, Card], journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    r = report(journal, rules, clock)
    # Acked at 4, 8 and 20 min; D never: nearest rank, median = 2nd, p90 = ceil(2.7) = 3rd.
    assert r.reactions == 3
    assert r.reaction_median == timedelta(minutes=8)
    assert r.reaction_p90 == timedelta(minutes=20)
    rows = {row[0]: row for row in csv_rows(r)}
    assert rows[week["a"].number][6:10] == ["4", "met", "60", "met"]
    assert rows[week["b"].number][6:10] == ["20", "breached", "180", "breached"]
    assert rows[week["d"].number][6:8] == ["not recorded", "breached"]


def test_repeat_same_site_and_cause(
    week: dict[str, Card], journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    r = report(journal, rules, clock)
    assert [(f.number, f.repeat_of) for f in r.repeats] == [(week["b"].number, week["a"].number)]
    assert r.repeats_by_cause == {"Power blip": 1}  # the cause is matched in any case
    assert r.causes_recorded == 2 and r.closed == 2


def test_repeat_window_is_seven_days(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    first = cards.register(intake(site="Depot"), DISPATCHER)
    close(cards, first.number, "fan failure")
    clock.advance(timedelta(days=6, hours=23))
    inside = cards.register(intake(site="Depot"), DISPATCHER)
    close(cards, inside.number, "fan failure")
    other_site = cards.register(intake(site="HQ"), DISPATCHER)
    close(cards, other_site.number, "fan failure")
    clock.advance(timedelta(days=7, hours=1))
    outside = cards.register(intake(site="Depot"), DISPATCHER)
    close(cards, outside.number, "fan failure")
    r = report(journal, rules, clock, first=date(2026, 11, 23))
    assert {f.number: f.repeat_of for f in r.cards} == {
        first.number: None, inside.number: first.number, other_site.number: None,
        outside.number: None,
    }


def test_not_recorded(cards: CardService, journal: Journal, rules: DispatchRules,
                      clock: FakeClock) -> None:
    empty = "\n".join(summary_lines(report(journal, rules, clock)))
    assert "median not recorded, p90 not recorded (0 acknowledged)" in empty
    assert "Repeat incidents within 7 days: not recorded (no closure cause)" in empty
    assert "classified right first time: not recorded" in empty
    card = cards.register(intake(), DISPATCHER)
    close(cards, card.number, "unknown")
    r = report(journal, rules, clock)
    assert r.causes_recorded == 0 and r.cards[0].cause is None
    assert csv_rows(r)[0][10] == "not recorded"
    assert "not recorded (no closure cause)" in "\n".join(summary_lines(r))


def test_period_bounds_in_site_time(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    monday = date(2026, 11, 23)
    period = period_for(clock.now(), rules.tz, monday, monday)
    assert period.start == MONDAY_10 - timedelta(hours=10)  # local midnight = 23:00 UTC
    inside = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(hours=13, minutes=59))  # 23:59 Berlin, still Monday
    last = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=1))  # 00:00 Tuesday
    tuesday = cards.register(intake(), DISPATCHER)
    r = report(journal, rules, clock, first=monday, last=monday)
    assert [f.number for f in r.cards] == [inside.number, last.number]
    default = report(journal, rules, clock)  # the last 7 days: 18 to 24 November
    assert (default.period.first_day, default.period.last_day) == (date(2026, 11, 18),
                                                                   date(2026, 11, 24))
    assert tuesday.number in [f.number for f in default.cards]
    assert report(journal, rules, clock, first=date(2026, 11, 24)).cards[0].number == (
        tuesday.number)
    with pytest.raises(ValueError, match="starts"):
        period_for(clock.now(), rules.tz, date(2026, 11, 25), monday)


def test_category_bounces(cards: CardService, journal: Journal, rules: DispatchRules,
                          clock: FakeClock) -> None:
    card = cards.register(intake(), DISPATCHER)
    cards.register(intake(site="Depot"), DISPATCHER)
    cards.update_fields(card.number, {"category": "server"}, DISPATCHER)
    cards.update_fields(card.number, {"category": "server", "room": "0.13"}, DISPATCHER)
    cards.update_fields(card.number, {"room": "0.14"}, DISPATCHER)
    cards.update_fields(card.number, {"category": "network"}, DISPATCHER)
    r = report(journal, rules, clock)
    assert [f.bounces for f in r.cards] == [2, 0]  # server, then back; the repeats are no change
    assert (r.bounced_cards, r.bounces, r.classification_accuracy) == (1, 2, 0.5)


def _ladder(journal: Journal, card: Card, clock: FakeClock, *facts: tuple[str, int]) -> None:
    due = clock.now().isoformat()
    entries = []
    for kind, tier in facts:
        step = {"tier": tier, "attempt": 1}
        payload: dict[str, Any] = {
            "ladder.step": {**step, "due": due, "who": "P. Braun"},
            "ladder.unreachable": {**step, "reason": "off duty, no deputy"},
            "ladder.page_failed": {**step, "channel": "sms", "to": "+4930123", "try": 1,
                                   "retryable": False, "error": "rejected"},
            "in_doubt": {**step, "channel": "sms", "to": "+4930123", "try": 1,
                         "in_doubt": True},
        }[kind]
        entries.append(NewEntry(card.id, "ladder.page_failed" if kind == "in_doubt" else kind,
                                payload))
    journal.write(entries, "system")


def test_escalations_and_why(cards: CardService, journal: Journal, rules: DispatchRules,
                             clock: FakeClock) -> None:
    tier1_only = cards.register(intake(), DISPATCHER)
    _ladder(journal, tier1_only, clock, ("ladder.step", 1), ("ladder.page_failed", 1))
    no_answer = cards.register(intake(), DISPATCHER)
    _ladder(journal, no_answer, clock, ("ladder.step", 1), ("ladder.step", 2))
    unreachable = cards.register(intake(), DISPATCHER)
    _ladder(journal, unreachable, clock, ("ladder.step", 1), ("ladder.unreachable", 1),
            ("ladder.step", 2))
    failed = cards.register(intake(), DISPATCHER)
    _ladder(journal, failed, clock, ("ladder.step", 1), ("ladder.page_failed", 1),
            ("ladder.step", 2), ("ladder.step", 3))
    in_doubt = cards.register(intake(), DISPATCHER)
    _ladder(journal, in_doubt, clock, ("ladder.step", 1), ("in_doubt", 1), ("ladder.step", 2))
    r = report(journal, rules, clock)
    assert [(f.escalated, f.unavailable) for f in r.cards] == [
        (False, False), (True, False), (True, True), (True, True), (True, False)]
    assert (r.escalated, r.escalated_unavailable) == (4, 2)
    assert "Escalated past tier 1: 4; because the on-call person was unavailable: 2; " \
           "no answer: 2" in summary_lines(r)
