"""Canned timeline notes: F5-F8 add the site's fixed notes (`[canned_notes]` in the policy
file) to the card in view, so the commonest lines of a shift cost one key.

Two ways in, never both on one window (two QActions on one key make Qt ignore the key):
`install_canned_notes` binds the keys on a widget itself; a window that builds its actions
from a registry passes `canned_note_handlers(...)` to it under the keys `canned:F5` ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from app.application import Desk
from app.services.cards.card import Card
from app.services.cards.commands import AddNote
from app.services.cards.rules import CannedNote
from app.ui.events import DeskEvents

CurrentCard = Callable[[], str | None]


def add_canned_note(
    note: CannedNote, desk: Desk, events: DeskEvents, current_card: CurrentCard
) -> Card | None:
    """Add `note` to the card in view; with no card in view, say so in the error place."""
    number = current_card()
    if not number:
        events.error.emit(
            f"{note.key} adds “{note.text}” to a card: open or select the card first"
        )
        return None
    card = events.run(lambda: desk.handle(AddNote(number, note.text)))
    if card is not None:
        events.info.emit(f"note added to {card.number}: {note.text}")
    return card


def canned_note_handlers(
    desk: Desk, events: DeskEvents, current_card: CurrentCard
) -> dict[str, Callable[[], Card | None]]:
    """Handlers keyed `canned:F5` ..., for a window's action registry."""
    return {
        f"canned:{note.key}": functools.partial(add_canned_note, note, desk, events, current_card)
        for note in desk.rules.canned_notes
    }


def install_canned_notes(
    widget: QWidget, desk: Desk, events: DeskEvents, current_card: CurrentCard
) -> list[QAction]:
    """Bind each configured F-key on `widget` (and its children); returns the actions so a
    host can also list them in a menu."""
    actions = []
    for note in desk.rules.canned_notes:
        action = QAction(f"Note: {note.text}", widget)
        action.setShortcut(QKeySequence(note.key))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(
            lambda _=False, note=note: add_canned_note(note, desk, events, current_card)
        )
        widget.addAction(action)
        actions.append(action)
    return actions
