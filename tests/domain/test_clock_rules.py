"""Clocks that count right (issue 14): a closed card's clocks are decided and stay so; with
`clock_start = "confirmation"` reaction counts from the confirmation; planned work gets its
own policy and no ladder. A fake clock throughout; nothing sleeps."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.clock import FakeClock
from app.errors import ConfigError
from app.loaders import load_ladder, load_rules
from app.models.journal import Journal
from app.services.cards.rules import DispatchRules, parse_rules
from app.services.cards.service import CardService
from app.services.cards.sla import ClockState, SlaWatch, clocks_for
from app.services.escalation.ladder import parse_ladder
from app.services.escalation.state import derive
from app.services.measures.metrics import day_metrics

from .conftest import DISPATCHER, intake
from .test_sla import DEFAULT_TEXT

ONE_TIER = '[[tier]]\nperson = "owner"\nwait = "5m"\n'


def confirmation_rules() -> DispatchRules:
    return parse_rules(DEFAULT_TEXT.replace(
        'categories = ["network", "telephony"]',
        'categories = ["network", "telephony"]\nclock_start = "confirmation"',
    ))


# -- 1. a card restored or closed without an acknowledgement -----------------------------


def test_closed_without_ack_meets_reaction_and_never_breaches(
    cards: CardService, rules: DispatchRules, journal: Journal, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)  # network P1: reaction 10 min
    registered = clock.now()
    clock.advance(timedelta(minutes=3))
    cards.change_status(card.number, "restored", DISPATCHER)
    clock.advance(timedelta(minutes=2))
    closed = cards.change_status(card.number, "closed", DISPATCHER, confirmed_by="J. Weber",
                                 closure={"cause": "unknown", "workaround": "none",
                                          "fix": "reboot", "lessons": "watch the UPS"})
    assert closed.acknowledged_at is None
    clock.advance(timedelta(hours=3))  # long past the 10-minute deadline
    reaction = clocks_for(closed, rules, clock.now()).reaction
    assert reaction.state is ClockState.MET
    assert reaction.done_at == registered + timedelta(minutes=3)  # restored: work happened
    SlaWatch(journal, rules).record_breaches(clock.now())
    assert not [e for e in journal.entries(card.id) if e.kind == "sla.breach"]
    share = day_metrics(cards.all_cards(), rules, clock.now()).compliance["P1"]
    assert (share.met, share.decided) == (2, 2)  # reaction and recovery, both met


def test_in_progress_before_the_ack_is_the_reaction(
    cards: CardService, rules: DispatchRules, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=4))
    cards.change_status(card.number, "in_progress", DISPATCHER)
    clock.advance(timedelta(minutes=16))
    acked = cards.acknowledge(card.number, "P. Braun", "phone", DISPATCHER)
    reaction = clocks_for(acked, rules, clock.now()).reaction
    assert reaction.state is ClockState.MET
    assert reaction.done_at == card.registered_at + timedelta(minutes=4)


def test_closed_late_breaches_at_its_deadline_and_stays_decided(
    cards: CardService, rules: DispatchRules, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=50))
    cards.change_status(card.number, "restored", DISPATCHER)
    closed = cards.change_status(card.number, "closed", DISPATCHER, confirmed_by="J. Weber",
                                 closure={"cause": "a", "workaround": "b", "fix": "c",
                                          "lessons": "d"})
    at_close = clocks_for(closed, rules, clock.now())
    assert at_close.reaction.state is ClockState.BREACHED
    assert at_close.reaction.due == card.registered_at + timedelta(minutes=10)
    for later in (timedelta(minutes=1), timedelta(days=1), timedelta(days=40)):
        assert clocks_for(closed, rules, clock.now() + later) == at_close


# -- 2. clock_start = "confirmation" ----------------------------------------------------


def test_confirmation_then_ack_counts_reaction_from_the_confirmation(
    journal: Journal, clock: FakeClock
) -> None:
    rules = confirmation_rules()
    cards = CardService(journal, rules, clock)
    card = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=7))
    confirmed_at = clock.now()
    cards.confirm(card.number, DISPATCHER)
    clock.advance(timedelta(minutes=12))  # 12 minutes after the confirmation: too late
    acked = cards.acknowledge(card.number, "P. Braun", "phone", DISPATCHER)
    reaction = clocks_for(acked, rules, clock.now()).reaction
    assert reaction.due == confirmed_at + timedelta(minutes=10)
    assert reaction.state is ClockState.BREACHED


def test_an_ack_before_any_confirmation_is_not_met_at_zero(
    journal: Journal, clock: FakeClock
) -> None:
    rules = confirmation_rules()
    cards = CardService(journal, rules, clock)
    card = cards.register(intake(), DISPATCHER)
    clock.advance(timedelta(minutes=30))  # nobody confirmed; the ack comes first
    acked = cards.acknowledge(card.number, "P. Braun", "phone", DISPATCHER)
    reaction = clocks_for(acked, rules, clock.now()).reaction
    # The dispatcher's step was skipped: the clock runs from registration, not from the ack.
    assert reaction.due == card.registered_at + timedelta(minutes=10)
    assert reaction.state is ClockState.BREACHED


def test_cli_card_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies = tmp_path / "policies.toml"
    policies.write_text(confirmation_rules_text(), encoding="utf-8")
    path = tmp_path / "desk.sqlite"

    def run(*args: str) -> int:
        return main(["--journal", str(path), "--desk-code", "B", "--policies", str(policies),
                     *args])

    assert run("card", "new", "--category", "network", "--site", "HQ", "--symptom", "down",
               "--priority", "P1", "--reason", "site offline", "--q-what", "no network",
               "--q-where", "HQ", "--q-when", "09:50", "--q-workaround", "none",
               "--q-contact", "J. Weber") == 0
    capsys.readouterr()
    assert run("card", "show", "B-0001", "--json") == 0
    assert json.loads(capsys.readouterr().out)["clocks"]["reaction"]["state"] == "not started"
    assert run("card", "confirm", "b-0001") == 0
    assert "B-0001 confirmed" in capsys.readouterr().out
    assert run("card", "show", "B-0001", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["clocks"]["reaction"]["state"] == "running"
    assert shown["confirmed_at"] is not None
    assert run("card", "confirm", "B-0001") != 0  # twice is refused, with a reason
    assert "already confirmed" in capsys.readouterr().err


def confirmation_rules_text() -> str:
    return DEFAULT_TEXT.replace(
        'categories = ["network", "telephony"]',
        'categories = ["network", "telephony"]\nclock_start = "confirmation"',
    )


# -- 3. kind of work --------------------------------------------------------------------


def test_planned_p1_has_its_own_policy_and_no_reaction_clock(
    cards: CardService, rules: DispatchRules, clock: FakeClock
) -> None:
    planned = cards.register(intake(kind_of_work="planned"), DISPATCHER)
    emergency = cards.register(intake(kind_of_work="emergency"), DISPATCHER)
    p_clocks = clocks_for(planned, rules, clock.now())
    assert p_clocks.policy == "Planned work"
    assert p_clocks.reaction.state is ClockState.OFF and p_clocks.reaction.due is None
    assert clocks_for(emergency, rules, clock.now()).policy.startswith("Network")
    clock.advance(timedelta(hours=1))
    share = day_metrics(cards.all_cards(), rules, clock.now()).compliance["P1"]
    assert share.decided == 1  # only the emergency's reaction breach


def test_the_ladder_does_not_page_for_planned_work(
    cards: CardService, journal: Journal
) -> None:
    ladder = load_ladder()
    planned = cards.register(intake(kind_of_work="planned"), DISPATCHER)
    emergency = cards.register(intake(kind_of_work="emergency"), DISPATCHER)
    state = derive(journal.card(planned.id), journal.entries(planned.id), ladder)
    assert state.start_due is None and state.next_due(ladder) is None
    state = derive(journal.card(emergency.id), journal.entries(emergency.id), ladder)
    assert state.start_due == emergency.registered_at  # P1: at once


def test_a_ladder_may_page_planned_work_by_its_priority(
    cards: CardService, journal: Journal
) -> None:
    ladder = parse_ladder('[start]\nplanned = "priority"\n' + ONE_TIER)
    planned = cards.register(intake(kind_of_work="planned"), DISPATCHER)
    state = derive(journal.card(planned.id), journal.entries(planned.id), ladder)
    assert state.start_due == planned.registered_at


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "Planned work"\n', 'name = "Planned work"\nkinds_of_work = ["urgent"]\n',
         "kinds_of_work: unknown"),
        ("[kind_policy.planned]", "[kind_policy.urgent]", "kind_policy.urgent: unknown kind"),
        ('name = "Default"\n', 'name = "Default"\nkinds_of_work = ["request"]\n',
         "must match everything"),
    ],
)
def test_kinds_of_work_in_the_policy_file_are_checked(old: str, new: str, message: str) -> None:
    assert old in DEFAULT_TEXT
    with pytest.raises(ConfigError, match=message):
        parse_rules(DEFAULT_TEXT.replace(old, new, 1))


def test_ladder_start_for_a_kind_is_never_or_priority() -> None:
    with pytest.raises(ConfigError, match="start.planned"):
        parse_ladder('[start]\nplanned = "5m"\n' + ONE_TIER)


def test_shipped_rules_keep_planned_out_of_emergency_policies() -> None:
    rules = load_rules()
    assert rules.policy_for("network", "P1", "planned").name == "Planned work"
    assert rules.policy_for("network", "P1", "request").name.startswith("Network")
