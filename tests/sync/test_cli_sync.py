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
    assert live_store.store.position().seq == 1

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
