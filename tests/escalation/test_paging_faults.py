"""Throttles, STOP/START, failures retried within the tier, and tiers nobody can be reached on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from app.clock import FakeClock
from app.services.roster import Roster
from tests.escalation.harness import ALICE, BOB, CAROL, DORA, LADDER_TOML, build, ladder, roster
from tests.escalation.test_ladder_flow import calls_to, sms_to
from tests.twilio_standin import TwilioStandIn


def failures(desk, card_id: str) -> list[dict]:
    return [e.payload for e in desk.journal.entries(card_id) if e.kind == "ladder.page_failed"]


def test_429_and_5xx_are_retried_within_the_tier_and_recorded(desk, twilio, clock):
    card_id = desk.register("P1")
    twilio.fail_next(1, 429, retry_after=7)
    twilio.fail_next(1, 503)
    desk.service.run_due()
    (first, second) = failures(desk, card_id)
    assert {first["status"], second["status"]} == {429, 503}
    assert all(f["retryable"] and f["retry_at"] for f in (first, second))
    by_status = {f["status"]: f for f in (first, second)}
    assert by_status[429]["retry_at"] == (clock.now() + timedelta(seconds=7)).isoformat()
    assert by_status[503]["retry_at"] == (clock.now() + timedelta(seconds=5)).isoformat()
    clock.advance(5)
    desk.service.run_due()
    assert len([f for f in twilio.requests_to("POST", ".json")]) == 3  # the 503 channel only
    clock.advance(2)
    desk.service.run_due()
    assert len(sms_to(twilio, ALICE)) == 2 and len(calls_to(twilio, ALICE)) == 2
    state = desk.service.state(card_id)
    assert all(c.sid for c in state.steps[0].channels.values())
    assert state.steps[0].unreachable_at is None  # reached in the end: tier 2 waits
    details = [d for d in desk.service.state(card_id).steps[0].channels.values()]
    assert [c.tries for c in details] == [1, 1]


def test_a_timeout_is_recorded_and_retried(tmp_path: Path, clock: FakeClock,
                                            twilio: TwilioStandIn) -> None:
    desk = build(tmp_path / "j.sqlite", clock, twilio.base_url, twilio.account_sid,
                 twilio.auth_token, timeout=(1, 0.3))
    try:
        card_id = desk.register("P1")
        twilio.delay_next(2, 1.0)
        desk.service.run_due()
        errors = failures(desk, card_id)
        assert len(errors) == 2 and all("did not answer" in f["error"] for f in errors)
        clock.advance(5)
        desk.service.run_due()
        state = desk.service.state(card_id)
        assert all(c.sid for c in state.steps[0].channels.values())
    finally:
        desk.close()


def test_retries_stop_at_the_end_of_the_tier_then_the_next_tier_is_due_at_once(desk, twilio,
                                                                               clock):
    card_id = desk.register("P1")
    twilio.fail_next(100, 500)
    for _ in range(6):
        desk.service.run_due()
        clock.advance(15)
    state = desk.service.state(card_id)
    first = state.steps[0]
    assert first.unreachable_at is not None and first.unreachable_at <= first.due + \
        timedelta(seconds=40)
    assert max(c.tries for c in first.channels.values()) <= desk.service.ladder.max_tries
    assert all(c.fired_at >= c.due for c in state.steps)


def test_throttle_never_delays_a_new_cards_first_page(desk, twilio, clock):
    desk.register("P1")
    desk.service.run_due()
    clock.advance(3)  # well inside the 20 s throttle for ALICE
    second = desk.register("P1")
    desk.service.run_due()
    assert len(sms_to(twilio, ALICE)) == 2 and len(calls_to(twilio, ALICE)) == 2
    assert desk.service.state(second).steps[0].channels["sms"].sent_at == clock.now()


def test_throttle_spaces_repeat_pages_to_one_number(tmp_path, clock, twilio):
    text = LADDER_TOML.replace('role = "primary"\nwait = "40s"',
                               'role = "primary"\nwait = "10s"\nrepeat = 2')
    desk = build(tmp_path / "j.sqlite", clock, twilio.base_url, twilio.account_sid,
                 twilio.auth_token, the_ladder=ladder(text))
    try:
        card_id = desk.register("P1")
        desk.service.run_due()
        clock.advance(10)  # the second page of tier 1 is due, but ALICE was paged 10 s ago
        result = desk.service.run_due()
        assert len(sms_to(twilio, ALICE)) == 1
        assert result.next_wake == clock.now() + timedelta(seconds=10)
        clock.advance(10)
        desk.service.run_due()
        assert len(sms_to(twilio, ALICE)) == 2
        steps = desk.service.state(card_id).steps
        assert [(s.tier, s.attempt) for s in steps] == [(1, 1), (1, 2), (2, 1)]
    finally:
        desk.close()


def test_stop_is_honoured_and_start_lifts_it(desk, twilio, clock):
    desk.register("P1")
    desk.service.run_due()
    twilio.simulate_reply(ALICE, "STOP")
    desk.service.poll()
    assert desk.service.opted_out() == {ALICE}
    clock.advance(1)
    card = desk.register("P1")
    desk.service.run_due()
    assert len(sms_to(twilio, ALICE)) == 1  # only the page before STOP
    assert len(calls_to(twilio, ALICE)) == 2  # STOP is about SMS; the call still goes out
    kinds = [e.kind for e in desk.journal.entries(card)]
    assert "ladder.page_skipped" in kinds
    clock.advance(1)
    twilio.simulate_reply(ALICE, "start")
    desk.service.poll()
    assert desk.service.opted_out() == frozenset()
    clock.advance(1)
    desk.register("P1")
    desk.service.run_due()
    assert len(sms_to(twilio, ALICE)) == 2


def _lead_starting_next_year() -> Roster:
    """The lead rotation exists (the ladder may start) but nobody holds it yet: a gap."""
    base = roster()
    rotations = tuple(replace(r, anchor=date(2027, 1, 4)) if r.role == "lead" else r
                      for r in base.rotations)
    return Roster(base.contacts, base.groups, rotations)


def test_a_tier_with_nobody_on_call_moves_on_at_once(tmp_path, clock, twilio):
    desk = build(tmp_path / "j.sqlite", clock, twilio.base_url, twilio.account_sid,
                 twilio.auth_token, the_roster=_lead_starting_next_year())
    try:
        card_id = desk.register("P1")
        desk.service.run_due()
        clock.advance(80)  # tiers 1 and 2 waited out; tier 3 (lead) has nobody on call
        desk.service.run_due()
        state = desk.service.state(card_id)
        assert [s.tier for s in state.steps] == [1, 2, 3, 4]
        assert state.steps[2].unreachable_reason == "nobody on call as network/lead"
        assert state.steps[3].due == state.steps[2].fired_at  # not 30 s later
        assert sms_to(twilio, CAROL) == [] and len(sms_to(twilio, DORA)) == 1
        assert len(calls_to(twilio, BOB)) == 1
    finally:
        desk.close()
