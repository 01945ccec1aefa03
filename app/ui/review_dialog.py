"""The post-incident review of a closed P1/P2 (measures/reviews.py), as a dialog: a summary,
one to three concrete measures, an owner and a due date. `ask()` returns what was typed (or
None for cancel); `ReviewService.record` validates it, and on a refusal the caller opens the
dialog again with the answer as `previous`, so nothing typed is lost.

`record_review(desk, card, parent)` is the whole action for a window: ask, record, ask again
while the service refuses (showing why), and return the recorded review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QDialog, QLabel, QPlainTextEdit, QWidget

from app.application import Desk
from app.errors import DeskError
from app.services.cards.card import Card
from app.services.measures.reviews import MAX_MEASURES, Review, ReviewService
from app.ui.dialogs import _Form

DEFAULT_DUE = timedelta(days=14)


@dataclass(frozen=True)
class ReviewAnswer:
    summary: str
    measures: tuple[str, ...]
    owner: str
    due: date


class ReviewDialog(_Form):
    def __init__(self, parent: QWidget | None, card: Card, today: date,
                 previous: ReviewAnswer | None = None, error: str = "") -> None:
        super().__init__(parent, f"Post-incident review of {card.number}",
                         f"{card.priority} {card.site}: {card.symptom}. What happened, and "
                         f"one to {MAX_MEASURES} concrete measures so it does not again.")
        self.summary = QPlainTextEdit(previous.summary if previous else "")
        self.form.addRow("Summary", self.summary)
        given = list(previous.measures) if previous else []
        self.measures = [self.line(f"Measure {n}", given[n - 1] if n <= len(given) else "",
                                   "e.g. replace both PSUs in rack 4" if n == 1 else "")
                         for n in range(1, MAX_MEASURES + 1)]
        self.owner = self.line("Owner", previous.owner if previous else "")
        due = previous.due if previous else today + DEFAULT_DUE
        self.due = QDateEdit(QDate(due.year, due.month, due.day))
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("yyyy-MM-dd")
        self.form.addRow("Due", self.due)
        self.error = QLabel(error)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        self.error.setVisible(bool(error))
        self.form.addRow(self.error)

    def answer(self) -> ReviewAnswer:
        d = self.due.date()
        return ReviewAnswer(self.summary.toPlainText(),
                            tuple(m.text() for m in self.measures if m.text().strip()),
                            self.owner.text(), date(d.year(), d.month(), d.day()))

    @classmethod
    def ask(cls, parent: QWidget | None, card: Card, today: date,
            previous: ReviewAnswer | None = None, error: str = "") -> ReviewAnswer | None:
        dialog = cls(parent, card, today, previous, error)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.answer()


def record_review(desk: Desk, card: Card, parent: QWidget | None = None) -> Review | None:
    service = ReviewService(desk.journal, desk.clock, desk.rules.tz)
    today = desk.clock.now().astimezone(desk.rules.tz).date()
    previous: ReviewAnswer | None = None
    error = ""
    while True:
        answer = ReviewDialog.ask(parent, card, today, previous, error)
        if answer is None:
            return None
        try:
            return service.record(card.number, answer.summary, answer.measures, answer.owner,
                                  answer.due, desk.require())
        except DeskError as exc:
            previous, error = answer, str(exc)
