"""Issue 12, reply codes: what a paged person texts back becomes the right entry, once. The
desk pages through the Twilio stand-in and reads the replies back by polling; the fake clock
moves, nothing sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import FakeClock
from app.services.escalation.inbound import PAGER_CARD
from app.services.escalation.reply_codes import (
    ACK,
    DECLINE,
    ESCALATE,
    Command,
    Unclear,
    help_text,
    parse,
)
from tests.escalation.harness import ALICE, BOB, LadderDesk, build
from tests.escalation.test_ladder_flow import sms_to
from tests.twilio_standin import TwilioStandIn


@pytest.mark.parametrize(("body", "said"), [
    ("4821 a", Command(ACK, "4821")),
    ("4821 A 35", Command(ACK, "4821", eta_minutes=35)),
    ("  4821a35  ", Command(ACK, "4821", eta_minutes=35)),
    ("4821, a, 35 min", Command(ACK, "4821", eta_minutes=35)),
    ("4821 a 1h", Command(ACK, "4821", eta_minutes=60)),
    ("4821 ACK", Command(ACK, "4821")),
    ("4821", Command(ACK, "4821")),
    ("ok 4821 on my way", Command(ACK, "4821")),  # as replies always were
    ("1", Command(ACK)),
    ("a 20", Command(ACK, eta_minutes=20)),
    ("4821 e", Command(ESCALATE, "4821")),
    ("4821 E need a gas fitter", Command(ESCALATE, "4821", reason="need a gas fitter")),
    ("4821 d", Command(DECLINE, "4821")),
    ("4821 d: sick, in bed", Command(DECLINE, "4821", reason="sick, in bed")),
    ("d", Command(DECLINE)),
    ("4821 x", Unclear("4821", "'x' is not a command.")),
    ("4821 a 2000", Unclear("4821", "ETA 2000 min is out of range (1-1440 min).")),
    ("4821 a 0", Unclear("4821", "ETA 0 min is out of range (1-1440 min).")),
    ("on my way", None),
    ("a pipe burst in the basement", None),  # free text, not a bare "a"
    ("", None),
])
def test_the_reply_grammar(body: str, said: Command | Unclear | None) -> None:
    assert parse(body) == said


def _paged(desk: LadderDesk, priority: str = "P1") -> tuple[str, str]:
    card_id = desk.register(priority)
    desk.service.run_due()
    code = desk.service.state(card_id).steps[0].code
    assert code is not None
    return card_id, code


def _kinds(desk: LadderDesk, card_id: str, *kinds: str) -> list[dict]:
    return [e.payload for e in desk.journal.entries(card_id) if e.kind in kinds]


def test_accept_with_an_eta_acknowledges_assigns_and_starts_work(
        desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id, code = _paged(desk)
    sid = twilio.simulate_reply(ALICE, f"{code} a 35")
    desk.service.poll()
    (ack,) = _kinds(desk, card_id, "card.ack")
    assert (ack["who"], ack["how"], ack["sid"]) == ("Alice Primary", "sms", sid)
    assert (ack["eta_minutes"], ack["contact_id"]) == (35, "alice")
    card = desk.journal.card(card_id)
    assert (card["assignee"], card["status"]) == ("Alice Primary", "in_progress")
    # Written in the same transaction as the ack, not at the next ladder run.
    ids = [e.kind for e in desk.journal.entries(card_id)][-3:]
    assert ids == ["card.ack", "card.fields", "card.status"]
    desk.service.poll()
    desk.service.run_due()
    assert len(_kinds(desk, card_id, "card.ack", "card.fields", "card.status")) == 3
    assert desk.service.state(card_id).stopped == "acknowledged"


def test_plain_acknowledge_and_the_one_shortcut(desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id, code = _paged(desk)
    twilio.simulate_reply(ALICE, f" {code.upper()} A ")
    desk.service.poll()
    (ack,) = _kinds(desk, card_id, "card.ack")
    assert "eta_minutes" not in ack
    other, _ = _paged(desk)
    twilio.simulate_reply(ALICE, "1")  # the newest page to Alice: the second card
    desk.service.poll()
    assert len(_kinds(desk, other, "card.ack")) == 1


def test_escalate_now_records_who_and_the_tier(desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id, code = _paged(desk)
    sid = twilio.simulate_reply(ALICE, f"{code} e water rising fast")
    desk.service.poll()
    (esc,) = _kinds(desk, card_id, "ladder.escalate")
    assert esc == {"by": "Alice Primary", "tier": 1, "attempt": 1, "how": "sms", "sid": sid,
                   "at": esc["at"], "reason": "water rising fast"}
    assert _kinds(desk, card_id, "card.ack") == []


def test_decline_records_why_the_person_was_unavailable(
        desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id, code = _paged(desk)
    twilio.simulate_reply(ALICE, f"{code} d at the hospital with my kid")
    desk.service.poll()
    (declined,) = _kinds(desk, card_id, "ladder.declined")
    assert (declined["who"], declined["contact_id"], declined["to"]) == (
        "Alice Primary", "alice", ALICE)
    assert declined["reason"] == "at the hospital with my kid"
    assert declined["how"] == "sms" and declined["tier"] == 1
    assert _kinds(desk, card_id, "card.ack") == []


def test_an_unknown_code_gets_one_help_reply_per_ten_minutes_even_after_a_restart(
        tmp_path: Path, desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock) -> None:
    card_id, code = _paged(desk)
    before = len(sms_to(twilio, ALICE))
    twilio.simulate_reply(ALICE, "9999 a")  # a code that is none of Alice's pages
    desk.service.poll()
    helps = sms_to(twilio, ALICE)[before:]
    assert [m["Body"] for m in helps] == [
        help_text(code, "Code 9999 is not one of your pages.")]
    assert helps[0]["Body"].endswith(
        f"Reply {code} a to acknowledge, a 35 = on the way ETA 35 min, e escalate, d decline")
    assert _kinds(desk, card_id, "card.ack") == []
    assert [e.kind for e in desk.journal.entries(card_id)][-1] == "ladder.reply"

    clock.advance(60)
    twilio.simulate_reply(ALICE, "what is this")
    desk.service.poll()
    # A restart: a new service on the same journal keeps the limit (it is in the journal).
    desk.service.close()
    again = build(desk.journal.path, clock, twilio.base_url, twilio.account_sid,
                  twilio.auth_token)
    try:
        clock.advance(60)
        twilio.simulate_reply(ALICE, f"{code} a 5000")
        again.service.poll()
        assert len(sms_to(twilio, ALICE)) == before + 1
        assert [p["number"] for p in _kinds(again, PAGER_CARD, "pager.help")] == [ALICE]
        clock.advance(600)
        twilio.simulate_reply(ALICE, f"{code} a 5000")
        again.service.poll()
        last = sms_to(twilio, ALICE)[-1]["Body"]
        assert last.startswith("ETA 5000 min is out of range (1-1440 min). Reply")
        assert len(sms_to(twilio, ALICE)) == before + 2
        assert _kinds(again, card_id, "card.ack") == []
    finally:
        again.service.close()


def test_a_number_never_paged_gets_no_help_and_no_card_entry(
        desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id, _ = _paged(desk)
    before = len(twilio.requests_to("POST", "/Messages.json"))
    twilio.simulate_reply("+15559990000", "4821 a")
    desk.service.poll()
    assert len(twilio.requests_to("POST", "/Messages.json")) == before
    assert _kinds(desk, card_id, "card.ack", "ladder.reply") == []


def test_stop_still_opts_out_and_a_code_for_the_next_tier_is_its_own(
        desk: LadderDesk, twilio: TwilioStandIn, clock: FakeClock) -> None:
    card_id, alice_code = _paged(desk)
    clock.advance(41)
    desk.service.run_due()  # tier 2: Bob
    bob_code = desk.service.state(card_id).steps[1].code
    assert bob_code != alice_code
    twilio.simulate_reply(BOB, f"{alice_code} a")  # Alice's code from Bob's phone: unknown
    twilio.simulate_reply(ALICE, "STOP")
    desk.service.poll()
    assert _kinds(desk, card_id, "card.ack") == []
    assert desk.service.opted_out() == {ALICE}
    twilio.simulate_reply(BOB, f"{bob_code} a 15")
    desk.service.poll()
    (ack,) = _kinds(desk, card_id, "card.ack")
    assert (ack["who"], ack["eta_minutes"], ack["tier"]) == ("Bob Backup", 15, 2)
