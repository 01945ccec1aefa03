"""Drawing the wallboard's parts: text that fits its place, tiles, labelled values and lists.

Read from five metres, a cut-off word is worse than a smaller one ("10…" for "100%", "P…" for
"P1 3"): figures, states and numbers shrink to fit their place (`fit=True`); only free text
(a symptom) is elided, at the end. A list that cannot show every line says "+ N more" in its
last line rather than stopping short. Every size is in units of the board's height (`u`).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter

BG = QColor("#0d1117")
PANEL = QColor("#161b22")
TEXT = QColor("#f0f3f6")
DIM = QColor("#aab4bf")
FONT = "DejaVu Sans"
#: A shrunk text fills at most this share of its room: font sizes step unevenly.
ROOM = 0.94
#: Text is shrunk to no less than this share of its size; beyond that it is elided (a name
#: a hundred characters long must not turn a whole list into specks).
FLOOR = 0.55


class BoardPainter:
    def __init__(self, painter: QPainter, unit: float) -> None:
        self.p, self.u = painter, unit
        #: Texts meant to fit (`fit=True`) that were cut all the same: none, on a good board.
        self.cut: list[str] = []

    @staticmethod
    def font(size: float, bold: bool = False) -> QFont:
        font = QFont(FONT)
        font.setPixelSize(max(6, int(size)))
        font.setBold(bold)
        return font

    @classmethod
    def fitted(cls, text: str, size: float, bold: bool, width: int) -> float:
        """The size at which `text` fits `width` (at most `size`, at least FLOOR of it)."""
        widest = QFontMetrics(cls.font(size, bold)).horizontalAdvance(text)
        room = width * ROOM
        return size if widest <= room else size * max(FLOOR, room / widest)

    def text(self, rect: QRect, text: str, size: float, color: QColor, bold: bool = False,
             align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft, fit: bool = False) -> None:
        if fit:
            size = self.fitted(text, size, bold, rect.width())
        font = self.font(size, bold)
        self.p.setFont(font)
        self.p.setPen(color)
        elided = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        if fit and elided != text:
            self.cut.append(text)
        self.p.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), elided)

    def label(self, area: QRect, y: int, label: str) -> int:
        u = self.u
        self.text(QRect(area.left(), y, area.width(), int(1.5 * u)), label, 1.0 * u, DIM, True,
                  fit=True)
        return y + int(1.6 * u)

    def tiles(self, area: QRect, y: int, tiles: Sequence[tuple[str, QColor, QColor]],
              size: float, per_row: int = 4) -> int:
        """Rows of tiles (text, band or fill colour, text colour; BG as text colour means a
        filled tile); each tile's text shrinks to fit it."""
        u = self.u
        tile_w = area.width() // per_row
        for i, (text, band, color) in enumerate(tiles):
            row, col = divmod(i, per_row)
            tile = QRect(area.left() + col * tile_w, y + row * int(3.0 * u),
                         tile_w - int(0.4 * u), int(2.7 * u))
            self.p.fillRect(tile, PANEL if color is not BG else band)
            self.p.fillRect(QRect(tile.left(), tile.top(), tile.width(), int(0.35 * u)), band)
            self.text(tile.adjusted(int(0.2 * u), int(0.3 * u), -int(0.2 * u), 0), text, size,
                      TEXT if color is BG else color, True, Qt.AlignmentFlag.AlignHCenter,
                      fit=True)
        rows = max(1, -(-len(tiles) // per_row))
        return y + rows * int(3.0 * u) + int(0.2 * u)

    def pair(self, area: QRect, y: int, label: str, value: str, color: QColor) -> int:
        """A label over a big value (shrunk to fit: two pairs may share a row)."""
        u = self.u
        self.text(QRect(area.left(), y, area.width(), int(1.5 * u)), label, 1.0 * u, DIM, True,
                  fit=True)
        self.text(QRect(area.left(), y + int(1.4 * u), area.width(), int(1.9 * u)), value,
                  1.5 * u, color, True, fit=True)
        return y + int(3.4 * u)

    def inline(self, area: QRect, y: int, label: str, value: str, color: QColor) -> int:
        """A label and its value on one line: a figure that needs no second row."""
        u = self.u
        label_w = QFontMetrics(self.font(1.0 * u, True)).horizontalAdvance(label + "  ")
        self.text(QRect(area.left(), y, label_w, int(2.0 * u)), label, 1.0 * u, DIM, True)
        self.text(QRect(area.left() + label_w, y, area.width() - label_w, int(2.0 * u)), value,
                  1.4 * u, color, True, fit=True)
        return y + int(2.2 * u)

    def listing(self, area: QRect, y: int, label: str, lines: Sequence[str], room: int,
                size: float, color: QColor, line_h: float) -> int:
        """A label and up to `room` lines, each shrunk as much as it needs to fit; when some do
        not fit the last line says "+ N more" (with room for one line only, after the first)."""
        y = self.label(area, y, label) if label else y
        more = len(lines) - max(1, room) + 1
        if more <= 1:
            shown = list(lines)
        elif room <= 1:
            shown = [f"{lines[0]} (+ {len(lines) - 1} more)"]
        else:
            shown = [*lines[:room - 1], f"+ {more} more"]
        for text in shown:
            self.text(QRect(area.left(), y, area.width(), int(line_h)), text, size, color,
                      fit=True)
            y += int(line_h)
        return y
