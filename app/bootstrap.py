"""The composition root: the one place that picks concrete classes and wires them."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock, SystemClock
from app.config import Settings
from app.models.journal import Journal
from app.services.card import Operator
from app.services.cards import CardService
from app.services.rules import DispatchRules, load_rules
from app.services.sla import SlaWatch


@dataclass
class Desk:
    """Everything a front end (command line, window, wallboard) needs, already wired."""

    settings: Settings
    clock: Clock
    journal: Journal
    rules: DispatchRules
    cards: CardService
    sla: SlaWatch
    operator: Operator

    def close(self) -> None:
        self.journal.close()


def build_desk(settings: Settings, clock: Clock | None = None) -> Desk:
    clock = clock or SystemClock()
    rules = load_rules(settings.policies)
    journal = Journal.open(settings.journal_path, clock)
    if settings.desk_code and journal.desk_code != settings.desk_code:
        journal.set_desk_code(settings.desk_code)
    return Desk(
        settings=settings,
        clock=clock,
        journal=journal,
        rules=rules,
        cards=CardService(journal, rules, clock),
        sla=SlaWatch(journal, rules),
        operator=Operator(settings.operator, settings.role),
    )
