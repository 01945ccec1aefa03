"""The queue/card divider moves only when the dispatcher drags it (issue 15): cards with very
different content (a long symptom in the title, unbroken words, a long timeline) leave it
where it is, also with the card panel dragged down to its least width; a drag is remembered
at once, so a desk restarted after a power cut opens with it."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.ui.events import DeskEvents
from app.ui.quit_guard import QuitGuard
from tests.ui.conftest import register

LONG_SYMPTOM = ("Whole building C network down: wards, patient intake, the pharmacy robot "
                "and every badge reader on floors one to four, since the storm at 01:40")


@pytest.fixture(autouse=True)
def _quit_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    """P1 cards stay open: the teardown's close() must not wait on the quit question."""
    monkeypatch.setattr(QuitGuard, "ask", classmethod(lambda _cls, _parent, _why: True))


def different_cards(desk: Desk) -> list[str]:
    short = register(desk, symptom="Fax")
    long_title = register(desk, symptom=LONG_SYMPTOM, priority_reason="x " * 90)
    unbroken = register(desk, symptom="Router", site="Campus-East-" + "Z" * 60,
                        q_what="https://monitoring.example.org/" + "q" * 150,
                        reporter="N" * 100)
    busy = register(desk, symptom="Phones dead", priority="P3")
    for n in range(25):
        desk.cards.add_note(busy.number, f"Note {n}: " + "called the carrier again " * 5,
                            desk.operator)
    return [c.number for c in (short, long_title, unbroken, busy)]


def shown_each(qtbot: QtBot, window: Any, numbers: list[str]) -> list[list[int]]:
    sizes = []
    for number in [*numbers, *reversed(numbers)]:
        window.show_number(number)
        qtbot.waitUntil(lambda n=number: window.card.card is not None
                        and window.card.card.number == n)
        QApplication.processEvents()
        sizes.append(window.split.sizes())
    return sizes


def test_showing_very_different_cards_never_moves_the_divider(
        qtbot: QtBot, desk: Desk, events: DeskEvents, ui_settings: QSettings) -> None:
    from app.ui.main_window import DeskWindow

    numbers = different_cards(desk)
    window = DeskWindow(desk, events, settings=ui_settings)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    qtbot.waitExposed(window)
    before, width = window.split.sizes(), window.width()
    assert shown_each(qtbot, window, numbers) == [before] * 8
    assert window.width() == width  # nor does the window grow to fit a title

    # The card panel dragged to its least width: a card that "needs" more still fits.
    window.split.setSizes([10_000, 1])
    narrow = window.split.sizes()
    assert narrow[1] == window.side.minimumWidth()
    assert shown_each(qtbot, window, numbers) == [narrow] * 8
    window.show_number(numbers[1])
    title = window.card.title
    assert title.text().endswith("since the storm at 01:40")  # whole, in text() and tooltip
    assert title.toolTip() == title.text()
    assert QLabel.text(title).endswith("…")  # what is painted: cut to the panel's width


def test_a_drag_is_remembered_at_once(qtbot: QtBot, desk: Desk, events: DeskEvents,
                                      ui_settings: QSettings) -> None:
    from app.ui.main_window import DeskWindow

    register(desk)
    window = DeskWindow(desk, events, settings=ui_settings)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    qtbot.waitExposed(window)
    handle = window.split.handle(1)
    start = handle.rect().center()
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(handle, start - QPoint(200, 0))
    qtbot.mouseRelease(handle, Qt.MouseButton.LeftButton, pos=start - QPoint(200, 0))
    dragged = window.split.sizes()
    assert dragged[1] > 400 + 150  # the card side took about 200 px from the queue

    # No clean quit (a power cut): the next window opens with the divider where it was left.
    again = DeskWindow(desk, events, settings=ui_settings)
    qtbot.addWidget(again)
    again.resize(1400, 860)
    again.show()
    qtbot.waitExposed(again)
    assert again.split.sizes() == dragged
