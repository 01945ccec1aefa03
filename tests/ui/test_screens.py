"""`--screen N` picks the wallboard's screen and is remembered; a screen the desktop lacks is
refused saying how many there are; a remembered screen that went away falls back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from app.errors import DeskError
from app.ui.screens import SCREEN_KEY, show_on, wallboard_screen


def test_the_screen_asked_for_is_used_and_remembered(qapp: QApplication, tmp_path: Path,
                                                     qtbot) -> None:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    screens = QGuiApplication.screens()
    assert wallboard_screen(settings, 1) is screens[0]
    assert settings.value(SCREEN_KEY) in (1, "1")
    assert wallboard_screen(settings) is screens[0]  # the next start: remembered
    board = QWidget()
    qtbot.addWidget(board)
    show_on(board, screens[0])
    assert board.screen() is screens[0] and board.isFullScreen()


def test_a_screen_the_desktop_lacks_says_how_many_it_has(qapp: QApplication,
                                                        tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    count = len(QGuiApplication.screens())
    with pytest.raises(DeskError, match=rf"--screen {count + 1}: this desktop has {count}"):
        wallboard_screen(settings, count + 1)
    settings.setValue(SCREEN_KEY, count + 1)  # remembered from a desk with more screens
    assert wallboard_screen(settings) is QGuiApplication.primaryScreen()
