"""The triage tray in the desk window, keyboard-first, on a real journal with the real intake
service: the count is always in view and never takes the focus, F3 opens the tray oldest
first, Enter accepts (the intake form pre-filled; its save registers the card and accepts the
item), A attaches by a short number, D dismisses only with a reason, Esc gives the cursor
back, and an item another process writes shows up in the count."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.clock import FakeClock
from app.protocol.intake import Alert
from app.ui.tray import AttachDialog, DismissDialog
from app.ui.tray_model import COLUMNS, PROBABLE
from tests.ui.conftest import register

ROOT = Path(__file__).resolve().parents[2]
# Another process on the same journal, as a monitoring hook or the desk's own door would be:
# it opens the journal through the composition root and hands the service one alert.
RECEIVE = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from app.bootstrap import build_desk
from app.config import Settings
from app.protocol.intake import Alert
desk = build_desk(Settings(journal=Path(sys.argv[1]), operator="monitoring hook").validated())
desk.intake.receive([Alert(integration="nagios", channel="webhook", dedup_key=sys.argv[2],
                           summary=sys.argv[3], site="HQ", category="network",
                           received_at=datetime.now(UTC))], "monitoring hook")
desk.close()
"""


def receive_elsewhere(journal: Path, key: str, summary: str) -> None:
    """One intake item written by a separate Python process (the real journal, the real
    service), for the tests here and the real-window suite."""
    done = subprocess.run([sys.executable, "-c", RECEIVE, str(journal), key, summary],
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def alert(clock: FakeClock, key: str, summary: str, **extra: Any) -> Alert:
    fields: dict[str, Any] = {"integration": "prometheus", "channel": "alertmanager",
                              "site": "HQ", "category": "network", "node": "sw-core-1",
                              "metric": "ifOperStatus"}
    fields.update(extra)
    return Alert(dedup_key=key, summary=summary, received_at=clock.now(), **fields)


@pytest.fixture
def items(desk: Desk, clock: FakeClock) -> list[str]:
    """Two pending items, twelve and five minutes old (the older one repeated twice)."""
    first = desk.intake.receive([alert(clock, "k-switch", "Core switch down")], desk.operator)
    desk.intake.receive([alert(clock, "k-switch", "Core switch down")] * 2, desk.operator)
    clock.advance(timedelta(minutes=7))
    second = desk.intake.receive([alert(clock, "k-ups", "UPS on battery", node="ups-2",
                                        site="Branch 3", category="power",
                                        metric="")], desk.operator)
    clock.advance(timedelta(minutes=5))
    return [first[0].item_id, second[0].item_id]


@pytest.fixture
def tray_window(window: Any, items: list[str]) -> Any:
    window.events.announce(None)  # what the journal watch says after another writer's commit
    window.events.tick.emit()  # read on the next tick while the tray is not looked at
    return window


def _cells(window: Any, row: int) -> dict[str, str]:
    model = window.tray.model
    return {title: str(model.index(row, col).data()) for col, title in enumerate(COLUMNS)}


def _open_tray(qtbot: QtBot, window: Any) -> None:
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F3)
    qtbot.waitUntil(lambda: window.tray.table.hasFocus())


def _fill_missing(form: Any) -> None:
    """What the dispatcher adds: the answers the alert could not give."""
    answers = {"workaround": "none", "onsite_contact": "J. Weber, ext 2201",
               "priority_reason": "whole site offline", "impact": "high", "urgency": "high"}
    for key, value in answers.items():
        widget = form.ui.inputs[key]
        if isinstance(widget, QLineEdit) and not widget.text():
            widget.setText(value)
        elif isinstance(widget, QComboBox) and not widget.currentData():
            widget.setCurrentIndex(widget.findData(value))


def test_the_count_and_oldest_age_show_without_taking_the_focus(
        qtbot: QtBot, window: Any, items: list[str], clock: FakeClock) -> None:
    window.queue.focus_table()
    assert window.tray_count.text() == "Tray 0"  # read before the items were announced
    window.events.announce(None)
    assert window.tray_count.text() == "Tray 0", "not read at once: nobody looks at the tray"
    window.events.tick.emit()
    assert window.tray_count.text() == "Tray 2 · oldest 12 min"
    assert window.side.tabText(window.side.indexOf(window.tray)) == "Tray 2 (F3)"
    clock.advance(timedelta(minutes=3))
    window.events.tick.emit()
    assert window.tray_count.text() == "Tray 2 · oldest 15 min"
    assert window.tray_count.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert window.queue.table.hasFocus(), "the count took the focus"


def test_f3_lists_the_pending_items_oldest_first(qtbot: QtBot, tray_window: Any,
                                                 qtmodeltester: Any) -> None:
    window = tray_window
    _open_tray(qtbot, window)
    assert window.side.currentWidget() is window.tray
    assert window.tray.table.currentIndex().row() == 0
    first, second = _cells(window, 0), _cells(window, 1)
    assert first == {"Age": "12 min", "Channel": "alertmanager", "Integration": "prometheus",
                     "Summary": "Core switch down", "Count": "×3", "Site": "HQ", "Flag": "",
                     "Maintenance": ""}
    assert second["Summary"] == "UPS on battery" and second["Age"] == "5 min"
    assert second["Count"] == "1" and second["Site"] == "Branch 3"
    qtmodeltester.check(window.tray.model)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_Down)
    assert window.tray.current().id == window.tray.model.item_at(1).id


def test_enter_opens_the_form_prefilled_and_its_save_accepts_the_item(
        qtbot: QtBot, tray_window: Any, items: list[str], desk: Desk) -> None:
    window = tray_window
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_Return)

    form = window.intake
    assert window.side.currentWidget() is form and form.item_id == items[0]
    values = form.values()
    assert values["symptom"] == "Core switch down"
    assert values["q_what"] == "Core switch down (ifOperStatus)"
    assert (values["site"], values["category"], values["equipment"]) == ("HQ", "network",
                                                                         "sw-core-1")
    assert values["source_channel"] == "alertmanager: prometheus"
    assert values["q_when"].startswith("since ")
    # The initial priority from the intake rules' defaults (impact x urgency), kept editable.
    assert (values["impact"], values["urgency"]) == ("medium", "medium")
    assert values["priority"] == desk.rules.priority_for("medium", "medium")
    # The cursor waits on the first answer the alert could not give.
    assert QApplication.focusWidget() is form.first_missing()
    assert isinstance(form.first_missing(), QLineEdit) and not form.first_missing().text()

    _fill_missing(form)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return,
                   Qt.KeyboardModifier.ControlModifier)

    item = desk.intake.item(items[0])
    assert item.state == "accepted" and item.number
    card = desk.cards.get(item.number)
    assert card.symptom == "Core switch down" and card.site == "HQ"
    assert card.fields["equipment"] == "sw-core-1"
    assert [i.id for i in desk.intake.pending()] == [items[1]]
    assert window.tray_count.text().startswith("Tray 1 ")
    assert window.card.card is not None and window.card.card.number == card.number
    assert form.item_id is None  # the next report is a fresh one


def test_accepting_never_overwrites_a_half_typed_report(
        qtbot: QtBot, tray_window: Any, items: list[str], desk: Desk) -> None:
    window = tray_window
    window.open_intake()
    window.intake.ui.q_what.setText("caller from ward C: printers down")
    errors: list[str] = []
    window.events.error.connect(errors.append)
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_Return)

    assert errors and "half-typed report" in errors[-1]
    assert window.intake.values()["q_what"] == "caller from ward C: printers down"
    assert window.intake.item_id is None
    assert desk.intake.item(items[0]).state == "pending"


def test_a_attaches_the_item_to_a_card_by_its_short_number(
        qtbot: QtBot, tray_window: Any, items: list[str], desk: Desk,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = tray_window
    card = register(desk)  # B-0001
    asked: list[tuple[str, str]] = []
    answers = iter(["9999", "1"])

    def ask(_cls: Any, _parent: Any, _item: Any, previous: str = "", error: str = "") -> str:
        asked.append((previous, error))
        return next(answers)

    monkeypatch.setattr(AttachDialog, "ask", classmethod(ask))
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_A)

    # B-9999 does not exist: asked again with what was typed and why; then "1" is B-0001.
    assert asked[0] == ("", "") and asked[1][0] == "9999" and "B-9999" in asked[1][1]
    item = desk.intake.item(items[0])
    assert (item.state, item.number) == ("attached", card.number)
    assert any("Core switch down" in str(e.payload.get("text", ""))
               for e in desk.cards.timeline(card.number))
    assert [i.id for i in desk.intake.pending()] == [items[1]]
    assert window.tray.table.hasFocus()


def test_d_needs_a_reason_and_an_empty_one_changes_nothing(
        qtbot: QtBot, tray_window: Any, items: list[str], desk: Desk,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = tray_window
    asked: list[tuple[str, str]] = []
    answers = iter(["   ", None])

    def ask(_cls: Any, _parent: Any, _item: Any, previous: str = "",
            error: str = "") -> str | None:
        asked.append((previous, error))
        return next(answers)

    monkeypatch.setattr(DismissDialog, "ask", classmethod(ask))
    entries_before = len(desk.journal.entries(items[0]))
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_D)

    assert len(asked) == 2 and "reason is required" in asked[1][1]
    assert window.message_bar.kind == "error"
    assert "reason is required" in window.message_bar.text.text()
    assert "Nothing was changed" in window.message_bar.text.text()
    assert desk.intake.item(items[0]).state == "pending"
    assert len(desk.journal.entries(items[0])) == entries_before
    assert window.tray.model.rowCount() == 2

    answers = iter(["test alert from the monitoring team"])
    qtbot.keyClick(window.tray.table, Qt.Key.Key_D)
    item = desk.intake.item(items[0])
    assert (item.state, item.reason) == ("dismissed", "test alert from the monitoring team")
    assert window.message_bar.kind == "info"  # the success replaces the earlier error
    # The cursor moves on to the next oldest, so D, D, D works down the list.
    assert window.tray.current().id == items[1] and window.tray.table.hasFocus()
    assert window.tray_count.text().startswith("Tray 1 ")


def test_esc_closes_the_tray_and_gives_the_cursor_back(qtbot: QtBot, tray_window: Any) -> None:
    window = tray_window
    window.focus_command_bar()
    assert window.command_bar.hasFocus()
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_Escape)
    assert window.side.currentWidget() is window.card
    assert window.command_bar.hasFocus()

    window.open_intake()  # from the intake form: back to the form, in the same field
    window.intake.ui.inputs["reporter"].setFocus()
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_Escape)
    assert window.side.currentWidget() is window.intake
    assert window.intake.ui.inputs["reporter"].hasFocus()


def test_an_empty_tray_says_so(qtbot: QtBot, window: Any) -> None:
    _open_tray(qtbot, window)
    assert window.tray.model.rowCount() == 0
    assert window.tray.empty.isVisibleTo(window.tray)
    infos: list[str] = []
    window.events.info.connect(infos.append)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_D)
    assert infos == ["The tray is empty: nothing to triage."]


def test_three_similar_reports_are_flagged(qtbot: QtBot, window: Any, desk: Desk,
                                           clock: FakeClock) -> None:
    desk.intake.receive([alert(clock, f"k{n}", f"Link down {n}") for n in range(3)],
                        desk.operator)
    window.events.announce(None)
    window.events.tick.emit()
    assert {_cells(window, r)["Flag"] for r in range(3)} == {PROBABLE}
    # Accepting one proposes the raise: high impact and urgency, and the reason says why.
    first = desk.intake.pending()[0]
    proposed = desk.intake.prefill(first.id)
    assert (proposed["impact"], proposed["urgency"]) == ("high", "high")
    assert proposed["priority_reason"].startswith("probable emergency: 3 or more similar")


@pytest.fixture
def watched(window: Any) -> Iterator[Any]:
    window.background.start()  # the journal watch the window runs (no store, no Twilio)
    yield window
    window.background.stop()


def test_the_count_updates_when_another_process_writes_an_item(
        qtbot: QtBot, watched: Any, desk: Desk) -> None:
    window = watched
    window.queue.focus_table()
    receive_elsewhere(desk.journal.path, "nagios-hq-1", "HQ uplink flapping")
    # The watch announces it within 0.2 s; the tray reads it on the next 1-second tick.
    qtbot.waitUntil(lambda: window.tray.tray.stale, timeout=5000)
    window.events.tick.emit()
    assert window.tray_count.text().startswith("Tray 1 ")
    assert window.tray.model.rows[0].texts[3] == "HQ uplink flapping"
    assert window.queue.table.hasFocus(), "a new item took the focus"


def test_the_wallboard_shows_the_trays_count_and_oldest_age(
        qtbot: QtBot, desk: Desk, events: Any, items: list[str], clock: FakeClock) -> None:
    from app.ui.wallboard import WallboardWindow

    board = WallboardWindow(desk, events)
    qtbot.addWidget(board)
    assert board.view is not None
    assert (board.view.tray, board.view.tray_waiting) == ("2 · oldest 12 min", True)
    clock.advance(timedelta(minutes=50))
    events.tick.emit()
    assert board.view.tray == "2 · oldest 1 h 02"
    desk.intake.dismiss(items[0], "duplicate of the UPS alert", desk.operator)
    desk.intake.dismiss(items[1], "test", desk.operator)
    events.announce(None)
    assert (board.view.tray, board.view.tray_waiting) == ("0", False)
    # A maintenance window on now is on the board: its alerts collect and page nobody.
    desk.intake.setup.schedule_maintenance("core switch firmware", clock.now(),
                                           clock.now() + timedelta(hours=2), desk.operator)
    events.announce(None)
    until = (clock.now() + timedelta(hours=2)).astimezone(desk.rules.tz).strftime("%H:%M")
    assert board.view.tray == f"0 · maintenance: core switch firmware until {until}"


def test_a_prefilled_report_keeps_its_item_through_esc_and_a_restart(
        qtbot: QtBot, tray_window: Any, items: list[str], desk: Desk) -> None:
    from app.ui.intake import IntakeForm

    window = tray_window
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_Return)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)  # the draft is kept
    assert window.side.currentWidget() is window.card

    again = IntakeForm(desk, window.events)  # the window opened anew on the same journal
    qtbot.addWidget(again)
    assert again.item_id == items[0]
    assert again.values()["symptom"] == "Core switch down"


def test_f1_lists_the_tray_key_and_its_keys(window: Any) -> None:
    rows = dict(window.registry.cheat_sheet())
    assert rows["F3"] == "Triage tray"
    assert "dismiss it with a reason" in rows["Enter / A / D"]


def test_the_forms_look_alike_attach_attaches_the_item(
        qtbot: QtBot, tray_window: Any, items: list[str], desk: Desk) -> None:
    window = tray_window
    card = register(desk, site="HQ", symptom="Core switch down")  # the same incident, open
    _open_tray(qtbot, window)
    qtbot.keyClick(window.tray.table, Qt.Key.Key_Return)

    form = window.intake
    assert form.ui.matches.count() == 1  # the pre-filled site and category found it
    assert form.ui.attach_button.text() == f"&Attach report to {card.number}"
    qtbot.mouseClick(form.ui.attach_button, Qt.MouseButton.LeftButton)  # Alt+A (real window)

    item = desk.intake.item(items[0])
    assert (item.state, item.number) == ("attached", card.number)
    assert desk.cards.get(card.number).report_count == card.report_count + 1
    assert len(desk.cards.open_cards()) == 1, "a second card was registered"
