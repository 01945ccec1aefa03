"""The triage tray on a real journal: de-duplication across doors, repeats on cards,
resolved alerts, and a person's accept / attach / dismiss."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from app.application import Desk
from app.clock import FakeClock
from app.errors import NotFoundError, TransitionError, ValidationError
from app.models.intake_read import intake_since
from app.services.intake.tray import fold
from tests.intake.helpers import alert, door_entry, payments

ANSWERS = {"q_workaround": "none", "q_contact": "DBA on call"}


def kinds(desk: Desk, card_id: str) -> list[str]:
    return [e.kind for e in desk.journal.entries(card_id)]


def test_same_key_from_two_doors_is_one_item_counted_twice(desk: Desk, clock: FakeClock):
    # The store's door took the alert first; the desk's own door took it again a second
    # later, before the store's entry had arrived here: two items written, one shown.
    store_item = str(uuid.uuid4())
    desk.journal.write([door_entry(store_item, alert(clock))], "store door")
    clock.advance(1)
    (outcome,) = desk.intake.receive([alert(clock, integration="am-local")], "local door")
    assert outcome.action == "repeat" and outcome.item_id == store_item

    # ... and when both doors wrote an item each without seeing the other (sync later):
    clock.advance(1)
    late = str(uuid.uuid4())
    desk.journal.write([door_entry(late, alert(clock))], "another desk's door")
    (item,) = desk.intake.pending()
    assert item.id == store_item and item.count == 3 and item.merged == (late,)
    assert desk.intake.item(late[:8]).id == store_item  # found by the merged id too


def test_the_fold_is_the_same_in_any_order_of_arrival(desk: Desk, clock: FakeClock):
    for n in range(6):
        desk.journal.write([door_entry(str(uuid.uuid4()), alert(clock, key=f"k{n % 2}"))],
                           f"door {n % 3}")
        clock.advance(30)
    first = desk.intake.pending()
    desk.intake.dismiss(first[0].id, "known flapping disk", "A. Novak")
    clock.advance(30)
    desk.journal.write([door_entry(str(uuid.uuid4()), alert(clock, key="k0"))], "door")
    entries, _ = intake_since(desk.journal)
    want = fold(entries, {})
    for seed in range(5):
        shuffled = list(entries)
        random.Random(seed).shuffle(shuffled)
        assert fold(shuffled, {}) == want
    assert [(i.dedup_key, i.count, i.state) for i in want] == [
        ("k0", 3, "dismissed"), ("k1", 3, "pending"), ("k0", 1, "pending")]


def test_a_repeat_on_an_accepted_card_adds_a_timeline_line(desk: Desk, clock: FakeClock):
    desk.intake.receive([alert(clock)], "door")
    (item,) = desk.intake.pending()
    card = desk.intake.accept(item.id[:6], ANSWERS, desk.operator)
    assert card.fields["source_channel"] == "alertmanager: am-prod"
    assert card.category == "server" and card.priority == "P2"  # rule "disk": medium x high
    assert card.fields["equipment"] == "db-02" and card.site == "HQ"
    clock.advance(60)
    (outcome,) = desk.intake.receive([alert(clock, summary="Disk full on db-02 (95%)")],
                                     "door")
    assert (outcome.action, outcome.number) == ("card", card.number)
    notes = [e.payload["text"] for e in desk.journal.entries(card.id) if e.kind == "card.note"]
    assert notes[-1] == "Repeat 2 (alertmanager am-prod): Disk full on db-02 (95%)"
    assert len(desk.cards.open_cards()) == 1 and desk.intake.pending() == []
    assert desk.intake.item(item.id).count == 2


def test_resolved_adds_a_note_and_restores_only_where_the_rule_says(desk, clock):
    desk.intake.receive([alert(clock), payments(clock)], "door")
    disk = next(i for i in desk.intake.pending() if i.dedup_key == "k1")
    disk_card = desk.intake.accept(disk.id, ANSWERS, desk.operator)
    pay_card = next(c for c in desk.cards.open_cards() if c.id != disk_card.id)
    clock.advance(300)
    desk.intake.receive([alert(clock, status="resolved"),
                         payments(clock, status="resolved")], "door")
    assert desk.cards.get(disk_card.number).status == "registered"  # rule "disk": note only
    assert desk.cards.get(pay_card.number).status == "restored"  # restore_on_resolved
    last = desk.journal.entries(disk_card.id)[-1]
    assert last.kind == "card.note" and last.payload["text"].startswith("Resolved at the source")


def test_accept_prefills_and_writes_card_and_accepted_together(desk: Desk, clock: FakeClock):
    desk.intake.receive([alert(clock, links=("https://grafana/d/1",), callback="+4930123")],
                        "door")
    (item,) = desk.intake.pending()
    prefill = desk.intake.prefill(item.id)
    assert prefill["symptom"] == "Disk full on db-02" and prefill["q_contact"] == "+4930123"
    assert prefill["q_when"].startswith("since 2026-11-23 03:10")  # Berlin time
    before = len(list(desk.journal.all_entries()))
    with pytest.raises(ValidationError, match="q_workaround|workaround"):
        desk.intake.accept(item.id, {}, desk.operator)  # the dispatcher must answer it
    assert len(list(desk.journal.all_entries())) == before  # nothing written
    card = desk.intake.accept(item.id, {"q_workaround": "none"}, desk.operator)
    assert kinds(desk, card.id) == ["card.registered", "card.note"]
    note = desk.journal.entries(card.id)[1].payload["text"]
    assert "https://grafana/d/1" in note
    accepted = desk.journal.entries(item.id)[-1]
    assert accepted.kind == "intake.accepted" and accepted.payload["card"] == card.id
    settled = desk.intake.item(item.id)
    assert (settled.state, settled.number) == ("accepted", card.number)
    with pytest.raises(TransitionError, match=f"already accepted as {card.number}"):
        desk.intake.accept(item.id, ANSWERS, desk.operator)


def test_attach_reports_on_the_card(desk: Desk, clock: FakeClock):
    desk.intake.receive([alert(clock, key="a"), alert(clock, key="b", summary="disk again")],
                        "door")
    first, second = desk.intake.pending()
    card = desk.intake.accept(first.id, ANSWERS, desk.operator)
    attached = desk.intake.attach(second.id, card.number.lower(), desk.operator)
    assert attached.report_count == 2 and kinds(desk, card.id)[-1] == "card.report"
    assert desk.intake.item(second.id).state == "attached"
    assert desk.intake.pending() == []


def test_dismiss_needs_a_reason_and_keeps_the_item(desk: Desk, clock: FakeClock):
    desk.intake.receive([alert(clock)], "door")
    (item,) = desk.intake.pending()
    for empty in ("", "   "):
        with pytest.raises(ValidationError, match="reason") as err:
            desk.intake.dismiss(item.id, empty, desk.operator)
        assert err.value.field == "reason"
    assert desk.intake.pending() == [item]
    desk.intake.dismiss(item.id, "test alert from the monitoring team", desk.operator)
    assert desk.intake.pending() == []
    gone = desk.intake.item(item.id)
    assert (gone.state, gone.reason) == ("dismissed", "test alert from the monitoring team")
    # A new alert with the key after the dismissal is a new item, not lost on the old one.
    clock.advance(60)
    (outcome,) = desk.intake.receive([alert(clock)], "door")
    assert outcome.action == "new" and len(desk.intake.pending()) == 1


def test_a_resolved_after_the_card_closed_is_kept_on_the_item(desk: Desk, clock: FakeClock):
    desk.intake.receive([alert(clock)], "door")
    (item,) = desk.intake.pending()
    desk.intake.dismiss(item.id, "handled by phone", desk.operator)
    (outcome,) = desk.intake.receive([alert(clock, status="resolved")], "door")
    assert outcome.action == "repeat" and outcome.item_id == item.id
    assert desk.intake.pending() == []  # no new item for an end of something settled
    assert desk.intake.item(item.id).status == "resolved"


def test_three_similar_reports_in_ten_minutes_are_probable(desk: Desk, clock: FakeClock):
    for n in range(2):
        desk.intake.receive([alert(clock, key=f"d{n}", summary=f"disk {n}")], "door")
        clock.advance(240)
    assert not any(i.probable for i in desk.intake.pending())
    desk.intake.receive([alert(clock, key="d2", summary="disk 2")], "door")
    assert all(i.probable for i in desk.intake.pending())
    clock.advance(timedelta(minutes=11))
    assert not any(i.probable for i in desk.intake.pending())


def test_item_ids_and_prefixes(desk: Desk, clock: FakeClock):
    with pytest.raises(NotFoundError):
        desk.intake.item("deadbeef")
    with pytest.raises(ValidationError) as err:
        desk.intake.item(" ")
    assert err.value.field == "id"
