"""`dispatch-desk enroll`, `sync now` and `sync status` against the real store on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.clock import SystemClock
from app.models.journal import Journal
from tests.memory_keyring import MemoryKeyring
from tests.sync.cards import register
from tests.sync.loopback import LoopbackStore
from tests.sync.store_facts import desk_entries_seq


@pytest.fixture
def live_store(tmp_path: Path) -> Iterator[LoopbackStore]:
    running = LoopbackStore(tmp_path / "store.sqlite")  # the system clock, like the desk's
    yield running
    running.stop()


def test_enroll_sync_now_and_status(tmp_path: Path, live_store: LoopbackStore,
                                    memory_keyring: MemoryKeyring,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    journal_path = tmp_path / "desk.sqlite"
    base = ["--journal", str(journal_path), "--desk-code", "B"]
    assert main([*base, "sync", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["enrolled"] is False

    code = live_store.add_desk("front desk")
    assert main([*base, "enroll", live_store.url, code, "--name", "front desk"]) == 0
    out = capsys.readouterr().out
    assert "enrolled" in out and "keyring" in out
    journal = Journal.open(journal_path, SystemClock())
    secrets = [v for (_svc, name), v in memory_keyring.entries.items()
               if name == f"store_secret:{journal.desk_id}"]
    assert len(secrets) == 1
    assert secrets[0] not in journal_path.read_bytes().decode("latin-1")  # never in our file
    register(journal)
    journal.close()

    assert main([*base, "sync", "now"]) == 0
    assert "sent 1" in capsys.readouterr().out
    assert desk_entries_seq(live_store.store) == 1

    assert main([*base, "sync", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["enrolled"] and status["online"] and status["waiting"] == 0
    assert status["last_sync"] is not None and abs(status["clock_offset_s"]) < 5
    assert status["store_url"] == live_store.url

    # A desk enrols once, and a code works once.
    assert main([*base, "enroll", live_store.url, code]) == 1
    assert "already enrolled" in capsys.readouterr().err
    other = ["--journal", str(tmp_path / "other.sqlite"), "--desk-code", "C"]
    assert main([*other, "enroll", live_store.url, code]) == 1
    assert "code is unknown, used or expired" in capsys.readouterr().err

    # Without --name the desk keeps the name its admin gave `server add-desk`.
    assert main([*other, "enroll", live_store.url, live_store.add_desk("North floor 2")]) == 0
    capsys.readouterr()
    from sqlalchemy import select

    from app.store.tables import desks
    with live_store.store.engine.connect() as conn:
        names = set(conn.execute(select(desks.c.name)).scalars())
    assert names == {"front desk", "North floor 2"}

    # Revoked at the store: `sync status` says so (the health probe alone would say Online).
    opened = Journal.open(journal_path, SystemClock())
    live_store.store.revoke_desk(opened.desk_id, "laptop stolen")
    opened.close()
    assert main([*base, "sync", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["last_error"].startswith("REFUSED: ") and "revoked at" in status["last_error"]
    assert main([*base, "sync", "status"]) == 0
    assert "REFUSED: " in capsys.readouterr().out


def test_bad_input_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   memory_keyring: MemoryKeyring) -> None:
    base = ["--journal", str(tmp_path / "desk.sqlite")]
    assert main([*base, "enroll", "store.example", "ABCD"]) == 1
    assert "store URL" in capsys.readouterr().err
    assert main([*base, "enroll", "http://127.0.0.1:9", "  "]) == 1
    assert "code:" in capsys.readouterr().err
    assert main([*base, "sync", "now", "--wait", "99"]) == 1
    assert "--wait" in capsys.readouterr().err
    assert main([*base, "sync", "now"]) == 1
    assert "enroll" in capsys.readouterr().err
    assert memory_keyring.entries == {}


def test_sync_status_lists_every_desk_and_card_json_says_as_of_when(
        tmp_path: Path, live_store: LoopbackStore, capsys: pytest.CaptureFixture[str]) -> None:
    front = ["--journal", str(tmp_path / "front.sqlite"), "--desk-code", "B"]
    night = ["--journal", str(tmp_path / "night.sqlite"), "--desk-code", "N"]
    assert main([*front, "enroll", live_store.url, live_store.add_desk("front"),
                 "--name", "front"]) == 0
    assert main([*night, "enroll", live_store.url, live_store.add_desk("night"),
                 "--name", "night"]) == 0
    assert main([*front, "sync", "now"]) == 0
    capsys.readouterr()
    assert main([*front, "sync", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    desks = {d["desk_code"]: d for d in status["desks"]}
    assert set(desks) == {"B", "N"} and desks["B"]["stale"] is False
    assert status["as_of"]
    assert main([*front, "sync", "status"]) == 0
    assert "desk N (night)" in capsys.readouterr().out

    journal = Journal.open(tmp_path / "front.sqlite", SystemClock())
    number = journal.card(register(journal))["number"]
    journal.close()
    assert main([*front, "card", "show", number, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["source_desk"] == journal.desk_id
    assert shown["as_of"] >= shown["last_change_at"]


def test_a_desk_silent_past_the_ladder_s_limit_is_stale() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from app.cli.sync import _desk_line
    from app.sync.protocol import DeskSeen

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    quiet = DeskSeen("d1", "night", "N", now - timedelta(minutes=12))
    fresh = DeskSeen("d2", "front", "B", now - timedelta(seconds=30))
    berlin = ZoneInfo("Europe/Berlin")
    assert "12 min ago: STALE" in _desk_line(quiet, now, berlin)
    assert "STALE" not in _desk_line(fresh, now, berlin)
    assert "never seen: STALE" in _desk_line(DeskSeen("d3", "new", "C", None), now, berlin)
