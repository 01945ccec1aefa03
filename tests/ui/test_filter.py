"""The queue's free-text filter, typed into the window: "wifi" finds "Wi-Fi", and a number
is a whole word ("Branch 3" does not find Branch 7)."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.ui.quit_guard import QuitGuard
from tests.ui.conftest import register


@pytest.fixture(autouse=True)
def _quit_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    """P1 cards stay open: the teardown's close() must not wait on the quit question."""
    monkeypatch.setattr(QuitGuard, "ask", classmethod(lambda _cls, _parent, _why: True))


def shown(window: Any) -> list[str]:
    return [row.symptom for row in window.queue.model.rows]


def typed(qtbot: QtBot, window: Any, text: str) -> list[str]:
    window.queue.focus_filter()
    window.queue.text.clear()
    qtbot.keyClicks(window.queue.text, text)
    return shown(window)


def test_the_filter_normalises_and_matches_numbers_whole(qtbot: QtBot, desk: Desk,
                                                         window: Any) -> None:
    register(desk, site="Branch 3", symptom="No Wi-Fi at the counter")
    register(desk, site="Branch 7", symptom="Printer offline")
    register(desk, site="Branch 30", symptom="Café till frozen")
    sixteen = None
    for _ in range(13):
        sixteen = register(desk, site="HQ", symptom="Phone line dead")
    window.queue.reload()
    assert sixteen is not None and sixteen.number == "B-0016"

    assert typed(qtbot, window, "wifi") == ["No Wi-Fi at the counter"]
    assert typed(qtbot, window, "branch 3") == ["No Wi-Fi at the counter"]
    assert typed(qtbot, window, "CAFE") == ["Café till frozen"]
    assert typed(qtbot, window, "b16") == ["Phone line dead"]
    assert window.queue.count.text() == "1 of 16 open"
