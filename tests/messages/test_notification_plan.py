"""The P1 notification plan: everyone on it told, in parallel with the ladder, within its
deadlines, each delivery on the card's timeline; the lines a card does not need are left out
and a line with nobody to tell is written down, not skipped in silence."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FakeClock
from app.services.cards.timeline import timeline
from app.services.messages.outbox import SENT
from tests.messages.harness import ALICE, COORD, LEAD, OWNER, SEC, MessageDesk
from tests.twilio_standin import TwilioStandIn


def texts_to(twilio: TwilioStandIn) -> dict[str, str]:
    return {r.form["To"]: r.form["Body"] for r in twilio.requests_to("POST", "Messages.json")}


def test_p1_plan_is_sent_in_full_within_its_deadlines(md: MessageDesk, clock: FakeClock,
                                                      twilio: TwilioStandIn) -> None:
    number = md.register("P1", risk_signs="smoke from the rack")
    md.worker.step()
    sent = texts_to(twilio)
    # On-call engineer, shift lead, service owner, security (risk signs): all at once.
    assert {ALICE, LEAD, OWNER, SEC} <= set(sent)
    assert COORD not in sent  # the duty coordinator is not on the P1 list
    assert sent[LEAD].startswith(f"P1 {number} at HQ: Core switch down.")
    assert "as shift lead" in sent[LEAD]
    card = md.desk.cards.get(number)
    msgs = [m for m in md.worker.outbox() if m.card_id == card.id]
    assert {m.to for m in msgs} == {ALICE, LEAD, OWNER, SEC}
    for m in msgs:
        assert m.state(clock.now()) == SENT and not m.late
        assert m.due_by is not None and m.sent_at is not None and m.sent_at <= m.due_by
    lead = next(m for m in msgs if m.to == LEAD)
    assert lead.due_by - lead.queued_at == timedelta(minutes=5)
    # The business representative comes from the card's distribution list: empty here,
    # so the card says who was NOT informed and why.
    lines = [f"{line.title} | {line.detail}" for line in timeline(md.desk.cards.timeline(number))]
    assert any("business representative NOT informed" in t and "distribution list is empty" in t
               for t in lines)
    assert sum("Message sent" in t for t in lines) == 4
    # A second pass (a restart, a nudge) sends nothing again.
    before = len(twilio.requests_to("POST", "Messages.json"))
    md.worker.step()
    assert len(twilio.requests_to("POST", "Messages.json")) == before


def test_security_only_when_category_or_risk_signs_say_so(md: MessageDesk,
                                                          twilio: TwilioStandIn) -> None:
    md.register("P1")  # no risk signs, category network
    md.worker.step()
    assert SEC not in texts_to(twilio)


def test_raised_to_p1_informs_the_p1_list_once(md: MessageDesk, clock: FakeClock,
                                               twilio: TwilioStandIn) -> None:
    number = md.register("P3")
    md.worker.step()
    assert set(texts_to(twilio)) == {ALICE}  # P3: the on-call engineer within 60 min
    clock.advance(60)
    md.desk.cards.change_priority(number, "P1", "hospital wing affected",
                                  md.desk.operator)
    md.worker.step()
    posts = [r.form["To"] for r in twilio.requests_to("POST", "Messages.json")]
    assert LEAD in posts and OWNER in posts
    clock.advance(60)
    md.desk.cards.change_priority(number, "P2", "workaround found", md.desk.operator)
    md.desk.cards.change_priority(number, "P1", "workaround failed", md.desk.operator)
    md.worker.step()
    again = [r.form["To"] for r in twilio.requests_to("POST", "Messages.json")]
    assert again.count(LEAD) == 1  # told once, not at every flip back to P1


def test_a_notice_to_someone_the_ladder_paged_is_not_sent_twice(md: MessageDesk,
                                                                twilio: TwilioStandIn) -> None:
    from app.models.entry import NewEntry

    number = md.register("P1")
    card = md.desk.cards.get(number)
    md.desk.journal.write([NewEntry(card.id, "ladder.step", {
        "tier": 1, "attempt": 1, "due": card.registered_at.isoformat(),
        "who": "Alice Primary", "contact_id": "alice", "to": {"sms": ALICE, "voice": ALICE},
        "code": "K7"})], "ladder")
    md.worker.step()
    assert ALICE not in texts_to(twilio)
    alice = next(m for m in md.worker.outbox() if m.to == ALICE)
    assert alice.via == "page"
