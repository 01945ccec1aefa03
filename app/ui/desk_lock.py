"""Who is at the desk window, and the lock: Ctrl+L, "switch operator", the idle lock.

On a desk with operator accounts the window starts locked. Locking signs the operator out and
puts the sign-in screen where the desk was; nothing is closed or rebuilt: the queue, the card,
the intake form's draft and any dialog half filled in stay as they were, only hidden (another
window of the desk is covered by a veil, and the sign-in then happens in a dialog in front,
modal over every window, since a dialog mid-way keeps the desk window from taking keys). The
next person to sign in finds it all again, the cursor where it was.

Idle is measured from the last key or mouse event anywhere in the application, in the desk's
clock (tests move a fake one and emit the shared tick); the lock is off with 0 minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.application import Desk
from app.clock import Clock
from app.protocol.accounts import Account
from app.ui.events import DeskEvents
from app.ui.sign_in import SignInDialog, SignInScreen

_ACTIVITY = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress,
                       QEvent.Type.MouseMove, QEvent.Type.Wheel})


class IdleWatch(QObject):
    """When a person last pressed a key or moved the mouse, in the desk's clock."""

    def __init__(self, clock: Clock, minutes: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self.limit = timedelta(minutes=minutes) if minutes > 0 else None
        self.last: datetime = clock.now()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() in _ACTIVITY:
            self.last = self._clock.now()
        return False

    def touch(self) -> None:
        self.last = self._clock.now()

    def expired(self) -> bool:
        return self.limit is not None and self._clock.now() - self.last >= self.limit


class Veil(QWidget):
    """An opaque cover over another window of the desk while it is locked: what it shows
    stays there, unseen, until someone signs in."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("lock_veil")
        self.setAutoFillBackground(True)
        label = QLabel("Locked: sign in to go on.")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        QVBoxLayout(self).addWidget(label)
        self._window = window
        window.installEventFilter(self)
        self.setGeometry(window.rect())
        self.show()
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if watched is self._window and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._window.rect())
        return False

    def lift(self) -> None:
        self._window.removeEventFilter(self)
        self.hide()
        self.deleteLater()


def _belongs_to(widget: QWidget, window: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if parent is window:
            return True
        parent = parent.parentWidget()
    return False


class DeskLock(QObject):
    """Signs the window's operator in and out, and shows the desk or the sign-in screen."""

    who_changed = Signal()

    def __init__(self, desk: Desk, events: DeskEvents, window: QMainWindow,
                 pages: QStackedWidget, actions: Sequence[QAction],
                 hidden: Sequence[QWidget] = (), *, can_focus: Callable[[QWidget], bool]
                 ) -> None:
        super().__init__(window)
        self.desk, self._window, self._pages = desk, window, pages
        desk_page = pages.currentWidget()
        assert desk_page is not None, "the desk's own page comes first"
        self._desk_page = desk_page
        self._actions, self._hidden, self._can_focus = tuple(actions), tuple(hidden), can_focus
        self.screen = SignInScreen(desk)
        pages.addWidget(self.screen)
        self.screen.panel.signed_in.connect(self._signed_in)
        self.idle = IdleWatch(desk.clock, desk.settings.lock_idle_minutes, self)
        self.dialog: SignInDialog | None = None
        self._veils: list[Veil] = []
        self._enabled: list[QAction] = []
        self._focus: QWidget | None = None
        self._active: QWidget | None = None
        self.locked = False
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)
        events.tick.connect(self._tick)
        events.changed.connect(self._journal_changed)
        if desk.needs_sign_in and desk.signed_in is None:
            self.lock()

    def remove(self) -> None:
        """The window is closing: stop watching the application's events."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)

    # -- locking --------------------------------------------------------------------------

    def lock(self, message: str = "", *, keep_login: bool = True) -> None:
        """Sign out and show the sign-in screen; nothing of the desk is closed. `keep_login`:
        the login of the person who locked is offered (selected) for their return."""
        if self.locked or not self.desk.needs_sign_in:
            return
        leaving: Account | None = self.desk.signed_in
        focus = self._window.focusWidget()
        self._focus = focus if focus is not None and self._can_focus(focus) else self._focus
        self._active = QApplication.activeWindow()
        self.desk.sign_out()
        self.locked = True
        self._enabled = [a for a in self._actions if a.isEnabled()]
        for action in self._enabled:
            action.setEnabled(False)  # no window key reaches the hidden desk
        self._window.menuBar().hide()
        for widget in self._hidden:
            widget.hide()
        self._pages.setCurrentWidget(self.screen)
        login = leaving.login if leaving is not None and keep_login else ""
        others = self._other_windows()
        self._veils = [Veil(w) for w in others]
        self.screen.elsewhere(bool(others))
        if others:
            self.dialog = SignInDialog(self.desk, self._window)
            self.dialog.panel.signed_in.connect(self._signed_in)
            self.dialog.show()
            self.dialog.raise_()
            self.dialog.activateWindow()
            self.dialog.panel.reset(login, message)
        else:
            self.screen.panel.reset(login, message)
        self.who_changed.emit()

    def switch_operator(self) -> None:
        """Hand the desk to the next person: like a lock, with the login field empty."""
        self.lock("Switch operator: the next person signs in.", keep_login=False)

    def _other_windows(self) -> list[QWidget]:
        """The desk's other open windows (dialogs, the outbox); popups are closed, and the
        wallboard (not the desk's child) stays on the wall."""
        out = []
        for widget in QApplication.topLevelWidgets():
            if widget is self._window or not widget.isVisible() or \
                    not _belongs_to(widget, self._window):
                continue
            if widget.windowType() in (Qt.WindowType.Popup, Qt.WindowType.ToolTip):
                widget.hide()
            elif isinstance(widget, QDialog) or widget.windowType() == Qt.WindowType.Window:
                out.append(widget)
        return out

    def _signed_in(self, account: Account) -> None:
        self.locked = False
        self.idle.touch()
        for action in self._enabled:
            action.setEnabled(True)
        self._enabled = []
        self._window.menuBar().show()
        for widget in self._hidden:
            widget.show()
        self._pages.setCurrentWidget(self._desk_page)
        self.screen.elsewhere(False)
        for veil in self._veils:
            veil.lift()
        self._veils = []
        if self.dialog is not None:
            self.dialog.accept()
            self.dialog.deleteLater()
            self.dialog = None
        if self._focus is not None:  # the desk's cursor, for whenever its window is active
            self._focus.setFocus(Qt.FocusReason.OtherFocusReason)
        back = self._active
        if back is not None and back is not self._window and back.isVisible():
            back.activateWindow()  # the dialog that was open when the desk locked
        else:
            self._window.activateWindow()
        self.who_changed.emit()

    # -- what may lock it by itself -------------------------------------------------------

    def _tick(self) -> None:
        if not self.locked and self.desk.signed_in is not None and self.idle.expired():
            minutes = self.desk.settings.lock_idle_minutes
            self.lock(f"Locked after {minutes:g} idle minutes; sign in to go on.")

    def _journal_changed(self, _cards: object = None) -> None:
        """Accounts that arrive by sync or from another process: the first one makes this
        a desk where people sign in; a disable of the person signed in ends their session."""
        if self.locked or self.desk.operators is None:
            return
        account = self.desk.signed_in
        if account is None:
            if self.desk.needs_sign_in:
                self.lock("This desk now has operator accounts: sign in.")
            return
        now = self.desk.operators.accounts().get(account.id)
        if now is None or not now.enabled:
            self.lock(f"The account {account.login} was disabled; it cannot sign in.",
                      keep_login=False)
