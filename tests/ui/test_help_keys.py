"""F1 lists every key, the panels' own keys (Ctrl+Enter, Alt+A, Esc) included, from the one
action table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.actions import ACTIONS, CONTEXT_KEYS
from app.ui.dialogs import ShortcutsDialog


def test_f1_shows_the_in_context_keys_beside_the_actions(
        qtbot: QtBot, window: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[Sequence[tuple[str, str]]] = []
    monkeypatch.setattr(ShortcutsDialog, "ask",
                        classmethod(lambda _cls, _parent, rows: shown.append(rows)))

    qtbot.keyClick(window.queue.table, Qt.Key.Key_F1)

    assert len(shown) == 1
    rows = dict(shown[0])
    for keys in ("Ctrl+Enter", "Alt+A", "Esc", "/"):
        assert keys in rows, f"F1 leaves out {keys}"
    assert "look-alike" in rows["Alt+A"] and "wallboard" in rows["Esc"]
    assert "Submit" in rows["Ctrl+Enter"]
    # Every window action is there too, each once.
    assert rows["Ctrl+Q"] == "Quit" and rows["Ctrl+N / F2"] == "New card…"
    assert len(shown[0]) == len(rows) == len(window.registry.specs) + len(CONTEXT_KEYS)


def test_context_keys_are_not_window_actions() -> None:
    # Bound by the panels themselves: a window shortcut on Esc or Ctrl+Enter would steal the
    # key from every dialog and field.
    window_keys = {k for spec in ACTIONS for k in spec.shortcuts}
    assert not window_keys & {k for ck in CONTEXT_KEYS for k in ck.keys}
