"""The window says what runs behind it: a desk without Twilio credentials says it cannot page,
the demo's rota shows who is on call, and the handover opens from the keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.application import Desk
from app.ui.background import PAGING_OFF, DeskBackground
from app.ui.events import DeskEvents
from app.ui.handover_dialog import HandoverDialog
from app.ui.launch import fill_if_empty


def test_no_credentials_means_paging_off_shown(qtbot: Any, desk: Desk, events: DeskEvents,
                                              window: Any) -> None:
    background: DeskBackground = window.background
    background.start()
    qtbot.waitUntil(lambda: window.strip.paging.isVisible())
    assert window.strip.paging.text() == PAGING_OFF
    assert window.strip.link.text().startswith("LOCAL ONLY")  # not enrolled: no sync
    background.stop()


def test_demo_rota_shows_on_call_and_handover_opens(
    qtbot: Any, desk: Desk, events: DeskEvents, window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fill_if_empty(desk) > 0
    assert desk.roster.roster.contacts, "the demo imports the example rota"
    lines = window.background.on_call(desk.clock.now())
    assert lines and any(not line.is_next for line in lines)
    window.on_call.refresh()
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.side.currentWidget() is window.on_call)
    first = next(line for line in lines if not line.is_next)
    assert first.name in _texts(window.on_call)

    opened: list[HandoverDialog] = []
    monkeypatch.setattr(HandoverDialog, "exec", lambda self: opened.append(self) or 0)
    qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    assert len(opened) == 1 and opened[0].sheet is not None
    assert len(opened[0].sheet.cards) == len(desk.cards.open_cards())


def _texts(widget: Any) -> str:
    from PySide6.QtWidgets import QLabel, QListWidget, QTableWidget

    parts = [w.text() for w in widget.findChildren(QLabel)]
    for lw in widget.findChildren(QListWidget):
        parts += [lw.item(i).text() for i in range(lw.count())]
    for tw in widget.findChildren(QTableWidget):
        parts += [tw.item(r, c).text() for r in range(tw.rowCount())
                  for c in range(tw.columnCount()) if tw.item(r, c)]
    return "\n".join(parts)
