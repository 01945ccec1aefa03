"""The command line signs in once the desk knows accounts: a person with --login (the PIN by
getpass or --pin-stdin), a script with a token (--token-name from the keyring, or
DISPATCH_DESK_TOKEN); never a token on argv; --operator and --role are gone with a message
saying what replaced them. A real journal file, the in-memory keyring of tests/conftest.py."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.clock import SystemClock
from app.models.journal import Journal
from app.protocol.catalogue import OPERATORS_CARD, SIGNINS_CARD
from app.roles import load_roles
from app.services.operators import AddOperator, OperatorService, PinHasher
from tests.cli.test_cli_cards import NEW

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)  # real Argon2id, test costs
BOSS, KIM, OBS = "902113", "553120", "771904"


class Cli:
    def __init__(self, journal: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.journal, self.capsys, self.monkeypatch = journal, capsys, monkeypatch

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            code = main(["--journal", str(self.journal), "--desk-code", "B", *argv])
        except SystemExit as exc:  # argparse's own refusals
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def entries(self, card: str | None = None) -> list[object]:
        journal = Journal.open(self.journal, SystemClock())
        try:
            return list(journal.entries(card) if card else journal.all_entries())
        finally:
            journal.close()


def people(path: Path) -> None:
    journal = Journal.open(path, SystemClock())
    try:
        service = OperatorService(journal, SystemClock(), load_roles(), CHEAP)
        boss = service.handle(AddOperator("boss", "B. Oss", ["admin"], BOSS), None)
        service.handle(AddOperator("kim", "K. Im", ["dispatcher"], KIM), boss)
        service.handle(AddOperator("obs", "O. Bserver", ["observer"], OBS), boss)
    finally:
        journal.close()


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.delenv("DISPATCH_DESK_TOKEN", raising=False)
    yield Cli(tmp_path / "desk.sqlite", capsys, monkeypatch)


def test_a_desk_without_accounts_writes_as_before_and_refuses_a_login(cli: Cli) -> None:
    code, out, _ = cli(*NEW)
    assert code == 0 and "registered B-0001" in out
    code, _, err = cli("card", "note", "B-0001", "hello", "--login", "kim", stdin=KIM + "\n")
    assert code == 1 and "this desk has no operator accounts" in err


@pytest.mark.parametrize(("option", "words"), [
    ("--role", "--role is gone: sign in with --login NAME (PIN prompted) or use a token: "
               "dispatch-desk token create"),
    ("--operator", "--operator is gone: sign in with --login NAME (PIN prompted) or use a "
                   "token"),
])
def test_role_and_operator_are_gone_and_say_what_replaced_them(
        cli: Cli, option: str, words: str) -> None:
    for argv in ([option, "shift_lead", *NEW], [*NEW, f"{option}=shift_lead"]):
        code, _, err = cli(*argv)
        assert code == 2 and words in err
    assert not cli.journal.exists() or cli.entries() == []


def test_writing_needs_a_sign_in_and_reading_does_not(cli: Cli) -> None:
    people(cli.journal)
    code, _, err = cli(*NEW)
    assert code == 1 and "this desk has operator accounts; sign in with --login NAME" in err
    assert "DISPATCH_DESK_TOKEN" in err
    code, _, err = cli(*NEW, "--login", "kim", "--pin-stdin", stdin="000000\n")
    assert code == 1 and "wrong login or PIN" in err
    code, out, _ = cli(*NEW, "--login", "kim", "--pin-stdin", stdin=KIM + "\n")
    assert code == 0 and "registered B-0001" in out
    code, out, _ = cli("card", "list")
    assert code == 0 and "B-0001" in out  # no sign-in to read
    card = json.loads(cli("card", "show", "B-0001", "--json")[1])["id"]
    assert [e.operator for e in cli.entries(card)] == ["kim"]  # the account, not a name
    code, _, err = cli("card", "note", "B-0001", "fine", "--login", "obs", "--pin-stdin",
                       stdin=OBS + "\n")
    assert code == 1 and "write_cards" in err and "observer" in err
    kinds = [e.kind for e in cli.entries(SIGNINS_CARD)]
    assert kinds.count("operator.signed_in") == 2 and "operator.signin_failed" in kinds


def test_the_pin_is_asked_without_echo(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    people(cli.journal)
    asked: list[str] = []

    def getpass(prompt: str) -> str:
        asked.append(prompt)
        return KIM

    monkeypatch.setattr("getpass.getpass", getpass)
    code, _, _ = cli(*NEW, "--login", "kim")
    assert code == 0 and asked == ["PIN for kim: "]


def test_a_script_signs_in_with_a_token_and_has_exactly_its_rights(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    people(cli.journal)
    code, _, err = cli("token", "create", "--for", "nagios", "--rights", "change_priority",
                       "--login", "boss", "--pin-stdin", stdin=BOSS + "\n")
    assert code == 1 and "change_priority is a signed-in person's" in err
    code, _, err = cli("token", "create", "--for", "nagios", "--rights", "write_cards",
                       "--login", "kim", "--pin-stdin", stdin=KIM + "\n")
    assert code == 1 and "needs the right manage_operators" in err
    code, out, _ = cli("token", "create", "--for", "nagios", "--rights", "write_cards",
                       "--expires", "90d", "--login", "boss", "--pin-stdin", stdin=BOSS + "\n")
    assert code == 0 and "shown once" in out and "token:nagios" in out
    secret = out.rsplit(": ", 1)[1].strip()
    assert secret.startswith("ddt_")
    assert all(secret not in json.dumps(e.payload) for e in cli.entries())  # only its hash

    code, out, _ = cli(*NEW, "--token-name", "nagios")
    assert code == 0 and "registered B-0001" in out
    card = json.loads(cli("card", "show", "B-0001", "--json")[1])["id"]
    assert [e.operator for e in cli.entries(card)] == ["token:nagios"]
    code, _, err = cli("card", "priority", "B-0001", "P1", "--reason", "x", "--token-name",
                       "nagios")
    assert code == 1 and "change_priority" in err and "the token nagios holds write_cards" in err
    code, _, err = cli("card", "status", "B-0001", "closed", "--token-name", "nagios")
    assert code == 1 and "closing a card is a person's decision" in err
    code, _, err = cli("card", "review", "B-0001", "--summary", "s", "--owner", "o", "--due",
                       "2027-01-01", "--token-name", "nagios")
    assert code == 1 and "a person's decision" in err
    monkeypatch.setenv("DISPATCH_DESK_TOKEN", secret)
    code, _, _ = cli("card", "note", "B-0001", "from", "the", "environment")
    assert code == 0
    for argv in (["--token", secret], [f"--token={secret}"]):
        code, _, err = cli("card", "note", "B-0001", "x", *argv)
        assert code == 2 and "a token is never given on the command line" in err
        assert secret not in err
    monkeypatch.delenv("DISPATCH_DESK_TOKEN")

    code, out, _ = cli("token", "list", "--json")
    [row] = json.loads(out)
    assert (row["name"], row["state"], row["rights"], row["in_this_keyring"]) == \
        ("nagios", "active", ["write_cards"], True)
    assert row["created_by"] == "boss" and row["expires_at"]
    code, out, _ = cli("token", "revoke", "nagios", "--reason", "replaced", "--login", "boss",
                       "--pin-stdin", stdin=BOSS + "\n")
    assert code == 0 and "revoked" in out
    code, _, err = cli("card", "note", "B-0001", "late", "--token-name", "nagios")
    assert code == 1 and "no token of that name in this machine's keyring" in err
    monkeypatch.setenv("DISPATCH_DESK_TOKEN", secret)
    code, _, err = cli("card", "note", "B-0001", "late")
    assert code == 1 and "the token nagios was revoked at" in err and "replaced" in err
    failed = [e.payload for e in cli.entries(SIGNINS_CARD) if e.kind == "operator.signin_failed"]
    assert {"login": "token:nagios", "reason": "disabled"}.items() <= failed[-1].items()
    assert [e.kind for e in cli.entries(OPERATORS_CARD)][-2:] == [
        "operator.token_created", "operator.token_revoked"]


def test_a_handover_is_signed_by_both_leads(cli: Cli) -> None:
    journal = Journal.open(cli.journal, SystemClock())
    try:
        service = OperatorService(journal, SystemClock(), load_roles(), CHEAP)
        boss = service.handle(AddOperator("boss", "B. Oss", ["admin"], BOSS), None)
        service.handle(AddOperator("day", "D. Ay", ["shift_lead"], KIM), boss)
        service.handle(AddOperator("night", "N. Ight", ["shift_lead"], OBS), boss)
    finally:
        journal.close()
    accept = ("handover", "accept", "--incoming", "night", "--login", "day", "--pin-stdin")
    code, _, err = cli(*accept, stdin=f"{KIM}\n000000\n")
    assert code == 1 and "wrong login or PIN" in err  # the incoming lead's own PIN
    code, _, err = cli("handover", "accept", "--incoming", "day", "--login", "day",
                       "--pin-stdin", stdin=f"{KIM}\n{KIM}\n")
    assert code == 1 and "the incoming lead accepts with their own login and PIN" in err
    code, out, _ = cli(*accept, stdin=f"{KIM}\n{OBS}\n")
    assert code == 0 and "handover accepted by N. Ight from D. Ay" in out
    [accepted] = [e for e in cli.entries("handover") if e.kind == "handover.accepted"]
    assert accepted.operator == "night"


def test_a_pin_prompt_with_nothing_to_read_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "app", "operator", "add", "boss", "--name", "B. Oss",
         "--roles", "admin", "--journal", str(tmp_path / "desk.sqlite")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"},
        start_new_session=True)  # no controlling terminal: getpass reads the closed stdin
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "dispatch-desk: error: nothing to read for the PIN" in done.stderr
    assert "--pin-stdin" in done.stderr
