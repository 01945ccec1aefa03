"""A journal and a store database made by release 0.1.0 (git 56eb045) open in today's code and
are migrated; the journal is backed up beside itself first, and the copy goes at the next
start. How the files were made: tests/data/v0.1.0/README.md."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.cli import main
from app.clock import FakeClock
from app.models.db import HEAD_REVISION
from app.models.journal import Journal
from app.store.storage import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "v0.1.0"
KEYS = ("id", "number", "status", "priority", "registered_at", "closed_at", "fields")


def revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


@pytest.fixture
def old_journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal.sqlite"
    shutil.copyfile(DATA / "journal.sqlite", path)
    assert revision(path) == "0002"  # what 0.1.0 wrote
    return path


def test_a_0_1_0_journal_is_migrated_with_a_backup_and_keeps_every_card(
    old_journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = Journal.open(old_journal, FakeClock(datetime.now(UTC)))
    try:
        assert journal.verify() == []
        assert journal.count_cards() == 14
    finally:
        journal.close()
    assert revision(old_journal) == HEAD_REVISION
    backup = old_journal.with_name(f"journal.sqlite.before-{HEAD_REVISION}")
    assert backup.is_file() and revision(backup) == "0002"  # the journal as it was

    assert main(["journal", "verify", "--journal", str(old_journal)]) == 0
    assert not backup.exists()  # that start found it migrated: the copy is gone
    capsys.readouterr()
    assert main(["card", "list", "--json", "--journal", str(old_journal)]) == 0
    now = [{k: card[k] for k in KEYS} for card in json.loads(capsys.readouterr().out)]
    then = json.loads((DATA / "cards.json").read_text())
    assert sorted(now, key=lambda c: c["number"]) == sorted(then, key=lambda c: c["number"])
    capsys.readouterr()
    assert main(["card", "show", "A-0001", "--journal", str(old_journal)]) == 0
    assert "note written by release 0.1.0" in capsys.readouterr().out


def test_a_0_1_0_store_is_migrated_and_serves_a_pull(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    shutil.copyfile(DATA / "store.sqlite", path)
    assert revision(path) == "s0002"
    store = Store(f"sqlite:///{path}", FakeClock(datetime.now(UTC)))
    try:
        page = store.pull(store.check_cursor(""), 1000)
        assert not page.more
        assert len(page.entries) == 49  # 48 from the demo shift, then one note
        assert len({e.card_id for e in page.entries}) == 14
        assert any("note written by release 0.1.0" in json.dumps(e.payload)
                   for e in page.entries)
        assert [d["name"] for d in store.desks()] == ["North floor desk 1"]
    finally:
        store.close()
    assert revision(path) != "s0002"
