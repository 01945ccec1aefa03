"""Twilio's webhook at the store, end to end: a desk pages through the Twilio stand-in, syncs
its ladder to the real store on loopback, the on-call person's SMS reply reaches the store as a
signed webhook, and at the next pull the desk's ladder stops. A forged webhook changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app.clock import FakeClock
from app.store.twilio_webhook import PATH, WebhookConfig
from app.sync.enroll import enroll_desk
from tests.escalation.harness import ALICE, LadderDesk
from tests.sync.conftest import open_engine
from tests.sync.loopback import LoopbackStore
from tests.twilio_standin import TwilioStandIn


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock, twilio: TwilioStandIn) -> Iterator[LoopbackStore]:
    running = LoopbackStore(tmp_path / "store.sqlite", clock,
                            twilio=WebhookConfig(twilio.auth_token))
    yield running
    running.stop()


def test_sms_reply_webhook_stops_the_ladder_on_the_desk(
    desk: LadderDesk, twilio: TwilioStandIn, store: LoopbackStore, clock: FakeClock
) -> None:
    enroll_desk(desk.journal, store.url, store.add_desk("front"), "front desk")
    engine = open_engine(desk.journal, clock)
    card_id = desk.register("P1")
    desk.service.run_due()
    first = desk.service.state(card_id).steps[0]
    assert first.who is not None and desk.service.state(card_id).ack is None
    engine.round(wait=0)  # the ladder's pages are now at the store too
    head = store.store.position().seq

    url = store.url + PATH
    reply = {"MessageSid": "SM" + "d" * 32, "From": ALICE, "Body": first.code}
    forged = requests.post(url, data=reply, headers={"X-Twilio-Signature": "bad"}, timeout=5)
    assert forged.status_code == 403
    assert store.store.position().seq == head

    signed = requests.post(url, data=reply, timeout=5,
                           headers={"X-Twilio-Signature": twilio.sign_webhook(url, reply)})
    assert signed.status_code == 200, signed.text
    assert store.store.position().seq > head
    again = requests.post(url, data=reply, timeout=5,  # Twilio retries: nothing doubles
                          headers={"X-Twilio-Signature": twilio.sign_webhook(url, reply)})
    assert again.status_code == 200
    after_retry = store.store.position().seq

    engine.round(wait=0)
    state = desk.service.state(card_id)
    assert state.ack is not None and state.ack.how == "sms"
    assert desk.cards.get_by_id(card_id).acknowledged_at is not None
    assert desk.journal.verify() == []
    engine.round(wait=0)
    assert store.store.position().seq == after_retry
    engine.client.close()


def test_webhooks_are_refused_without_a_token(tmp_path: Path, clock: FakeClock) -> None:
    running = LoopbackStore(tmp_path / "store.sqlite", clock)
    try:
        answer = requests.post(running.url + PATH, data={"Body": "1"}, timeout=5)
        assert answer.status_code == 404
        assert "auth token" in answer.json()["message"]
    finally:
        running.stop()
