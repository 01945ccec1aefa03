"""Countdowns move with the fake clock on the shared tick, coloured by each card's own SLA
share; a breach is shown in the queue and the card, and written on the card's timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from app.services.cards.queue import Tone
from app.ui import style
from app.ui.launch import BreachRecorder, record_breaches
from app.ui.queue_model import COLUMNS
from tests.ui.conftest import cell, register

REACTION = [title for _, title in COLUMNS].index("Reaction")


def tone_of(window, number: str) -> object:
    model = window.queue.model
    return model.index(model.row_of(number), REACTION).data(Qt.ItemDataRole.ForegroundRole)


def test_countdowns_move_with_the_fake_clock(qtbot, window, desk, clock) -> None:
    card = register(desk)  # P1 network: 10 minutes to react
    window.events.announce()
    window.show_number(card.number)
    assert cell(window, card.number, "Reaction") == "10m 00s"
    assert tone_of(window, card.number) == style.TONE_TEXT[Tone.CALM]

    clock.advance(timedelta(minutes=6))  # 60 % used: amber
    window.events.tick.emit()
    qtbot.waitUntil(lambda: cell(window, card.number, "Reaction") == "4m 00s")
    assert tone_of(window, card.number) == style.TONE_TEXT[Tone.AMBER]
    assert window.card.clock_labels["reaction"].text() == "4m 00s"

    clock.advance(timedelta(minutes=2, seconds=30))  # 85 % used: red
    window.events.tick.emit()
    qtbot.waitUntil(lambda: cell(window, card.number, "Reaction") == "1m 30s")
    assert tone_of(window, card.number) == style.TONE_TEXT[Tone.RED]


def test_colours_follow_each_cards_own_allowance(qtbot, window, desk, clock) -> None:
    fast = register(desk)  # 10-minute reaction
    slow = register(desk, category="server", priority="P2", site="Data centre",
                    priority_reason="one host")  # 15-minute reaction
    window.events.announce()
    clock.advance(timedelta(minutes=5))
    window.events.tick.emit()
    qtbot.waitUntil(lambda: cell(window, fast.number, "Reaction") == "5m 00s")
    assert tone_of(window, fast.number) == style.TONE_TEXT[Tone.AMBER]  # 50 % used
    assert tone_of(window, slow.number) == style.TONE_TEXT[Tone.CALM]  # 33 % used


@pytest.mark.parametrize("follow_queue", [True, False], ids=["from-queue-rows", "re-read"])
def test_a_breach_is_shown_and_recorded(qtbot, window, desk, clock, events,
                                        follow_queue: bool) -> None:
    if follow_queue:
        record_breaches(desk, events, window)  # as run_window wires it
    else:
        BreachRecorder(desk, events)  # the wallboard alone: no queue to follow
    card = register(desk)
    window.events.announce()
    window.show_number(card.number)

    clock.advance(timedelta(minutes=9, seconds=50))
    events.tick.emit()
    clock.advance(timedelta(seconds=20))
    # The rows were built at registration, before the deadline: the recorder must judge
    # them at this tick's time, not by the state they were built with.
    events.tick.emit()

    qtbot.waitUntil(lambda: cell(window, card.number, "Reaction") == "BREACHED 10s")
    model = window.queue.model
    index = model.index(model.row_of(card.number), REACTION)
    assert index.data(Qt.ItemDataRole.BackgroundRole) == style.TONE_BACKGROUND[Tone.BREACHED]
    assert window.card.clock_labels["reaction"].text() == "BREACHED 10s"
    # The recorder wrote the breach as a fact; the card's timeline shows it, newest first.
    qtbot.waitUntil(lambda: window.card.timeline.item(0, 2).text().startswith("BREACH"))
    kinds = [e.kind for e in desk.cards.timeline(card.number)]
    assert kinds.count("sla.breach") == 1
    events.tick.emit()  # a second tick does not write it twice
    assert [e.kind for e in desk.cards.timeline(card.number)].count("sla.breach") == 1


def test_acknowledging_stops_the_reaction_clock(qtbot, window, desk, clock, monkeypatch) -> None:
    from app.services.cards.commands import Acknowledge
    from app.ui.dialogs import AckDialog

    card = register(desk)
    window.events.announce()
    window.show_number(card.number)
    monkeypatch.setattr(AckDialog, "ask", classmethod(
        lambda cls, parent, card, previous=None: None if previous else Acknowledge(
            card.number, "L. Fischer (network on call)", "in_person")))
    clock.advance(timedelta(minutes=3))
    assert window.card.acknowledge() is True
    qtbot.waitUntil(lambda: cell(window, card.number, "Reaction") == "met")
    assert desk.cards.get(card.number).acknowledged_by == "L. Fischer (network on call)"
