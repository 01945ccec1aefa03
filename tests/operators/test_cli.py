"""`dispatch-desk operator ...` on a desk's journal and `dispatch-desk server operator ...` on a
store database: PINs asked twice or read from stdin, never from argv."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.cli import main
from app.clock import SystemClock
from app.models.journal import Journal
from app.protocol.catalogue import OPERATORS_CARD
from app.store.operators import StoreOperators
from app.store.storage import Store


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str,
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_desk_with_no_store_manages_its_own_accounts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    j = ["--journal", str(tmp_path / "desk.sqlite")]
    code, out, _ = run(capsys, monkeypatch, "operator", "list", *j)
    assert code == 0 and "no operator accounts yet" in out
    code, _, err = run(capsys, monkeypatch, "operator", "add", "kim", "--name", "Kim",
                       "--roles", "dispatcher", "--pin-stdin", *j, stdin="553120\n")
    assert code == 1 and "first account must be able to add the others" in err
    code, out, _ = run(capsys, monkeypatch, "operator", "add", "boss", "--name", "B. Oss",
                       "--roles", "admin", "--pin-stdin", *j, stdin="902113\n")
    assert code == 0 and "boss (B. Oss) is enabled, admin" in out
    code, _, err = run(capsys, monkeypatch, "operator", "add", "kim", "--name", "Kim",
                       "--roles", "dispatcher", "--pin-stdin", *j, stdin="553120\n")
    assert code == 1 and "--as YOUR_LOGIN" in err
    code, out, _ = run(capsys, monkeypatch, "operator", "add", "kim", "--name", "Kim",
                       "--roles", "dispatcher,l1", "--as", "boss", "--pin-stdin", *j,
                       stdin="902113\n553120\n")
    assert code == 0 and "kim (Kim) is enabled, dispatcher, L1" in out
    code, _, err = run(capsys, monkeypatch, "operator", "disable", "boss", "--as", "kim",
                       "--pin-stdin", *j, stdin="553120\n")
    assert code == 1 and "needs the right manage_operators" in err
    code, out, _ = run(capsys, monkeypatch, "operator", "roles", "kim", "observer", "--as",
                       "boss", "--reason", "back office", "--pin-stdin", *j, stdin="902113\n")
    assert code == 0 and "observer" in out
    code, out, _ = run(capsys, monkeypatch, "operator", "list", "--json", *j)
    rows = {r["login"]: r for r in json.loads(out)}
    assert rows["kim"]["roles"] == ["observer"] and rows["kim"]["changes"] == 2
    assert "pin" not in out.lower() and "argon2" not in out
    journal = Journal.open(tmp_path / "desk.sqlite", SystemClock())
    try:
        assert [e.operator for e in journal.entries(OPERATORS_CARD)] == ["boss", "boss", "boss"]
    finally:
        journal.close()


def test_the_pin_is_asked_twice_without_echo(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["902113", "902114"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    code, _, err = run(capsys, monkeypatch, "operator", "add", "boss", "--name", "B",
                       "--roles", "admin", "--journal", str(tmp_path / "d.sqlite"))
    assert code == 1 and "the two PINs differ; nothing was changed" in err
    asked: list[str] = []

    def getpass(prompt: str) -> str:
        asked.append(prompt)
        return "902113"

    monkeypatch.setattr("getpass.getpass", getpass)
    code, _, _ = run(capsys, monkeypatch, "operator", "add", "boss", "--name", "B",
                     "--roles", "admin", "--journal", str(tmp_path / "d.sqlite"))
    assert code == 0 and asked == ["New PIN for boss: ", "The same PIN again: "]


@pytest.mark.parametrize("given", [["--pin", "553120"], ["--pin=553120"], ["553120"]])
def test_a_pin_on_the_command_line_is_refused(tmp_path: Path, given: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "d.sqlite"
    with pytest.raises(SystemExit) as info:
        main(["operator", "add", "boss", "--name", "B", "--roles", "admin", *given,
              "--journal", str(journal)])
    assert info.value.code == 2 and "error:" in capsys.readouterr().err
    assert not journal.exists()


def test_the_store_admin_adds_and_disables_accounts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'store.sqlite'}"]
    code, out, _ = run(capsys, monkeypatch, "server", "operator", "add", "boss", "--name",
                       "B. Oss", "--roles", "admin,shift_lead", "--pin-stdin", *db,
                       stdin="902113\n")
    assert code == 0 and "every desk has it after its next sync" in out
    code, _, _ = run(capsys, monkeypatch, "server", "operator", "add", "kim", "--name", "Kim",
                     "--roles", "dispatcher", "--pin-stdin", *db, stdin="553120\n")
    code, out, _ = run(capsys, monkeypatch, "server", "operator", "disable", "kim",
                       "--reason", "left", *db)
    assert code == 0 and "kim (Kim) is disabled" in out
    code, _, err = run(capsys, monkeypatch, "server", "operator", "disable", "boss", *db)
    assert code == 1 and "last enabled account" in err
    code, out, _ = run(capsys, monkeypatch, "server", "operator", "reset", "kim",
                       "--pin-stdin", *db, stdin="660192\n")
    assert code == 0
    code, out, _ = run(capsys, monkeypatch, "server", "operator", "list", *db)
    assert "kim" in out and "DISABLED" in out and "admin, shift lead" in out
    store = Store(db[1])
    try:
        known = StoreOperators(store).accounts()
        assert not known["kim"].enabled and known["kim"].history[-1].kind == "operator.pin_set"
        assert all(step.by == "store admin" for a in known.values() for step in a.history)
    finally:
        store.close()
