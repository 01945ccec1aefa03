"""The outbox (Ctrl+O) and the report (Ctrl+R) open from the window as one instance: a second
press brings the open one forward, and after Esc a new one opens. Offscreen, with
tests/ui/conftest.py's desk."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.outbox_view import OutboxView


def _outboxes() -> list[OutboxView]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, OutboxView) and w.isVisible()]


def test_ctrl_o_opens_one_outbox_and_esc_closes_it(qtbot: Any, window: Any) -> None:
    window.registry.action("outbox").trigger()
    qtbot.waitUntil(lambda: len(_outboxes()) == 1)
    window.open_outbox()
    assert len(_outboxes()) == 1  # brought forward, not opened twice
    view = _outboxes()[0]
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not _outboxes())
    window.open_outbox()  # the closed one was deleted: a new one opens, no RuntimeError
    qtbot.waitUntil(lambda: len(_outboxes()) == 1)
    _outboxes()[0].close()


def test_the_outbox_is_in_the_action_table_on_ctrl_o(window: Any) -> None:
    assert ("Ctrl+O", "Outbox…") in window.registry.cheat_sheet()


def test_ctrl_r_opens_the_report_view_once(qtbot: Any, window: Any) -> None:
    from app.ui.report_view import ReportView

    window.registry.action("report").trigger()
    window.registry.action("report").trigger()
    views = [v for v in window.findChildren(ReportView) if v.isVisible()]
    assert len(views) == 1
    assert ("Ctrl+R", "Report…") in window.registry.cheat_sheet()
    qtbot.keyClick(views[0], Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not views[0].isVisible())
