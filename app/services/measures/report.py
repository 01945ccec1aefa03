"""The weekly report (DOMAIN.md, "Measures"; issue 14): kept for its callers; the figures
live in the measures package (app/services/measures), one definition for the report, the
store's report and the wallboard.

`build_report` here takes the cards' entries, as it always did, and reads their facts with
`measures.card_facts`; the fast path (`app/cli/report.py`) reads the facts itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from app.models.entry import Entry
from app.services import measures
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.measures import (
    CSV_HEADER,
    DEFAULT_DAYS,
    GROUPS,
    NOT_RECORDED,
    REPEAT_WINDOW,
    REPORT_CLOCKS,
    CardFigures,
    Period,
    Report,
    Review,
    Share,
    csv_rows,
    period_for,
    recorded_cause,
    share_text,
    summary_lines,
)

__all__ = [
    "CSV_HEADER", "DEFAULT_DAYS", "GROUPS", "NOT_RECORDED", "REPEAT_WINDOW", "REPORT_CLOCKS",
    "CardFigures", "Period", "Report", "Share", "build_report", "csv_rows", "period_for",
    "recorded_cause", "share_text", "summary_lines",
]


def build_report(
    cards: Iterable[Card],
    entries: Mapping[str, Sequence[Entry]],
    rules: DispatchRules,
    period: Period,
    now: datetime,
    reviews: Mapping[str, Review] | None = None,
) -> Report:
    """`cards`: every card the desk has; `entries`: card id -> its entries."""
    facts = {card_id: measures.card_facts(es) for card_id, es in entries.items()}
    return measures.build_report(cards, facts, rules, period, now, reviews)
