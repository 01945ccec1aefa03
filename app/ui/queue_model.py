"""The queue as a Qt table model over immutable rows made by `app.services.cards.queue`.

Sorting and filtering happen on the Python row list (QSortFilterProxyModel over thousands of
rows, sorted by a ticking column, cost most of a core: PITFALLS.md); the model only holds the
rows on show. A tick changes nothing but the time: only the countdown cells on screen are worked
out again, and only those whose text or tone changed are announced, cell by cell.

Card text is untrusted (people, scripts, other desks): the text cells are cleaned with
`for_display` (no bidi controls that reorder a row, no raw control characters) once, when rows
arrive, and kept per card while its text is unchanged, so `data()` stays a lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from app.protocol.text import for_display
from app.services.cards.queue import Countdown, QueueFilter, QueueRow, Tone, countdown, filtered
from app.ui import style

COLUMNS: tuple[tuple[str, str], ...] = (
    ("priority", "Pri"),
    ("number", "Card"),
    ("status_label", "Status"),
    ("site", "Site"),
    ("symptom", "What"),
    ("assignee", "Assigned"),
    ("reaction", "Reaction"),
    ("recovery", "Recovery"),
    ("update", "Next update"),
)
# The category is left out on purpose: the card's own words ("What") say more in the same
# width, and the category filter is one key away.
CLOCK_COLUMNS = {6: "reaction", 7: "recovery", 8: "update"}
FIRST_CLOCK = min(CLOCK_COLUMNS)
# The row's texts in column order, read in one C call (a queue may hold 100,000 rows).
_texts_of: Callable[[QueueRow], tuple[str, ...]] = attrgetter(
    *(name for name, _ in COLUMNS[:FIRST_CLOCK]))
CARD_NUMBER_ROLE = Qt.ItemDataRole.UserRole
_CLOCK_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.BackgroundRole,
    Qt.ItemDataRole.FontRole,
]
_Index = QModelIndex | QPersistentModelIndex
# Roles as plain ints (comparing Qt enums in Python is slow in a hot data()).
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FG = int(Qt.ItemDataRole.ForegroundRole)
_BG = int(Qt.ItemDataRole.BackgroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_TIP = int(Qt.ItemDataRole.ToolTipRole)
_NUMBER = int(CARD_NUMBER_ROLE)
_CLOCK_SLOTS = {_DISPLAY: 0, _FG: 1, _BG: 2, _FONT: 3}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter


class QueueModel(QAbstractTableModel):
    def __init__(self, now: datetime, parent: Any = None) -> None:
        super().__init__(parent)
        self._now = now
        self._all: list[QueueRow] = []
        self._rows: list[QueueRow] = []
        # Per card: (its row, its texts cleaned for display); and per row
        # on show, its cleaned texts in column order.
        self._clean: dict[str, tuple[QueueRow, tuple[str, ...]]] = {}
        self._texts: list[tuple[str, ...]] = []
        self._filter = QueueFilter()
        self._cells: dict[tuple[int, int], tuple[Any, ...]] = {}
        self._bold = style.bold(QFont())

    # -- what the view reads --------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section][1]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        r, c = index.row(), index.column()
        if r < 0 or r >= len(self._rows) or c < 0 or c >= len(COLUMNS):
            return None
        return self._value(r, c, int(role))

    def _value(self, r: int, c: int, role: int) -> Any:
        # Called thousands of times per repaint: plain ints and dict lookups only.
        if c >= FIRST_CLOCK:
            if role in _CLOCK_SLOTS:
                return self._clock_cell(r, c)[_CLOCK_SLOTS[role]]
            if role == _ALIGN:
                return _RIGHT
            if role == _TIP:
                clock = self._rows[r].clock(CLOCK_COLUMNS[c])
                return f"{COLUMNS[c][1]} due {clock.due:%H:%M} UTC" if clock.due else None
            return None
        if role == _DISPLAY:
            return self._texts[r][c]
        row = self._rows[r]
        if role == _NUMBER:
            return row.number
        if c == 0:
            if role == _BG:
                return style.PRIORITY_BACKGROUND.get(row.priority)
            if role == _FG:
                return style.PRIORITY_TEXT.get(row.priority)
            if role == _ALIGN:
                return _CENTER
        if role == _TIP and c in (2, 4):
            return self._texts[r][c]
        return None

    def _clock_cell(self, r: int, c: int) -> tuple[Any, ...]:
        """(text, foreground, background, font, countdown) of one countdown cell at `now`."""
        cell = self._cells.get((r, c))
        if cell is None:
            cell = self._cells[(r, c)] = self._paint(
                countdown(self._rows[r].clock(CLOCK_COLUMNS[c]), self._now))
        return cell

    def _paint(self, cd: Countdown) -> tuple[Any, ...]:
        font = self._bold if cd.tone in (Tone.BREACHED, Tone.RED) else None
        return (cd.text, style.TONE_TEXT[cd.tone], style.TONE_BACKGROUND.get(cd.tone), font, cd)

    # -- what the view changes ------------------------------------------------------------

    @property
    def rows(self) -> Sequence[QueueRow]:
        """The rows on show, in queue order."""
        return self._rows

    @property
    def all_rows(self) -> Sequence[QueueRow]:
        """Every open card's row, before the filter."""
        return self._all

    @property
    def total(self) -> int:
        """Open cards in the queue before the filter."""
        return len(self._all)

    @property
    def now(self) -> datetime:
        return self._now

    def set_rows(self, rows: Sequence[QueueRow], now: datetime) -> None:
        self._all = list(rows)
        self._now = now
        before, self._clean = self._clean, {}
        for row in self._all:
            known = before.get(row.card_id)
            if known is None or known[0] is not row:  # a row object is immutable: same texts
                raw = _texts_of(row)
                # Everything `for_display` changes (controls, bidi controls, surrogates) is
                # unprintable to Python: nearly every row skips the cleaning.
                cleaned = raw if "".join(raw).isprintable() else \
                    tuple(for_display(text) for text in raw)
                known = (row, cleaned)
            self._clean[row.card_id] = known
        self._show(filtered(self._all, self._filter))

    def set_filter(self, spec: QueueFilter) -> None:
        if spec != self._filter:
            self._filter = spec
            self._show(filtered(self._all, spec))

    def tick(self, now: datetime, first: int = 0, last: int | None = None) -> int:
        """Move the countdowns to `now`. Only the cells of rows `first`..`last` (the ones on
        screen) are worked out now, and only those whose text or tone changed are announced,
        one cell at a time: a range would make the view repaint all of itself (PITFALLS.md).
        Rows off screen are worked out when scrolled to. Returns the cells announced."""
        self._now = now
        old, self._cells = self._cells, {}
        if not self._rows:
            return 0
        last = len(self._rows) - 1 if last is None else min(last, len(self._rows) - 1)
        changed = 0
        for r in range(max(0, first), last + 1):
            row = self._rows[r]
            for c, name in CLOCK_COLUMNS.items():
                cd = countdown(row.clock(name), now)
                before = old.get((r, c))
                self._cells[(r, c)] = before if before and before[4] == cd else self._paint(cd)
                if before is None or before[4] != cd:
                    index = self.index(r, c)
                    self.dataChanged.emit(index, index, _CLOCK_ROLES)
                    changed += 1
        return changed

    def row_of(self, number: str) -> int | None:
        for i, row in enumerate(self._rows):
            if row.number == number:
                return i
        return None

    def _show(self, rows: list[QueueRow]) -> None:
        texts = [self._clean[r.card_id][1] for r in rows]
        if [r.card_id for r in rows] == [r.card_id for r in self._rows]:
            # Same cards in the same order (a note, an assignee): announce only the rows that
            # are new objects, cell by cell (a range repaints the whole view), so the view
            # keeps its scroll position and selection and repaints one line.
            before, self._rows, self._texts = self._rows, rows, texts
            for r, (old, new) in enumerate(zip(before, rows, strict=True)):
                if old is not new:
                    for c in range(len(COLUMNS)):
                        self._cells.pop((r, c), None)
                        index = self.index(r, c)
                        self.dataChanged.emit(index, index)
            return
        self._cells.clear()
        self.beginResetModel()
        self._rows, self._texts = rows, texts
        self.endResetModel()
