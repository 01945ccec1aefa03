"""The queue panel: filters over the ranked table of open cards.

Refreshed only by the two heartbeats: `changed` re-reads the cards it names (all open cards
when it names none or many) through the card service, `tick` moves the countdowns. The ranking
(priority, then time to the nearest deadline) only changes when a card does, so rows never
jump under the cursor as time passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.application import Desk
from app.errors import NotFoundError
from app.models.projection import OPEN_STATUSES
from app.services.cards.card import STATUS_LABELS
from app.services.cards.queue import QueueFilter, QueueRow, queue_rows, with_cards
from app.services.cards.rules import PRIORITIES
from app.ui import style
from app.ui.events import DeskEvents
from app.ui.queue_model import CARD_NUMBER_ROLE, CLOCK_COLUMNS, COLUMNS, QueueModel

# A change naming up to this many cards re-reads only them; more (a sync batch) re-reads all.
PARTIAL_UP_TO = 50
# Starting widths (characters) of the columns; "What" takes the rest.
_WIDTHS = {"priority": 3, "number": 7, "status_label": 13, "site": 11, "assignee": 10}
# Countdown columns fit the widest thing they show, in the bold face breaches are drawn in.
_WIDEST_CLOCK = "BREACHED 9h 59m"
_WHAT = 4  # the symptom: it takes what is left, and elides first
_SHRINKS = (2, 3, 5)  # status, site, assignee give way next; the clocks never do


def fit_columns(available: int, wanted: Sequence[int], least: int) -> list[int]:
    """Column widths for a queue `available` pixels wide: every clock column keeps its
    width, so a deadline never scrolls out of view. The symptom takes what is left down to
    `least`; below that status, site and assignee shrink together down to `least`; only then
    does the table scroll."""
    widths = list(wanted)
    fixed = sum(w for i, w in enumerate(widths) if i != _WHAT)
    widths[_WHAT] = max(least, available - fixed)
    over = sum(widths) - available
    if over > 0:
        room = sum(max(0, widths[i] - least) for i in _SHRINKS)
        share = min(1.0, over / room) if room else 0.0
        for i in _SHRINKS:
            widths[i] -= int((widths[i] - least) * share + 0.999) if widths[i] > least else 0
    return widths


class _FitOnResize(QObject):
    def __init__(self, view: QueueView) -> None:
        super().__init__(view)
        self.view = view

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            self.view.fit_columns()
        return False



class KeepUrgencyColours(QStyledItemDelegate):
    """Every cell of the queue. The selected row is drawn without covering the priority and
    clock colours: the card the dispatcher is on is the last one whose breach a selection
    highlight should hide. Qt's own focus marker, a faint box round one cell, is left out:
    the table draws a ring round the whole current row instead (QueueTable)."""

    def initStyleOption(self, option: QStyleOptionViewItem,  # noqa: N802 - Qt's name
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        if option.backgroundBrush.style() != Qt.BrushStyle.NoBrush:
            option.state &= ~QStyle.StateFlag.State_Selected
        option.state &= ~QStyle.StateFlag.State_HasFocus


class QueueTable(QTableView):
    """The queue's table. While it has the keyboard, the current row wears a focus ring: a
    black band with a white one inside (style.FOCUS_RING_*), so it reads on any of the row's
    colours, a P1's red as much as a selected row's blue. Drawn once per paint over the cells
    (a per-cell delegate would cost Python calls on every cell of every repaint)."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        row = self.currentIndex().row()
        if row < 0 or not self.hasFocus():
            return
        header = self.horizontalHeader()
        rect = QRect(-self.horizontalOffset(), self.rowViewportPosition(row),
                     header.length(), self.rowHeight(row))
        painter = QPainter(self.viewport())
        for width, colour in zip(style.FOCUS_RING_WIDTHS,
                                 (style.FOCUS_RING_OUTER, style.FOCUS_RING_INNER), strict=True):
            painter.fillRect(rect.left(), rect.top(), rect.width(), width, colour)
            painter.fillRect(rect.left(), rect.bottom() - width + 1, rect.width(), width, colour)
            painter.fillRect(rect.left(), rect.top(), width, rect.height(), colour)
            painter.fillRect(rect.right() - width + 1, rect.top(), width, rect.height(), colour)
            rect.adjust(width, width, -width, -width)  # the white band inside the black
        painter.end()

    def currentChanged(self, current: QModelIndex | QPersistentModelIndex,  # noqa: N802
                       previous: QModelIndex | QPersistentModelIndex) -> None:
        super().currentChanged(current, previous)
        # The ring spans the row: Qt repaints only the current cell when it moves.
        for index in (previous, current):
            if index.isValid():
                self.viewport().update(0, self.rowViewportPosition(index.row()),
                                       self.viewport().width(), self.rowHeight(index.row()))


class QueueView(QWidget):
    card_chosen = Signal(str)  # the card number the dispatcher moved to
    rows_changed = Signal(object)  # every open card's row (unfiltered), after each reload

    def __init__(self, desk: Desk, events: DeskEvents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._desk = desk
        self._shown_number = ""
        self._loaded = False
        self.model = QueueModel(desk.clock.now(), self)

        self.text = QLineEdit()
        self.text.setPlaceholderText("Filter (Ctrl+F): words, number, place")
        self.text.setClearButtonEnabled(True)
        self.status = self._combo("Any status", [(s, STATUS_LABELS[s]) for s in OPEN_STATUSES])
        self.priority = self._combo("Any priority", [(p, p) for p in PRIORITIES])
        self.category = self._combo("Any category",
                                    [(c.key, c.label) for c in desk.rules.categories])
        self.site = self._combo("Any site", [])
        self.count = QLabel()
        # Fixed size: it changes on every filter keystroke, and a label that changes size
        # makes the whole window lay out and repaint again.
        count_metrics = QFontMetrics(self.count.font())
        self.count.setFixedSize(count_metrics.horizontalAdvance("99999 of 99999 open") + 8,
                                count_metrics.height() + 4)
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        filters = QHBoxLayout()
        filters.addWidget(self.text, 3)
        for box in (self.status, self.priority, self.category, self.site):
            filters.addWidget(box, 1)
        filters.addWidget(self.count)

        self.table = QueueTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row measuring
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        em = self.fontMetrics().averageCharWidth()
        clock_width = QFontMetrics(style.bold(self.font())).horizontalAdvance(_WIDEST_CLOCK)
        self._wanted = [_WIDTHS[name] * em + 12 if name in _WIDTHS
                        else clock_width + 10 if i in CLOCK_COLUMNS else 20 * em
                        for i, (name, _) in enumerate(COLUMNS)]
        self._least = 4 * em + 12
        header.setMinimumSectionSize(min(self._least, header.minimumSectionSize()))
        self.table.viewport().installEventFilter(_FitOnResize(self))
        self.fit_columns()
        self._keep_colours = KeepUrgencyColours(self.table)
        self.table.setItemDelegate(self._keep_colours)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.empty.setObjectName("queueEmpty")
        self.empty.setStyleSheet(style.INFO_CSS)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)

        self.text.textChanged.connect(self.apply_filter)
        for box in (self.status, self.priority, self.category, self.site):
            box.currentIndexChanged.connect(self.apply_filter)
        events.changed.connect(self.reload)
        events.tick.connect(self.on_tick)
        self.reload()

    def _combo(self, any_text: str, items: list[tuple[str, str]]) -> QComboBox:
        box = QComboBox()
        # Long category labels must not squeeze the free-text filter.
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(9)
        box.addItem(any_text, "")
        for key, text in items:
            box.addItem(text, key)
        return box

    # -- heartbeats -----------------------------------------------------------------------

    def reload(self, cards: frozenset[str] | None = None) -> None:
        """Rebuild the rows after a change: only the cards it names, when it names a few
        (one action touches one card); every open card otherwise."""
        now = self._desk.clock.now()
        if cards is not None and len(cards) <= PARTIAL_UP_TO and self._loaded:
            touched = []
            for card_id in cards:
                try:
                    touched.append(self._desk.cards.get_by_id(card_id))
                except NotFoundError:
                    continue  # not in this journal (yet): nothing to show
            rows = with_cards(self.model.all_rows, touched, self._desk.rules, now)
        else:
            rows = queue_rows(self._desk.cards.open_cards(), self._desk.rules, now)
            self._loaded = True
        self._show_rows(rows, now)

    def _show_rows(self, rows: list[QueueRow], now: datetime) -> None:
        self._fill_sites(rows)
        self.model.set_rows(rows, now)
        self._after_rows_changed()
        self.rows_changed.emit(rows)

    def on_tick(self) -> None:
        first, last = self.visible_rows()
        self.model.tick(self._desk.clock.now(), first, last)

    def visible_rows(self) -> tuple[int, int]:
        """The first and last row on screen (-1, -1 with none)."""
        viewport = self.table.viewport()
        first = self.table.rowAt(0)
        if first < 0:
            return -1, -1
        last = self.table.rowAt(viewport.height() - 1)
        return first, (last if last >= 0 else self.model.rowCount() - 1)

    # -- filters --------------------------------------------------------------------------

    def current_filter(self) -> QueueFilter:
        return QueueFilter(
            status=self.status.currentData(),
            priority=self.priority.currentData(),
            category=self.category.currentData(),
            site=self.site.currentData(),
            text=self.text.text(),
        )

    def apply_filter(self, *_: object) -> None:
        self.model.set_filter(self.current_filter())
        self._after_rows_changed()

    def clear_filters(self) -> None:
        for box in (self.status, self.priority, self.category, self.site):
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self.text.clear()  # applies the (now empty) filter
        self.apply_filter()

    def fit_columns(self) -> None:
        header = self.table.horizontalHeader()
        for i, width in enumerate(fit_columns(self.table.viewport().width(), self._wanted,
                                              self._least)):
            header.resizeSection(i, width)

    def focus_filter(self) -> None:
        self.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text.selectAll()

    def focus_table(self) -> None:
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _fill_sites(self, rows: list[QueueRow]) -> None:
        sites = sorted({r.site for r in rows if r.site}, key=str.lower)
        chosen = self.site.currentData()
        if sites == [self.site.itemData(i) for i in range(1, self.site.count())]:
            return
        self.site.blockSignals(True)
        while self.site.count() > 1:
            self.site.removeItem(1)
        for site in sites:
            self.site.addItem(site, site)
        if chosen and chosen not in sites:
            self.site.addItem(chosen, chosen)  # keep the dispatcher's filter while it empties
        self.site.setCurrentIndex(max(0, self.site.findData(chosen)))
        self.site.blockSignals(False)

    # -- selection ------------------------------------------------------------------------

    def current_number(self) -> str:
        return self._shown_number

    def select_number(self, number: str) -> bool:
        """Move the selection to a card (without taking the keyboard focus)."""
        row = self.model.row_of(number)
        if row is None:
            return False
        index = self.model.index(row, 1)
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        number = current.data(CARD_NUMBER_ROLE) if current.isValid() else None
        if number and number != self._shown_number:
            self._shown_number = number
            self.card_chosen.emit(number)

    def _after_rows_changed(self) -> None:
        # Keep the card the dispatcher is on selected, wherever the ranking moved it.
        if self._shown_number:
            self.select_number(self._shown_number)
        shown, total = self.model.rowCount(), self.model.total
        self.count.setText(f"{shown} of {total} open" if shown != total else f"{total} open")
        at = self._desk.clock.now().astimezone(self._desk.rules.tz).strftime("%H:%M:%S")
        if total == 0:
            # Never an all-clear: the desk only vouches for its own journal.
            self.empty.setText(
                f"No open cards in this desk's journal (read at {at}). This is not an all-clear: "
                "the desk is local only and does not see cards registered at other desks."
            )
        elif shown == 0:
            self.empty.setText(f"No card matches the filters; {total} open cards are hidden. "
                               "Ctrl+Shift+F clears the filters.")
        self.empty.setVisible(shown == 0)
