"""The ladder end to end: FakeClock, a real journal, the real twilio client, the stand-in."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FakeClock
from app.services.cards.timeline import timeline
from app.services.escalation.state import derive
from tests.escalation.harness import ALICE, BOB, CAROL, DORA, LadderDesk
from tests.twilio_standin import TwilioStandIn


def sms_to(twilio: TwilioStandIn, number: str) -> list[dict[str, str]]:
    return [r.form for r in twilio.requests_to("POST", "/Messages.json") if r.form["To"] == number]


def calls_to(twilio: TwilioStandIn, number: str) -> list[dict[str, str]]:
    return [r.form for r in twilio.requests_to("POST", "/Calls.json") if r.form["To"] == number]


def paged(twilio: TwilioStandIn) -> list[str]:
    """Numbers paged, in order, one item per (SMS or call) request."""
    posts = [r for r in twilio.requests if r.method == "POST"]
    return [r.form["To"] for r in posts]


def test_p1_pages_primary_by_sms_and_voice_at_once(desk: LadderDesk, twilio: TwilioStandIn):
    card_id = desk.register("P1")  # P1
    twilio.delay_next(2, 0.5)  # if the two were sent one after the other, 0.5 s would show
    result = desk.service.run_due()

    (sms,) = sms_to(twilio, ALICE)
    (call,) = calls_to(twilio, ALICE)
    state = desk.service.state(card_id)
    assert state.steps[0].tier == 1 and not state.steps[0].late
    assert f"Reply {state.steps[0].code} a to acknowledge" in sms["Body"]
    assert sms["ValidityPeriod"] == "300"
    # No store Twilio can reach: the call says to answer the SMS (tests/escalation/
    # test_key_presses.py has the keys the store takes).
    assert "reply to the text message" in call["Twiml"]
    times = sorted(r.received_at for r in twilio.requests if r.method == "POST")
    assert times[1] - times[0] < 0.25, "SMS and call must go out together, not in turn"
    assert result.sent == 2
    assert result.next_wake == state.steps[0].due + timedelta(seconds=40)


def test_no_page_early_and_each_tier_exactly_at_its_due(desk, twilio, clock: FakeClock):
    card_id = desk.register("P2")  # P2: ladder starts 60 s after registration
    assert desk.service.run_due().next_wake == clock.now() + timedelta(seconds=60)
    clock.advance(59.9)
    desk.service.run_due()
    assert paged(twilio) == []
    clock.advance(0.1)
    desk.service.run_due()
    assert sorted(paged(twilio)) == [ALICE, ALICE]
    clock.advance(39.9)
    assert desk.service.run_due().next_wake == clock.now() + timedelta(seconds=0.1)
    assert sorted(paged(twilio)) == [ALICE, ALICE]
    clock.advance(0.1)
    desk.service.run_due()  # tier 2 waits in seconds: `wait = 40`
    assert sorted(paged(twilio)[2:]) == [BOB, BOB]
    steps = desk.service.state(card_id).steps
    assert [s.due - steps[0].due for s in steps] == [timedelta(0), timedelta(seconds=40)]


def test_nobody_answering_reaches_the_final_tier_and_raises_the_desk_alarm(desk, twilio, clock):
    card_id = desk.register("P1")
    alarms: list[str] = []
    for _ in range(300):  # 5 minutes in 1 s steps: no page twice, none late
        alarms += desk.service.run_due().alarms
        clock.advance(1)
    assert [n for n in paged(twilio) if n] and sorted(set(paged(twilio))) == [ALICE, BOB, CAROL,
                                                                             DORA]
    for number in (ALICE, BOB, CAROL, DORA):
        assert len(sms_to(twilio, number)) == 1 and len(calls_to(twilio, number)) == 1
    state = desk.service.state(card_id)
    assert [s.tier for s in state.steps] == [1, 2, 3, 4]
    assert all(s.fired_at - s.due <= timedelta(seconds=1) for s in state.steps)
    assert state.exhausted_at is not None
    assert any("last tier" in a for a in alarms) and any("went unanswered" in a for a in alarms)


def test_sms_reply_code_acknowledges_and_stops_the_ladder(desk, twilio, clock):
    card_id = desk.register("P1")
    desk.service.run_due()
    code = desk.service.state(card_id).steps[0].code
    clock.advance(12)
    twilio.simulate_reply(ALICE, f"ok {code} on my way")
    desk.service.poll()

    card = desk.cards.get_by_id(card_id)
    assert card.acknowledged_by == "Alice Primary"
    assert card.acknowledged_at == clock.now().replace(microsecond=0)
    clock.advance(600)
    assert desk.service.run_due().next_wake is None
    assert sorted(set(paged(twilio))) == [ALICE]
    lines = [(x.title, x.detail) for x in timeline(desk.journal.entries(card_id))]
    assert ("Acknowledged by Alice Primary", "by sms") in lines


def test_reply_1_acknowledges_the_newest_page_and_other_text_does_not(desk, twilio, clock):
    first, second = desk.register("P1"), desk.register("P1")
    desk.service.run_due()
    clock.advance(5)
    twilio.simulate_reply(ALICE, "who is this?")
    desk.service.poll()
    assert desk.cards.get_by_id(second).acknowledged_at is None
    assert "ladder.reply" in [e.kind for e in desk.journal.entries(second)]
    clock.advance(5)
    twilio.simulate_reply(ALICE, "1")
    desk.service.poll()
    assert desk.cards.get_by_id(second).acknowledged_by == "Alice Primary"
    assert desk.cards.get_by_id(first).acknowledged_at is None


def test_voicemail_is_not_an_ack_but_pressing_1_is(desk, twilio, clock):
    card_id = desk.register("P1")
    desk.service.run_due()
    (call_sid,) = list(twilio.calls)
    twilio.simulate_call_result(call_sid, "voicemail")
    clock.advance(20)
    desk.service.poll()
    assert desk.cards.get_by_id(card_id).acknowledged_at is None
    assert desk.service.state(card_id).steps[0].channels["voice"].outcome == "voicemail"
    clock.advance(20)
    desk.service.run_due()
    assert len(calls_to(twilio, BOB)) == 1  # voicemail did not stop the ladder

    bob_call = next(sid for sid, c in twilio.calls.items() if c["to"] == BOB)
    twilio.simulate_call_result(bob_call, "completed-pressed-1")
    desk.service.poll()
    card = desk.cards.get_by_id(card_id)
    assert card.acknowledged_by == "Bob Backup"
    clock.advance(600)
    desk.service.run_due()
    assert calls_to(twilio, CAROL) == []


def test_every_channel_failing_moves_to_the_next_tier_at_once(desk, twilio, clock):
    card_id = desk.register("P1")
    twilio.fail_next(2, 400)  # not retryable: a wrong number is wrong on every try
    desk.service.run_due()
    assert sms_to(twilio, BOB) and calls_to(twilio, BOB)
    state = desk.service.state(card_id)
    assert state.steps[0].unreachable_at is not None
    assert state.steps[1].due == state.steps[0].unreachable_at
    kinds = [e.kind for e in desk.journal.entries(card_id)]
    assert kinds.count("ladder.page_failed") == 2 and "ladder.unreachable" in kinds


def test_a_new_card_is_derived_the_same_from_its_entries(desk, twilio, clock):
    card_id = desk.register("P1")
    desk.service.run_due()
    again = derive(desk.journal.card(card_id), reversed(desk.journal.entries(card_id)),
                   desk.service.ladder)
    assert again.steps[0].code == desk.service.state(card_id).steps[0].code
    assert desk.journal.verify() == []


def test_a_priority_raised_to_p1_starts_the_ladder_at_once(desk, twilio, clock):
    from app.services.cards.card import Operator

    card_id = desk.register("P3")  # P3 starts 30 minutes after registration
    assert desk.service.run_due().next_wake == clock.now() + timedelta(minutes=30)
    clock.advance(120)
    number = desk.cards.get_by_id(card_id).number
    desk.cards.change_priority(number, "P1", "whole floor down", Operator("M. K", "shift_lead"))
    desk.service.run_due()
    assert len(sms_to(twilio, ALICE)) == 1
    step = desk.service.state(card_id).steps[0]
    raised = [e for e in desk.journal.entries(card_id) if e.kind == "card.priority"][0]
    assert step.due == raised.at and not step.late  # from the raise, not registration + 30m


def test_an_acknowledgement_before_the_start_means_no_page(desk, twilio, clock):
    from tests.escalation.harness import DISPATCHER

    card_id = desk.register("P2")
    desk.cards.acknowledge(desk.cards.get_by_id(card_id).number, "Alice", "phone", DISPATCHER)
    clock.advance(600)
    assert desk.service.run_due().next_wake is None
    assert paged(twilio) == []


def test_every_ladder_entry_reads_as_words_on_the_timeline(desk, twilio, clock):
    card_id = desk.register("P1")
    twilio.fail_next(1, 503)
    desk.service.run_due()
    call_sid = next(iter(twilio.calls), None)
    if call_sid:
        twilio.simulate_call_result(call_sid, "voicemail")
    twilio.simulate_reply(ALICE, "what?")
    desk.service.poll()
    clock.advance(40)
    desk.service.run_due()
    lines = timeline(desk.journal.entries(card_id))
    ladder_lines = [x for x in lines if x.kind.startswith("ladder.")]
    assert {x.kind for x in ladder_lines} >= {"ladder.step", "ladder.page", "ladder.page_failed",
                                              "ladder.reply"}
    assert all(not x.title.startswith("ladder.") for x in ladder_lines)
    titles = [x.title for x in ladder_lines]
    assert "Tier 1/4: paging Alice Primary by SMS + call" in titles
    assert "Tier 2/4: paging Bob Backup by SMS + call" in titles
    assert any("FAILED (try 1)" in t for t in titles)


def test_an_older_stamped_ack_from_another_desk_reaches_the_cached_ladder_state(
    desk: LadderDesk, clock: FakeClock
) -> None:
    """Ladder states are re-derived only for cards that changed; an entry stamped before the
    card's newest one (another desk's acknowledgement, pulled late) still counts as a change."""
    from app.models.entry import Entry, uuid7

    card_id = desk.register("P1")
    desk.service.run_due()
    [state] = desk.service.states(active_only=True)
    assert state.ack is None and state.steps
    first = desk.journal.entries(card_id)[0]
    other = first.desk_id + "z"  # sorts right after the registration, before the step
    older = f"{first.hlc.rsplit('.', 1)[0]}.{other}"
    ack = Entry(uuid7(int(clock.now().timestamp() * 1000)), card_id, "card.ack",
                {"who": "L. Fischer", "how": "phone"}, older, other, "B. Other", 1, 7)
    desk.journal.apply_remote([ack])
    assert desk.journal.card(card_id)["last_hlc"] > older  # the card's newest stamp is unmoved
    [after] = desk.service.states()
    assert after.ack is not None and after.ack.who == "L. Fischer"
