"""Webhooks and their signatures, and which desk runs a card's ladder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.errors import ValidationError
from app.models.entry import NewEntry
from app.services.escalation.inbound import (
    entries_from_webhook,
    open_pages,
    verify_twilio_signature,
)
from app.services.escalation.runner import ladder_runner
from tests.escalation.harness import ALICE, BOB
from tests.escalation.test_ladder_flow import calls_to, sms_to

URL = "https://store.example.org/twilio/sms?desk=A"
NOW = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)


def test_a_signed_webhook_passes_and_a_forged_one_is_refused(twilio) -> None:
    params = {"MessageSid": "SM" + "a" * 32, "From": ALICE, "Body": "1"}
    good = twilio.sign_webhook(URL, params)
    token = twilio.auth_token
    assert verify_twilio_signature(URL, params, good, token)
    assert not verify_twilio_signature(URL, {**params, "Body": "2"}, good, token)
    assert not verify_twilio_signature(URL.replace("desk=A", "desk=B"), params, good, token)
    assert not verify_twilio_signature(URL, params, good, "some-other-token")
    assert not verify_twilio_signature(URL, params, "", token)
    with pytest.raises(ValidationError) as err:
        verify_twilio_signature(URL, params, good, "")
    assert err.value.field == "token"


def test_webhook_sms_reply_gather_and_voicemail(desk, twilio, clock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    state = desk.service.state(card_id)
    pages = open_pages([state])
    call_sid = state.steps[0].channels["voice"].sid
    voicemail = entries_from_webhook({"CallSid": call_sid, "CallStatus": "completed",
                                      "AnsweredBy": "machine_end_beep"}, pages, clock.now())
    assert [e.kind for e in voicemail] == ["ladder.call_result"]
    assert voicemail[0].payload["outcome"] == "voicemail"
    ringing = entries_from_webhook({"CallSid": call_sid, "CallStatus": "ringing"}, pages,
                                   clock.now())
    assert ringing == []
    pressed = entries_from_webhook({"CallSid": call_sid, "Digits": "1"}, pages, clock.now())
    assert [e.kind for e in pressed] == ["ladder.call_result", "card.ack"]
    sms = entries_from_webhook({"MessageSid": "SM" + "b" * 32, "From": ALICE,
                                "Body": f"{state.steps[0].code}"}, pages, clock.now())
    assert [(e.kind, e.payload["how"]) for e in sms] == [("card.ack", "sms")]

    # The store and the desk's own poll may both deliver the same answer: kept once.
    desk.journal.write(sms, "store")
    desk.journal.write(sms, "store")
    acks = [e for e in desk.journal.entries(card_id) if e.kind == "card.ack"]
    assert len(acks) == 1


@pytest.mark.parametrize(("form", "field"), [
    ({"Body": "1", "From": ALICE}, "MessageSid"),
    ({"Body": "1", "MessageSid": "SM" + "c" * 32, "From": "0151 123"}, "From"),
    ({"Digits": "1", "CallSid": "nope"}, "CallSid"),
    ({"Hello": "x"}, "Body"),
])
def test_a_malformed_webhook_is_refused_naming_the_field(form, field) -> None:
    with pytest.raises(ValidationError) as err:
        entries_from_webhook(form, [], NOW)
    assert err.value.field == field


def test_the_owner_keeps_its_ladder_while_its_heartbeat_is_fresh() -> None:
    beats = {"dA": NOW - timedelta(seconds=119), "dB": NOW, "dC": NOW}
    assert ladder_runner("dA", "dB", beats, NOW) == "dA"
    assert ladder_runner("dA", "dA", {}, NOW) == "dA"
    assert ladder_runner("dA", "dB", {}, NOW) == "dA"  # no sync: the owner runs its own


def test_a_stale_owner_is_replaced_by_one_agreed_successor() -> None:
    beats = {"dA": NOW - timedelta(seconds=121), "dC": NOW, "dB": NOW - timedelta(seconds=5)}
    assert ladder_runner("dA", "dB", beats, NOW) == "dB"
    assert ladder_runner("dA", "dC", beats, NOW) == "dB"  # everyone agrees on dB
    assert ladder_runner("dX", "dC", {"dC": NOW}, NOW) == "dC"  # never seen: dark


def test_this_desk_takes_over_only_when_the_owner_goes_dark(desk, twilio, clock) -> None:
    card_id = desk.register("P1")
    me = desk.journal.desk_id
    desk.journal.write([NewEntry(card_id, "ladder.taken_over", {"from": me, "to": "dOTHER"})],
                       "test")
    assert desk.service.run_due({"dOTHER": clock.now() - timedelta(seconds=30)}).fired == 0
    assert sms_to(twilio, ALICE) == []
    clock.advance(100)  # the owner's last heartbeat is now 130 s old
    result = desk.service.run_due({"dOTHER": clock.now() - timedelta(seconds=130)})
    assert result.fired >= 1
    assert desk.service.state(card_id).owner == me
    assert len(sms_to(twilio, ALICE)) == 1 and len(calls_to(twilio, ALICE)) == 1
    assert calls_to(twilio, BOB) != []  # fired late: the 40 s tier 1 wait had also passed
    assert desk.service.state(card_id).steps[0].late
