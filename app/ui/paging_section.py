"""The card's paging section: who is on call for this card's group now, what its ladder is
doing (app/services/escalation/paging_view.py says what; this shows it), and the dispatcher's
say over the ladder: "Escalate now", "Hold the ladder…" and "Resume".

It reads the roster and ladder files through the desk (the roster re-read when edited, the
ladder once), so the section agrees with what the running ladder pages. An action is one
command through `Desk.handle` (`DeskEvents.run`: a refusal is said in the message bar); what
it did is confirmed here, in the section, under the buttons, until another card is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QWidget

from app.application import Desk
from app.errors import DeskError
from app.models.entry import Entry
from app.protocol.text import for_display
from app.services.cards.card import Card
from app.services.escalation.commands import EscalateNow, HoldLadder, LadderCommand, ResumeLadder
from app.services.escalation.paging_view import PagingView, ladder_summary, paging_view
from app.services.escalation.recipients import Recipients
from app.services.escalation.state import LadderState, derive
from app.ui.actions import shortcut_hint
from app.ui.events import DeskEvents
from app.ui.ladder_dialogs import HoldDialog

log = logging.getLogger(__name__)
_DONE = {EscalateNow: "Escalated", HoldLadder: "Held", ResumeLadder: "Resumed"}


class PagingSection(QGroupBox):
    def __init__(self, desk: Desk, events: DeskEvents | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Paging", parent)
        self.desk, self.events = desk, events
        self.card: Card | None = None
        self.view: PagingView | None = None
        self.group, self.on_call, self.ladder_line, self.steps, self.next_tier = (
            _label() for _ in range(5))
        self.done = _label()  # what the last action here did: confirmed in the same place
        self.done.setObjectName("ladderDone")
        self.escalate = _button(f"Escalate now  {shortcut_hint('escalate_now')}",
                                self.escalate_now)
        self.hold = _button("", self.hold_or_resume)
        row = QHBoxLayout()
        row.addWidget(self.escalate)
        row.addWidget(self.hold)
        row.addStretch(1)
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for text, label in (("Group", self.group), ("On call now", self.on_call),
                            ("Ladder", self.ladder_line), ("Pages", self.steps),
                            ("Next", self.next_tier)):
            form.addRow(text, label)
        form.addRow(row)
        form.addRow(self.done)
        self._offer(frozenset())

    def _recipients(self) -> Recipients:
        store = self.desk.roster
        try:
            store.refresh()  # an edited rota shows at once, as the ladder uses it
        except DeskError as exc:
            log.warning("roster not re-read: %s", exc)
        return Recipients(lambda: store.roster, routing=lambda: store.routing,
                          hours=self.desk.rules.business_hours)

    def show_for(self, card: Card, entries: Sequence[Entry]) -> PagingView | None:
        if self.card is None or self.card.id != card.id:
            self.done.clear()  # a confirmation belongs to the card it was made on
        self.card = card
        try:
            ladder = self.desk.ladder
            state = derive(self.desk.journal.card(card.id), entries, ladder)
            view = paging_view(card, self._recipients(), state, ladder,
                               self.desk.clock.now(), self.desk.rules.tz)
        except DeskError as exc:
            self.view = None
            self.ladder_line.setText(for_display(f"not known here: {exc}"))
            self._offer(frozenset())
            return None
        self.view = view
        self.group.setText(for_display(view.group or "no routing rule names one"))
        self.on_call.setText(for_display("\n".join(
            f"{p.role}: {p.name} {p.phone}" + (f" (backup {p.backup_phone})"
                                               if p.backup_phone else "")
            for p in view.on_call) or "nobody on the rota for this group now",
            multiline=True))
        self.ladder_line.setText(for_display(view.ladder))
        self.steps.setText(for_display("\n".join(view.steps) or "none yet", multiline=True))
        self.next_tier.setText(for_display(view.next_tier or "—"))
        self._offer(view.actions if card.is_open else frozenset())
        return view

    def _offer(self, actions: frozenset[str]) -> None:
        """Enable what the ladder's commands would accept now; the hold button reads
        "Resume" while the ladder is held."""
        usable = self.events is not None
        self.escalate.setEnabled(usable and "escalate" in actions)
        resume = "resume" in actions
        key = shortcut_hint("hold_ladder")
        self.hold.setText(f"Resume the ladder  {key}" if resume else f"Hold the ladder…  {key}")
        self.hold.setEnabled(usable and (resume or "hold" in actions))

    # -- actions (buttons, Ctrl+Shift+E and Ctrl+Shift+H) ------------------------------------

    def escalate_now(self) -> bool:
        """Page the next tier now: one key, no dialog; the section confirms what fires."""
        return self._act(lambda card, _: EscalateNow(card.id))

    def hold_or_resume(self) -> bool:
        """Resume a held ladder, else ask why to hold it (a ladder that cannot be held is
        said so at once, before any words are asked for)."""
        view = self.view
        if view is not None and "resume" in view.actions:
            return self._act(lambda card, _: ResumeLadder(card.id))
        if view is not None and "hold" not in view.actions and self.events is not None:
            self.events.error.emit(view.refused.get("hold", "this ladder cannot be held now"))
            return False
        return self._act(lambda card, previous: HoldDialog.ask(
            self, card, previous if isinstance(previous, HoldLadder) else None))

    def _act(self, ask: Callable[[Card, LadderCommand | None], LadderCommand | None]) -> bool:
        card, events = self.card, self.events
        if events is None:
            return False
        if card is None:
            events.info.emit("Pick a card first (Ctrl+1 goes to the queue).")
            return False
        previous: LadderCommand | None = None
        while True:  # a refused hold reopens its dialog with the reason kept
            command = ask(card, previous)
            if command is None:
                return False
            state = events.run(partial(_handle, self.desk, command), cards=frozenset({card.id}))
            if state is not None:
                self._confirm(card, command, state)
                return True
            if not isinstance(command, HoldLadder):
                return False
            previous = command

    def _confirm(self, card: Card, command: LadderCommand, state: LadderState) -> None:
        now = self.desk.clock.now()
        where, nxt = ladder_summary(state, self.desk.ladder, now, self.desk.rules.tz)
        at = now.astimezone(self.desk.rules.tz).strftime("%H:%M")
        text = f"{_DONE[type(command)]} at {at}: {where}" + (f"; next: {nxt}" if nxt else "")
        self.done.setText(for_display(text))
        assert self.events is not None
        self.events.info.emit(for_display(f"{card.number}: {text}"))


def _handle(desk: Desk, command: LadderCommand) -> LadderState:
    return desk.handle(command)


def _label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _button(text: str, slot: Callable[[], object]) -> QPushButton:
    button = QPushButton(text)
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # like the card's buttons: keys first
    button.setAutoDefault(False)
    button.clicked.connect(lambda _=False: slot())
    return button
