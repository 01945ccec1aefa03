"""Issue 12 at the store: reply codes arriving as Twilio's signed webhooks (the real store on
loopback, the Twilio stand-in signing). An acceptance with an ETA is written with the card's
assignee and In progress next to it; a reply that is no command gets one help line as TwiML,
at most one per number in ten minutes (counted from the store's own entries, so a second store
process or a restart keeps it); a contact's verification code is never an emergency."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.clock import FakeClock
from app.services.roster.verification import VERIFY_CARD, verify_entries
from app.store.phone_routes import INBOUND_PATH
from app.store.tables import entries
from app.store.twilio_webhook import PATH
from app.sync.engine import SyncEngine
from tests.escalation.harness import ALICE, DESK_NUMBER, LadderDesk, roster
from tests.sync.loopback import LoopbackStore
from tests.twilio_standin import TwilioStandIn

T0 = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)


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


def _stored(store: LoopbackStore, kind: str) -> list[dict]:
    with store.store.engine.connect() as conn:
        rows = conn.execute(select(entries).where(entries.c.kind == kind)).all()
    return [json.loads(r.payload) for r in rows]


def _messages(response) -> list[str]:  # noqa: ANN001 - a requests.Response
    assert response is not None and response.status_code == 200, response
    return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


def _paged(desk: LadderDesk, engine: SyncEngine, clock: FakeClock) -> tuple[str, str]:
    card_id = desk.register("P1")
    desk.service.run_due()
    engine.round(wait=0)
    clock.advance(5)
    code = desk.service.state(card_id).steps[0].code
    assert code is not None
    return card_id, code


def test_an_eta_reply_by_webhook_moves_the_card_at_the_store(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore, engine: SyncEngine,
        clock: FakeClock) -> None:
    card_id, code = _paged(desk, engine, clock)
    sid, answer = twilio.receive_sms(ALICE, f"{code} A 35", webhook=store.url + PATH)
    assert _messages(answer) == []  # an acceptance: nothing to tell the technician
    (ack,) = _stored(store, "card.ack")
    assert (ack["eta_minutes"], ack["sid"], ack["who"]) == (35, sid, "Alice Primary")
    assert [p["fields"] for p in _stored(store, "card.fields")] == [
        {"assignee": "Alice Primary"}]
    assert [p["status"] for p in _stored(store, "card.status")] == ["in_progress"]
    engine.round(wait=0)
    card = desk.journal.card(card_id)
    assert (card["assignee"], card["status"]) == ("Alice Primary", "in_progress")
    desk.service.run_due()  # settling the ack again writes nothing new
    engine.round(wait=0)
    assert len(_stored(store, "card.fields")) == 1 and desk.journal.set_aside() == []


def test_the_help_line_is_sent_once_per_ten_minutes_per_number(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore, engine: SyncEngine,
        clock: FakeClock) -> None:
    _, code = _paged(desk, engine, clock)
    url = store.url + PATH
    _, first = twilio.receive_sms(ALICE, f"{code} z", webhook=url)
    assert _messages(first) == [
        f"'z' is not a command. Reply {code} a to acknowledge, a 35 = on the way ETA 35 min, "
        "e escalate, d decline"]
    clock.advance(120)
    _, second = twilio.receive_sms(ALICE, "who is this?", webhook=url)
    assert _messages(second) == []  # limited; the reply is still on the card
    assert len(_stored(store, "ladder.reply")) == 2
    assert len(_stored(store, "pager.help")) == 1
    # The desk's own poll reads the same messages later: no second help SMS either.
    engine.round(wait=0)
    before = len(twilio.requests_to("POST", "/Messages.json"))
    desk.service.poll()
    assert len(twilio.requests_to("POST", "/Messages.json")) == before
    clock.advance(600)
    _, later = twilio.receive_sms(ALICE, f"{code} a 9999", webhook=url)
    (hint,) = _messages(later)
    assert hint.startswith("ETA 9999 min is out of range (1-1440 min). Reply")


def test_a_verification_code_at_the_phone_line_is_not_an_emergency(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore, engine: SyncEngine,
        clock: FakeClock) -> None:
    people = roster().contacts
    desk.journal.write(verify_entries(people[:1], clock.now()), "A. Novak")
    engine.round(wait=0)
    code = desk.journal.entries(VERIFY_CARD)[0].payload["code"]
    sid, answer = twilio.receive_sms(ALICE, f"{code} thanks", webhook=store.url + INBOUND_PATH)
    assert _messages(answer) == []
    (verified,) = _stored(store, "roster.verified")
    assert (verified["contact_id"], verified["sid"]) == ("alice", sid)
    assert _stored(store, "intake.received") == []
    engine.round(wait=0)
    assert [e.kind for e in desk.journal.entries(VERIFY_CARD)] == [
        "roster.verify_sent", "roster.verified"]


def test_a_delivery_receipt_is_taken_and_writes_nothing(
        desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore, engine: SyncEngine,
        clock: FakeClock) -> None:
    _paged(desk, engine, clock)
    head = store.store.position().seq
    form = {"MessageSid": "SM" + "e" * 32, "MessageStatus": "delivered", "To": ALICE,
            "From": DESK_NUMBER, "AccountSid": twilio.account_sid}
    answer = twilio.post_webhook(store.url + PATH, form)
    assert answer.status_code == 200, answer.text
    assert store.store.position().seq == head
