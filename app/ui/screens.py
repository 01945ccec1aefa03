"""Which screen the wallboard fills (`--screen N`, remembered), and putting it there."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

from app.errors import DeskError

SCREEN_KEY = "wallboard/screen"


def wallboard_screen(settings: QSettings, asked: int | None = None) -> QScreen:
    """The screen the wallboard fills: `asked` (1-based, `--screen N`, then remembered),
    else the one remembered, else the primary. A screen this desktop lacks is an error that
    says how many it has; a remembered one that went away falls back to the primary."""
    screens = QGuiApplication.screens()
    if asked is not None:
        if not 1 <= asked <= len(screens):
            raise DeskError(f"--screen {asked}: this desktop has {len(screens)} screen"
                            f"{'s' if len(screens) != 1 else ''} (use 1 to {len(screens)})")
        settings.setValue(SCREEN_KEY, asked)
        return screens[asked - 1]
    remembered = settings.value(SCREEN_KEY)
    index = int(remembered) if str(remembered or "").isdigit() else 0
    return screens[index - 1] if 1 <= index <= len(screens) else QGuiApplication.primaryScreen()


def show_on(widget: QWidget, screen: QScreen) -> None:
    """Full screen on `screen`: placed there first, so the window manager maximises it on
    that screen and not on the one the mouse is on."""
    widget.setScreen(screen)
    widget.move(screen.geometry().topLeft())
    widget.showFullScreen()
