"""The command bar on a real journal: typed commands change cards through the CardService,
refusals say what is wrong and write nothing, completion and history help the keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.bootstrap import Desk
from app.ui.command_bar import CommandBar
from app.ui.events import DeskEvents
from tests.ui import intake_fixtures
from tests.ui.intake_fixtures import Heard, make_desk, register_directly

# This module's desk (its clock and operator), shared with the other intake tests.
clock, desk, events = intake_fixtures.clock, intake_fixtures.desk, intake_fixtures.events


@pytest.fixture
def bar(qtbot, desk: Desk, events: DeskEvents) -> CommandBar:
    widget = CommandBar(desk, events)
    qtbot.addWidget(widget)
    widget.resize(700, 30)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    widget.setFocus()
    return widget


def _type_and_enter(qtbot, bar: CommandBar, line: str) -> None:
    bar.setText(line)
    qtbot.keyClick(bar, Qt.Key.Key_Return)


def test_status_change_through_the_command_bar(qtbot, bar, desk, events) -> None:
    number = register_directly(desk, "HQ", "network", "Floor 2 has no network")
    heard = Heard.on(events)
    with qtbot.waitSignal(events.changed, timeout=2000):
        qtbot.keyClicks(bar, f"/s {number.lower()} in progress engineer on the way")
        bar.completer_.popup().hide()
        qtbot.keyClick(bar, Qt.Key.Key_Return)
    card = desk.cards.get(number)
    assert card.status == "in_progress"
    entry = desk.cards.timeline(number)[-1]
    assert (entry.kind, entry.payload["reason"]) == ("card.status", "engineer on the way")
    assert entry.operator == "A. Novak"
    assert bar.text() == ""
    assert heard.errors == []
    assert bar.history == [f"/s {number.lower()} in progress engineer on the way"]


def test_priority_change_without_a_reason_is_refused_and_nothing_written(
    qtbot, bar, desk, events
) -> None:
    number = register_directly(desk, "HQ", "network", "Floor 2 has no network")
    before = desk.cards.timeline(number)
    heard = Heard.on(events)
    with qtbot.waitSignal(events.error, timeout=2000) as signal:
        _type_and_enter(qtbot, bar, f"/p {number} P1")
    message = signal.args[0]
    assert "needs a one-line reason" in message
    assert "p B-0042 P1 reason" in message, "the message shows the form expected"
    assert desk.cards.timeline(number) == before
    assert desk.cards.get(number).priority == "P2"
    assert heard.changes == []
    assert bar.text() == f"/p {number} P1", "nothing typed is lost"
    assert bar.history == []
    # With the reason added the same line goes through.
    _type_and_enter(qtbot, bar, f"/p {number} P1 second floor down too")
    assert desk.cards.get(number).priority == "P1"


def test_a_refusal_from_the_rules_reaches_the_error_place(qtbot, tmp_path, clock) -> None:
    observer = make_desk(tmp_path / "observer.sqlite", clock, role="observer")
    try:
        number = register_directly(observer, "HQ", "network", "No network")
        events = DeskEvents(clock)
        widget = CommandBar(observer, events)
        qtbot.addWidget(widget)
        heard = Heard.on(events)
        _type_and_enter(qtbot, widget, f"p {number} P1 whole floor")
        assert heard.errors and "may not change a priority" in heard.errors[0]
        assert observer.cards.get(number).priority == "P2"
        assert heard.changes == []
    finally:
        observer.close()


def test_open_by_number(qtbot, bar, desk, events) -> None:
    number = register_directly(desk, "HQ", "network", "No network")
    heard = Heard.on(events)
    with qtbot.waitSignal(bar.open_card, timeout=2000) as signal:
        _type_and_enter(qtbot, bar, f"o {number}")
    assert signal.args == [number]
    assert heard.changes == [] and heard.errors == []
    _type_and_enter(qtbot, bar, "o B-0999")
    assert "no card B-0999" in heard.errors[-1]


def test_completion_offers_open_cards_and_tab_takes_one(qtbot, bar, desk, events) -> None:
    first = register_directly(desk, "HQ", "network", "No network")
    second = register_directly(desk, "HQ", "power", "No power")
    qtbot.keyClicks(bar, "s B-")
    popup = bar.completer_.popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    model = bar.completer_.completionModel()
    shown = [model.index(i, 0).data() for i in range(model.rowCount())]
    assert shown == [f"s {first} ", f"s {second} "]
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: bar.text() == f"s {first} ", timeout=2000)
    assert bar.completions() == [f"s {first} registered ", f"s {first} in_progress ",
                                 f"s {first} waiting_customer ",
                                 f"s {first} waiting_contractor ", f"s {first} restored ",
                                 f"s {first} closed "]
    # A card registered elsewhere is offered once the app-wide `changed` says so.
    third = register_directly(desk, "HQ", "water", "Leak")
    bar.setText("o B-")
    assert f"o {third} " not in bar.completions()
    events.announce(None)
    assert f"o {third} " in bar.completions()


def test_up_and_down_walk_the_history(qtbot, bar, desk) -> None:
    number = register_directly(desk, "HQ", "network", "No network")
    for line in (f"n {number} first call back", f"n {number} second call back"):
        _type_and_enter(qtbot, bar, line)
    bar.setText("half typed")
    qtbot.keyClick(bar, Qt.Key.Key_Up)
    assert bar.text() == f"n {number} second call back"
    qtbot.keyClick(bar, Qt.Key.Key_Up)
    assert bar.text() == f"n {number} first call back"
    qtbot.keyClick(bar, Qt.Key.Key_Up)
    assert bar.text() == f"n {number} first call back"
    qtbot.keyClick(bar, Qt.Key.Key_Down)
    qtbot.keyClick(bar, Qt.Key.Key_Down)
    assert bar.text() == "half typed", "Down past the newest brings back what was typed"
    notes = [e.payload["text"] for e in desk.cards.timeline(number) if e.kind == "card.note"]
    assert notes == ["first call back", "second call back"]


def test_a_command_announces_only_the_card_it_changed(qtbot, desk: Desk, events: DeskEvents,
                                                      bar: CommandBar) -> None:
    number = register_directly(desk, "HQ", "network", "switch down")
    card_id = desk.cards.get(number).id
    with qtbot.waitSignal(events.changed) as changed:
        bar.setText(f"n {number} vendor called back")
        bar.run_line()
    assert changed.args == [frozenset({card_id})]
