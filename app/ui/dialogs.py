"""Small dialogs for card actions. Each has an `ask()` classmethod returning a command from
the card vocabulary (`app.services.cards.commands`), or None for cancel; the caller hands it
to `Desk.handle`. Tests replace `ask` instead of clicking through a modal dialog.

Dialogs only gather words: the card service validates them. When it refuses, the caller opens
the dialog again with the refused command as `previous`, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import DeskError
from app.services.cards.card import STATUS_LABELS, Card
from app.services.cards.commands import (
    Acknowledge,
    AddNote,
    Assign,
    ChangePriority,
    PostStatusMessage,
    SetStatus,
)
from app.services.cards.rules import PRIORITIES
from app.services.cards.service import ACK_METHODS, CLOSURE_FIELDS, TRANSITIONS
from app.services.cards.status_message import SHAPES, StatusMessage
from app.ui import style

ACK_LABELS = {"phone": "by phone", "in_person": "in person", "sms": "by SMS reply",
              "voice": "key pressed in the call", "radio": "by radio"}
# What counts as an input for the focus rules (a label or a preview does not).
_INPUTS = (QLineEdit, QComboBox, QPlainTextEdit)
CLOSURE_LABELS = {"cause": "Cause (or 'unknown')", "workaround": "Workaround",
                  "fix": "Permanent fix", "lessons": "Lessons (one or two)"}


class _Form(QDialog):
    """A titled form with OK/Cancel and the desk's focus rules (issue 15):

    - it opens with the cursor in its first input, never on a button, so the first keys
      typed land in the field;
    - no button is default or auto-default: Space or Enter pressed in another widget can
      never fire OK by accident (a name with a space once pressed OK half typed);
    - Ctrl+Enter submits from any field; Enter in a line edit submits only when that line
      is the dialog's one input; Esc cancels (QDialog's own key).
    """

    def __init__(self, parent: QWidget | None, title: str, hint: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        outer = QVBoxLayout(self)
        if hint:
            label = QLabel(hint)
            label.setWordWrap(True)
            outer.addWidget(label)
        self.form = QFormLayout()
        outer.addLayout(self.form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("OK  (Ctrl+Enter)")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self._no_default_buttons()
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.submit)
        self._wired = False

    def submit(self) -> None:
        """OK, Ctrl+Enter or a lone line's Enter: only while OK is enabled (the status
        message composer disables it for a message that cannot be sent)."""
        if self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled():
            self.accept()

    def inputs(self) -> list[QWidget]:
        """The form's visible inputs, top to bottom."""
        found: list[QWidget] = []
        for row in range(self.form.rowCount()):
            item = self.form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            widget = item.widget() if item is not None else None
            if isinstance(widget, _INPUTS) and not widget.isHidden() and widget.isEnabled():
                found.append(widget)
        return found

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # QDialogButtonBox makes OK the default (and may focus it) as it is shown, which
        # happens before this: undo it here, then put the cursor in the first field.
        self._no_default_buttons()
        inputs = self.inputs()
        if not self._wired:
            self._wired = True
            if len(inputs) == 1 and isinstance(inputs[0], QLineEdit):
                inputs[0].returnPressed.connect(self.submit)
        if inputs:
            inputs[0].setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def _no_default_buttons(self) -> None:
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)

    def line(self, label: str, text: str = "", placeholder: str = "") -> QLineEdit:
        edit = QLineEdit(text)
        edit.setPlaceholderText(placeholder)
        self.form.addRow(label, edit)
        return edit

    def choice(self, label: str, items: Sequence[tuple[str, str]], current: str = "") -> QComboBox:
        box = QComboBox()
        for key, text in items:
            box.addItem(text, key)
        if current and (i := box.findData(current)) >= 0:
            box.setCurrentIndex(i)
        self.form.addRow(label, box)
        return box


class PriorityDialog(_Form):
    def __init__(self, parent: QWidget | None, card: Card, previous: ChangePriority | None):
        super().__init__(parent, f"Priority of {card.number}",
                         f"Now {card.priority}: {card.priority_reason}. Record why it changes.")
        others = [(p, p) for p in PRIORITIES if p != card.priority]
        self.priority = self.choice("New priority", others, previous.priority if previous else "")
        self.reason = self.line("Reason (one line)", previous.reason if previous else "",
                                "e.g. workaround found: users moved to the reserve channel")
        self.evidence = self.line("Evidence", previous.evidence if previous else "",
                                  "who confirmed it, what was seen")

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card,
            previous: ChangePriority | None = None) -> ChangePriority | None:
        dialog = cls(parent, card, previous)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return ChangePriority(card.number, dialog.priority.currentData(), dialog.reason.text(),
                              dialog.evidence.text())


class StatusDialog(_Form):
    def __init__(self, parent: QWidget | None, card: Card, previous: SetStatus | None):
        super().__init__(parent, f"Status of {card.number}", f"Now: {card.status_label}.")
        targets = [(s, STATUS_LABELS[s]) for s in STATUS_LABELS if s in TRANSITIONS[card.status]]
        self.status = self.choice("New status", targets, previous.status if previous else "")
        self.reason = self.line("Reason", previous.reason if previous else "")
        given = previous.closure if previous else {}
        self.closure = {k: self.line(CLOSURE_LABELS[k], given.get(k, "")) for k in CLOSURE_FIELDS}
        self.confirmed_by = self.line("Recovery confirmed by",
                                      previous.confirmed_by if previous else "")
        self.status.currentIndexChanged.connect(self._closing_fields)
        self._closing_fields()

    def _closing_fields(self) -> None:
        closing = self.status.currentData() == "closed"
        for edit in (*self.closure.values(), self.confirmed_by):
            self.form.setRowVisible(edit, closing)

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card,
            previous: SetStatus | None = None) -> SetStatus | None:
        dialog = cls(parent, card, previous)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        status = dialog.status.currentData()
        closure = {k: e.text() for k, e in dialog.closure.items()} if status == "closed" else {}
        return SetStatus(card.number, status, dialog.reason.text(), closure,
                         dialog.confirmed_by.text())


class NoteDialog(_Form):
    def __init__(self, parent: QWidget | None, card: Card, previous: AddNote | None) -> None:
        super().__init__(parent, f"Note on {card.number}", "Symptoms and facts, not guesses.")
        self.text = QPlainTextEdit(previous.text if previous else "")
        self.form.addRow("Note", self.text)

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card,
            previous: AddNote | None = None) -> AddNote | None:
        dialog = cls(parent, card, previous)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return AddNote(card.number, dialog.text.toPlainText())


class AssignDialog(_Form):
    def __init__(self, parent: QWidget | None, card: Card, previous: Assign | None) -> None:
        super().__init__(parent, f"Assign {card.number}", "One accountable person, not a group.")
        self.who = self.line("Assignee", previous.assignee if previous else (card.assignee or ""))

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card,
            previous: Assign | None = None) -> Assign | None:
        dialog = cls(parent, card, previous)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return Assign(card.number, dialog.who.text())


class AckDialog(_Form):
    def __init__(self, parent: QWidget | None, card: Card, previous: Acknowledge | None) -> None:
        super().__init__(parent, f"Acknowledgement of {card.number}",
                         "Who accepted the card, and how you know.")
        self.who = self.line("Who", previous.who if previous else "", "name (role)")
        self.how = self.choice("How", [(m, ACK_LABELS.get(m, m)) for m in ACK_METHODS],
                               previous.how if previous else "phone")

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card,
            previous: Acknowledge | None = None) -> Acknowledge | None:
        dialog = cls(parent, card, previous)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return Acknowledge(card.number, dialog.who.text(), dialog.how.currentData())


SHAPE_PARTS = {
    "opening": (("what", "What is not working"), ("since", "Since")),
    "progress": (("cause", "Cause"), ("done", "Done"), ("requested", "Requested / next step")),
    "workaround": (("workaround", "Workaround"), ("effect", "Effect")),
    "closed": (("fix", "Permanent fix"), ("at", "Closed at")),
}
PLACEHOLDERS = {"cause": "Cause under investigation", "effect": "Service partially restored",
                "what": "the card's symptom", "since": "registration time"}


class StatusMessageDialog(_Form):
    """Pick a fixed shape, fill the blanks, see the exact message and the next update time."""

    def __init__(self, parent: QWidget | None, card: Card,
                 compose: Callable[[str, dict[str, str]], StatusMessage],
                 previous: PostStatusMessage | None) -> None:
        super().__init__(parent, f"Status message for {card.number}")
        self._compose = compose
        self.message: StatusMessage | None = None
        self.shape = self.choice("Shape", list(SHAPES.items()))
        self.parts: dict[str, QLineEdit] = {}
        for shape_parts in SHAPE_PARTS.values():
            for key, label in shape_parts:
                self.parts[key] = self.line(label, placeholder=PLACEHOLDERS.get(key, ""))
                self.parts[key].textChanged.connect(self._preview)
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.form.addRow("Message", self.preview)
        self.shape.currentIndexChanged.connect(self._preview)
        self._preview()

    def _preview(self) -> None:
        shape = self.shape.currentData()
        wanted = {k for k, _ in SHAPE_PARTS[shape]}
        for key, edit in self.parts.items():
            self.form.setRowVisible(edit, key in wanted)
        try:
            self.message = self._compose(shape, {k: self.parts[k].text() for k in wanted})
        except DeskError as exc:
            self.message = None
            self.preview.setStyleSheet(style.ERROR_CSS)
            self.preview.setText(str(exc))
        else:
            self.preview.setStyleSheet("")
            self.preview.setText(self.message.text)
        # OK only for a message that can be sent; the error above says what is missing.
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.message is not None)

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card,
            compose: Callable[[str, dict[str, str]], StatusMessage],
            previous: PostStatusMessage | None = None) -> PostStatusMessage | None:
        dialog = cls(parent, card, compose, previous)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        msg = dialog.message
        return PostStatusMessage(card.number, msg.text, msg.next_update_at) if msg else None


class ShortcutsDialog(QDialog):
    """F1: every key of the window, from the action table."""

    def __init__(self, parent: QWidget | None, rows: Sequence[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        for i, (keys, what) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(keys))
            table.setItem(i, 1, QTableWidgetItem(what))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        QVBoxLayout(self).addWidget(table)
        self.resize(560, 520)

    @classmethod
    def ask(cls, parent: QWidget | None, rows: Sequence[tuple[str, str]]) -> None:
        cls(parent, rows).exec()
