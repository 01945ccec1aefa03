"""The command bar: one line to change a card without leaving the keyboard.

`/` (outside text fields) or Ctrl+G puts the cursor here (the window's action registry owns
those keys). The language lives in `app.services.cards.command_bar`; this widget only completes,
runs, and remembers. A refused command stays in the bar so nothing typed is lost; a command
that went through says in words what it did, in the message bar (events.info), which also
replaces an earlier error so a red line never outlives the mistake it was about.
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from app.application import Desk
from app.errors import DeskError
from app.services.cards.card import STATUS_LABELS, Card
from app.services.cards.command_bar import Command, OpenCard, Outcome, complete, describe, parse
from app.ui.events import DeskEvents

HISTORY_KEPT = 200


class CommandBar(QLineEdit):
    open_card = Signal(str)  # `o B-0042`: the host shows the card

    def __init__(self, desk: Desk, events: DeskEvents, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.events = events
        self.setObjectName("command_bar")
        self.setAccessibleName("Command bar")
        self.setPlaceholderText(
            "/  s B-0042 restored   ·   p B-0042 P1 reason   ·   n B-0042 text   ·   "
            "a B-0042 name   ·   ack B-0042 name phone   ·   o B-0042"
        )
        self.history: list[str] = []
        self._back = 0  # how far Up has walked into the history
        self._typed = ""  # what was in the bar before walking the history
        self._numbers: list[str] | None = None  # open card numbers, reloaded after changes
        self._model = QStringListModel(self)
        self.completer_ = QCompleter(self._model, self)
        # complete() already filters: the popup shows its list as it is.
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setWidget(self)
        self.completer_.activated.connect(self._take_completion)
        self.textEdited.connect(self._offer_completions)
        self.returnPressed.connect(self.run_line)
        events.changed.connect(self._forget_numbers)

    def run_line(self) -> Card | None:
        """Parse and run what is in the bar; the one journal write goes through events.run."""
        line = self.text().strip()
        if not line or line == "/":
            return None
        self._hide_popup()
        try:
            # The journal's own desk code: a bare `16` is this desk's B-0016.
            command = parse(line, self.desk.journal.desk_code)
        except DeskError as exc:
            self.events.error.emit(str(exc))
            return None
        outcome: Outcome | None
        if isinstance(command, OpenCard):
            try:
                card = self.desk.cards.get(command.number)
            except DeskError as exc:  # a read: nothing changed, so no `changed` announcement
                self.events.error.emit(str(exc))
                return None
            outcome = Outcome(card, describe(command, card))
        else:
            outcome = self.events.run(lambda: self._perform(command))
        if outcome is None:
            return None
        self._remember(line)
        self.clear()
        # Said before the card is shown, so anything the host says about showing it wins.
        self.events.info.emit(outcome.text)
        if isinstance(command, OpenCard):
            self.open_card.emit(outcome.card.number)
        return outcome.card

    def _perform(self, command: Command) -> Outcome:
        """`perform` through the desk's one front door (Desk.handle), so that on a desk with
        operator accounts the signed-in operator's rights are checked and the entry is
        theirs. The card is read first only for the wording (which clock a status moves)."""
        assert not isinstance(command, OpenCard)  # a read, shown without a write
        before = self.desk.cards.get(command.number)
        card = self.desk.handle(command)
        return Outcome(card, describe(command, card, before))

    def completions(self) -> list[str]:
        return complete(self.text(), self._open_numbers(), tuple(STATUS_LABELS))

    # -- history ------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if key == Qt.Key.Key_Up and self.history:
            if self._back == 0:
                self._typed = self.text()
            self._back = min(self._back + 1, len(self.history))
            self.setText(self.history[-self._back])
            return
        if key == Qt.Key.Key_Down and self._back > 0:
            self._back -= 1
            self.setText(self.history[-self._back] if self._back else self._typed)
            return
        popup = self.completer_.popup()
        if key == Qt.Key.Key_Escape and popup is not None and popup.isVisible():
            popup.hide()
            return
        super().keyPressEvent(event)

    def _remember(self, line: str) -> None:
        if not self.history or self.history[-1] != line:
            self.history.append(line)
            del self.history[:-HISTORY_KEPT]
        self._back = 0
        self._typed = ""

    # -- completion ---------------------------------------------------------------------

    def _open_numbers(self) -> list[str]:
        if self._numbers is None:
            try:
                cards = self.desk.cards.open_cards()
            except DeskError as exc:
                self.events.error.emit(str(exc))
                return []
            self._numbers = sorted(c.number for c in cards)
        return self._numbers

    def _forget_numbers(self, _cards: object) -> None:
        self._numbers = None

    def _offer_completions(self, _text: str) -> None:
        self._back = 0
        options = self.completions()
        self._model.setStringList(options)
        if options:
            self.completer_.complete()
        else:
            self._hide_popup()

    def _hide_popup(self) -> None:
        popup = self.completer_.popup()
        if popup is not None:
            popup.hide()

    def _take_completion(self, text: str) -> None:
        self.setText(text)
        self._offer_completions(text)
