"""The queue's focus marker (issue 15): while the queue has the keyboard, the current row wears
a ring (black band, white band inside) that reads on every colour a row may be painted in, a
P1's red badge and a breached clock as much as the plain base or a selected row's blue; it
follows the arrow keys and goes when the keyboard leaves the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.clock import FakeClock
from app.ui import style
from app.ui.quit_guard import QuitGuard
from tests.ui.conftest import register

AA = 4.5


@pytest.fixture(autouse=True)
def _quit_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    """P1 cards stay open: the teardown's close() must not wait on the quit question."""
    monkeypatch.setattr(QuitGuard, "ask", classmethod(lambda _cls, _parent, _why: True))


def painted(window: Any) -> QImage:
    return window.queue.table.viewport().grab().toImage()


def ring_on(window: Any, image: QImage, row: int) -> list[bool]:
    """Per column: is the row's top edge black with white under it, at the cell's middle?"""
    table = window.queue.table
    top = table.rowViewportPosition(row)
    out = []
    for column in range(table.model().columnCount()):
        x = table.columnViewportPosition(column) + table.columnWidth(column) // 2
        out.append(image.pixelColor(x, top) == style.FOCUS_RING_OUTER
                   and image.pixelColor(x, top + style.FOCUS_RING_WIDTHS[0])
                   == style.FOCUS_RING_INNER)
    return out


def test_the_current_row_wears_a_ring_on_every_colour(qtbot: QtBot, desk: Desk, window: Any,
                                                      clock: FakeClock) -> None:
    register(desk, symptom="Core switch down")  # P1: a red badge, then a breached clock
    register(desk, symptom="Printer jam", priority="P3")
    register(desk, symptom="Phone dead", priority="P4")
    clock.advance(timedelta(minutes=12))  # the P1's 10-minute reaction clock has breached
    window.events.announce(None)
    window.events.tick.emit()
    table = window.queue.table
    qtbot.waitUntil(lambda: window.queue.model.rowCount() == 3)
    window.queue.select_number(window.queue.model.rows[0].number)
    window.activateWindow()
    window.queue.focus_table()
    qtbot.waitUntil(table.hasFocus)
    assert window.queue.model.rows[0].priority == "P1"
    reaction = 6
    assert "BREACHED" in str(window.queue.model.index(0, reaction).data())

    image = painted(window)
    assert ring_on(window, image, 0) == [True] * 9  # over the badge, the clocks, the text
    assert ring_on(window, image, 1) == [False] * 9
    middle = table.rowViewportPosition(0) + table.rowHeight(0) // 2
    assert image.pixelColor(0, middle) == style.FOCUS_RING_OUTER  # the ring's left end
    assert image.pixelColor(table.columnWidth(0) // 2, middle) != style.FOCUS_RING_OUTER

    qtbot.keyClick(table, Qt.Key.Key_Down)  # the ring follows the keys
    image = painted(window)
    assert ring_on(window, image, 1) == [True] * 9 and not any(ring_on(window, image, 0))

    window.queue.focus_filter()  # the keyboard leaves the queue: so does the marker
    qtbot.waitUntil(lambda: not table.hasFocus())
    assert not any(ring_on(window, painted(window), 1))


def test_the_ring_meets_aa_on_whatever_the_row_is_painted_in(qapp: QApplication) -> None:
    palette = qapp.palette()
    behind = {
        "base": palette.color(QPalette.ColorRole.Base),
        "alternate": palette.color(QPalette.ColorRole.AlternateBase),
        "selected": palette.color(QPalette.ColorRole.Highlight),
        "selected, window inactive": palette.color(QPalette.ColorGroup.Inactive,
                                                   QPalette.ColorRole.Highlight),
        **{f"clock {tone.name}": brush.color() for tone, brush in
           style.TONE_BACKGROUND.items()},
        **{f"badge {p}": brush.color() for p, brush in style.PRIORITY_BACKGROUND.items()},
    }
    ratios = {name: max(style.contrast(style.FOCUS_RING_OUTER, colour),
                        style.contrast(style.FOCUS_RING_INNER, colour))
              for name, colour in behind.items()}
    assert min(ratios.values()) >= AA, ratios
    assert style.contrast(style.FOCUS_RING_OUTER, style.FOCUS_RING_INNER) == 21.0
    assert QColor(style.FOCUS_RING_OUTER) != QColor(style.FOCUS_RING_INNER)
