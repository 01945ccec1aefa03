"""Issue 12: decline, escalate now, hold and resume in the ladder engine (state fold, plan,
service), with the real journal, the real Twilio client against the stand-in and a fake
clock. Declines and a paged person's escalate are written as the replies code writes them
(the contract's payloads); the dispatcher's commands go through `handle_ladder`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.clock import FakeClock
from app.errors import ValidationError
from app.models.entry import NewEntry, fact_id
from app.services.cards.timeline import timeline
from app.services.escalation.commands import (
    EscalateNow,
    HoldLadder,
    LadderCommand,
    ResumeLadder,
    allowed,
    handle_ladder,
)
from app.services.escalation.state import LadderState, derive
from tests.escalation.harness import (
    ALICE,
    BOB,
    CAROL,
    DISPATCHER,
    DORA,
    LADDER_TOML,
    LadderDesk,
    build,
    ladder,
)
from tests.escalation.test_ladder_flow import paged
from tests.twilio_standin import TwilioStandIn


def run(desk: LadderDesk, command: LadderCommand, clock: FakeClock) -> LadderState:
    return handle_ladder(command, desk.journal, desk.service.ladder, clock, DISPATCHER)


def fresh(desk: LadderDesk, card_id: str) -> LadderState:
    return derive(desk.journal.card(card_id), desk.journal.entries(card_id), desk.service.ladder)


def decline(desk: LadderDesk, card_id: str, clock: FakeClock, reason: str = "on another job",
            **extra: Any) -> None:
    """A decline as the replies code records it: `<code> d` from the paged number."""
    step = desk.service.state(card_id).steps[-1]
    payload = {"tier": step.tier, "attempt": step.attempt, "to": step.channels["sms"].to,
               "who": step.who, "contact_id": step.contact_id, "reason": reason,
               "how": "sms", "sid": "SM" + "d" * 32, "at": clock.now().isoformat(), **extra}
    desk.journal.write([NewEntry(card_id, "ladder.declined", payload,
                                 id=fact_id(f"inbound:SM{'d' * 32}"))], "ladder")


def pages_to(twilio: TwilioStandIn, number: str) -> int:
    return paged(twilio).count(number)


def test_a_decline_pages_the_next_person_at_once(desk: LadderDesk, twilio: TwilioStandIn,
                                                 clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    clock.advance(5)
    decline(desk, card_id, clock)
    result = desk.service.run_due()
    assert pages_to(twilio, BOB) == 2  # SMS and call, 35 s before tier 1's wait ends
    state = desk.service.state(card_id)
    assert state.steps[0].declined is not None
    assert state.steps[0].declined.reason == "on another job"
    assert state.steps[1].contact_id == "bob" and not state.steps[1].late
    assert state.steps[1].due == clock.now()
    assert result.next_wake == clock.now() + timedelta(seconds=40)  # tier 2 waits as usual
    assert state == fresh(desk, card_id)
    lines = [line.title for line in timeline(desk.journal.entries(card_id))]
    assert "Alice Primary DECLINED tier 1: next person now" in lines


def test_a_decline_skips_the_rest_of_its_tier_and_is_not_paged_again(
        tmp_path: Any, twilio: TwilioStandIn, clock: FakeClock) -> None:
    # Tier 1 pages twice; tier 2 names the same rota again: the one who declined is skipped.
    text = LADDER_TOML.replace('role = "primary"\nwait = "40s"',
                               'role = "primary"\nwait = "40s"\nrepeat = 2').replace(
        'role = "backup"', 'role = "network/primary"')
    made = build(tmp_path / "j.sqlite", clock, twilio.base_url, twilio.account_sid,
                 twilio.auth_token, the_ladder=ladder(text))
    try:
        card_id = made.register("P1")
        made.service.run_due()
        decline(made, card_id, clock)
        made.service.run_due()
        state = made.service.state(card_id)
        assert [(s.tier, s.attempt, s.contact_id) for s in state.steps] == [
            (1, 1, "alice"), (2, 1, None), (3, 1, "carol")]
        assert "declined this card already" in str(state.steps[1].unreachable_reason)
        assert pages_to(twilio, ALICE) == 2 and pages_to(twilio, CAROL) == 2
    finally:
        made.close()


def test_escalate_now_fires_the_next_tier_and_is_refused_twice(
        desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    clock.advance(3)
    state = run(desk, EscalateNow(card_id, "caller says the site is flooding"), clock)
    assert state.next_due(desk.service.ladder) == (2, 1, clock.now())
    before = len(desk.journal.entries(card_id))
    with pytest.raises(ValidationError, match="already escalated"):
        run(desk, EscalateNow(card_id), clock)
    assert len(desk.journal.entries(card_id)) == before  # a refusal writes nothing
    desk.service.run_due()
    assert pages_to(twilio, BOB) == 2
    escalated = [e for e in desk.journal.entries(card_id) if e.kind == "ladder.escalate"]
    assert [e.payload["tier"] for e in escalated] == [1]
    assert escalated[0].payload["by"] == DISPATCHER.name
    run(desk, EscalateNow(card_id), clock)
    desk.service.run_due()
    run(desk, EscalateNow(card_id), clock)
    desk.service.run_due()
    assert [s.contact_id for s in desk.service.state(card_id).steps] == [
        "alice", "bob", "carol", "dora"]
    with pytest.raises(ValidationError, match="last tier .*Dora Manager.*phone them"):
        run(desk, EscalateNow(card_id), clock)
    assert desk.service.state(card_id) == fresh(desk, card_id)


def test_escalate_now_before_the_start_pages_at_once(desk: LadderDesk, twilio: TwilioStandIn,
                                                      clock: FakeClock) -> None:
    card_id = desk.register("P2")  # the ladder would start in 60 s
    desk.service.run_due()
    clock.advance(10)
    run(desk, EscalateNow(card_id), clock)
    desk.service.run_due()
    assert pages_to(twilio, ALICE) == 2
    assert desk.service.state(card_id).steps[0].due == clock.now()


def test_a_late_escalate_reply_to_an_old_page_moves_nothing(
        desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    clock.advance(40)
    desk.service.run_due()  # tier 2 (Bob)
    desk.journal.write([NewEntry(card_id, "ladder.escalate", {
        "by": "Alice Primary", "tier": 1, "attempt": 1, "how": "sms", "sid": "SM" + "e" * 32},
        id=fact_id(f"inbound:SM{'e' * 32}"))], "ladder")
    desk.service.run_due()
    assert pages_to(twilio, CAROL) == 0
    assert desk.service.state(card_id).next_due(desk.service.ladder) == (
        3, 1, clock.now() + timedelta(seconds=40))


def test_hold_fires_nothing_new_and_resume_goes_on_at_once(
        desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    clock.advance(10)
    held = run(desk, HoldLadder(card_id, "technician rang: on site in 20 min"), clock)
    assert held.hold is not None and held.hold.by == DISPATCHER.name
    assert allowed(held, desk.service.ladder) == {"resume"}
    clock.advance(600)  # far past tier 1's 40 s and every later tier
    result = desk.service.run_due()
    assert pages_to(twilio, BOB) == 0 and pages_to(twilio, DORA) == 0
    assert result.next_wake is None  # nothing to wake for while held
    state = desk.service.state(card_id)
    assert state.exhausted_at is None and state == fresh(desk, card_id)

    resumed = run(desk, ResumeLadder(card_id, "no show"), clock)
    assert resumed.next_due(desk.service.ladder) == (2, 1, clock.now())
    desk.service.run_due()
    state = desk.service.state(card_id)
    assert pages_to(twilio, BOB) == 2 and not state.steps[1].late
    assert desk.service.run_due().next_wake == clock.now() + timedelta(seconds=40)
    lines = [line.title for line in timeline(desk.journal.entries(card_id))]
    assert f"Ladder HELD by {DISPATCHER.name}" in lines
    assert f"Ladder resumed by {DISPATCHER.name}" in lines


def test_a_tier_not_yet_due_at_resume_keeps_its_time(desk: LadderDesk, twilio: TwilioStandIn,
                                                     clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    start = clock.now()
    run(desk, HoldLadder(card_id, "checking with the caller"), clock)
    clock.advance(5)
    run(desk, ResumeLadder(card_id), clock)
    assert desk.service.run_due().next_wake == start + timedelta(seconds=40)
    assert pages_to(twilio, BOB) == 0


def test_a_hold_with_until_ends_by_itself(desk: LadderDesk, twilio: TwilioStandIn,
                                          clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    until = clock.now() + timedelta(seconds=90)
    desk.journal.write([NewEntry(card_id, "ladder.hold", {
        "by": "B. Shift lead", "reason": "vendor on the line", "until": until.isoformat()})],
        "ops")
    assert desk.service.run_due().next_wake == until
    clock.advance(89)
    desk.service.run_due()
    assert pages_to(twilio, BOB) == 0
    clock.advance(1)
    desk.service.run_due()
    assert pages_to(twilio, BOB) == 2


def test_a_decline_while_held_waits_for_the_resume(desk: LadderDesk, twilio: TwilioStandIn,
                                                   clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    run(desk, HoldLadder(card_id, "on the phone with them"), clock)
    decline(desk, card_id, clock)
    desk.service.run_due()
    assert pages_to(twilio, BOB) == 0
    clock.advance(2)
    run(desk, ResumeLadder(card_id), clock)
    desk.service.run_due()
    assert pages_to(twilio, BOB) == 2


def test_the_commands_refuse_what_would_do_nothing(desk: LadderDesk, clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    with pytest.raises(ValidationError, match="say why the ladder is held") as info:
        run(desk, HoldLadder(card_id, "   "), clock)
    assert info.value.field == "reason"
    with pytest.raises(ValidationError, match="is not held"):
        run(desk, ResumeLadder(card_id), clock)
    run(desk, HoldLadder(card_id, "technician on the phone"), clock)
    with pytest.raises(ValidationError, match="already held by A. Novak"):
        run(desk, HoldLadder(card_id, "again"), clock)
    with pytest.raises(ValidationError, match="held by A. Novak .*resume it first"):
        run(desk, EscalateNow(card_id), clock)
    p4 = desk.register("P4")
    with pytest.raises(ValidationError, match="no ladder to escalate: P4 cards are not paged"):
        run(desk, EscalateNow(p4), clock)
    assert [e.kind for e in desk.journal.entries(p4)] == ["card.registered"]


def test_an_acknowledged_ladder_stays_stopped(desk: LadderDesk, twilio: TwilioStandIn,
                                              clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    run(desk, HoldLadder(card_id, "checking"), clock)
    twilio.simulate_reply(ALICE, "1", at=clock.now())
    desk.service.poll()
    with pytest.raises(ValidationError, match=r"has stopped \(acknowledged\)"):
        run(desk, EscalateNow(card_id), clock)
    state = desk.service.state(card_id)
    assert state.stopped == "acknowledged" and allowed(state, desk.service.ladder) == {"resume"}
    run(desk, ResumeLadder(card_id), clock)  # harmless: nothing fires after an ack
    clock.advance(600)
    desk.service.run_due()
    assert pages_to(twilio, BOB) == 0


def test_a_decline_of_the_last_tier_exhausts_the_ladder_at_once(
        desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    for _ in range(3):
        run(desk, EscalateNow(card_id), clock)
        desk.service.run_due()
    clock.advance(1)
    decline(desk, card_id, clock, reason="abroad")
    result = desk.service.run_due()
    assert desk.service.state(card_id).exhausted_at == clock.now()
    assert any("whole ladder went unanswered" in a for a in result.alarms)


def test_the_command_line_holds_resumes_and_escalates(tmp_path: Any, capsys: Any) -> None:
    from app.bootstrap import build_desk
    from app.cli import main
    from app.config import Settings
    from tests.escalation.harness import intake

    journal = tmp_path / "desk.sqlite"
    desk = build_desk(Settings(journal=journal).validated())
    try:
        number = desk.cards.register(intake("P1"), DISPATCHER).number
        p4 = desk.cards.register(intake("P4"), DISPATCHER).number
    finally:
        desk.close()
    config = tmp_path / "settings.toml"  # no accounts: the `operator` setting names who
    config.write_text('operator = "B. Lead"\n', encoding="utf-8")
    base = ["--journal", str(journal), "--config", str(config), "ladder"]
    assert main([*base, "hold", number, "--reason", "caller on the line"]) == 0
    out = capsys.readouterr().out
    assert f"{number}: ladder held; HELD by B. Lead since" in out
    assert "caller on the line" in out
    assert main([*base, "hold", number, "--reason", "again"]) == 1
    assert "already held by B. Lead" in capsys.readouterr().err
    assert main([*base, "escalate", number]) == 1
    assert "resume it first" in capsys.readouterr().err
    assert main([*base, "resume", number]) == 0
    assert "ladder resumed; not started; next: tier 1 at" in capsys.readouterr().out
    assert main([*base, "escalate", number, "--reason", "flooding"]) == 0
    assert "ladder escalated" in capsys.readouterr().out
    assert main([*base, "escalate", p4]) == 1
    assert "no ladder to escalate: P4 cards are not paged automatically" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "hold", number])  # --reason is required to hold
    assert "--reason" in capsys.readouterr().err
