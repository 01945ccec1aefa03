"""The measures a dispatch desk is steered by (DOMAIN.md, "Measures"; issue 14), for any
period: one pure package the report, the store's report and the wallboard's "today" all count
with. Time comes in as `now`; nothing here reads a file or a clock.

    period.py   a period of local dates (today, this week) or of instants (a shift)
    facts.py    what a card's timeline says (pages, escalation and why, bounces, reopening)
    clocks.py   which SLA clocks were decided in a period, met or breached
    figures.py  one card's durations
    repeats.py  repeat incidents within 7 days
    reviews.py  post-incident reviews: owed, recorded, measures done, overdue
    build.py    a period's figures (`build_report`), counted from each card's row
    cache.py    the figures cache: a closed card's row, kept until it changes
    text.py     the summary in words and every table (CSV)
    charts.py, pdf.py   the charts (matplotlib, Agg) and the PDF (vector)
"""

from app.services.measures.build import (
    GROUPS,
    REPORT_CLOCKS,
    Report,
    build_report,
    build_report_rows,
    count_report,
    figures_for,
)
from app.services.measures.clocks import Share
from app.services.measures.facts import CardFacts, card_facts, posted_message
from app.services.measures.figures import CardFigures, Stats, percentile
from app.services.measures.period import (
    DEFAULT_DAYS,
    Period,
    between,
    day_of,
    period_for,
    week_of,
)
from app.services.measures.repeats import REPEAT_WINDOW, recorded_cause, repeats
from app.services.measures.reviews import Review, ReviewService, review_of, reviews_of
from app.services.measures.text import (
    CSV_HEADER,
    NOT_RECORDED,
    as_json,
    csv_rows,
    minutes,
    share_text,
    summary_lines,
    tables,
)

__all__ = [
    "CSV_HEADER", "DEFAULT_DAYS", "GROUPS", "NOT_RECORDED", "REPEAT_WINDOW", "REPORT_CLOCKS",
    "CardFacts", "CardFigures", "Period", "Report", "Review", "ReviewService", "Share",
    "Stats", "as_json", "between", "build_report", "build_report_rows", "card_facts",
    "count_report", "figures_for", "csv_rows", "day_of", "minutes",
    "percentile", "period_for", "posted_message", "recorded_cause", "repeats", "review_of",
    "reviews_of", "share_text", "summary_lines", "tables", "week_of",
]
