"""Customer texts and stakeholder status updates, really sent: an acceptance with an ETA
texts the customer at the stand-in; the dispatcher's "Send ETA" too; the emergency line's
caller gets the instant acknowledgement; the status composer reaches the distribution list
by SMS and by e-mail (a real SMTP server) and resets the next-update clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import FakeClock
from app.errors import ValidationError
from app.loaders import load_templates
from app.models.entry import NewEntry
from app.protocol.intake import Alert
from app.services.cards.commands import EditDistribution, PostStatusMessage, SendEta
from app.services.cards.status_message import compose
from app.services.cards.timeline import timeline
from tests.messages.harness import CALLER, LEAD, Inbox, MessageDesk
from tests.twilio_standin import TwilioStandIn


def texts(twilio: TwilioStandIn) -> list[tuple[str, str]]:
    return [(r.form["To"], r.form["Body"]) for r in twilio.requests_to("POST", "Messages.json")]


def accept_with_eta(md: MessageDesk, number: str, eta: int) -> None:
    card = md.desk.cards.get(number)
    md.desk.journal.write([NewEntry(card.id, "card.ack", {
        "who": "Alice Primary", "how": "sms", "contact_id": "alice", "eta_minutes": eta,
        "sid": "SM" + "a" * 32}, id="1b6c3f0e-0000-4000-8000-0000000000aa")], "ladder")


def test_accept_with_eta_texts_the_customer(md: MessageDesk, twilio: TwilioStandIn) -> None:
    number = md.register("P1")
    md.worker.step()
    accept_with_eta(md, number, 35)
    md.worker.step()
    to_caller = [body for to, body in texts(twilio) if to == CALLER]
    assert to_caller == [f"A technician is on the way, ETA 35 minutes. Keep clear of the "
                         f"danger until they arrive. Reference {number}."]
    lines = [line.title for line in timeline(md.desk.cards.timeline(number))]
    assert "Customer text queued: SMS to customer" in lines


def test_dispatcher_sends_the_eta_after_an_acceptance_only(md: MessageDesk,
                                                           twilio: TwilioStandIn) -> None:
    number = md.register("P2", kind_of_work="planned")
    templates = load_templates(None)
    with pytest.raises(ValidationError, match="nobody on call has accepted"):
        md.desk.handle(SendEta(number, templates, 20))
    md.desk.cards.acknowledge(number, "Alice Primary", "phone", md.desk.operator)
    md.desk.handle(SendEta(number, templates, 20))
    md.worker.step()
    assert (CALLER, f"Your technician is on the way, ETA 20 minutes. Reference {number}.") \
        in texts(twilio)


def test_the_emergency_line_caller_is_acknowledged_at_once(md: MessageDesk,
                                                           twilio: TwilioStandIn,
                                                           clock: FakeClock) -> None:
    alert = Alert(integration="phone", channel="call", dedup_key="phone:caller:x",
                  summary="Call from +15557770009", received_at=clock.now(),
                  source="twilio", callback="+15557770009", kind_of_work="emergency")
    md.desk.intake.receive([alert], md.desk.operator)
    md.worker.step()
    body = dict(texts(twilio))["+15557770009"]
    assert body.startswith("Dispatch desk: we have your call (ref ")


def test_status_composer_reaches_sms_and_email_and_resets_the_clock(
        md: MessageDesk, twilio: TwilioStandIn, smtp: tuple[Inbox, int],
        clock: FakeClock) -> None:
    inbox, _port = smtp
    number = md.register("P1")
    md.worker.step()
    md.desk.handle(EditDistribution(number, add=(("Ward 3 manager", "ward3@example.org"),
                                                 ("Hospital IT", "+15558880001"))))
    clock.advance(timedelta(minutes=12))
    card = md.desk.cards.get(number)
    msg = compose("progress", card, md.desk.rules, clock.now(),
                  {"done": "service restart, no effect", "requested": "Requested logs"})
    after = md.desk.handle(PostStatusMessage(number, msg.text, msg.next_update_at))
    assert after.next_update_at == msg.next_update_at  # the next-update clock is reset
    # Network, critical site: an update every 30 minutes, counted from this one.
    assert after.next_update_at == clock.now() + timedelta(minutes=30)
    md.worker.step()
    sms = dict(texts(twilio))
    assert sms["+15558880001"] == f"{number}: {msg.text}"
    assert sms[LEAD] == f"{number}: {msg.text}"  # the plan's people get updates too
    assert len(inbox.mails) == 1
    mail = inbox.mails[0]
    assert mail["To"] == "ward3@example.org"
    assert mail["Subject"] == f"[{number}] P1 status update: HQ"
    assert msg.text in mail.get_payload(decode=True).decode()
    status_line = next(line for line in timeline(md.desk.cards.timeline(number))
                       if line.kind == "card.status_message")
    assert "Ward 3 manager (e-mail)" in status_line.title
    assert "Lena Lead (shift lead) (SMS)" in status_line.title
