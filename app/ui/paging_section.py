"""The card's paging section: who is on call for this card's group now, and what its ladder
is doing (app/services/escalation/paging_view.py says what; this shows it).

It reads the roster and ladder files through the desk (the roster re-read when edited, the
ladder once), so the section agrees with what the running ladder pages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

from app.application import Desk
from app.errors import DeskError
from app.loaders import load_ladder
from app.models.entry import Entry
from app.protocol.text import for_display
from app.services.cards.card import Card
from app.services.escalation.ladder import Ladder
from app.services.escalation.paging_view import PagingView, paging_view
from app.services.escalation.recipients import Recipients
from app.services.escalation.state import derive

log = logging.getLogger(__name__)


class PagingSection(QGroupBox):
    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__("Paging", parent)
        self.desk = desk
        self._ladder: Ladder | None = None
        self.view: PagingView | None = None
        self.group, self.on_call, self.ladder_line, self.steps, self.next_tier = (
            _label() for _ in range(5))
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for text, label in (("Group", self.group), ("On call now", self.on_call),
                            ("Ladder", self.ladder_line), ("Pages", self.steps),
                            ("Next", self.next_tier)):
            form.addRow(text, label)

    def _recipients(self) -> Recipients:
        store = self.desk.roster
        try:
            store.refresh()  # an edited rota shows at once, as the ladder uses it
        except DeskError as exc:
            log.warning("roster not re-read: %s", exc)
        return Recipients(lambda: store.roster, routing=lambda: store.routing,
                          hours=self.desk.rules.business_hours)

    def show_for(self, card: Card, entries: Sequence[Entry]) -> PagingView | None:
        try:
            if self._ladder is None:
                self._ladder = load_ladder(self.desk.settings.ladder)
            state = derive(self.desk.journal.card(card.id), entries, self._ladder)
            view = paging_view(card, self._recipients(), state, self._ladder,
                               self.desk.clock.now(), self.desk.rules.tz)
        except DeskError as exc:
            self.view = None
            self.ladder_line.setText(for_display(f"not known here: {exc}"))
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
        return view


def _label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
