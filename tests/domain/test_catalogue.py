"""The entry catalogue at the desk: what a dispatcher types is judged before it is saved, by
the same rules the store and every other desk apply, and nothing half-saved remains."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import ValidationError
from app.models.entry import Entry, HybridClock, NewEntry
from app.models.journal import Journal
from app.protocol.catalogue import (
    CARD_PAYLOADS,
    HANDOVER_PAYLOADS,
    INTAKE_PAYLOADS,
    KINDS,
    MAX_STAMP_AHEAD_S,
    OPERATOR_PAYLOADS,
)
from app.protocol.text import for_display, for_terminal, text_problem
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from tests.domain.conftest import DISPATCHER, intake


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"symptom": "caf\udce9 au lait"}, "symptom", "not UTF-8"),
        ({"symptom": "pump\nPriority reason: forged"}, "symptom", "one line"),
        ({"site": "HQ\x1b[2J"}, "site", "control character \\x1b"),
        ({"symptom": "x" * 70_000}, "symptom", "keep it to 300"),
        ({"q_what": "a\x00b"}, "q_what", "NUL"),
    ],
)
def test_bad_text_in_the_form_is_refused_with_the_field_and_nothing_is_saved(
    cards: CardService, journal: Journal, changes: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        cards.register(intake(**changes), DISPATCHER)
    assert caught.value.field == field and words in str(caught.value)
    assert journal.count_cards() == 0 and list(journal.all_entries()) == []


def test_multi_line_answers_keep_their_line_breaks(cards: CardService) -> None:
    card = cards.register(intake(q_what="no network\nfor the whole building"), DISPATCHER)
    assert card.fields["q_what"] == "no network\nfor the whole building"


def test_an_operator_the_store_would_refuse_is_refused_at_the_desk(journal: Journal) -> None:
    card = str(uuid.uuid4())
    entry = NewEntry(card, "card.registered", {"priority": "P3", "priority_reason": "x"})
    for operator, words in (("x" * 81, "1 to 80"), ("A.\x1bNovak", "control character")):
        with pytest.raises(ValidationError, match=words):
            journal.write([entry], operator)
    assert journal.count_cards() == 0


def test_a_payload_over_64_kib_is_refused(journal: Journal) -> None:
    """Each field has its own limit; the whole payload has one too (a handover listing more
    cards than a desk ever holds open is refused, not parked at the store)."""
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    payload = {"shift": "2026-11-23/day", "to_shift": "2026-11-23/night", "outgoing": "A",
               "incoming": "B", "cards": ids, "numbers": [], "read_back": [], "reason": ""}
    with pytest.raises(ValidationError, match="limit is 65,536"):
        journal.write([NewEntry("handover", "handover.accepted", payload)], "ops")
    assert list(journal.all_entries()) == []
    journal.write([NewEntry("handover", "handover.accepted", {**payload, "cards": ids[:100]})],
                  "ops")


def test_every_kind_names_its_schema_and_unknown_fields_are_refused() -> None:
    assert set(CARD_PAYLOADS) | set(HANDOVER_PAYLOADS) | set(INTAKE_PAYLOADS) | \
        set(OPERATOR_PAYLOADS) == KINDS
    stamp = f"{1_764_000_000_000:015d}.00000.d1"
    entry = Entry("01a20801-09bf-79a2-9f63-6b80c5aa7a79", str(uuid.uuid4()), "card.note",
                  {"text": "ok", "extra": 1}, stamp, "d1", "ops")
    with pytest.raises(ValidationError, match="unknown field 'extra'"):
        entry.check()
    handover = Entry(entry.id, "handover", "handover.accepted", {}, stamp, "d1", "ops")
    with pytest.raises(ValidationError, match="payload.shift is missing"):
        handover.check()


def test_a_time_after_its_own_entry_is_refused(journal: Journal, clock: FakeClock) -> None:
    """A breach "due" in 2100 would switch the card's clocks off; a deadline may be ahead."""
    card = str(uuid.uuid4())
    journal.write([NewEntry(card, "card.registered",
                            {"priority": "P3", "priority_reason": "x"})], "ops")
    late = (clock.now() + timedelta(days=30)).isoformat()
    with pytest.raises(ValidationError, match="lies after the entry"):
        journal.write([NewEntry(card, "sla.breach", {"clock": "reaction", "due": late})], "ops")
    journal.write([NewEntry(card, "card.status_message",
                            {"text": "update", "next_update_at": late})], "ops")


def test_the_hybrid_clock_never_jumps_far_ahead_on_a_remote_stamp(clock: FakeClock) -> None:
    hlc = HybridClock(clock, "dA")
    hlc.observe(f"{4_102_444_800_000:015d}.00000.dB")  # 2100-01-01
    wall = int(hlc.tick().split(".")[0])
    now_ms = clock.now().timestamp() * 1000
    assert 0 <= wall - now_ms <= MAX_STAMP_AHEAD_S * 1000
    near = HybridClock(clock, "dA")
    near.observe(f"{int(now_ms) + 1000:015d}.00007.dB")  # a near stamp is followed exactly
    assert near.tick() == f"{int(now_ms) + 1000:015d}.00008.dA"


def test_a_journal_written_by_an_older_version_sets_aside_what_it_now_refuses(
    tmp_path: Path, clock: FakeClock, rules: DispatchRules
) -> None:
    """An entry an older desk let in (a lone surrogate, a payload no reader can fold) is moved
    aside on upgrade: listed with its reason, the card re-folded, verify clean."""
    path = tmp_path / "old.sqlite"
    journal = Journal.open(path, clock)
    cards = CardService(journal, rules, clock)
    card = cards.register(intake(), DISPATCHER)
    journal.close()
    with sqlite3.connect(path) as raw:  # what an older version stored
        base = raw.execute("SELECT hlc, desk_id FROM entries").fetchone()
        for n, (kind, payload) in enumerate((
            ("card.note", {"text": "caf\udce9"}),
            ("card.priority", {}),
        )):
            stamp = base[0][:16] + f"{n + 1:05d}." + base[1]
            raw.execute(
                "INSERT INTO entries (id, card_id, kind, payload, hlc, desk_id, operator, schema)"
                " VALUES (?, ?, ?, ?, ?, ?, 'ops', 1)",
                (str(uuid.uuid4()), card.id, kind, json.dumps(payload), stamp, base[1]))
        raw.execute("DELETE FROM desk_meta WHERE key='catalogue'")
    reopened = Journal.open(path, clock)
    aside = reopened.set_aside()
    assert sorted(i.kind or "" for i in aside) == ["card.note", "card.priority"]
    assert all(i.direction == "local" for i in aside)
    assert "not UTF-8" in next(i.reason for i in aside if i.kind == "card.note")
    assert reopened.verify() == [] and len(reopened.entries(card.id)) == 1
    reopened.close()


def test_text_rules_and_the_two_ways_of_showing_it() -> None:
    assert text_problem("two\nlines", multiline=True) is None
    assert text_problem("tab\there") == "holds the control character \\x09; remove it"
    forged = "real text\r\b\b\bFAKE \x1b]52;c;aGk=\x07 gpj\u202eexe.txt"
    shown = for_terminal(forged)
    assert not any(c in shown for c in "\r\b\x1b\x07\u202e")
    assert "\\x1b]52" in shown and "\\u202e" in shown
    assert for_display("gpj\u202eexe.txt") == "gpjexe.txt"
    assert for_terminal("caf\udce9") == "caf\\udce9"
