"""`dispatch-desk webhook add|list|test|retry|remove` as an admin types them: the secret is
printed once and kept only in the keyring; bad input is one error line and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.memory_keyring import MemoryKeyring
from tests.outbound.receiver import Receiver


def run(journal: Path, *args: str) -> int:
    return main(["--journal", str(journal), "--desk-code", "B", *args])


def test_the_webhook_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              memory_keyring: MemoryKeyring) -> None:
    journal = tmp_path / "desk.sqlite"
    with Receiver().start() as receiver:
        assert run(journal, "webhook", "add", receiver.url, "--events", "registered,closed",
                   "--name", "psa", "--note", "the PSA's dispatch board") == 0
        out = capsys.readouterr().out
        assert f"webhook psa added: registered, closed -> {receiver.url}" in out
        secret = next(x.rsplit(": ", 1)[1] for x in out.splitlines() if x.startswith("secret"))
        assert list(memory_keyring.entries.values()) == [secret]
        assert secret.encode() not in journal.read_bytes()

        assert run(journal, "webhook", "add", receiver.url, "--name", "psa") == 1
        assert "--name 'psa' is taken" in capsys.readouterr().err

        assert run(journal, "webhook", "list") == 0
        listed = capsys.readouterr().out.splitlines()
        assert listed == [f"psa  {receiver.url}",
                          "    events registered,closed · delivered 0 · waiting 0", "    ok"]

        receiver.secret = secret
        assert run(journal, "webhook", "test", "psa") == 0
        assert "webhook psa: delivered (204" in capsys.readouterr().out
        (got,) = receiver.received
        assert got.signed and got.json["event"] == "test" and got.key == got.json["event_id"]

        receiver.script = [410]
        assert run(journal, "webhook", "test", "psa") == 1
        err = capsys.readouterr().err
        assert "410" in err and "permanent failure" in err

        assert run(journal, "webhook", "retry", "psa", "--skip") == 1
        assert "holds no failed event" in capsys.readouterr().err
        assert run(journal, "webhook", "retry", "psa") == 0
        capsys.readouterr()

        assert run(journal, "webhook", "list", "--json") == 0
        (view,) = json.loads(capsys.readouterr().out)
        assert view["name"] == "psa" and view["events"] == ["registered", "closed"]
        assert view["state"] == "ok" and view["here"] is True

        assert run(journal, "webhook", "remove", "psa", "--reason", "new PSA") == 0
        assert "webhook psa removed" in capsys.readouterr().out
        assert memory_keyring.entries == {}
        assert run(journal, "webhook", "list") == 0
        assert "no webhooks" in capsys.readouterr().out
        assert run(journal, "webhook", "remove", "psa") == 1
        assert "no webhook named 'psa'" in capsys.readouterr().err


def test_a_receiver_on_another_network_over_http_is_warned_about(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path / "desk.sqlite", "webhook", "add", "http://psa.example.com/hook") == 0
    out = capsys.readouterr().out
    assert "webhook psa.example.com added" in out and "warning: http://" in out
