"""Acceptance moves ownership of every open card in one journal entry; the override; edits;
a paper card entered late."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.application import Desk
from app.clock import FakeClock
from app.errors import ValidationError
from app.services.cards.card import Operator
from app.services.handover.breakglass import parse_handwritten_time
from app.services.handover.service import HANDOVER_STREAM, HandoverService

OUTGOING = Operator("M. Keller", "shift_lead")
INCOMING = "S. Yilmaz"


def _entry_count(desk: Desk) -> int:
    return sum(1 for _ in desk.journal.all_entries())


def test_pending_until_accepted_then_ownership_moves_in_one_entry(
    desk: Desk, handover: HandoverService, clock: FakeClock
) -> None:
    assert handover.status().state == "pending"
    open_cards = desk.cards.open_cards()
    before = _entry_count(desk)
    critical = handover.critical_numbers()
    assert critical and all(desk.cards.get(n).priority in ("P1", "P2") for n in critical)

    done = handover.accept(INCOMING, critical, OUTGOING)

    assert _entry_count(desk) == before + 1  # one entry moved every card
    [entry] = [e for e in handover.entries() if e.kind == "handover.accepted"]
    assert set(entry.payload["cards"]) == {c.id for c in open_cards}
    assert entry.payload["incoming"] == INCOMING and entry.payload["outgoing"] == "M. Keller"
    assert sorted(entry.payload["read_back"]) == sorted(critical)
    assert done.at == clock.now()
    owners = handover.owners(open_cards)
    assert {o.name for o in owners.values()} == {INCOMING}
    assert handover.status().state == "accepted"
    assert desk.journal.verify() == []  # the projection still matches the entries
    sheet = handover.draft()
    assert not sheet.pending and sheet.incoming_lead == INCOMING
    with pytest.raises(ValidationError):  # a settled handover cannot be accepted twice
        handover.accept("Someone Else", critical, OUTGOING)


def test_accepting_without_reading_back_every_critical_card_changes_nothing(
    desk: Desk, handover: HandoverService
) -> None:
    critical = handover.critical_numbers()
    before = _entry_count(desk)
    with pytest.raises(ValidationError) as info:
        handover.accept(INCOMING, critical[1:], OUTGOING)
    assert info.value.field == "read_back" and critical[0] in str(info.value)
    with pytest.raises(ValidationError) as info:
        handover.accept("M. Keller", critical, OUTGOING)
    assert info.value.field == "incoming"
    with pytest.raises(ValidationError):
        handover.accept(INCOMING, [*critical, "Z-9999"], OUTGOING)
    assert _entry_count(desk) == before
    assert handover.status().state == "pending"


def test_override_with_a_reason_releases_the_outgoing_shift(
    desk: Desk, handover: HandoverService, clock: FakeClock
) -> None:
    with pytest.raises(ValidationError) as info:
        handover.override("  ", OUTGOING)
    assert info.value.field == "reason"
    clock.advance(timedelta(minutes=40))  # 20:25: the incoming lead is stuck in traffic
    assert handover.status().state == "overdue"
    done = handover.override("incoming lead delayed, reached by phone", OUTGOING)
    assert done.kind == "overridden" and done.reason.startswith("incoming lead delayed")
    owners = handover.owners(desk.cards.open_cards())
    assert all(o.how == "overridden" for o in owners.values())
    assert handover.status().state == "overridden"
    [entry] = [e for e in handover.entries() if e.kind == "handover.overridden"]
    assert entry.card_id == HANDOVER_STREAM


def test_edits_are_journal_entries_and_show_on_the_sheet(
    desk: Desk, handover: HandoverService
) -> None:
    number = handover.critical_numbers()[0]
    handover.edit(number, "next_step", "Call L. Fischer for the switch ETA", OUTGOING)
    handover.edit("sheet", "first_action", "Phone Campus East ward C first", OUTGOING)
    handover.edit(number, "next_step", "Call L. Fischer for the fibre ETA", OUTGOING)  # latest
    assert [e.kind for e in handover.entries()] == ["handover.edited"] * 3
    sheet = handover.draft()
    brief = next(b for b in sheet.cards if b.number == number)
    assert brief.next_step == "Call L. Fischer for the fibre ETA"
    assert sheet.headline[2] == "Phone Campus East ward C first"
    with pytest.raises(ValidationError):
        handover.edit(number, "priority", "P4", OUTGOING)
    with pytest.raises(ValidationError):
        handover.edit(number, "next_step", "two\nlines", OUTGOING)


def test_sheet_is_forward_looking(desk: Desk, handover: HandoverService) -> None:
    sheet = handover.draft("M. Keller")
    open_numbers = {c.number for c in desk.cards.open_cards()}
    assert {b.number for b in sheet.cards} == open_numbers
    assert sheet.cards[0].priority == "P1"  # riskiest first
    assert all(b.next_step and b.contingency.startswith("if ") and " then " in b.contingency
               for b in sheet.cards)
    assert sheet.at_risk and sheet.closed  # the demo closes one card this shift
    assert len(sheet.questions) == 5 and sheet.pending
    assert sheet.on_call_now is None  # no rota input: said so, not left blank


def test_paper_card_entered_late_keeps_its_handwritten_time(
    desk: Desk, handover: HandoverService, clock: FakeClock
) -> None:
    tz = desk.rules.tz
    written = parse_handwritten_time("19:05", clock.now(), tz)
    assert written.astimezone(tz).strftime("%H:%M") == "19:05"
    intake = {
        "category": "water", "site": "Depot West", "symptom": "Pipe burst in washroom",
        "priority": "P2", "priority_reason": "water spreading to the corridor",
        "q_what": "pipe burst", "q_where": "Depot West washroom", "q_when": "19:00",
        "q_workaround": "main valve closed", "q_contact": "depot guard",
        "source_channel": "paper PAPER-A-2311-1840-01",
    }
    card = desk.cards.register(intake, desk.operator, registered_at=written)
    assert card.entered_late and card.registered_at == written
    sheet = handover.draft()
    assert any(card.number in line for line in sheet.hazards)
    with pytest.raises(ValidationError):
        parse_handwritten_time("25:00", clock.now(), tz)
    # A time after "now" on the clock face was written yesterday evening.
    assert parse_handwritten_time("23:50", clock.now(), tz) < clock.now() - timedelta(hours=19)
