"""Colours and type for the desk window, in one place.

Calm by default: a twelve-hour shift under saturated colours teaches the eye to ignore them.
Colour carries urgency only, and never alone: a breached clock also says "BREACHED" in words,
so a colour-blind dispatcher or a faded screen loses nothing.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication

from app.services.cards.queue import Tone

TONE_TEXT: dict[Tone, QBrush] = {
    Tone.CALM: QBrush(QColor("#1e5631")),
    Tone.AMBER: QBrush(QColor("#7a4b00")),
    Tone.RED: QBrush(QColor("#a50e0e")),
    Tone.BREACHED: QBrush(QColor("#ffffff")),
    Tone.DONE: QBrush(QColor("#5f6368")),
    Tone.IDLE: QBrush(QColor("#5f6368")),
}
TONE_BACKGROUND: dict[Tone, QBrush] = {
    Tone.AMBER: QBrush(QColor("#fff1c2")),
    Tone.RED: QBrush(QColor("#fbd5d5")),
    Tone.BREACHED: QBrush(QColor("#b3261e")),
}
# Same colours as CSS, for labels styled with style sheets.
TONE_CSS = {
    tone: f"color: {TONE_TEXT[tone].color().name()};"
    + (f" background: {TONE_BACKGROUND[tone].color().name()};" if tone in TONE_BACKGROUND else "")
    for tone in Tone
}

PRIORITY_TEXT = {
    "P1": QBrush(QColor("#ffffff")),
    "P2": QBrush(QColor("#ffffff")),
    "P3": QBrush(QColor("#202124")),
    "P4": QBrush(QColor("#202124")),
}
PRIORITY_BACKGROUND = {
    "P1": QBrush(QColor("#b3261e")),
    "P2": QBrush(QColor("#b34a00")),  # white on it: 5.4:1 (WCAG AA asks 4.5)
    "P3": QBrush(QColor("#f2c94c")),
    "P4": QBrush(QColor("#d5dbe1")),
}
PRIORITY_CSS = {
    p: f"color: {PRIORITY_TEXT[p].color().name()}; background: "
    f"{PRIORITY_BACKGROUND[p].color().name()}; padding: 2px 8px; border-radius: 3px;"
    for p in PRIORITY_TEXT
}

ERROR_CSS = "background: #fde7e7; color: #8c1d18; border: 1px solid #e3a6a3; padding: 6px;"
INFO_CSS = "background: #e8f0fe; color: #174ea6; border: 1px solid #aecbfa; padding: 6px;"
LOCAL_ONLY_CSS = "color: #7a4b00; font-weight: bold;"
BREACH_LINE = QBrush(QColor("#a50e0e"))
#: The queue's focus marker (queue_view.QueueTable): a black band round the current row with a
#: white one inside it, so one of the two stands out (AA) on whatever the row is painted in,
#: a P1 badge's red or a breached clock as much as the plain base or a selected row's blue.
FOCUS_RING_OUTER = QColor("#000000")
FOCUS_RING_INNER = QColor("#ffffff")
FOCUS_RING_WIDTHS = (2, 1)  # pixels: the black band, then the white one inside it


#: The smallest body type the window uses, whatever the desktop's default (often 9-10 pt):
#: read at arm's length for twelve hours. `font_scale` multiplies it.
MIN_POINTS = 11.0


def apply_font_scale(app: QApplication, scale: float) -> None:
    """Scale the whole window's type (Settings.font_scale): a desk across the room, or a
    dispatcher who needs bigger letters at 4 a.m."""
    font = app.font()
    size = max(font.pointSizeF(), MIN_POINTS)
    font.setPointSizeF(size * scale)
    app.setFont(font)


def contrast(foreground: QColor, background: QColor) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21; AA asks 4.5 for body text)."""
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return (0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF())
                + 0.0722 * channel(c.blueF()))
    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def bold(font: QFont) -> QFont:
    out = QFont(font)
    out.setBold(True)
    return out
