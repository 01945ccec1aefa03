"""The window as a whole: keys, focus, the one error place, remembered geometry, the demo."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence

from app.ui.actions import ACTIONS
from app.ui.launch import fill_if_empty
from tests.ui.conftest import open_desk, register


def test_every_action_has_its_own_shortcut(window) -> None:
    keys = [k for spec in ACTIONS for k in spec.shortcuts]
    assert all(keys) and len(keys) == len(set(keys))
    canned = [a for a in window.registry.specs if a.key.startswith("canned:")]
    assert [a.shortcuts for a in canned] == [("F5",), ("F6",), ("F7",), ("F8",)]
    for spec in window.registry.specs:
        action = window.registry.action(spec.key)
        assert action.shortcuts()[0] == QKeySequence(spec.shortcuts[0])


def test_new_events_never_steal_focus_or_typed_text(qtbot, window, desk, clock) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    window.card.quick_note.setFocus()
    qtbot.waitUntil(window.card.quick_note.hasFocus)
    qtbot.keyClicks(window.card.quick_note, "caller says the lights are ")

    # Another desk action lands: a new card, a change on the card in view, a tick.
    register(desk, site="Branch 3", priority="P2", priority_reason="x")
    desk.cards.add_note(card.number, "engineer on the way", desk.operator)
    window.events.announce(frozenset({card.id}))
    window.events.announce()
    clock.advance(timedelta(seconds=1))
    window.events.tick.emit()

    assert window.card.quick_note.hasFocus()
    assert window.card.quick_note.text() == "caller says the lights are "
    assert window.card.card.number == card.number  # the view stayed on the same card


def test_quick_note_is_written_and_a_refusal_keeps_the_text(qtbot, window, desk) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    window.card.quick_note.setText("reporter called back")
    assert window.card.add_quick_note() is True
    assert window.card.quick_note.text() == ""
    assert desk.cards.timeline(card.number)[-1].payload["text"] == "reporter called back"

    window.card.quick_note.setText("   ")
    assert window.card.add_quick_note() is False
    assert "a note needs text" in window.message_bar.text.text()
    window.registry.action("dismiss").trigger()
    assert not window.message_bar.isVisible()


def test_canned_note_key_adds_to_the_card_in_view(qtbot, window, desk) -> None:
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    window.registry.action("canned:F6").trigger()
    last = desk.cards.timeline(card.number)[-1]
    assert last.kind == "card.note" and last.payload["text"].startswith("On-call engineer")


def test_geometry_is_remembered(qtbot, desk, events, tmp_path) -> None:
    from app.ui.main_window import DeskWindow

    path = str(tmp_path / "geometry.ini")
    first = DeskWindow(desk, events, settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.resize(700, 520)  # inside the offscreen screen (800x600): restore clamps
    first.show()
    qtbot.waitExposed(first)
    size = first.size()
    assert size.height() == 520  # the width may be held at the panels' minimum
    first.close()
    again = DeskWindow(desk, events, settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    # Not the 900 px a first start gets (the offscreen screen is 800 px wide, so restoring
    # clamps the width; the height shows the geometry came back).
    assert again.height() == 520


def test_demo_fills_only_an_empty_journal(tmp_path, clock) -> None:
    desk = open_desk(tmp_path / "demo.sqlite", clock)
    try:
        written = fill_if_empty(desk)
        assert written == desk.journal.count_cards() > 10
        assert fill_if_empty(desk) == 0  # never adds to a journal that has cards
        # Later entries are stamped by the desk's clock again, not the demo's walking one.
        card = desk.cards.open_cards()[0]
        after = desk.cards.add_note(card.number, "x", desk.operator)
        assert desk.cards.timeline(after.number)[-1].at == clock.now()
    finally:
        desk.close()


def test_intake_opens_beside_the_queue_and_registering_shows_the_card(qtbot, window) -> None:
    window.registry.action("intake").trigger()
    assert window.side.currentWidget() is window.intake
    window.intake.registered.emit("B-0099")  # an unknown number: the card view says so
    assert window.side.currentWidget() is window.card
