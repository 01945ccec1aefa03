"""Setting up the door: integrations (each sender's key) and maintenance windows, written as
journal entries under their pseudo cards so that every desk and the store know them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.models.journal import Journal
from app.protocol.catalogue import INTEGRATIONS_CARD, MAINTENANCE_CARD
from app.services.cards.card import Operator
from app.services.cards.rules import DispatchRules
from app.services.intake import integrations as integ
from app.services.intake import maintenance as maint


def operator_name(operator: Operator | str) -> str:
    """The journal's operator for an `Operator` or a door's plain name."""
    return operator.name if isinstance(operator, Operator) else operator


class IntakeSetup:
    def __init__(self, journal: Journal, rules: DispatchRules) -> None:
        self.journal, self.rules = journal, rules

    def integrations(self) -> list[integ.Integration]:
        return integ.integrations_from(self.journal.entries(INTEGRATIONS_CARD))

    def add_integration(self, kind: str, name: str, operator: Operator | str,
                        **options: Any) -> tuple[integ.Integration, str]:
        """Add an integration; returns it and its key (shown once, never stored).
        `options`: category, site, kind_of_work, every_min, note, reply (sms)."""
        if options.get("category"):
            self.rules.category(str(options["category"]))
        entry, key = integ.add(self.integrations(), kind, name, **options)
        self.journal.write([entry], operator_name(operator))
        found = next(i for i in self.integrations() if i.name == entry.payload["name"])
        return found, key

    def revoke_integration(self, name: str, reason: str, operator: Operator | str) -> None:
        entry = integ.revoke(self.integrations(), name, reason)
        self.journal.write([entry], operator_name(operator))

    def windows(self) -> list[maint.Window]:
        return maint.windows_from(self.journal.entries(MAINTENANCE_CARD))

    def schedule_maintenance(self, name: str, starts: datetime, ends: datetime,
                             operator: Operator | str, *, tz: str = "", site: str = "",
                             category: str = "", integration: str = "",
                             repeat: str = "none") -> maint.Window:
        """A window in `tz` (default: the policies' time zone)."""
        if category:
            self.rules.category(category)
        entry = maint.schedule(name, starts, ends, tz=tz or self.rules.timezone, site=site,
                               category=category, integration=integration, repeat=repeat)
        self.journal.write([entry], operator_name(operator))
        return next(w for w in self.windows() if w.id == entry.payload["id"])

    def cancel_maintenance(self, window_id: str, reason: str,
                           operator: Operator | str) -> None:
        entry = maint.cancel(self.windows(), window_id, reason)
        self.journal.write([entry], operator_name(operator))
