"""The audit trail of the rules, on a real journal file: a roster import (the command line and
the window's save path), a rules file changed between two starts of the desk, account changes
and sign-ins, listed newest first by `dispatch-desk audit`."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.adapters.roster_store import DEFAULT_EXAMPLE, read_roster_file, roster_path_for
from app.application import Desk
from app.bootstrap import build_desk
from app.cli import main
from app.clock import Clock, FakeClock
from app.config import Settings
from app.errors import PermissionDenied
from app.loaders import DEFAULT_INTAKE_RULES
from app.protocol.catalogue import AUDIT_CARD
from app.services.audit import audit_trail
from app.services.operators import AddOperator, ChangeRoles, PinHasher

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)  # real Argon2id, test costs
BOSS, KIM, LEAD = "902113", "553120", "661822"


def desk_at(journal: Path, clock: Clock | None = None, **settings: Any) -> Desk:
    desk = build_desk(Settings(journal=journal, **settings).validated(), clock)
    assert desk.operators is not None
    desk.operators.hasher = CHEAP
    return desk


def people(journal: Path) -> None:
    desk = desk_at(journal)
    try:
        boss = desk.handle(AddOperator("boss", "B. Oss", ["admin"], BOSS))
        desk.signed_in = boss
        desk.handle(AddOperator("kim", "K. Im", ["dispatcher"], KIM))
        desk.handle(AddOperator("lead", "L. Ead", ["shift_lead"], LEAD))
    finally:
        desk.close()


def run(journal: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["--journal", str(journal), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_roster_import_needs_edit_roster_and_leaves_a_fact(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "desk.sqlite"
    people(journal)
    roster = roster_path_for(journal)
    code, _, err = run(journal, capsys, monkeypatch, "roster", "import", str(DEFAULT_EXAMPLE),
                       "--login", "kim", "--pin-stdin", stdin=KIM + "\n")
    assert code == 1 and "editing the roster needs the right edit_roster" in err
    assert not roster.exists()
    code, out, _ = run(journal, capsys, monkeypatch, "roster", "import", str(DEFAULT_EXAMPLE),
                       "--login", "lead", "--pin-stdin", stdin=LEAD + "\n")
    assert code == 0 and "imported" in out

    changed = tmp_path / "rota.toml"
    changed.write_text(DEFAULT_EXAMPLE.read_text(encoding="utf-8").replace(
        'name = "Jonas Weber"', 'name = "Jonas Weber-Ng"'), encoding="utf-8")
    code, _, _ = run(journal, capsys, monkeypatch, "roster", "import", str(changed),
                     "--login", "lead", "--pin-stdin", stdin=LEAD + "\n")
    assert code == 0
    desk = desk_at(journal)
    try:
        facts = [e for e in desk.journal.entries(AUDIT_CARD)
                 if e.kind == "roster.imported"]
    finally:
        desk.close()
    assert [f.operator for f in facts] == ["lead", "lead"]
    first, second = (f.payload for f in facts)
    expected = read_roster_file(changed).roster
    assert second["digest"] == hashlib.sha256(roster.read_bytes()).hexdigest()
    assert (second["contacts"], second["rotations"], second["overrides"]) == (
        len(expected.contacts), len(expected.rotations), len(expected.overrides))
    assert first["summary"].startswith("contacts +") and second["source"] == str(changed)
    assert second["summary"] == "contacts 1 changed (Jonas Weber-Ng)"


def test_the_windows_roster_save_is_checked_and_recorded(tmp_path: Path) -> None:
    """The window's roster dialog saves through `desk.roster.save` (app/ui/roster_dialog.py):
    the desk's signed-in operator is checked and named, nothing else to pass."""
    journal = tmp_path / "desk.sqlite"
    people(journal)
    desk = desk_at(journal)
    try:
        new = read_roster_file(DEFAULT_EXAMPLE)
        desk.sign_in("kim", KIM)
        with pytest.raises(PermissionDenied, match="edit_roster"):
            desk.roster.save(new.roster, new.routing)
        assert not desk.roster.exists
        desk.sign_in("lead", LEAD)
        desk.roster.save(new.roster, new.routing)
        [fact] = desk.journal.entries(AUDIT_CARD)
        assert fact.operator == "lead" and fact.payload["source"] == "roster dialog"
        assert fact.payload["by"] == "lead"
    finally:
        desk.close()
    desk = desk_at(journal)  # the desk's own save is no hand edit at the next start
    try:
        assert [e.kind for e in desk.journal.entries(AUDIT_CARD)] == [
            "roster.imported"]
    finally:
        desk.close()


def test_a_rules_file_changed_between_starts_is_a_fact_naming_the_os_user(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "desk.sqlite"
    rules = tmp_path / "intake.toml"
    rules.write_bytes(DEFAULT_INTAKE_RULES.read_bytes())
    monkeypatch.setenv("USER", "m.keller")
    monkeypatch.setenv("LOGNAME", "m.keller")
    for _ in range(2):  # the first start notes the files; an unchanged one is no change
        desk = desk_at(journal, intake_rules=rules)
        assert desk.journal.entries(AUDIT_CARD) == []
        desk.close()
    before = hashlib.sha256(rules.read_bytes()).hexdigest()
    rules.write_bytes(rules.read_bytes() + b"\n# the night shift's edit\n")
    desk = desk_at(journal, intake_rules=rules)
    try:
        [fact] = desk.journal.entries(AUDIT_CARD)
    finally:
        desk.close()
    assert fact.kind == "config.changed" and fact.operator == "config check"
    assert fact.payload["setting"] == "intake_rules" and fact.payload["file"] == str(rules)
    assert fact.payload["previous_digest"] == before
    assert fact.payload["digest"] == hashlib.sha256(rules.read_bytes()).hexdigest()
    assert fact.payload["by"] == "m.keller"
    desk = desk_at(journal, intake_rules=rules)
    try:
        assert len(desk.journal.entries(AUDIT_CARD)) == 1
    finally:
        desk.close()


def test_the_audit_lists_every_change_newest_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "desk.sqlite"
    clock = FakeClock(datetime(2026, 12, 1, 22, 0, tzinfo=UTC))
    desk = desk_at(journal, clock)
    try:
        boss = desk.handle(AddOperator("boss", "B. Oss", ["admin"], BOSS))
        clock.advance(60)
        desk.handle(AddOperator("kim", "K. Im", ["dispatcher"], KIM), actor=boss)
        clock.advance(60)
        with pytest.raises(PermissionDenied):
            desk.sign_in("kim", "000000")
        clock.advance(60)
        desk.sign_in("boss", BOSS)
        clock.advance(60)
        desk.handle(ChangeRoles("kim", ["observer"], "moved to the back office"))
        clock.advance(60)
        desk.roster.import_file(DEFAULT_EXAMPLE)
        trail = audit_trail(desk.journal)
        since = audit_trail(desk.journal, clock.now().replace(minute=3))
    finally:
        desk.close()
    assert [i.area for i in trail] == ["roster", "account", "sign-in", "sign-in", "account",
                                       "account"]
    assert trail[0].who == "boss" and "roster imported" in trail[0].what
    assert trail[1].what == "account kim roles now observer (moved to the back office)"
    assert trail[3].what == "sign-in failed for kim: wrong_pin"
    assert [i.area for i in since] == ["roster", "account", "sign-in"]
    assert all(a.at >= b.at for a, b in zip(trail, trail[1:], strict=False))

    code, out, _ = run(journal, capsys, monkeypatch, "audit", "--json", "--area", "account")
    rows = json.loads(out)
    assert code == 0 and [r["kind"] for r in rows] == [
        "operator.roles", "operator.added", "operator.added"]
    code, out, _ = run(journal, capsys, monkeypatch, "audit")
    assert code == 0 and out.splitlines()[0].split()[3:5] == ["roster", "boss"]
    code, out, _ = run(journal, capsys, monkeypatch, "audit", "--since", "2000-01-01")
    assert code == 0 and len(out.splitlines()) == len(trail)
    code, _, err = run(journal, capsys, monkeypatch, "audit", "--since", "yesterday")
    assert code == 1 and "--since 'yesterday': write 90d, 12h" in err


def test_integration_keys_webhooks_and_maintenance_windows_are_in_the_trail(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The monitoring doors' changes made with the real commands (signed in, with
    edit_integrations): who, when, and what -- the name, the kind, added or revoked, why."""
    journal = tmp_path / "desk.sqlite"
    people(journal)
    pin = BOSS + "\n"
    code, _, err = run(journal, capsys, monkeypatch, "integration", "add", "alertmanager",
                       "prom-dc1", "--site", "DC 1", "--login", "kim", "--pin-stdin",
                       stdin=KIM + "\n")
    assert code == 1 and "edit_integrations" in err  # refused: no fact, nothing listed
    for argv in (("integration", "add", "alertmanager", "prom-dc1", "--site", "DC 1"),
                 ("integration", "revoke", "prom-dc1", "--reason", "key pasted in a ticket"),
                 ("maintenance", "add", "UPS swap", "--starts", "2026-12-02T02:00",
                  "--ends", "2026-12-02T04:00", "--site", "DC 1"),):
        code, _, err = run(journal, capsys, monkeypatch, *argv, "--login", "boss",
                           "--pin-stdin", stdin=pin)
        assert code == 0, err
    desk = desk_at(journal)
    try:
        [window] = desk.intake.setup.windows()
        desk.intake.setup.cancel_maintenance(window.id, "vendor postponed", "boss")
        # A webhook subscription as `dispatch-desk webhook add/remove` writes it (the
        # command itself needs the OS keyring for the secret; the entries are the same).
        from app.services import outbound as ob
        [made] = desk.journal.write([ob.subscribed_entry(
            "7c1e", "chat", "https://chat.example.org/hook", ["registered", "closed"])],
            "boss")
        sub = ob.find(ob.subscriptions(enumerate(desk.journal.entries(made.card_id), 1)),
                      "chat")
        desk.journal.write([ob.removed_entry(sub, "channel archived")], "boss")
        trail = audit_trail(desk.journal, areas=["integration", "webhook", "maintenance"])
    finally:
        desk.close()
    assert [(i.area, i.who) for i in trail][::-1] == [
        ("integration", "boss"), ("integration", "boss"), ("maintenance", "boss"),
        ("maintenance", "boss"), ("webhook", "boss"), ("webhook", "boss")]
    assert [i.what for i in trail][::-1] == [
        "integration key prom-dc1 (alertmanager) added for DC 1",
        "integration key prom-dc1 (alertmanager) revoked: key pasted in a ticket",
        f"maintenance window UPS swap scheduled {window.starts.isoformat()} to "
        f"{window.ends.isoformat()} for DC 1",
        "maintenance window UPS swap cancelled: vendor postponed",
        "webhook chat added: registered, closed -> https://chat.example.org/hook",
        "webhook chat (https://chat.example.org/hook) removed: channel archived"]
    code, out, _ = run(journal, capsys, monkeypatch, "audit", "--area", "integration")
    assert code == 0 and "revoked: key pasted in a ticket" in out.splitlines()[0]
