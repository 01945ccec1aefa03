"""Quitting the desk asks first when something is at stake: P1/P2 cards open, or a report
half typed in the intake form. A desk with nothing at stake quits at once (and the wallboard
alone never asks: it holds nothing that could be lost)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QMessageBox, QWidget

from app.services.cards.queue import QueueRow
from app.ui.intake import IntakeForm

URGENT = ("P1", "P2")


def at_stake(rows: Iterable[QueueRow], intake: IntakeForm) -> list[str]:
    """What quitting now would walk away from, in words; empty when nothing is at stake.

    `rows` are the queue's rows of every open card (already in memory: no journal read)."""
    counts = {p: 0 for p in URGENT}
    for row in rows:
        if row.priority in counts:
            counts[row.priority] += 1
    out = [f"{n} {p} card{'s' if n != 1 else ''} open" for p, n in counts.items() if n]
    if any(intake.values().values()):
        out.append("a report is half typed in the intake form (the draft is kept)")
    return out


class QuitGuard:
    @classmethod
    def ask(cls, parent: QWidget | None, reasons: list[str]) -> bool:
        """True to quit anyway. "Stay" is the default button and what Esc does. Tests
        replace this classmethod."""
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Quit Dispatch Desk?")
        box.setText("Quit the desk while it still has work at stake?")
        box.setInformativeText("\n".join(f"• {r}" for r in reasons))
        quit_button = box.addButton("&Quit anyway", QMessageBox.ButtonRole.DestructiveRole)
        stay = box.addButton("&Stay", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(stay)
        box.setEscapeButton(stay)
        box.exec()
        return box.clickedButton() is quit_button

    @classmethod
    def may_quit(cls, parent: QWidget | None, rows: Iterable[QueueRow],
                 intake: IntakeForm) -> bool:
        reasons = at_stake(rows, intake)
        return not reasons or cls.ask(parent, reasons)
