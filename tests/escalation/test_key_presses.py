"""Issue 12, key presses: a voice page's TwiML is served by the real store on loopback, the
Twilio stand-in answers the call and posts the key to the store's Gather action (signed, as
Twilio does), and the store writes the facts at once; the desk gets them at its next pull.
Without a store Twilio can reach, the call says to reply to the SMS, and a key logged in the
call's Events is still read by the desk's poll."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from app.clock import FakeClock
from app.store.twilio_webhook import GATHER_PATH, PAGE_PATH
from app.sync.engine import SyncEngine
from app.sync.enroll import enroll_desk
from tests.escalation.harness import ALICE, LadderDesk, make_pager
from tests.escalation.test_ladder_flow import calls_to
from tests.sync.conftest import open_engine
from tests.sync.loopback import LoopbackStore
from tests.twilio_standin import TwilioStandIn


@pytest.fixture
def store(webhook_store: LoopbackStore) -> LoopbackStore:
    return webhook_store


@pytest.fixture
def engine(desk: LadderDesk, store: LoopbackStore, twilio: TwilioStandIn,
           clock: FakeClock) -> Iterator[SyncEngine]:
    enroll_desk(desk.journal, store.url, store.add_desk("front"), "front desk")
    # The desk knows the store's public address: calls take their TwiML and keys there.
    desk.service.pager = make_pager(twilio.base_url, twilio.account_sid, twilio.auth_token,
                                    callback_url=store.url)
    made = open_engine(desk.journal, clock)
    yield made
    made.client.close()


def _call(desk: LadderDesk, engine: SyncEngine) -> tuple[str, str]:
    card_id = desk.register("P1")
    desk.service.run_due()
    engine.round(wait=0)  # the page is at the store
    sid = desk.service.state(card_id).steps[0].channels["voice"].sid
    assert sid is not None
    return card_id, sid


def _kinds(desk: LadderDesk, card_id: str, *kinds: str) -> list[dict]:
    return [e.payload for e in desk.journal.entries(card_id) if e.kind in kinds]


def _said(response) -> str:  # noqa: ANN001 - a requests.Response
    assert response is not None and response.status_code == 200, response
    return " ".join(s.text or "" for s in ET.fromstring(response.text).iter("Say"))


def test_the_store_serves_the_page_and_takes_key_4_as_an_acknowledgement(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore,
        engine: SyncEngine) -> None:
    card_id, sid = _call(desk, engine)
    (placed,) = calls_to(twilio, ALICE)
    assert placed["Url"].startswith(store.url + PAGE_PATH + "?")
    assert placed["StatusCallback"] == store.url + "/twilio/webhook"
    page, gathered = twilio.press_key(sid, "4")
    root = ET.fromstring(page.text)
    gather = root.find("Gather")
    assert gather is not None and gather.get("action", "").startswith(GATHER_PATH + "?")
    assert "Press 4 to acknowledge, 5 to escalate, 6 to decline." in _said(page)
    assert "Core switch down" in _said(page)  # the page's own words, from the signed URL
    assert _said(gathered).startswith("Acknowledged.")

    engine.round(wait=0)
    (ack,) = _kinds(desk, card_id, "card.ack")
    assert (ack["who"], ack["how"], ack["sid"]) == ("Alice Primary", "voice", sid)
    card = desk.journal.card(card_id)
    assert (card["assignee"], card["status"]) == ("Alice Primary", "in_progress")
    # The call's end adds nothing (the key was its result); the desk's poll neither.
    twilio.end_call(sid)
    twilio.simulate_call_result(sid, "completed-pressed-4")
    desk.service.poll()
    engine.round(wait=0)
    results = [(e.operator, e.payload["outcome"]) for e in desk.journal.entries(card_id)
               if e.kind == "ladder.call_result"]
    assert [o for _, o in results] == ["acknowledged"], results
    assert len(_kinds(desk, card_id, "card.ack", "card.fields", "card.status")) == 3
    assert desk.journal.set_aside() == []


@pytest.mark.parametrize(("key", "kind", "heard"), [
    ("5", "ladder.escalate", "Escalated."), ("6", "ladder.declined", "Declined.")])
def test_keys_5_and_6_escalate_and_decline(
        desk: LadderDesk, twilio: TwilioStandIn, engine: SyncEngine, key: str, kind: str,
        heard: str) -> None:
    card_id, sid = _call(desk, engine)
    _, gathered = twilio.press_key(sid, key)
    assert _said(gathered).startswith(heard)
    engine.round(wait=0)
    (fact,) = _kinds(desk, card_id, kind)
    assert (fact["how"], fact["sid"], fact["tier"]) == ("voice", sid, 1)
    assert _kinds(desk, card_id, "card.ack") == []


def test_a_key_that_does_nothing_asks_again(
        desk: LadderDesk, twilio: TwilioStandIn, engine: SyncEngine) -> None:
    card_id, sid = _call(desk, engine)
    _, gathered = twilio.press_key(sid, "9")
    root = ET.fromstring(gathered.text)
    assert "That key does nothing." in _said(gathered)
    redirect = root.find("Redirect")
    assert redirect is not None and (redirect.text or "").startswith(PAGE_PATH + "?")
    engine.round(wait=0)
    assert _kinds(desk, card_id, "card.ack", "ladder.escalate", "ladder.declined") == []


def test_a_forged_key_press_is_refused(desk: LadderDesk, twilio: TwilioStandIn,
                                       store: LoopbackStore, engine: SyncEngine) -> None:
    import requests

    card_id, sid = _call(desk, engine)
    head = store.store.position().seq
    form = {"CallSid": sid, "Digits": "4"}
    answer = requests.post(store.url + GATHER_PATH + "?card=A-0001", data=form, timeout=5,
                           headers={"X-Twilio-Signature": "forged"})
    assert answer.status_code == 403
    assert store.store.position().seq == head


def test_without_a_store_the_keys_are_still_read_from_the_call_by_polling(
        desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    (placed,) = calls_to(twilio, ALICE)
    assert "reply to the text message" in placed["Twiml"]
    sid = str(desk.service.state(card_id).steps[0].channels["voice"].sid)
    twilio.simulate_call_result(sid, "completed-pressed-6")
    desk.service.poll()
    (declined,) = _kinds(desk, card_id, "ladder.declined")
    assert (declined["how"], declined["who"]) == ("voice", "Alice Primary")
    assert [p["outcome"] for p in _kinds(desk, card_id, "ladder.call_result")] == ["declined"]
