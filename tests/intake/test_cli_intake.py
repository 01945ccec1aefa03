"""`dispatch-desk intake|integration|maintenance` and `card new --dedup-key` as an admin or a
script uses them (the real entry point, `app.cli.main`, and once the installed command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bootstrap import build_desk
from app.cli import main
from app.clock import SystemClock
from app.config import Settings
from tests.cli.test_cli_cards import NEW
from tests.intake.helpers import alert

ANSWERS = ["--q-workaround", "none", "--q-contact", "DBA on call", "--category", "server"]


def run(journal: Path, *args: str) -> int:
    return main(["--journal", str(journal), "--desk-code", "B", *args])


def arrive(journal: Path, *keys: str) -> list[str]:
    """Alerts through the desk's service, as a door does; the item ids."""
    desk = build_desk(Settings(journal=journal).validated(), SystemClock())
    try:
        clock = desk.clock
        outcomes = desk.intake.receive(
            [alert(clock, key=k, summary=f"Disk full ({k})") for k in keys], "door")
        return [o.item_id for o in outcomes]
    finally:
        desk.close()


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "desk.sqlite"


def test_list_accept_attach_dismiss(journal: Path, capsys: pytest.CaptureFixture[str]):
    first, second, third = arrive(journal, "a", "b", "c")
    assert run(journal, "intake", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [i["id"] for i in listed] == [first, second, third]
    assert listed[0]["count"] == 1 and listed[0]["state"] == "pending"
    assert run(journal, "intake", "list") == 0
    assert f"{first[:8]}" in capsys.readouterr().out

    assert run(journal, "intake", "accept", first[:8], *ANSWERS) == 0
    out = capsys.readouterr().out
    # The shipped rules: a warning from monitoring is impact medium x urgency medium, P3.
    assert out.startswith("registered B-0001 P3 HQ: Disk full (a)")
    assert run(journal, "intake", "attach", second[:8], "b-0001") == 0
    assert "attached to B-0001 (2 reports)" in capsys.readouterr().out
    assert run(journal, "intake", "dismiss", third[:8], "--reason", "test alert") == 0
    capsys.readouterr()
    assert run(journal, "intake", "list") == 0
    assert "the tray is empty" in capsys.readouterr().out
    assert run(journal, "intake", "list", "--all", "--json") == 0
    states = [(i["state"], i["number"]) for i in json.loads(capsys.readouterr().out)]
    assert states == [("accepted", "B-0001"), ("attached", "B-0001"), ("dismissed", "")]


def test_bad_input_names_the_field_and_changes_nothing(journal: Path,
                                                       capsys: pytest.CaptureFixture[str]):
    (item,) = arrive(journal, "a")
    assert run(journal, "intake", "dismiss", item[:8], "--reason", "  ") == 1
    assert "reason" in capsys.readouterr().err
    assert run(journal, "intake", "accept", item[:8]) == 1  # the questions not answered
    assert "missing" in capsys.readouterr().err
    assert run(journal, "intake", "attach", item[:8], "B-0099") == 1
    assert "no card B-0099" in capsys.readouterr().err
    assert run(journal, "intake", "accept", "ffffffff", *ANSWERS) == 1
    assert "no intake item" in capsys.readouterr().err
    assert run(journal, "intake", "list", "--json") == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == [item]


def test_card_new_with_a_dedup_key_twice_is_one_card(journal: Path,
                                                     capsys: pytest.CaptureFixture[str]):
    assert run(journal, *NEW, "--dedup-key", "nagios:sw-2:down") == 0
    assert "registered B-0001" in capsys.readouterr().out
    assert run(journal, *NEW, "--dedup-key", "nagios:sw-2:down", "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["number"] == "B-0001" and again["repeat"] is True
    assert run(journal, "card", "list", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert run(journal, "card", "show", "B-0001", "--json") == 0
    timeline = json.loads(capsys.readouterr().out)["timeline"]
    notes = [e["payload"]["text"] for e in timeline if e["kind"] == "card.note"]
    assert notes == ["Repeat 2 (manual card-new): switch down"]
    # Another key, or no key, is another card.
    assert run(journal, *NEW, "--dedup-key", "nagios:sw-3:down") == 0
    assert run(journal, *NEW) == 0
    assert "registered B-0003" in capsys.readouterr().out.splitlines()[-1]


def test_integration_add_prints_the_key_once_and_the_doors(journal: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]):
    config = tmp_path / "settings.toml"
    config.write_text('intake_listen = "127.0.0.1:8771"\n', encoding="utf-8")
    assert main(["--config", str(config), "--journal", str(journal), "integration", "add",
                 "alertmanager", "am-prod", "--category", "server", "--site", "HQ"]) == 0
    out = capsys.readouterr().out
    key = next(line.rsplit(" ", 1)[1] for line in out.splitlines() if line.startswith("key"))
    assert len(key) >= 40
    assert "http://127.0.0.1:8771/v1/intake/alertmanager" in out
    assert run(journal, "integration", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "am-prod" and key not in json.dumps(listed)
    assert key not in journal.read_bytes().decode("latin-1")  # only its hash is kept
    assert run(journal, "integration", "add", "alertmanager", "am-prod") == 1
    assert "exists" in capsys.readouterr().err
    assert run(journal, "integration", "add", "pigeon", "p1") == 1
    assert "kind must be one of" in capsys.readouterr().err
    assert run(journal, "integration", "revoke", "am-prod", "--reason", "leaked") == 0
    assert run(journal, "integration", "list") == 0
    assert "revoked: leaked" in capsys.readouterr().out


def test_the_emergency_line_s_reply_is_an_sms_integration_option(
        journal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.models.journal import Journal
    from app.protocol.catalogue import INTEGRATIONS_CARD

    text = "We got your emergency request; the desk calls you back."
    assert run(journal, "integration", "add", "webhook", "hook", "--reply", text) == 1
    assert "only for an sms integration" in capsys.readouterr().err
    assert run(journal, "integration", "add", "sms", "line", "--reply", text) == 0
    j = Journal.open(journal, SystemClock())
    try:
        (added,) = j.entries(INTEGRATIONS_CARD)
    finally:
        j.close()
    assert added.payload["reply"] == text and added.payload["name"] == "line"


def test_maintenance_add_list_cancel(journal: Path, capsys: pytest.CaptureFixture[str]):
    assert run(journal, "maintenance", "add", "core switch firmware", "--starts",
               "2026-12-05T01:00", "--ends", "2026-12-05T03:00", "--site", "HQ") == 0
    window_id = capsys.readouterr().out.split()[2]
    assert run(journal, "maintenance", "list", "--json") == 0
    (shown,) = json.loads(capsys.readouterr().out)
    assert shown["id"] == window_id and shown["starts"] == "2026-12-05T01:00:00+01:00"
    assert run(journal, "maintenance", "add", "x", "--starts", "soon", "--ends", "later") == 1
    assert "--starts 'soon'" in capsys.readouterr().err
    assert run(journal, "maintenance", "cancel", window_id, "--reason", "postponed") == 0
    capsys.readouterr()
    assert run(journal, "maintenance", "list") == 0
    assert "no maintenance windows" in capsys.readouterr().out


def test_the_installed_command_lists_the_tray(journal: Path):
    (item,) = arrive(journal, "a")
    exe = Path(sys.executable).with_name("dispatch-desk")
    done = subprocess.run([str(exe), "--journal", str(journal), "intake", "list", "--json"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON_KEYRING_BACKEND":
                               "keyring.backends.null.Keyring"})
    assert done.returncode == 0, done.stderr
    assert [i["id"] for i in json.loads(done.stdout)] == [item]
