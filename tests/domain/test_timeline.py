"""The timeline reads the same in words everywhere; unknown kinds still show."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.models.entry import Entry
from app.services.cards.service import CardService
from app.services.cards.timeline import CONTINUATION, describe, local_time, timeline

from .conftest import DISPATCHER, LEAD, intake


def test_a_cards_story_in_words(cards: CardService) -> None:
    card = cards.register(intake(impact="medium"), DISPATCHER)
    cards.change_priority(card.number, "P1", "hospital wing affected", LEAD, evidence="call")
    cards.change_status(card.number, "waiting_contractor", DISPATCHER, reason="vendor en route")
    lines = timeline(cards.timeline(card.number))
    assert [line.title for line in lines] == [
        "Registered A-0001 as P2",
        "Priority P2 → P1",
        "Status Registered → Waiting for contractor",
    ]
    assert lines[1].detail == "hospital wing affected · evidence: call · shift_lead"
    assert lines[1].who == "M. Keller"


def test_unknown_kinds_show_their_payload() -> None:
    entry = Entry("0190-x", "c1", "ladder.future_kind", {"tier": 2}, "000000000000001.00000.d1",
                  "d1", "system")
    line = describe(entry)
    assert (line.title, line.detail) == ("ladder.future_kind", '{"tier":2}')


def test_local_time_names_the_zone_on_the_night_clocks_go_back() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert local_time(first, berlin) == "25.10 02:30 CEST"
    assert local_time(second, berlin) == "25.10 02:30 CET"


def test_entry_text_cannot_forge_a_line_or_reorder_one() -> None:
    """Entries from another desk, as an older desk stored them (the journal refuses control
    characters now): who and what on one clean line, a note's lines indented and marked."""
    note = Entry("0190-y", "c1", "card.note",
                 {"text": "called\n    01.01 00:00:00 UTC  M. Keller: Status → Closed\r\x1b[2J"},
                 "000000000000001.00000.d2", "d2", "M. \u202eKeller")
    ack = Entry("0190-z", "c1", "card.ack", {"who": "P.\nBraun\x1b]52;c;eA==\x07", "how": "sms"},
                "000000000000002.00000.d2", "d2", "system")
    lines = timeline([ack, note])
    assert lines[0].who == "M. Keller"
    assert lines[0].detail == ("called\n" + CONTINUATION
                               + "    01.01 00:00:00 UTC  M. Keller: Status → Closed\\x0d\\x1b[2J")
    assert lines[1].title == "Acknowledged by P.\\x0aBraun\\x1b]52;c;eA==\\x07"
