"""The triage tray: what came in through the one door (alerts, mail, SMS, calls) and waits for
a person, keyboard-first.

Intakes land as *pending* items, never as live cards (DOMAIN.md, "One door"). The tray lists
them oldest first; the dispatcher moves with Up/Down and decides each one: Enter accepts it
(the intake form opens pre-filled and the save registers the card and accepts the item in one
journal transaction), A attaches it to an open card, D dismisses it with a reason. Nothing is
discarded silently: a dismissal without a reason is refused and changes nothing.

`Tray` re-reads the pending items after journal changes (the window's one `changed` signal,
which also carries other processes' writes, `app.runtime.watch`; no polling of its own), and
the panel, the count in the status strip and the tab title all show that one read. The count
never takes the focus; the panel takes it only when opened (F3), and Esc gives it back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHeaderView,
    QLabel,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.application import Desk
from app.errors import DeskError
from app.protocol.text import for_display
from app.services.cards.card import Card
from app.services.cards.command_bar import card_number
from app.services.intake import TrayItem
from app.services.intake.commands import AttachItem, DismissItem
from app.ui import style
from app.ui.dialogs import _Form
from app.ui.events import DeskEvents
from app.ui.tray_model import SUMMARY, TrayModel, oldest_age

T = TypeVar("T")
HELP = ("Up/Down move · Enter accept (opens the intake form, pre-filled) · A attach to an "
        "open card · D dismiss (a reason is required) · Esc close")
EMPTY = "Nothing waits in the tray. (Not an all-clear: the queue shows the open cards.)"


def _describe(item: TrayItem) -> str:
    return for_display(f"{item.channel} · {item.integration}: {item.summary}")


class Tray(QObject):
    """The pending items, re-read after journal changes, shared by every view of the tray."""

    items_changed = Signal(object)  # list[TrayItem], oldest first

    def __init__(self, desk: Desk, events: DeskEvents, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk, self.events = desk, events
        self.items: list[TrayItem] = []
        self.urgent: Callable[[], bool] = lambda: False  # the panel: "I am being looked at"
        self._stale = False
        events.changed.connect(self._changed)
        events.tick.connect(self.catch_up)
        self.reload()

    def _changed(self, cards: object) -> None:
        """Any change may be an intake item's (an item lives under its own id, which no
        card has). Reading the tray costs ~0.1 s with 500 open cards (the probable-emergency
        check reads them), so a change is read at once only while the tray is looked at or
        when it names an item on show; otherwise on the next tick, a burst folded into one."""
        self._stale = True
        shown = {i.id for i in self.items}
        if self.urgent() or (isinstance(cards, frozenset) and cards & shown):
            self.reload()

    @property
    def stale(self) -> bool:
        """A change arrived that has not been read yet (it will be on the next tick)."""
        return self._stale

    def catch_up(self) -> None:
        """Read what changed since the last read, if anything did (each tick, and F3)."""
        if self._stale:
            self.reload()

    def reload(self, _cards: object = None) -> None:
        self._stale = False
        try:
            items = list(self.desk.intake.pending())
        except DeskError as exc:  # a read: nothing changed, keep showing the last good list
            self.events.error.emit(f"the triage tray could not be read: {exc}")
            return
        self.items = items
        self.items_changed.emit(items)


class TrayCount(QLabel):
    """"Tray 3 · oldest 12 min" in the status strip: always visible, never focusable."""

    def __init__(self, tray: Tray, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trayCount")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setToolTip("Alerts, mail and calls waiting for triage: F3 opens the tray")
        self._tray = tray
        tray.items_changed.connect(self.show_count)
        tray.events.tick.connect(self.show_count)
        self.show_count()

    def show_count(self, _items: object = None) -> None:
        items = self._tray.items
        age = oldest_age(items, self._tray.desk.clock.now())
        text = f"Tray {len(items)} · oldest {age}" if items else "Tray 0"
        if text != self.text():  # minute-grained: most ticks change nothing
            self.setText(text)
            self.setStyleSheet(style.LOCAL_ONLY_CSS if items else "")


class TrayTable(QTableView):
    """The list itself: the tray's keys work here, where the cursor is while triaging."""

    accept_key = Signal()
    attach_key = Signal()
    dismiss_key = Signal()
    close_key = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        plain = not (event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier
                                           | Qt.KeyboardModifier.KeypadModifier))
        signal = {Qt.Key.Key_Return: self.accept_key, Qt.Key.Key_Enter: self.accept_key,
                  Qt.Key.Key_A: self.attach_key, Qt.Key.Key_D: self.dismiss_key,
                  Qt.Key.Key_Escape: self.close_key}.get(Qt.Key(event.key()))
        if plain and signal is not None:
            signal.emit()
            return
        super().keyPressEvent(event)


class AttachDialog(_Form):
    def __init__(self, parent: QWidget | None, item: TrayItem, previous: str, error: str):
        super().__init__(parent, "Attach to a card", f"{_describe(item)}\n\nThe card it "
                         "belongs to (short numbers work: 16, a16, A-0016).")
        self.number = self.line("Card number", previous, "e.g. 16 or A-0016")
        _show_error(self, error)

    @classmethod
    def ask(cls, parent: QWidget | None, item: TrayItem, previous: str = "",
            error: str = "") -> str | None:
        dialog = cls(parent, item, previous, error)
        return dialog.number.text() if dialog.exec() == QDialog.DialogCode.Accepted else None


class DismissDialog(_Form):
    def __init__(self, parent: QWidget | None, item: TrayItem, previous: str, error: str):
        super().__init__(parent, "Dismiss from the tray", f"{_describe(item)}\n\nWhy it "
                         "needs no card: the reason is kept in the journal.")
        self.reason = self.line("Reason", previous, "e.g. test alert from the monitoring team")
        _show_error(self, error)

    @classmethod
    def ask(cls, parent: QWidget | None, item: TrayItem, previous: str = "",
            error: str = "") -> str | None:
        dialog = cls(parent, item, previous, error)
        return dialog.reason.text() if dialog.exec() == QDialog.DialogCode.Accepted else None


def _show_error(form: _Form, error: str) -> None:
    if error:  # the refusal is said where the person is looking: in the dialog itself
        label = QLabel(f"Not done: {error.rstrip('.')}. Nothing was changed.")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setStyleSheet(style.ERROR_CSS)
        form.form.insertRow(0, label)


class TrayPanel(QWidget):
    """The tray's list and keys; the host opens it with `open_in` and hears `accept_requested`."""

    accept_requested = Signal(str, object)  # item id, the intake form's prefill (dict)

    def __init__(self, desk: Desk, events: DeskEvents, tray: Tray | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk, self.events = desk, events
        self.tray = tray or Tray(desk, events, self)
        # Read changes at once while triaging: the tray on show, or an item in the form.
        self._handed: str | None = None  # the item handed to the intake form, until settled
        self.tray.urgent = lambda: self.isVisible() or self._handed is not None
        self.model = TrayModel(desk.clock.now(), self)
        self.table = TrayTable()
        self.table.setObjectName("trayTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)  # one line per item: the full text is its tooltip
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SUMMARY, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Triage tray")
        self.help = QLabel(HELP)
        self.help.setWordWrap(True)
        self.empty = QLabel(EMPTY)
        column = QVBoxLayout(self)
        column.addWidget(self.help)
        column.addWidget(self.empty)
        column.addWidget(self.table, 1)
        self._back: tuple[QWidget | None, QWidget | None] = (None, None)  # tab, focus
        self.table.accept_key.connect(self.accept)
        self.table.attach_key.connect(self.attach)
        self.table.dismiss_key.connect(self.dismiss)
        self.table.close_key.connect(self.close_tray)
        self.tray.items_changed.connect(self._show)
        events.tick.connect(lambda: self.model.tick(desk.clock.now()))
        self._show(self.tray.items)

    # -- opening and closing --------------------------------------------------------------

    def open(self) -> None:
        """F3: the tray's tab, the cursor on its first (oldest) item; where the cursor was
        is remembered so Esc can give it back."""
        self.tray.catch_up()
        side = self._tabs()
        if side is not None and side.currentWidget() is not self:
            self._back = (side.currentWidget(), QApplication.focusWidget())
            side.setCurrentWidget(self)
        if self.table.currentIndex().row() < 0 and self.model.rowCount():
            self.table.selectRow(0)
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def close_tray(self) -> None:
        """Esc: back to the tab and the widget the cursor was in when F3 was pressed."""
        tab, focus = self._back
        self._back = (None, None)
        side = self._tabs()
        if side is not None and side.currentWidget() is self:
            side.setCurrentIndex(max(side.indexOf(tab), 0) if tab is not None else 0)
        if focus is not None and focus.isVisible():
            focus.setFocus(Qt.FocusReason.OtherFocusReason)

    def title(self) -> str:
        return f"Tray {len(self.tray.items)} (F3)"

    def _tabs(self) -> QTabWidget | None:
        """The tab widget the host put the tray in (a tab's parent is the tab widget's
        stack), or None when the tray is shown on its own."""
        host = self.parentWidget()
        while host is not None and not isinstance(host, QTabWidget):
            host = host.parentWidget()
        return host

    # -- the three decisions --------------------------------------------------------------

    def current(self) -> TrayItem | None:
        item = self.model.item_at(self.table.currentIndex().row())
        if item is None:
            self.events.info.emit("The tray is empty: nothing to triage." if not
                                  self.model.rowCount() else "Pick an item first (Up/Down).")
        return item

    def accept(self) -> bool:
        """Enter: ask the host to open the intake form pre-filled from the item."""
        item = self.current()
        if item is None:
            return False
        try:
            prefill = self.desk.intake.prefill(item.id)
        except DeskError as exc:  # a read: nothing changed
            self.events.error.emit(str(exc))
            return False
        self._back = (None, None)  # the form takes over; after it, the new card is shown
        self._handed = item.id
        self.accept_requested.emit(item.id, prefill)
        return True

    def attach(self) -> Card | None:
        """A: attach the item to an open card, by its number as the command bar takes it."""
        item = self.current()
        if item is None:
            return None
        desk, code = self.desk, self.desk.journal.desk_code
        card = self._until_done(
            lambda prev, err: AttachDialog.ask(self, item, prev, err),
            lambda typed: desk.handle(AttachItem(item.id, card_number(typed, code))))
        if card is not None:
            self.events.info.emit(f"attached to {card.number}: {_describe(item)}")
        return card

    def dismiss(self) -> bool:
        """D: dismiss the item; the reason is required and kept (the service refuses an
        empty one, and the dialog comes back with what was typed and why)."""
        item = self.current()
        if item is None:
            return False
        desk = self.desk

        def dismissed(reason: str) -> bool:
            desk.handle(DismissItem(item.id, reason))
            return True

        done = self._until_done(lambda prev, err: DismissDialog.ask(self, item, prev, err),
                                dismissed, cards=frozenset({item.id}))
        if done:
            self.events.info.emit(f"dismissed: {_describe(item)}")
        return bool(done)

    def _until_done(self, ask: Callable[[str, str], str | None], act: Callable[[str], T],
                    cards: frozenset[str] | None = None) -> T | None:
        """Ask, then act in one journal transaction; when the service refuses, ask again
        with what was typed and the refusal, until it is done or the person cancels."""
        typed, error = "", ""
        while True:
            answer = ask(typed, error)
            if answer is None:
                return None
            errors: list[str] = []
            link = self.events.error.connect(errors.append)
            try:
                done = self.events.run(functools.partial(act, answer), cards=cards)
            finally:
                self.events.error.disconnect(link)
            if not errors:
                self.table.setFocus(Qt.FocusReason.OtherFocusReason)
                return done
            typed, error = answer, errors[-1]  # the message bar has said it already

    # -- showing --------------------------------------------------------------------------

    def _show(self, items: Sequence[TrayItem]) -> None:
        chosen = self.model.item_at(self.table.currentIndex().row())
        row = self.table.currentIndex().row()
        self.model.set_items(items, self.desk.clock.now())
        if self._handed is not None and self.model.row_of(self._handed) is None:
            self._handed = None  # accepted (or settled elsewhere): nothing more to hurry
        self._retitle()
        # The list stays, empty, so the cursor has a place and Esc still closes the tray.
        self.empty.setVisible(not items)
        if not items:
            return
        # Keep the cursor on the same item; when it left the tray, on the one that took its
        # place (the next oldest), so D, D, D works down the list.
        again = self.model.row_of(chosen.id) if chosen is not None else None
        target = again if again is not None else min(max(row, 0), len(items) - 1)
        self.table.selectRow(target)

    def _retitle(self) -> None:
        side = self._tabs()
        if side is not None:
            side.setTabText(side.indexOf(self), self.title())

