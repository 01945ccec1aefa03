"""The measures' tests run on a real journal file with a fake clock: the domain tests' desk."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.clock import FakeClock
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.measures import Report, period_for
from app.services.measures.report import build_report
from tests.domain import conftest as domain
from tests.domain.conftest import DISPATCHER, MONDAY_10, intake

# The domain tests' desk: the same fixtures, shared rather than copied.
clock, rules, journal_path = domain.clock, domain.rules, domain.journal_path
journal, cards = domain.journal, domain.cards
__all__ = ["DISPATCHER", "MONDAY_10", "intake", "close", "report", "ladder"]

CLOSURE = {"cause": "unknown", "workaround": "none", "fix": "replaced", "lessons": "none"}


def close(cards: CardService, number: str, cause: str = "unknown") -> Card:
    card = cards.get(number)
    if card.status != "restored":
        cards.change_status(number, "restored", DISPATCHER)
    return cards.change_status(number, "closed", DISPATCHER, closure={**CLOSURE, "cause": cause},
                               confirmed_by="J. Weber")


def report(journal: Journal, rules: DispatchRules, clock: FakeClock,
           first: date | None = None, last: date | None = None) -> Report:
    """The report as the CLI builds it: states, entries, reviews, from the real journal."""
    from app.services.measures import reviews_of

    states = journal.cards()
    every = [Card.from_state(s) for s in states]
    entries = {c.id: journal.entries(c.id) for c in every}
    now = clock.now()
    return build_report(every, entries, rules, period_for(now, rules.tz, first, last), now,
                        reviews_of(states))


def ladder(journal: Journal, card: Card, *facts: tuple[str, int, dict[str, Any]]) -> None:
    """Ladder facts on a card, as the ladder and Twilio's replies write them."""
    out = []
    for kind, tier, extra in facts:
        step = {"tier": tier, "attempt": 1}
        base: dict[str, Any] = {
            "ladder.step": {**step, "due": MONDAY_10.isoformat(), "who": "P. Braun"},
            "ladder.page": {**step, "channel": "sms", "to": "+4930123", "sid": "SM" + "0" * 32},
            "ladder.unreachable": {**step, "reason": "off duty, no deputy"},
            "ladder.reply": {"from": "+4930123", "sid": "SM" + "1" * 32, **step},
            "ladder.call_result": {**step, "channel": "voice", "to": "+4930123",
                                   "sid": "CA" + "2" * 32},
            "ladder.declined": {**step, "to": "+4930123"},
        }[kind]
        out.append(NewEntry(card.id, kind, {**base, **extra}))
    journal.write(out, "system")
