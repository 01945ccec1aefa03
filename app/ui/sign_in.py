"""Signing in at the window: the login and PIN form, the screen the desk window shows in
place of the desk while nobody is signed in, and the incoming lead's prompt at a handover.

Keyboard first, and nothing a stray key can fire: the cursor starts in the login, Enter there
moves to the PIN, Enter in the PIN signs in. The "Sign in" button is for the mouse only (it
never takes the focus, so Space cannot press it, and a dialog has no default button). A
refusal (wrong PIN, a locked login, a disabled account) is shown in place, in one line; the
PIN is cleared and the login kept, so nothing else typed is lost. The PIN is a password
field: it never echoes, and it cannot be copied out.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.application import Desk
from app.errors import DeskError, PermissionDenied, ValidationError
from app.protocol.accounts import Account
from app.protocol.text import for_display
from app.services.handover.commands import AcceptHandover
from app.services.operators.rights import authorise
from app.ui import style

#: Checks a login and PIN: the account, or a DeskError whose text is the one-line refusal.
Check = Callable[[str, str], Account]


def who_line(desk: Desk) -> str:
    """Who is at the desk, as the title bar and the status strip say it: "A. Novak (novak)
    — dispatcher"; "" when nobody is signed in."""
    account = desk.signed_in
    if account is None:
        return ""
    roles = desk.operators.table.labels(account.roles) if desk.operators else ", ".join(
        account.roles)
    return for_display(f"{account.name} ({account.login}) — {roles}")


class SignInPanel(QWidget):
    """Login, PIN, and the refusal in place. `signed_in` carries the account."""

    signed_in = Signal(object)  # Account

    def __init__(self, check: Check, heading: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._check = check
        self.heading = QLabel(for_display(heading))
        self.heading.setObjectName("signin_heading")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.heading.setFont(font)
        self.login = QLineEdit()
        self.login.setObjectName("signin_login")
        self.login.setAccessibleName("Login")
        self.login.setMaxLength(80)
        self.pin = QLineEdit()
        self.pin.setObjectName("signin_pin")
        self.pin.setAccessibleName("PIN")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)  # no echo, no copy, no predictions
        self.pin.setMaxLength(128)
        self.message = QLabel()
        self.message.setObjectName("signin_message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # a login typed is not HTML
        self.message.setWordWrap(True)
        self.message.hide()
        hint = QLabel("Enter in the login goes to the PIN; Enter in the PIN signs in.")
        hint.setWordWrap(True)
        self.button = QPushButton("Sign in")
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # for the mouse; Space never fires it
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self.submit)
        form = QFormLayout()
        form.addRow("&Login", self.login)
        form.addRow("&PIN", self.pin)
        column = QVBoxLayout(self)
        column.addWidget(self.heading)
        column.addLayout(form)
        column.addWidget(self.message)
        column.addWidget(hint)
        column.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight)
        self.setTabOrder(self.login, self.pin)
        self.login.returnPressed.connect(self._to_pin)
        self.pin.returnPressed.connect(self.submit)

    def reset(self, login: str = "", message: str = "") -> None:
        """Ready for the next person: the PIN empty, the cursor in the login (a login kept
        from the person who locked is selected, so the next one types over it)."""
        self.pin.clear()
        self.login.setText(login)
        self.login.selectAll()
        self.show_message(message)
        self.login.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_message(self, text: str) -> None:
        self.message.setText(for_display(text))
        self.message.setStyleSheet(style.ERROR_CSS if text.startswith("Not") else style.INFO_CSS)
        self.message.setVisible(bool(text))

    def _to_pin(self) -> None:
        if not self.login.text().strip():
            self.show_message("Not signed in: type your login, then your PIN")
            return
        self.pin.setFocus(Qt.FocusReason.OtherFocusReason)

    def submit(self) -> Account | None:
        """Check the login and PIN; on a refusal say why in place, clear the PIN, keep the
        login and put the cursor back in the PIN."""
        login, pin = self.login.text(), self.pin.text()
        self.pin.clear()
        try:
            account = self._check(login, pin)
        except DeskError as exc:
            self.show_message(str(exc))
            (self.pin if login.strip() else self.login).setFocus(Qt.FocusReason.OtherFocusReason)
            return None
        self.show_message("")
        self.login.clear()
        self.signed_in.emit(account)
        return account


class SignInScreen(QWidget):
    """What the desk window shows instead of the queue, the card and the tray while nobody
    is signed in (the desk's panels are kept as they were, only not shown)."""

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signin_screen")
        self.panel = SignInPanel(desk.sign_in, f"Dispatch Desk · desk {desk.journal.desk_code}"
                                 " — sign in")
        self.panel.setMaximumWidth(560)
        # While another window of the desk is open, the sign-in is there, in front.
        self.elsewhere_note = QLabel("Locked. Sign in in the window in front: the desk's "
                                     "other windows stay as they were, hidden until then.")
        self.elsewhere_note.setWordWrap(True)
        self.elsewhere_note.hide()
        column = QVBoxLayout(self)
        column.addStretch(1)
        column.addWidget(self.panel, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.elsewhere_note, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(2)

    def elsewhere(self, yes: bool) -> None:
        self.panel.setVisible(not yes)
        self.elsewhere_note.setVisible(yes)


class SignInDialog(QDialog):
    """The lock's sign-in while another window of the desk is open (a dialog mid-way, the
    outbox): modal over every window of the application, so it takes the keys they would;
    it closes only when someone signs in (Esc does nothing)."""

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Dispatch Desk · desk {desk.journal.desk_code} — locked")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.panel = SignInPanel(desk.sign_in, "Locked — sign in to go on")
        QVBoxLayout(self).addWidget(self.panel)
        self.panel.signed_in.connect(lambda _account: self.accept())

    def reject(self) -> None:  # Esc: the lock stays until someone signs in
        return

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.result() != QDialog.DialogCode.Accepted:
            event.ignore()


class IncomingLeadDialog(QDialog):
    """The incoming lead signs the handover with their own login and PIN on this desk, while
    the outgoing lead stays signed in. Their sign-in is a journal fact like any other; the
    account returned is the actor of the acceptance."""

    def __init__(self, desk: Desk, login: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.account: Account | None = None
        self.setWindowTitle("Incoming lead: sign the handover")
        self.panel = SignInPanel(self._check, "Incoming lead: your login and PIN")
        QVBoxLayout(self).addWidget(self.panel)
        self.panel.signed_in.connect(self._done)
        self.panel.reset(login.strip())
        if login.strip():
            self.panel.pin.setFocus(Qt.FocusReason.OtherFocusReason)

    @classmethod
    def ask(cls, desk: Desk, parent: QWidget | None, login: str = "") -> Account | None:
        """The incoming lead's account, signed in with their PIN; None if cancelled (Esc)."""
        dialog = cls(desk, login, parent)
        dialog.exec()
        return dialog.account

    def _check(self, login: str, pin: str) -> Account:
        operators = self.desk.operators
        if operators is None:
            raise PermissionDenied("Not done: this desk has no operator accounts")
        result = operators.sign_in(login, pin)
        if result.account is None:
            raise PermissionDenied(result.refusal or "Not signed in")
        account, outgoing = result.account, self.desk.signed_in
        if outgoing is not None and account.id == outgoing.id:
            raise ValidationError(f"Not done: {account.name} is the outgoing lead, signed in at "
                                  "this desk; the incoming lead signs with their own login",
                                  field="incoming")
        # Said here, in place, rather than after the prompt has gone.
        authorise(account, AcceptHandover(account.name, []), operators.table)
        return account

    def _done(self, account: Account) -> None:
        self.account = account
        self.accept()
