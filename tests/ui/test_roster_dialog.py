"""The roster dialog edits and validates the roster and saves through the desk's store;
the on-call panel shows now and next and follows the clock on the window's tick."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.adapters.roster_store import DEFAULT_EXAMPLE, DeskRoster  # noqa: E402
from app.clock import FakeClock  # noqa: E402
from app.services.roster import load_roster_toml  # noqa: E402
from app.ui.events import DeskEvents  # noqa: E402
from app.ui.oncall_panel import OnCallPanel  # noqa: E402
from app.ui.roster_dialog import CONTACT_COLUMNS, RosterDialog  # noqa: E402

SHOTS = Path(os.environ.get("ROSTER_SHOTS", "")) if os.environ.get("ROSTER_SHOTS") else None


@pytest.fixture
def store(tmp_path: Path) -> DeskRoster:
    desk = DeskRoster(tmp_path / "journal.roster.toml")
    desk.import_file(DEFAULT_EXAMPLE)
    return desk


def set_cell(dialog: RosterDialog, kind: str, row: int, column: str, text: str) -> None:
    sheet = dialog.sheets[kind]
    sheet.table.item(row, sheet.columns.index(column)).setText(text)


def test_dialog_shows_the_roster_and_saving_unchanged_keeps_it(qtbot, store) -> None:
    dialog = RosterDialog(store)
    qtbot.addWidget(dialog)
    assert dialog.sheets["contact"].table.rowCount() == len(store.roster.contacts)
    assert dialog.sheets["rotation"].table.rowCount() == len(store.roster.rotations)
    assert dialog.sheets["override"].values(0)["start"] == "2026-12-21T08:00+01:00"
    assert dialog.problem() == ""
    before = store.roster
    with qtbot.waitSignal(dialog.accepted):
        dialog.save()
    assert DeskRoster(store.path).roster == before
    if SHOTS:
        dialog.grab().save(str(SHOTS / "roster_dialog.png"))


def test_a_bad_phone_is_named_live_and_save_points_at_it(qtbot, store) -> None:
    before = store.path.read_bytes()
    dialog = RosterDialog(store)
    qtbot.addWidget(dialog)
    dialog.tabs.setCurrentIndex(2)
    set_cell(dialog, "contact", 3, "primary_phone", "0170 1234567")
    assert dialog.problem().startswith("Contacts, row 4: primary_phone '01701234567' is not "
                                       "an E.164 number")
    assert dialog.tabs.currentIndex() == 2  # typing elsewhere is not interrupted
    dialog.save()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert dialog.tabs.currentIndex() == 0
    table = dialog.sheets["contact"].table
    assert (table.currentRow(), table.currentColumn()) == (3, CONTACT_COLUMNS.index(
        "primary_phone"))
    assert store.path.read_bytes() == before  # nothing written
    if SHOTS:
        dialog.grab().save(str(SHOTS / "roster_dialog_problem.png"))
    set_cell(dialog, "contact", 3, "primary_phone", "+49 (0)170 1234567")
    assert dialog.problem() == ""
    with qtbot.waitSignal(dialog.accepted):
        dialog.save()
    assert DeskRoster(store.path).roster.contacts[3].primary_phone == "+491701234567"


def test_a_dangling_reference_is_named_with_its_tab_and_row(qtbot, store) -> None:
    dialog = RosterDialog(store)
    qtbot.addWidget(dialog)
    set_cell(dialog, "rotation", 1, "members", "m.hoffmann, p.bekker")
    assert dialog.problem() == ("Rotations, row 2 ('power-backup'): members: unknown contact "
                                "id 'p.bekker'; add it or fix the spelling")
    dialog.save()
    assert dialog.tabs.currentIndex() == 2
    table = dialog.sheets["rotation"].table
    assert (table.currentRow(), table.currentColumn()) == (1, 4)


def test_rows_can_be_added_and_removed_and_are_saved(qtbot, store) -> None:
    dialog = RosterDialog(store)
    qtbot.addWidget(dialog)
    sheet = dialog.sheets["override"]
    row = sheet.add_row()
    assert dialog.problem() == ""  # a blank row is not a record yet
    for column, text in (("person", "j.weber"), ("replacement", "t.fischer"),
                         ("start", "2026-08-03T09:00+02:00"), ("end", "tomorrow")):
        set_cell(dialog, "override", row, column, text)
    assert dialog.problem().startswith("Overrides, row 3: end 'tomorrow' cannot be read")
    set_cell(dialog, "override", row, "end", "2026-08-10T09:00+02:00")
    assert dialog.problem() == ""
    groups = dialog.sheets["group"]
    groups.table.selectRow(5)  # duty: its rotations now point at an unknown group
    dialog._remove(groups)
    assert "Rotations, row 11 ('duty-primary'): group: unknown group 'duty'" in dialog.problem()
    for _ in range(2):
        dialog.sheets["rotation"].table.selectRow(10)
        dialog._remove(dialog.sheets["rotation"])
    assert dialog.problem() == ""
    with qtbot.waitSignal(dialog.accepted):
        dialog.save()
    saved = DeskRoster(store.path)
    assert [g.name for g in saved.roster.groups][-1] == "facilities"
    assert saved.roster.overrides[-1].start == datetime(2026, 8, 3, 7, tzinfo=UTC)
    assert saved.routing == load_roster_toml(DEFAULT_EXAMPLE.read_text()).routing  # kept
    at = datetime(2026, 8, 4, 12, tzinfo=UTC)  # Weber's week, covered by Fischer
    assert saved.roster.on_call("power", "primary", at).id == "t.fischer"


def test_ask_returns_false_on_cancel(qtbot, store, monkeypatch) -> None:
    monkeypatch.setattr(RosterDialog, "exec", lambda self: RosterDialog.DialogCode.Rejected)
    assert RosterDialog.ask(store) is False


def cell(panel: OnCallPanel, group: str, role: str, column: int) -> str:
    table = panel.table
    for row in range(table.rowCount()):
        if (table.item(row, 0).text(), table.item(row, 1).text()) == (group, role):
            return table.item(row, column).text()
    raise AssertionError(f"no row for {group} {role}")


def test_panel_shows_now_and_next_and_follows_the_clock_once_a_minute(qtbot, store) -> None:
    # Sunday 29 March 2026, 01:58 UTC: the Berlin clocks have just jumped to summer time.
    clock = FakeClock(datetime(2026, 3, 29, 5, 58, tzinfo=UTC))
    events = DeskEvents(clock)
    panel = OnCallPanel(store, clock, events)
    qtbot.addWidget(panel)
    panel.resize(900, 420)
    assert cell(panel, "hvac", "primary", 2) == "Frank Hartmann"
    assert cell(panel, "hvac", "primary", 4) == "Mon 30.03 07:00"
    # 07:58 in Berlin: Katrin Neumann's 1-in-3 day runs until the 08:00 handoff
    assert cell(panel, "network", "primary", 2) == "Katrin Neumann"
    assert cell(panel, "network", "primary", 4) == "08:00"  # today: time only
    assert cell(panel, "network", "primary", 5) == "Lena Klein"
    if SHOTS:
        panel.grab().save(str(SHOTS / "oncall_panel.png"))
    clock.set(datetime(2026, 3, 30, 5, 0, 30, tzinfo=UTC))  # Monday 07:00:30 CEST
    with qtbot.waitSignal(events.tick):
        events.tick.emit()
    assert cell(panel, "hvac", "primary", 2) == "Ralf Krueger"
    # Within the same minute the panel does not recompute: an edit shows on the next minute.
    store.path.write_text(store.path.read_text().replace("Ralf Krueger", "Ralf Kruger"))
    clock.advance(timedelta(seconds=10))
    events.tick.emit()
    assert cell(panel, "hvac", "primary", 2) == "Ralf Krueger"
    clock.advance(timedelta(seconds=30))
    events.tick.emit()
    assert cell(panel, "hvac", "primary", 2) == "Ralf Kruger"
    assert panel.status.isHidden()


def test_panel_flags_nobody_on_call_and_a_broken_roster_file(qtbot, store) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 9, tzinfo=UTC))
    events = DeskEvents(clock)
    panel = OnCallPanel(store, clock, events)
    qtbot.addWidget(panel)
    text = store.path.read_text()
    cut = text.index('id = "power-backup"')  # start the power backup rotation next year
    store.path.write_text(text[:cut] + text[cut:].replace("anchor = 2026-01-05",
                                                          "anchor = 2027-01-04", 1))
    events.announce(None)
    assert cell(panel, "power", "backup", 2) == "NOBODY ON CALL"
    assert cell(panel, "power", "backup", 5) == "Miriam Hoffmann"
    store.path.write_text(text.replace('pattern = "weekly"', 'pattern = "monthly"', 1))
    clock.advance(timedelta(minutes=1))
    events.tick.emit()
    assert not panel.status.isHidden()
    assert "roster file not reloaded" in panel.status.text()
    assert "pattern 'monthly' is unknown" in panel.status.text()
    assert cell(panel, "power", "backup", 2) == "NOBODY ON CALL"  # last good roster kept
