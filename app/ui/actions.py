"""Every action of the desk window, with its shortcut, in one table; menus are built from it.

Keyboard first: each thing a dispatcher does has a key, listed here once, so the menus, the
buttons' hints and the F1 cheat sheet can never disagree. Handlers are looked up by the
action's key in a mapping the window passes in; an action without a handler is shown
disabled rather than silently missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QKeyCombination, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMenuBar,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.services.cards.rules import CannedNote


@dataclass(frozen=True)
class ActionSpec:
    key: str
    text: str
    shortcuts: tuple[str, ...]
    menu: str
    tip: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("intake", "&New card…", ("Ctrl+N", "F2"), "&Card", "Register a call or alert"),
    ActionSpec("status", "Change &status…", ("Ctrl+S",), "&Card"),
    ActionSpec("priority", "Change &priority…", ("Ctrl+Shift+P",), "&Card",
               "A one-line reason is required; your role is checked"),
    ActionSpec("note", "Add &note…", ("Ctrl+Shift+N",), "&Card"),
    ActionSpec("assign", "&Assign…", ("Ctrl+Shift+A",), "&Card"),
    ActionSpec("acknowledge", "Record ac&knowledgement…", ("Ctrl+K",), "&Card",
               "Who acknowledged, and how (by phone, in person…)"),
    ActionSpec("confirm", "C&onfirm card", ("Ctrl+Shift+C",), "&Card",
               "The dispatcher's confirmation: starts the clocks where the policy says "
               "clock_start = confirmation"),
    ActionSpec("review", "Post-incident re&view…", ("Ctrl+Shift+V",), "&Card",
               "Record the review a closed P1/P2 owes, with its measures"),
    ActionSpec("status_message", "Status &message…", ("Ctrl+U",), "&Card",
               "Compose the fixed-phrasing update and set the next update time"),
    ActionSpec("escalate_now", "&Escalate the ladder now", ("Ctrl+Shift+E",), "&Card",
               "Page the card's next tier now (the paging section confirms who)"),
    ActionSpec("hold_ladder", "&Hold / resume the ladder…", ("Ctrl+Shift+H",), "&Card",
               "Hold: no new tier fires until resumed (a reason is asked); again: resume"),
    ActionSpec("command_bar", "&Command bar", ("Ctrl+G",), "&View",
               "Also `/` anywhere outside a text field"),
    ActionSpec("focus_queue", "&Queue", ("Ctrl+1",), "&View"),
    ActionSpec("focus_card", "C&ard", ("Ctrl+2",), "&View"),
    ActionSpec("filter", "&Filter the queue", ("Ctrl+F",), "&View"),
    ActionSpec("clear_filters", "C&lear filters", ("Ctrl+Shift+F",), "&View"),
    ActionSpec("dismiss", "&Dismiss message", ("Ctrl+D",), "&View"),
    ActionSpec("on_call", "On &call now and next", ("Ctrl+3",), "&View"),
    ActionSpec("tray", "Triage &tray", ("F3",), "&View",
               "Alerts, mail and calls waiting for a person: accept, attach or dismiss"),
    ActionSpec("clear_notices", "Clear &notices", ("F4",), "&View",
               "Mark every notice in the stack as seen"),
    ActionSpec("wallboard", "&Wallboard", ("F11",), "&View"),
    ActionSpec("handover", "Shift &handover…", ("Ctrl+H",), "&Desk",
               "Draft, edit, print and accept the handover sheet"),
    ActionSpec("breakglass", "&Break-glass packet…", ("Ctrl+Shift+B",), "&Desk",
               "Print the open cards, the rota with phone numbers and blank cards"),
    ActionSpec("report", "&Report…", ("Ctrl+R",), "&Desk",
               "Today, this shift, this week: the measures and their charts"),
    ActionSpec("outbox", "&Outbox…", ("Ctrl+O",), "&Desk",
               "Everything going out: notices, customer texts, status updates; cancel or "
               "send a stale one after all"),
    ActionSpec("sync_now", "&Sync now", ("F9",), "&Desk", "Push and pull with the store now"),
    ActionSpec("roster", "&Rota and contacts…", ("Ctrl+Shift+R",), "&Desk"),
    ActionSpec("lock", "&Lock the desk", ("Ctrl+L",), "&Desk",
               "Sign out and show the sign-in screen; nothing is closed, drafts are kept"),
    ActionSpec("switch_operator", "S&witch operator…", ("Ctrl+Shift+L",), "&Desk",
               "Hand the desk to the next person: they sign in, nothing is closed"),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), "&Desk"),
    ActionSpec("shortcuts", "&Keyboard shortcuts", ("F1",), "&Help"),
)


@dataclass(frozen=True)
class ContextKey:
    """A key that is not a window action: it works inside one kind of panel or dialog (its
    widgets bind it), and is listed here so the F1 help shows it beside the actions."""

    keys: tuple[str, ...]
    text: str


# Keys bound by the panels themselves, in the order the F1 help lists them after the actions.
CONTEXT_KEYS: tuple[ContextKey, ...] = (
    ContextKey(("/",), "Command bar (outside text fields)"),
    ContextKey(("Ctrl+Enter",), "Submit the dialog or the intake form (in a dialog or the form)"),
    ContextKey(("Alt+A",), "Attach the report to the look-alike card (in the intake form)"),
    ContextKey(("Enter", "A", "D"), "In the triage tray (F3): accept the item (the intake form, "
               "pre-filled), attach it to a card, dismiss it with a reason"),
    ContextKey(("Enter",), "On the sign-in screen: from the login to the PIN, then sign in"),
    ContextKey(("Esc",), "Close the dialog, panel or wallboard (the intake form keeps its draft)"),
)


def shortcut_hint(key: str) -> str:
    """The first key of an action, for a button's label ("Ctrl+S")."""
    spec = next((s for s in ACTIONS if s.key == key), None)
    return spec.shortcuts[0] if spec else ""


def canned_note_actions(notes: Iterable[CannedNote]) -> tuple[ActionSpec, ...]:
    """One action per canned timeline note of the site's rules (F5-F8)."""
    return tuple(
        ActionSpec(f"canned:{n.key}", f"Note: {n.text}", (n.key,), "&Notes") for n in notes
    )


class ActionRegistry:
    """QActions for a window, built from specs, bound to the window so shortcuts work
    whichever panel has the focus."""

    def __init__(self, window: QWidget, specs: Iterable[ActionSpec],
                 handlers: Mapping[str, Callable[[], object]]) -> None:
        self.specs = tuple(specs)
        self._actions: dict[str, QAction] = {}
        for spec in self.specs:
            action = QAction(spec.text, window)
            action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(spec.tip or spec.text.replace("&", ""))
            handler = handlers.get(spec.key)
            if handler is None:
                action.setEnabled(False)
            else:
                action.triggered.connect(lambda _=False, h=handler: h())
            window.addAction(action)
            self._actions[spec.key] = action

    def action(self, key: str) -> QAction:
        return self._actions[key]

    def shortcut_text(self, key: str) -> str:
        spec = next((s for s in self.specs if s.key == key), None)
        return " / ".join(spec.shortcuts) if spec else ""

    def build_menus(self, bar: QMenuBar) -> None:
        menus: dict[str, object] = {}
        for spec in self.specs:
            menu = menus.get(spec.menu)
            if menu is None:
                menu = menus[spec.menu] = bar.addMenu(spec.menu)
            menu.addAction(self._actions[spec.key])  # type: ignore[attr-defined]

    def sequences(self) -> list[QKeySequence]:
        """Every key of every action (WindowKeys lets them through text fields)."""
        return [seq for a in self._actions.values() for seq in a.shortcuts()]

    def cheat_sheet(self) -> list[tuple[str, str]]:
        """(keys, what) for every action, in table order, then every key that works in a
        panel or dialog (CONTEXT_KEYS): the F1 help."""
        out = [(" / ".join(s.shortcuts), s.text.replace("&", "")) for s in self.specs]
        return out + [(" / ".join(k.keys), k.text) for k in CONTEXT_KEYS]


_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)


class SlashFocus(QObject):
    """`/` from anywhere except while typing puts the cursor in the command bar.

    A QAction shortcut on `/` would swallow the character inside text fields too, so this
    looks at the focused widget first (an editable combo box counts as typing)."""

    def __init__(self, target: Callable[[], None], window: QWidget) -> None:
        super().__init__(window)
        self._target = target
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        # Shift is allowed: on many layouts `/` is Shift+7.
        chord = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        if event.text() != "/" or event.modifiers() & (chord | Qt.KeyboardModifier.MetaModifier):
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self._window:
            return False  # a key for another window (a dialog, the wallboard)
        focus = QApplication.focusWidget()
        typing = isinstance(focus, _TEXT_INPUTS) or (
            isinstance(focus, QComboBox) and focus.isEditable()
        )
        if typing:
            return False
        self._target()
        return True


class WindowKeys(QObject):
    """Lets the window's shortcuts through the text fields of the window.

    A QLineEdit claims some chords for editing before shortcuts see them (on X11 Ctrl+U
    deletes the line and Ctrl+K to its end), so Ctrl+U typed in the command bar, where the
    cursor sits after every command, never opened the status composer. A chord that is one
    of the window's own actions is refused to the text field here, and the action fires."""

    def __init__(self, window: QWidget, sequences: Iterable[QKeySequence]) -> None:
        super().__init__(window)
        self._window = window
        self._sequences = tuple(s for s in sequences if not s.isEmpty())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self._window:
            return False  # a dialog's or the wallboard's keys are their own
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        pressed = QKeySequence(QKeyCombination(modifiers, Qt.Key(event.key())))
        if any(s.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
               for s in self._sequences):
            event.ignore()  # not the field's: the shortcut map gets it
            return True
        return False
