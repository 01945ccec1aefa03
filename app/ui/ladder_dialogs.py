"""The small dialog the card's paging section needs: why the ladder is held.

It follows the desk's focus rules (issue 15, `app.ui.dialogs._Form`): the cursor starts in the
reason, no button is default, Enter in the one line or Ctrl+Enter holds, Esc cancels. OK stays
disabled until there is a reason, so an empty hold cannot be sent; the command still judges
it (`app.services.escalation.commands`), and a refusal reopens the dialog with the words kept.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QWidget

from app.services.cards.card import Card
from app.services.escalation.commands import HoldLadder
from app.ui.dialogs import _Form


class HoldDialog(_Form):
    def __init__(self, parent: QWidget | None, card: Card, previous: HoldLadder | None) -> None:
        super().__init__(parent, f"Hold the ladder of {card.number}",
                         "No new tier is paged until you resume it (Ctrl+Shift+H again); the "
                         "pages already out stay out. Say why: it goes on the card's timeline.")
        self.reason = self.line("Reason", previous.reason if previous else "",
                                "e.g. technician rang back: on site in 20 min")
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Hold  (Ctrl+Enter)")
        self.reason.textChanged.connect(self._allow)
        self._allow()

    def _allow(self) -> None:
        self.ok.setEnabled(bool(self.reason.text().strip()))

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card,
            previous: HoldLadder | None = None) -> HoldLadder | None:
        dialog = cls(parent, card, previous)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return HoldLadder(card.id, dialog.reason.text())
