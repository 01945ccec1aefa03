"""The command bar on a real journal: typed commands change cards through the CardService,
refusals say what is wrong and write nothing, completion and history help the keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.application import Desk
from app.ui.command_bar import CommandBar
from app.ui.events import DeskEvents
from app.ui.status_strip import MessageBar
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


# -- issue 15: actions that answer ----------------------------------------------------------


@pytest.fixture
def messages(qtbot, events: DeskEvents) -> MessageBar:
    """The window's one message place, on the same events as the bar."""
    widget = MessageBar(events)
    qtbot.addWidget(widget)
    return widget


def test_waiting_is_refused_with_both_choices_and_nothing_written(
    qtbot, bar, desk, events
) -> None:
    number = register_directly(desk, "HQ", "network", "Floor 2 has no network")
    before = desk.cards.timeline(number)
    heard = Heard.on(events)
    _type_and_enter(qtbot, bar, "/s 1 waiting")
    assert len(heard.errors) == 1
    assert "waiting_customer (Waiting for customer)" in heard.errors[0]
    assert "waiting_contractor (Waiting for contractor)" in heard.errors[0]
    assert desk.cards.timeline(number) == before
    assert desk.cards.get(number).status == "registered"
    assert heard.changes == [] and heard.infos == []
    assert bar.text() == "/s 1 waiting", "nothing typed is lost"


@pytest.mark.parametrize("typed", ["1", "b1", "B1", "b-1", "B-0001"])
def test_short_numbers_reach_this_desks_card(qtbot, bar, desk, events, typed: str) -> None:
    number = register_directly(desk, "HQ", "network", "Floor 2 has no network")
    assert number == "B-0001"
    heard = Heard.on(events)
    _type_and_enter(qtbot, bar, f"/n {typed} called site duty")
    assert heard.errors == []
    notes = [e.payload["text"] for e in desk.cards.timeline(number) if e.kind == "card.note"]
    assert notes == ["called site duty"]


def test_short_numbers_open_a_card(qtbot, bar, desk, events) -> None:
    number = register_directly(desk, "HQ", "network", "No network")
    with qtbot.waitSignal(bar.open_card, timeout=2000) as signal:
        _type_and_enter(qtbot, bar, "o b1")
    assert signal.args == [number]


def test_an_unknown_short_number_says_so(qtbot, bar, desk, events, messages) -> None:
    register_directly(desk, "HQ", "network", "No network")
    heard = Heard.on(events)
    _type_and_enter(qtbot, bar, "s 99 in progress")
    assert heard.errors and "no card B-0099" in heard.errors[-1]
    assert messages.kind == "error"
    assert heard.changes == []
    assert bar.text() == "s 99 in progress"


def test_every_result_is_echoed_in_words(qtbot, bar, desk, events, messages) -> None:
    number = register_directly(desk, "HQ", "network", "No network")
    heard = Heard.on(events)
    lines = {
        "/s 1 waiting_customer": f"{number} → Waiting for customer; recovery clock paused",
        "/p 1 P1 whole floor down": f"{number}: priority P1 (was P2; reason: whole floor down)",
        "/n 1 vendor called back": f"{number}: note added",
        "/a 1 Ivanov": f"{number}: assigned to Ivanov",
        "/ack 1 M. Kranz phone": (
            f"{number}: acknowledged by M. Kranz (phone); reaction clock stopped"
        ),
        "/o 1": f"{number}: shown (Waiting for customer, P1)",
    }
    for line, said in lines.items():
        _type_and_enter(qtbot, bar, line)
        assert heard.infos[-1] == said
        assert (messages.kind, messages.text.text()) == ("info", said)
    assert heard.errors == []
    assert not any("done (" in info for info in heard.infos)


def test_a_success_clears_the_previous_error(qtbot, bar, desk, events, messages) -> None:
    number = register_directly(desk, "HQ", "network", "No network")
    _type_and_enter(qtbot, bar, "/s 1 waiting")
    assert messages.kind == "error"
    assert "waiting_contractor" in messages.text.text()
    _type_and_enter(qtbot, bar, "/s 1 waiting_contractor part ordered")
    assert desk.cards.get(number).status == "waiting_contractor"
    assert messages.kind == "info"
    assert messages.text.text() == (
        f"{number} → Waiting for contractor; recovery clock paused (reason: part ordered)"
    )
    assert "Not done" not in messages.text.text()
    # Opening a card is a success too: it replaces a refusal as well.
    _type_and_enter(qtbot, bar, "/o 99")
    assert messages.kind == "error"
    _type_and_enter(qtbot, bar, "/o 1")
    assert messages.kind == "info"
