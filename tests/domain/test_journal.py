"""The journal file: durable settings, self-describing entries, readable numbers, verify."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import JournalError
from app.models.entry import SCHEMA_VERSION
from app.models.journal import Journal
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService

from .conftest import DISPATCHER, intake


def test_every_connection_is_durable(journal: Journal) -> None:
    with journal._engine.connect() as conn:  # noqa: SLF001 - checking the real connection
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "synchronous", "busy_timeout")}
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 5000}


def test_an_entry_describes_itself(cards: CardService, journal: Journal) -> None:
    card = cards.register(intake(), DISPATCHER)
    (entry,) = journal.entries(card.id)
    assert uuid.UUID(entry.id).version == 7
    assert entry.card_id == card.id
    assert entry.kind == "card.registered"
    assert entry.desk_id == journal.desk_id
    assert entry.operator == "A. Novak"
    assert entry.schema == SCHEMA_VERSION
    assert entry.hlc.endswith("." + journal.desk_id)
    assert entry.payload["number"] == card.number


def test_stamps_never_go_backwards_when_the_wall_clock_does(
    cards: CardService, journal: Journal, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)
    clock.advance(-3600)
    cards.add_note(card.number, "clock stepped back by NTP", DISPATCHER)
    stamps = [e.hlc for e in journal.entries(card.id)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 2


def test_numbers_carry_the_desk_code(
    tmp_path: Path, rules: DispatchRules, clock: FakeClock
) -> None:
    numbers = []
    for code in ("B", "C"):
        journal = Journal.open(tmp_path / f"{code}.sqlite", clock)
        journal.set_desk_code(code)
        cards = CardService(journal, rules, clock)
        numbers += [cards.register(intake(), DISPATCHER).number for _ in range(2)]
        journal.close()
    assert numbers == ["B-0001", "B-0002", "C-0001", "C-0002"]


def test_verify_rebuilds_the_projection_and_reports_differences(
    cards: CardService, journal: Journal
) -> None:
    card = cards.register(intake(), DISPATCHER)
    cards.change_status(card.number, "in_progress", DISPATCHER)
    assert journal.verify() == []
    db = sqlite3.connect(journal.path)
    state = json.loads(db.execute("SELECT state FROM cards").fetchone()[0])
    state["status"] = "closed"
    db.execute("UPDATE cards SET state=?", (json.dumps(state),))
    db.commit()
    db.close()
    problems = journal.verify()
    assert problems == [f"card {card.number}: status is 'closed' in the table, "
                        "'in_progress' from the entries"]


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 100)
    with pytest.raises(JournalError, match="not a Dispatch Desk journal"):
        Journal.open(path, clock)
    assert path.read_text() == "shopping list\n" * 100


def test_a_full_disk_is_reported_and_changes_nothing(
    cards: CardService, journal: Journal
) -> None:
    cards.register(intake(), DISPATCHER)
    with journal._engine.connect() as conn:  # noqa: SLF001
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    # SQLite's page cap is per connection: cap every new one at the current size.
    from sqlalchemy import event

    @event.listens_for(journal._engine, "connect")  # noqa: SLF001
    def _cap(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    journal._engine.dispose()  # noqa: SLF001
    with pytest.raises(JournalError, match="disk full"):
        for _ in range(200):
            cards.register(intake(q_what="x" * 1500), DISPATCHER)
    event.remove(journal._engine, "connect", _cap)  # noqa: SLF001
    journal._engine.dispose()  # noqa: SLF001
    assert journal.verify() == []
    assert journal.integrity_check() == "ok"
