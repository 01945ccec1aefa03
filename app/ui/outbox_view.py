"""The outbox view (Ctrl+O "Outbox"): everything going out, keyboard-first.

Every message the desk sends to people who are informed, not paged (notices of the
notification plan, customer texts, status updates by SMS and e-mail) with its state, and
the ladder's pages beside them, read only. Up/Down move; **Del** cancels the selected
message (after a confirmation, with a reason); **Enter** confirms a stale (or failed) one so
that it is sent after all; **F5** reads again; **Esc** closes. The rows are immutable
`Message` values turned into precomputed strings; the model holds no session.

Open it with `open_outbox_view(parent, desk)`; the window binds it to Ctrl+O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.application import Desk
from app.errors import DeskError
from app.protocol.text import for_display
from app.runtime.outbox import Outbox
from app.services.cards.timeline import local_time
from app.services.messages import outbox as ob
from app.services.messages.outbox import Message

HELP = ("Up/Down move · Enter send a stale message after all · Del cancel the selected "
        "message · F5 read again · Esc close. Pages belong to the ladder (read only).")
COLUMNS = ("Queued", "Card", "Type", "To", "State", "Detail")
_STATE_WORDS = {ob.QUEUED: "waiting", ob.RETRYING: "retrying", ob.SENT: "sent",
                ob.FAILED: "FAILED", ob.CANCELLED: "cancelled", ob.STALE: "STALE: Enter sends"}
Index = QModelIndex | QPersistentModelIndex


class OutboxModel(QAbstractTableModel):
    """Thin table model over immutable rows (message, its cells as strings)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[Message, tuple[str, ...]]] = []

    def set_rows(self, rows: Sequence[tuple[Message, tuple[str, ...]]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def message(self, row: int) -> Message | None:
        return self._rows[row][0] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        return self._rows[index.row()][1][index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None


def cells(m: Message, number: str, desk: Desk) -> tuple[str, ...]:
    now = desk.clock.now()
    state = m.state(now)
    kind = "page (ladder)" if m.read_only else m.type
    channel = {"sms": "SMS", "email": "e-mail", "voice": "call"}.get(m.channel, m.channel)
    detail = m.error or ("told by the ladder's page" if m.via == "page" else m.body)
    if m.cancelled:
        detail = f"cancelled: {m.cancelled}"
    return tuple(for_display(x) for x in (
        local_time(m.queued_at, desk.rules.tz, seconds=True), number, kind,
        f"{channel} {m.name} {m.to}", _STATE_WORDS.get(state, state), detail[:200]))


class OutboxView(QDialog):
    def __init__(self, parent: QWidget | None, desk: Desk) -> None:
        super().__init__(parent)
        self.desk = desk
        self.outbox = Outbox(desk)
        self.setWindowTitle("Outbox")
        self.resize(1100, 520)
        self.help = QLabel(HELP)
        self.help.setWordWrap(True)
        self.note = QLabel("")
        self.model = OutboxModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        # One line per message: the short columns fit their text, the detail takes the rest
        # (elided at the right; the card's timeline has the whole text).
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.help)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        self.refresh()
        self.table.setFocus()

    # Replaceable in tests (pytest-qt: no modal boxes).
    @classmethod
    def ask_cancel(cls, parent: QWidget, m: Message) -> str | None:
        """The reason to cancel `m`, or None to keep it."""
        sure = QMessageBox.question(parent, "Cancel message",
                                    f"Cancel the message to {m.name} ({m.to})? It will not "
                                    "be sent.")
        if sure != QMessageBox.StandardButton.Yes:
            return None
        reason, ok = QInputDialog.getText(parent, "Cancel message", "Why (on the card):",
                                          text="cancelled at the desk")
        return reason if ok else None

    def refresh(self) -> None:
        try:
            msgs = self.outbox.messages()
            numbers = self.outbox.numbers()
        except DeskError as exc:
            self.note.setText(for_display(str(exc)))
            return
        row = max(self.table.currentIndex().row(), 0)
        self.model.set_rows([(m, cells(m, numbers.get(m.card_id, "tray"), self.desk))
                             for m in msgs])
        if self.model.rowCount():
            self.table.selectRow(min(row, self.model.rowCount() - 1))
        elif not self.note.text():
            self.note.setText("Nothing in the outbox.")

    def selected(self) -> Message | None:
        return self.model.message(self.table.currentIndex().row())

    def cancel_selected(self) -> bool:
        m = self.selected()
        if m is None:
            return False
        if m.read_only:
            self.note.setText("Pages belong to the ladder: acknowledge the card or hold its "
                              "ladder instead.")
            return False
        reason = self.ask_cancel(self, m)
        if reason is None:
            return False
        return self._act(lambda: self.outbox.cancel(m.id, reason), f"Cancelled: {m.name}.")

    def confirm_selected(self) -> bool:
        m = self.selected()
        if m is None:
            return False
        return self._act(lambda: self.outbox.confirm(m.id),
                         f"Confirmed: {m.name} gets it now.")

    def _act(self, action: Any, done: str) -> bool:
        try:
            action()
        except DeskError as exc:
            self.note.setText(for_display(str(exc)))
            return False
        self.note.setText(done)
        self.refresh()
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Delete:
            self.cancel_selected()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.confirm_selected()  # never the dialog's default button: Enter sends
        elif key == Qt.Key.Key_F5:
            self.note.setText("")
            self.refresh()
        else:
            super().keyPressEvent(event)

    def done(self, result: int) -> None:
        self.outbox.close()
        super().done(result)


def open_outbox_view(parent: QWidget | None, desk: Desk) -> OutboxView:
    """Open the outbox (modeless); the window binds this to Ctrl+O "Outbox"."""
    view = OutboxView(parent, desk)
    view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.show()
    view.raise_()
    view.activateWindow()
    return view
