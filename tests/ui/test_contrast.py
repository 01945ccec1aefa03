"""Every clock state's and priority badge's colours meet WCAG AA (4.5:1), measured on the
colours the window paints (a tone without its own background sits on the table's base), and
the window's type is never below 11 pt."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.services.cards.queue import Tone
from app.ui import style

AA = 4.5


def test_every_clock_tone_meets_aa_on_what_it_is_painted_on(qapp: QApplication) -> None:
    bases = [qapp.palette().color(QPalette.ColorRole.Base),
             qapp.palette().color(QPalette.ColorRole.AlternateBase)]
    measured = {}
    for tone in Tone:
        text = style.TONE_TEXT[tone].color()
        behind = ([style.TONE_BACKGROUND[tone].color()] if tone in style.TONE_BACKGROUND
                  else bases)
        measured[tone] = min(style.contrast(text, b) for b in behind)
    assert min(measured.values()) >= AA, measured


def test_every_priority_badge_meets_aa(qapp: QApplication) -> None:
    ratios = {p: style.contrast(style.PRIORITY_TEXT[p].color(),
                                style.PRIORITY_BACKGROUND[p].color())
              for p in style.PRIORITY_TEXT}
    assert min(ratios.values()) >= AA, ratios


def test_the_measure_itself() -> None:
    assert round(style.contrast(QColor("#000000"), QColor("#ffffff")), 1) == 21.0
    assert style.contrast(QColor("#777777"), QColor("#ffffff")) < AA  # a grey that fails


def test_type_is_at_least_11_points_and_font_scale_multiplies_it(qapp: QApplication) -> None:
    before = qapp.font()
    try:
        small = qapp.font()
        small.setPointSizeF(9.0)
        qapp.setFont(small)
        style.apply_font_scale(qapp, 1.0)
        assert qapp.font().pointSizeF() == 11.0
        style.apply_font_scale(qapp, 1.5)
        assert qapp.font().pointSizeF() == 16.5
    finally:
        qapp.setFont(before)
