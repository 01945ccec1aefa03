"""A desk restored from an old backup issues card numbers again; the store catches it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.clock import FakeClock
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.sync import protocol as p
from tests.store.harness import Desk, ThreadStore


def _restore_copy(journal: Journal, to: Path) -> Path:
    """A backup taken through SQLite's backup API (the journal runs in WAL mode)."""
    with sqlite3.connect(journal.path) as src, sqlite3.connect(to) as dst:
        src.backup(dst)
    return to


def test_reused_card_numbers_are_renumbered_and_the_counter_returned(
    store: ThreadStore, desk_a: Desk, tmp_path: Path, clock: FakeClock
) -> None:
    code = desk_a.journal.desk_code
    first = desk_a.register(1)
    assert desk_a.push(first).desk_counter == 1
    backup = _restore_copy(desk_a.journal, tmp_path / "backup.sqlite")
    later = desk_a.register(2)
    assert desk_a.push(later).desk_counter == 3
    assert [e.payload["number"] for e in later] == [f"{code}-0002", f"{code}-0003"]

    # The desk's disk dies; it comes back from the backup, with its counter at 1.
    clock.advance(1)
    restored = Desk(desk_a.url, Journal.open(backup, clock), desk_a.secret, clock)
    assert restored.desk_id == desk_a.desk_id
    reused = restored.register(1)[0]
    assert reused.payload["number"] == f"{code}-0002"
    reply = restored.push([*first, reused])
    assert [r.status for r in reply.results] == ["duplicate", "stored"]
    assert reply.results[1].renumbered == f"{code}-0004"
    assert reply.desk_counter == 4

    # A desk that lost that reply learns the new number again from the duplicate answer.
    again = restored.push([reused])
    assert again.results[0].status == "duplicate"
    assert again.results[0].renumbered == f"{code}-0004"

    # The desk records the rename as an entry; the store accepts it without renumbering again.
    rename = restored.journal.write(
        [
            NewEntry(
                reused.card_id, p.RENUMBER_KIND, {"number": f"{code}-0004", "was": f"{code}-0002"}
            )
        ],
        "op",
    )
    renamed = restored.push(rename)
    assert renamed.results[0].status == "stored" and renamed.results[0].renumbered is None
    # The desk moves its counter past the store's; its next card takes a fresh number.
    restored.journal.set_meta(f"counter:{code}", str(renamed.desk_counter))
    fresh = restored.register(1)
    assert fresh[0].payload["number"] == f"{code}-0005"
    final = restored.push(fresh)
    assert final.results[0].renumbered is None and final.desk_counter == 5


def test_a_registration_pushed_twice_keeps_its_number(desk_a: Desk) -> None:
    made = desk_a.register(1)
    desk_a.push(made)
    reply = desk_a.push(made)
    assert reply.results[0].status == "duplicate" and reply.results[0].renumbered is None
