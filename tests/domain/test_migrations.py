"""A journal written by the first schema revision opens, upgraded, with nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from app.clock import FakeClock
from app.models import db
from app.models.entry import SCHEMA_VERSION, Entry, format_stamp, uuid7
from app.models.journal import Journal
from app.models.projection import fold
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService

from .conftest import DISPATCHER, MONDAY_10


def make_first_revision_journal(path: Path) -> Entry:
    engine = db.make_engine(path)
    db.migrate(engine, path, target="0001")
    ms = int(MONDAY_10.timestamp() * 1000)
    entry = Entry(
        id=uuid7(ms), card_id="c0ffee00-0000-4000-8000-000000000001", kind="card.registered",
        payload={"number": "B-0007", "priority": "P2", "priority_reason": "old desk",
                 "fields": {"category": "power", "site": "HQ", "symptom": "UPS alarm"}},
        hlc=format_stamp(ms, 0, "dold"), desk_id="dold", operator="A. Novak",
        schema=SCHEMA_VERSION,
    )
    state = fold([entry])
    assert state is not None
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO entries (id, card_id, kind, payload, hlc, desk_id, operator, schema)"
            " VALUES (:id, :card_id, :kind, :payload, :hlc, :desk_id, :operator, :schema)"),
            {**entry.to_wire(), "payload": json.dumps(entry.payload)})
        conn.execute(text(
            "INSERT INTO cards (id, number, status, priority, category, site, registered_at,"
            " state, last_hlc) VALUES (:id, :number, :status, :priority, :category, :site,"
            " :registered_at, :state, :last_hlc)"),
            {"id": state["id"], "number": "B-0007", "status": state["status"],
             "priority": "P2", "category": "power", "site": "HQ",
             "registered_at": state["registered_at"], "state": json.dumps(state),
             "last_hlc": entry.hlc})
        conn.execute(text("INSERT INTO desk_meta (key, value) VALUES ('desk_id', 'dold'),"
                          " ('desk_code', 'B'), ('counter:B', '7')"))
        columns = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(entries)")]
    engine.dispose()
    assert "server_seq" not in columns
    return entry


def test_first_revision_journal_is_upgraded_on_open(
    tmp_path: Path, rules: DispatchRules, clock: FakeClock
) -> None:
    path = tmp_path / "old.sqlite"
    old = make_first_revision_journal(path)
    journal = Journal.open(path, clock)
    try:
        assert db.current_revision(journal._engine, path) == db.HEAD_REVISION  # noqa: SLF001
        assert journal.desk_id == "dold"
        assert [e.id for e in journal.outbox()] == [old.id]  # not yet acknowledged by a store
        assert journal.verify() == []
        cards = CardService(journal, rules, clock)
        assert cards.get("B-0007").symptom == "UPS alarm"
        assert cards.register(
            {"category": "power", "site": "HQ", "symptom": "second UPS", "priority": "P3",
             "priority_reason": "r", "q_what": "a", "q_where": "b", "q_when": "c",
             "q_workaround": "d", "q_contact": "e"}, DISPATCHER).number == "B-0008"
    finally:
        journal.close()
