"""The outbox after an outage: a customer text that could not go within its time to live is
not sent when Twilio comes back, but offered for re-confirmation; confirmed, it goes. A
waiting message can be cancelled; a send cut short by a crash is in doubt, not resent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.adapters.secrets import SecretStore
from app.clock import FakeClock
from app.errors import TransitionError
from app.models.entry import NewEntry
from app.runtime.message_ledger import IN_FLIGHT_KEY
from app.runtime.message_worker import message_worker_for
from app.runtime.outbox import Outbox
from app.services.messages.outbox import CANCELLED, FAILED, RETRYING, SENT, STALE
from tests.messages.harness import CALLER, MessageDesk
from tests.twilio_standin import TwilioStandIn


def to_caller(twilio: TwilioStandIn) -> list[str]:
    """The texts Twilio accepted (a refused request created none)."""
    return [m["body"] for m in twilio.messages.values()
            if m["to"] == CALLER and m["direction"] != "inbound"]


def accept(md: MessageDesk, number: str, eta: int = 35) -> None:
    card = md.desk.cards.get(number)
    md.desk.journal.write([NewEntry(card.id, "card.ack", {
        "who": "Alice Primary", "how": "sms", "eta_minutes": eta})], "ladder")


def customer(md: MessageDesk):  # type: ignore[no-untyped-def]
    return next(m for m in md.worker.outbox() if m.type == "customer")


def test_stale_customer_text_is_offered_not_sent(md: MessageDesk, clock: FakeClock,
                                                 twilio: TwilioStandIn) -> None:
    number = md.register("P2")
    md.worker.step()
    twilio.fail_next(1000, 503)  # Twilio is down
    accept(md, number)
    md.worker.step()
    assert customer(md).state(clock.now()) == RETRYING
    for _ in range(40):  # twenty minutes of retries, each one refused
        clock.advance(30)
        md.worker.step()
    m = customer(md)
    assert m.state(clock.now()) == STALE and m.tries >= 5
    with twilio._lock:  # Twilio is back
        twilio._failures.clear()
    posts = len(twilio.requests_to("POST", "Messages.json"))
    clock.advance(60)
    md.worker.step()
    assert len(twilio.requests_to("POST", "Messages.json")) == posts  # NOT sent on its own
    outbox = Outbox(md.desk)
    try:
        stale = [x for x in outbox.messages() if x.state(clock.now()) == STALE]
        assert [x.id for x in stale] == [m.id]
        outbox.confirm(m.id[:8])
    finally:
        outbox.close()
    md.worker.step()
    assert customer(md).state(clock.now()) == SENT
    assert to_caller(twilio)[-1].startswith("A technician is on the way, ETA 35 minutes.")


def test_cancel_keeps_a_text_from_going(md: MessageDesk, clock: FakeClock,
                                        twilio: TwilioStandIn) -> None:
    number = md.register("P2")
    md.worker.step()
    twilio.fail_next(1, 503)
    accept(md, number, 40)
    md.worker.step()  # the first try fails; a retry is due in 10 s
    outbox = Outbox(md.desk)
    try:
        m = outbox.cancel(customer(md).id, "customer phoned: technician already there")
        assert m.state(clock.now()) == CANCELLED
        with pytest.raises(TransitionError):
            outbox.cancel(m.id, "again")
    finally:
        outbox.close()
    clock.advance(30)
    md.worker.step()
    assert not [b for b in to_caller(twilio) if "ETA 40" in b]


def test_a_send_cut_short_by_a_crash_is_in_doubt(md: MessageDesk, clock: FakeClock) -> None:
    number = md.register("P2")
    md.worker.step()
    accept(md, number)
    md.worker._queue_new()  # queued, not yet sent ...
    m = customer(md)
    md.desk.journal.set_meta(IN_FLIGHT_KEY, json.dumps([m.id]))  # ... and the desk died
    md.worker.stop()
    md.worker = message_worker_for(md.desk, SecretStore(), pager=md.pager,
                                   on_error=lambda _t: None)
    after = customer(md)
    assert after.state(clock.now()) == FAILED and after.in_doubt
    md.worker.step()
    assert customer(md).state(clock.now()) == FAILED  # not resent by itself
    clock.advance(timedelta(seconds=5))
    md.worker.step()
    assert customer(md).state(clock.now()) == FAILED
