"""The triage tray as a Qt table model over the intake service's immutable `TrayItem`s.

The tray holds what came in through the one door and nobody has triaged yet, oldest first (the
service's order, kept as it is). Like the queue model, the texts are cleaned with `for_display`
once, when the items arrive (an alert's summary is written by a monitoring system, a mailbox
or a stranger's SMS: no bidi controls, no raw control characters), so `data()` is a lookup.
Only the age moves with the clock, and it is minute-grained, so a tick announces at most the
age cells whose text changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.protocol.text import for_display
from app.services.intake import TrayItem
from app.services.measures.metrics import minutes
from app.ui import style

COLUMNS: tuple[str, ...] = ("Age", "Channel", "Integration", "Summary", "Count", "Site",
                            "Flag", "Maintenance")
AGE, CHANNEL, INTEGRATION, SUMMARY, COUNT, SITE, FLAG, MAINTENANCE = range(len(COLUMNS))
ITEM_ID_ROLE = Qt.ItemDataRole.UserRole
PROBABLE = "PROBABLE EMERGENCY"
# The flag cell reads in words as well as in colour (style.py: colour never alone).
_FLAG_FG = QBrush(QColor("#ffffff"))
_FLAG_BG = QBrush(QColor("#b3261e"))
_MAINT_FG = QBrush(QColor("#5f6368"))
_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class TrayRow:
    item: TrayItem
    texts: tuple[str, ...]  # every column but the age, cleaned once


def age_of(item: TrayItem, now: datetime) -> str:
    """How long the item has waited for a person, from its first arrival ("12 min")."""
    return minutes(max(now - item.received_at, timedelta(0)))


def oldest_age(items: Sequence[TrayItem], now: datetime) -> str:
    """The age of the oldest pending item, or "" for an empty tray."""
    return age_of(min(items, key=lambda i: i.received_at), now) if items else ""


def _row(item: TrayItem) -> TrayRow:
    summary = item.summary if item.status != "resolved" else f"(resolved) {item.summary}"
    texts = ("", item.channel, item.integration, summary,
             f"×{item.count}" if item.count > 1 else "1", item.site,
             PROBABLE if item.probable else ("auto" if item.auto else ""),
             item.maintenance)
    return TrayRow(item, tuple(for_display(t or "") for t in texts))


class TrayModel(QAbstractTableModel):
    def __init__(self, now: datetime, parent: Any = None) -> None:
        super().__init__(parent)
        self._now = now
        self.rows: list[TrayRow] = []
        self._ages: list[str] = []
        self._bold = style.bold(QFont())

    # -- what the view reads --------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt's
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._ages[index.row()] if col == AGE else row.texts[col]
        if role == ITEM_ID_ROLE:
            return row.item.id
        if role == Qt.ItemDataRole.ToolTipRole and col == SUMMARY:
            return for_display(row.item.details or row.item.summary)
        if col == FLAG and row.item.probable:
            if role == Qt.ItemDataRole.ForegroundRole:
                return _FLAG_FG
            if role == Qt.ItemDataRole.BackgroundRole:
                return _FLAG_BG
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
        if col == MAINTENANCE and role == Qt.ItemDataRole.ForegroundRole:
            return _MAINT_FG
        if col in (AGE, COUNT) and role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    # -- what the tray tells it -----------------------------------------------------------

    def set_items(self, items: Sequence[TrayItem], now: datetime) -> None:
        self.beginResetModel()
        self._now = now
        self.rows = [_row(i) for i in items]
        self._ages = [age_of(r.item, now) for r in self.rows]
        self.endResetModel()

    def tick(self, now: datetime) -> int:
        """Move the ages to `now`; announce only the age cells whose text changed."""
        self._now = now
        changed = 0
        for i, row in enumerate(self.rows):
            age = age_of(row.item, now)
            if age != self._ages[i]:
                self._ages[i] = age
                cell = self.index(i, AGE)
                self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DisplayRole])
                changed += 1
        return changed

    def item_at(self, row: int) -> TrayItem | None:
        return self.rows[row].item if 0 <= row < len(self.rows) else None

    def row_of(self, item_id: str) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r.item.id == item_id), None)
