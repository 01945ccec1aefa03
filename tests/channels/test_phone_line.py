"""The emergency phone line end to end with real parts: the Twilio stand-in posts signed
webhooks to the real store on loopback, a desk with a real journal pages through the stand-in
and syncs with the store; the desk's own Twilio poll covers the store being down."""

from __future__ import annotations

import json
import signal
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from app.clock import FakeClock
from app.loaders import load_intake_rules, load_rules
from app.models.entry import NewEntry
from app.protocol.catalogue import INTEGRATIONS_CARD
from app.protocol.phone_line import entry_id, item_id
from app.runtime.twilio_inbox import TwilioInbox
from app.services.intake import IntakeService
from app.store.phone_routes import INBOUND_PATH, RECORDING_PATH, VOICE_PATH
from app.store.tables import entries
from app.store.twilio_webhook import PATH as WEBHOOK_PATH
from app.store.twilio_webhook import WebhookConfig
from app.sync.engine import SyncEngine
from tests.channels.phone_desk import pages, start_phone_desk, stop
from tests.escalation.harness import ALICE, DESK_NUMBER, LadderDesk
from tests.polling import wait_until
from tests.runtime.desk_procs import cli
from tests.sync.conftest import open_engine
from tests.sync.loopback import LoopbackStore
from tests.twilio_standin import TwilioStandIn

# Monday 23 November 2026, 02:10 UTC (03:10 in Berlin): night on the emergency line.
T0 = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)
CALLER = "+4915112345678"  # not in the roster, never paged
REPLY = "Dispatch desk: we got your emergency request and will call you back."


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)



@pytest.fixture
def desk(ladder_desk: LadderDesk) -> LadderDesk:
    return ladder_desk


@pytest.fixture
def store(webhook_store: LoopbackStore) -> LoopbackStore:
    return webhook_store


@pytest.fixture
def engine(webhook_engine: SyncEngine) -> SyncEngine:
    return webhook_engine


def intake_of(desk: LadderDesk) -> IntakeService:
    rules = load_rules(None)
    return IntakeService(desk.journal, rules, load_intake_rules(None, rules), desk.journal._clock,
                         desk.cards)


def add_line(desk: LadderDesk, engine: SyncEngine, reply: str = REPLY) -> None:
    """The phone line's integration, as `dispatch-desk integration add sms` would write it."""
    desk.journal.write([NewEntry(INTEGRATIONS_CARD, "integration.added", {
        "name": "emergency-line", "kind": "sms", "key_hash": "0" * 64, "site": "HQ",
        "reply": reply})], "A. Novak")
    engine.round(wait=0)


def stored(store: LoopbackStore, **where: str) -> list[dict[str, Any]]:
    with store.store.engine.connect() as conn:
        query = select(entries)
        for name, value in where.items():
            query = query.where(getattr(entries.c, name) == value)
        rows = conn.execute(query).all()
    return [{"id": r.id, "card_id": r.card_id, "kind": r.kind, "payload": json.loads(r.payload)}
            for r in rows]


def twiml(response: requests.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return root


def test_a_signed_sms_becomes_a_pending_item_with_the_sender_as_callback_and_a_reply(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore,
        engine: SyncEngine) -> None:
    add_line(desk, engine)
    url = store.url + INBOUND_PATH
    sid, answer = twilio.receive_sms(CALLER, "Water coming through the ceiling\nroom 2.14",
                                     webhook=url)
    root = twiml(answer)
    assert [m.text for m in root.findall("Message")] == [REPLY]
    [item] = stored(store, kind="intake.received")
    assert item["id"] == entry_id(sid) and item["card_id"] == item_id(sid)
    payload = item["payload"]
    assert payload["channel"] == "sms" and payload["callback"] == CALLER
    assert payload["integration"] == "emergency-line" and payload["site"] == "HQ"
    assert payload["summary"] == "Water coming through the ceiling room 2.14"

    # Twilio retries a webhook it thinks failed: nothing doubles, nobody is texted twice.
    head = store.store.position().seq
    again = twilio.post_webhook(url, {"MessageSid": sid, "From": CALLER, "To": DESK_NUMBER,
                                      "Body": "Water coming through the ceiling\nroom 2.14"})
    assert twiml(again).findall("Message") == []
    assert store.store.position().seq == head

    engine.round(wait=0)
    tray = intake_of(desk).pending()
    assert [(i.id, i.callback, i.channel) for i in tray] == [(item_id(sid), CALLER, "sms")]


def test_unsigned_or_forged_webhooks_are_refused_and_store_nothing(
        twilio: TwilioStandIn, store: LoopbackStore, tmp_path: Path, clock: FakeClock) -> None:
    head = store.store.position().seq
    form = {"MessageSid": "SM" + "a" * 32, "From": CALLER, "To": DESK_NUMBER, "Body": "help"}
    for path in (INBOUND_PATH, VOICE_PATH, RECORDING_PATH, WEBHOOK_PATH):
        url = store.url + path
        unsigned = requests.post(url, data=form, timeout=5)
        forged = requests.post(url, data=form, timeout=5, headers={
            "X-Twilio-Signature": twilio.sign_webhook(url + "?x=1", form)})
        assert (unsigned.status_code, forged.status_code) == (403, 403), path
        assert forged.json()["error"] == "bad_signature"
    # Signed but not an SMS Twilio would send: 422 naming the field, nothing stored.
    url = store.url + INBOUND_PATH
    bad = dict(form, From="not-a-number")
    answer = twilio.post_webhook(url, bad)
    assert answer.status_code == 422 and answer.json()["field"] == "From"
    assert store.store.position().seq == head
    # A store without Twilio's token has the phone line off, and says why.
    off = LoopbackStore(tmp_path / "off.sqlite", clock)
    try:
        answer = requests.post(off.url + INBOUND_PATH, data=form, timeout=5)
        assert answer.status_code == 404 and "auth token" in answer.json()["message"]
    finally:
        off.stop()


def test_an_ack_from_a_paged_roster_number_stays_an_ack(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore,
        engine: SyncEngine) -> None:
    add_line(desk, engine)
    card_id = desk.register("P1")
    desk.service.run_due()
    first = desk.service.state(card_id).steps[0]
    assert first.who is not None and first.code
    engine.round(wait=0)

    url = store.url + INBOUND_PATH
    _, replied = twilio.receive_sms(ALICE, "on my way", webhook=url)
    # A reply on the card, not a new emergency: its one answer is how to acknowledge.
    (hint,) = [m.text or "" for m in twiml(replied).findall("Message")]
    assert hint.startswith(f"Reply {first.code} a to acknowledge")
    _, acked = twilio.receive_sms(ALICE, f"{first.code} ok", webhook=url)
    assert twiml(acked).findall("Message") == []
    assert stored(store, kind="intake.received") == []
    kinds = [e["kind"] for e in stored(store, card_id=card_id)]
    assert "ladder.reply" in kinds and "card.ack" in kinds

    engine.round(wait=0)
    assert desk.service.state(card_id).ack is not None
    assert intake_of(desk).pending() == []
    # The desk's own poll of Twilio reads the same two messages: already answers on the card.
    inbox = TwilioInbox(desk.journal, desk.pager, desk.service.ladder, desk.journal._clock)
    report = inbox.poll_once()
    assert (report.fetched, report.taken) == (2, 0)
    # A late "1" the store never saw (it was down): the poll judges it an answer itself.
    twilio.receive_sms(ALICE, "1")
    report = inbox.poll_once()
    assert (report.taken, report.answers) == (0, 1)
    assert intake_of(desk).pending() == []


def test_a_call_is_answered_with_twiml_and_its_voicemail_is_linked(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore,
        engine: SyncEngine) -> None:
    add_line(desk, engine)
    call_sid, answer = twilio.receive_call(CALLER, store.url + VOICE_PATH)
    root = twiml(answer)
    assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]
    assert "number has been recorded" in (root[0].text or "")
    record = root.find("Record")
    assert record is not None and record.get("action") == RECORDING_PATH
    [item] = stored(store, kind="intake.received")
    assert item["card_id"] == item_id(call_sid)
    assert item["payload"]["channel"] == "call" and item["payload"]["callback"] == CALLER

    link = (f"https://api.twilio.com/2010-04-01/Accounts/{twilio.account_sid}"
            f"/Recordings/RE{'b' * 32}")
    recording = {"CallSid": call_sid, "RecordingSid": "RE" + "b" * 32, "RecordingUrl": link,
                 "RecordingDuration": "14", "RecordingStatus": "completed",
                 "AccountSid": twilio.account_sid}
    done = twiml(twilio.post_webhook(store.url + RECORDING_PATH, recording))
    assert [child.tag for child in done] == ["Say", "Hangup"]
    # The <Record> action and the recording status callback both report it: one link.
    twiml(twilio.post_webhook(store.url + RECORDING_PATH, recording))
    [linked] = stored(store, kind="intake.repeated")
    assert linked["card_id"] == item_id(call_sid) and linked["payload"]["links"] == [link]

    engine.round(wait=0)
    [tray] = intake_of(desk).pending()
    assert tray.callback == CALLER and tray.channel == "call"
    assert tray.links == (link,)  # the voicemail, on the item the dispatcher accepts

    # A withheld number is still answered, and still an item (without a callback).
    hidden, answer = twilio.receive_call("anonymous", store.url + VOICE_PATH)
    twiml(answer)
    [withheld] = [e for e in stored(store, kind="intake.received")
                  if e["card_id"] == item_id(hidden)]
    assert "callback" not in withheld["payload"]


def test_with_the_store_down_the_desk_polls_twilio_and_the_late_webhook_does_not_double(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore, engine: SyncEngine,
        tmp_path: Path, clock: FakeClock) -> None:
    add_line(desk, engine)
    url = store.url + INBOUND_PATH
    store.stop()
    sid, answer = twilio.receive_sms(CALLER, "Smoke in the data centre", webhook=url)
    assert answer is None  # Twilio could not deliver the webhook: the store is down

    inbox = TwilioInbox(desk.journal, desk.pager, desk.service.ladder, clock,
                        link_up=lambda: False)
    report = inbox.poll_once()
    assert report.taken == 1, report.summary()
    assert desk.journal.has_entry(entry_id(sid))
    assert inbox.poll_once().taken == 0  # read again (the overlap): already in the journal
    [item] = intake_of(desk).pending()
    assert item.id == item_id(sid) and item.callback == CALLER

    back = LoopbackStore(tmp_path / "store.sqlite", clock,
                         twilio=WebhookConfig(twilio.auth_token))
    try:
        again = open_engine(desk.journal, clock, back.url)
        again.round(wait=0)  # the desk's copy reaches the store
        late = twilio.post_webhook(back.url + INBOUND_PATH, {
            "MessageSid": sid, "From": CALLER, "To": DESK_NUMBER,
            "Body": "Smoke in the data centre"})
        assert twiml(late).findall("Message") == []  # taken already: no second reply
        received = [e for e in stored(back, kind="intake.received")
                    if e["card_id"] == item_id(sid)]
        assert len(received) == 1
        again.round(wait=0)
        assert [i.id for i in intake_of(desk).pending()] == [item_id(sid)]
        again.client.close()
    finally:
        back.stop()


def test_while_the_store_is_up_the_poll_waits_for_the_webhooks_copy(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore, engine: SyncEngine,
        clock: FakeClock) -> None:
    add_line(desk, engine)
    inbox = TwilioInbox(desk.journal, desk.pager, desk.service.ladder, clock,
                        link_up=lambda: True, grace_s=20)
    sid, _ = twilio.receive_sms(CALLER, "Door forced open", webhook=store.url + INBOUND_PATH)
    assert inbox.poll_once().waiting == 1  # young, and the store is reachable
    engine.round(wait=0)  # the webhook's copy arrives by pull
    clock.advance(30)
    report = inbox.poll_once()
    assert (report.taken, report.waiting) == (0, 0)
    [entry] = [e for e in desk.journal.entries(item_id(sid)) if e.kind == "intake.received"]
    assert entry.desk_id.startswith("store-")  # the store's copy, the one every desk has


def test_a_night_sms_is_registered_p1_at_once_and_its_ladder_pages(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore,
        engine: SyncEngine) -> None:
    add_line(desk, engine)
    sid, answer = twilio.receive_sms(CALLER, "Fire alarm in building B",
                                     webhook=store.url + INBOUND_PATH)
    assert [m.text for m in twiml(answer).findall("Message")] == [REPLY]
    engine.round(wait=0)
    intake = intake_of(desk)
    [card] = intake.auto_register_pending()  # the shipped rule "night emergency line"
    assert card.priority == "P1"
    assert intake.pending() == []
    before = len(twilio.requests_to("POST", "/Messages.json"))
    desk.service.run_due()
    sms = twilio.requests_to("POST", "/Messages.json")[before:]
    calls = twilio.requests_to("POST", "/Calls.json")
    assert [r.form["To"] for r in sms] == [ALICE] and [r.form["To"] for r in calls] == [ALICE]
    # A second text from the same caller while the card is open is not a second card.
    twilio.receive_sms(CALLER, "It is spreading", webhook=store.url + INBOUND_PATH)
    engine.round(wait=0)
    assert intake.auto_register_pending() == []
    [item] = [i for i in intake.items() if i.id == item_id(sid)]
    assert item.count == 2 and item.number == card.number



@pytest.mark.slow
def test_a_real_desk_process_pages_for_an_sms_with_the_store_up_and_with_it_down(
        tmp_path: Path) -> None:
    with TwilioStandIn() as twilio:
        store = LoopbackStore(tmp_path / "store.sqlite",
                              twilio=WebhookConfig(twilio.auth_token))
        desk, journal, settings, env = start_phone_desk(tmp_path, twilio, store.url,
                                                        store.add_desk("night"))
        try:
            _, answer = twilio.receive_sms(CALLER, "Fire alarm, building B",
                                           webhook=store.url + INBOUND_PATH)
            twiml(answer)
            wait_until(lambda: pages(twilio)[0] >= 1 and pages(twilio)[1] >= 1,
                       "the SMS and the call for the P1 the store's SMS became", within=15)
            first = pages(twilio)

            store.stop()  # the link is down: Twilio cannot deliver its webhook
            _, lost = twilio.receive_sms("+4915199999999", "Flooding in the basement",
                                         webhook=store.url + INBOUND_PATH)
            assert lost is None
            wait_until(lambda: pages(twilio)[0] > first[0] and pages(twilio)[1] > first[1],
                       "pages for the SMS the desk read from Twilio itself", within=40)
            desk.send_signal(signal.SIGTERM)
            assert desk.wait(timeout=20) == 0
        finally:
            if desk.poll() is None:
                stop(desk)
    listed = cli(journal, "card", "list", env=env, settings=settings)
    assert listed.stdout.count("P1") >= 2, listed.stdout + listed.stderr


def test_untrusted_sms_text_is_stored_clean_and_a_strangers_stop_is_no_emergency(
        twilio: TwilioStandIn, store: LoopbackStore) -> None:
    url = store.url + INBOUND_PATH
    body = "Help\x1b[2J\x00 " + "flood " * 1000  # a terminal escape, a NUL, 6,000 characters
    sid, answer = twilio.receive_sms(CALLER, body, webhook=url)
    twiml(answer)
    [item] = stored(store, kind="intake.received")
    payload = item["payload"]
    assert payload["summary"].startswith("Help[2J flood") and len(payload["summary"]) <= 300
    assert "\x1b" not in payload["details"] and len(payload["details"]) <= 4000
    assert payload["integration"] == "phone"  # no sms integration registered: still taken
    # STOP is Twilio's opt-out word: recorded against the number, never an emergency.
    _, stopped = twilio.receive_sms("+4915100000000", "STOP", webhook=url)
    assert twiml(stopped).findall("Message") == []
    assert len(stored(store, kind="intake.received")) == 1
    assert len(stored(store, kind="pager.stop")) == 1
    # The old status-callback URL takes an emergency SMS too, rather than drop it.
    other, answer = twilio.receive_sms("+4915100000001", "gas smell",
                                       webhook=store.url + WEBHOOK_PATH)
    twiml(answer)
    assert [e for e in stored(store, kind="intake.received") if e["card_id"] == item_id(other)]
