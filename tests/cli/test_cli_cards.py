"""`dispatch-desk card ...` as an admin or a script uses it; bad input changes nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from app.cli import main

NEW = ["card", "new", "--category", "network", "--site", "HQ", "--symptom", "switch down",
       "--impact", "high", "--urgency", "medium", "--reason", "floor 2 offline",
       "--q-what", "no network", "--q-where", "HQ floor 2", "--q-when", "09:50",
       "--q-workaround", "none", "--q-contact", "J. Weber"]


def run(journal: Path, *args: str) -> int:
    return main(["--journal", str(journal), "--desk-code", "B", *args])


def entries(journal: Path) -> int:
    with sqlite3.connect(journal) as db:
        return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])


@pytest.fixture
def journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "desk.sqlite"
    assert run(path, *NEW) == 0
    assert "registered B-0001 P2 HQ: switch down" in capsys.readouterr().out
    return path


def test_a_card_through_its_life(journal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(journal, "card", "status", "B-0001", "in_progress") == 0
    assert run(journal, "card", "priority", "b-0001", "P1", "--reason", "all floors") == 0
    assert run(journal, "card", "note", "B-0001", "vendor", "called") == 0
    assert run(journal, "card", "ack", "B-0001", "--who", "P. Braun") == 0
    capsys.readouterr()
    assert run(journal, "card", "show", "B-0001", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["priority"] == "P1" and shown["status"] == "in_progress"
    assert shown["acknowledged_by"] == "P. Braun"
    assert run(journal, "card", "list", "--open", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["number"] for c in listed] == ["B-0001"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*NEW[:3], "plumbing", *NEW[4:]], "unknown category 'plumbing'"),
        (["card", "priority", "B-0001", "P1"], "reason"),
        (["card", "status", "B-0001", "closed"], "cannot go from Registered to Closed"),
        (["card", "status", "B-0001", "done"], "unknown status 'done'"),
        (["card", "show", "0001"], "look like B-0042"),
        (["card", "note", "B-0042", "hello"], "no card B-0042"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_changes_nothing(
    journal: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = entries(journal)
    assert run(journal, *args) == 1
    err = capsys.readouterr().err
    assert err.startswith("dispatch-desk: error: ") and err.count("\n") == 1
    assert message in err
    assert entries(journal) == before


def test_not_a_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 4000)
    assert run(path, "card", "list") == 1
    assert "is not a Dispatch Desk journal" in capsys.readouterr().err
    assert path.read_bytes()[:4] == b"\xff\xd8\xff\xe0"


@pytest.mark.slow  # seconds of real processes or real waiting: outside the quick loop
def test_a_journal_locked_past_the_timeout(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = sqlite3.connect(journal, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        before = entries(journal)
        assert run(journal, "card", "note", "B-0001", "blocked") == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "is locked by another process" in capsys.readouterr().err
    assert entries(journal) == before


def test_journal_verify_and_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "demo.sqlite"
    assert run(path, "demo") == 0
    assert run(path, "journal", "verify") == 0
    out = capsys.readouterr().out
    assert "ok (14 cards match their entries)" in out
