"""Who is on call now and next, per group and role: a small panel for the desk window.

The panel owns no timer: it listens to the window's one-second ``DeskEvents.tick`` and
recomputes only when the minute changes (handoffs are on the minute), and at once on
``changed``. It also notices an edited roster file then, keeping the last good roster and
saying what is wrong if the edit is broken. Names and numbers come from a file people edit:
they are shown through `for_display` (no bidi controls, no raw control characters).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.adapters.roster_store import DeskRoster
from app.clock import Clock
from app.errors import DeskError
from app.protocol.text import for_display
from app.services.roster import OnCall
from app.ui.events import DeskEvents

COLUMNS = ("Group", "Role", "On call now", "Phone", "Until", "Next", "From")
_NOBODY = "NOBODY ON CALL"
_ALARM = QColor("#b00020")


def _when(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%a %d.%m %H:%M}"


class OnCallPanel(QWidget):
    def __init__(self, desk_roster: DeskRoster, clock: Clock, events: DeskEvents,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("onCallPanel")
        self._store = desk_roster
        self._clock = clock
        self._minute: int | None = None
        self.group: str | None = None  # the card in view's group; None: every group
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # it quotes the roster file
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {_ALARM.name()}; font-weight: bold")
        self.status.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        events.tick.connect(self._on_tick)
        events.changed.connect(lambda _cards: self.refresh())
        self.refresh()

    def show_group(self, group: str | None) -> None:
        """Narrow the panel to one group (the card in view's); None shows every group."""
        if group != self.group:
            self.group = group or None
            self.refresh()

    def _on_tick(self) -> None:
        if int(self._clock.now().timestamp() // 60) != self._minute:
            self.refresh()

    def refresh(self) -> None:
        now = self._clock.now()
        self._minute = int(now.timestamp() // 60)
        problem = ""
        try:
            self._store.refresh()
        except DeskError as exc:  # keep paging from the last good roster; say why
            problem = f"roster file not reloaded: {exc}"
        roster = self._store.roster
        every = roster.slots()
        slots = [s for s in every if self.group is None or s[0] == self.group] or every
        self.title.setText(for_display(
            f"On call for {self.group}, the group of the card in view"
            if self.group and slots is not every else "On call, every group"))
        if not slots:
            problem = problem or (f"no roster at {self._store.path}: import one with "
                                  "`dispatch-desk roster import FILE`")
        self.status.setText(for_display(problem))
        self.status.setVisible(bool(problem))
        self.table.setRowCount(len(slots))
        for row, (group, role) in enumerate(slots):
            rotation = roster.rotation_for(group, role)
            zone = ZoneInfo(rotation.tz if rotation else "UTC")
            current, following = roster.on_call_now_and_next(group, role, now)
            cells = [group, role, *self._holder(current, zone, now, "end"),
                     *self._next(following, zone, now)]
            for column, raw in enumerate(cells):
                text = for_display(raw)
                item = QTableWidgetItem(text)
                if current is None and column in (2, 3):
                    item.setForeground(QBrush(_ALARM))
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                item.setData(Qt.ItemDataRole.ToolTipRole, text)
                self.table.setItem(row, column, item)

    @staticmethod
    def _holder(holder: OnCall | None, zone: ZoneInfo, now: datetime,
                edge: str) -> list[str]:
        if holder is None:
            return [_NOBODY, "", ""]
        c = holder.contact
        return [c.name, c.primary_phone or "(no number)",
                _when(getattr(holder, edge), zone, now)]

    @staticmethod
    def _next(holder: OnCall | None, zone: ZoneInfo, now: datetime) -> list[str]:
        if holder is None:
            return ["-", ""]
        return [holder.contact.name, _when(holder.start, zone, now)]
