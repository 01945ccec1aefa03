"""The report as a PDF, made by matplotlib (PdfPages on the Agg canvas, no Qt): the one-page
summary first, then the charts, then the tables, all vector (text stays text, so `pdftotext`
and a screen reader read it). Returned as bytes: the caller writes the file.

Why not the handover sheet's Qt printing path: the report is run headless on a store
server, and matplotlib draws both the charts and the text pages into one PDF.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from app.protocol.text import for_display
from app.services.measures.build import Report
from app.services.measures.charts import CHARTS, figure
from app.services.measures.text import minutes, percent, summary_lines, tables

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LINES_PER_PAGE = 38
ROWS_PER_PAGE = 40
MAX_TABLE_PAGES = 3  # per table; the per-card lists get one page: the rest is in the CSV
ONE_PAGE = frozenset({"cards", "repeats", "reviews_overdue"})
TABLE_TITLES = {
    "breaches": "Breach share by clock and priority",
    "durations": "Durations (minutes): median, p90, max",
    "weeks": "Breach share by week and priority",
    "categories": "Breaches by category",
    "escalation_depth": "Escalation depth",
    "escalation_reasons": "Why past tier 1",
    "repeats": "Repeat incidents within 7 days",
    "reviews_overdue": "Post-incident reviews overdue",
    "cards": "Cards",
}
CARD_COLUMNS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 20, 24)  # the cards table on paper


def _header(report: Report) -> str:
    """The period and when it was made, on top of every summary page."""
    p = report.period
    return (f"Desk report {p.label} ({p.tz.key}) - printed "
            f"{report.now.astimezone(p.tz):%Y-%m-%d %H:%M}")


def _rectangle() -> type:
    from matplotlib.patches import Rectangle

    return Rectangle


def headline(report: Report) -> list[tuple[str, str]]:
    """The figures a manager reads first: (label, value) tiles on top of the summary."""
    b = report.breaches
    overdue = len(report.reviews_overdue)
    return [
        ("P1 clocks breached", percent((b["reaction"]["P1"] + b["recovery"]["P1"]).share)),
        ("P2-P4 clocks breached", percent((b["reaction"]["P2-P4"] + b["recovery"]["P2-P4"]).share)),
        ("Reaction median / p90", f"{minutes(report.reaction_median)} / "
                                  f"{minutes(report.reaction_p90)}"),
        ("Repeats in 7 days", str(len(report.repeats))),
        ("Escalated past tier 1", f"{report.escalated} "
                                  f"({report.escalated_on_call_unavailable} unavailable)"),
        ("Reviews overdue", str(overdue)),
    ]


def summary_pages(report: Report) -> list[Figure]:
    lines = [for_display(line) for line in summary_lines(report)]
    pages = []
    first = LINES_PER_PAGE - 10  # the tiles take the top of the first page
    starts = [0, *range(first, len(lines), LINES_PER_PAGE)]
    for n, start in enumerate(starts):
        fig = figure("Summary" if not n else f"Summary ({n + 1})")
        fig.text(0.05, 0.93, _header(report), fontsize=9)
        y = 0.88
        if not n:
            tiles = headline(report)
            width = 0.9 / len(tiles)
            for i, (label, value) in enumerate(tiles):
                x = 0.05 + i * width
                fig.patches.append(_rectangle()((x, 0.74), width - 0.01, 0.13, fill=False,
                                             transform=fig.transFigure, linewidth=1.2))
                fig.text(x + 0.008, 0.84, label, fontsize=9)
                fig.text(x + 0.008, 0.765, value, fontsize=15 if len(value) < 12 else 11,
                         fontweight="bold")
            y = 0.70
        for line in lines[start:start + (first if not n else LINES_PER_PAGE)]:
            fig.text(0.05, y, line, fontsize=10, family="DejaVu Sans Mono")
            y -= 0.021
        pages.append(fig)
    return pages


def _chunks(report: Report) -> list[tuple[str, tuple[str, ...], list[list[str]], int]]:
    """(title, header, rows, rows in the CSV) pieces of at most ROWS_PER_PAGE rows."""
    out = []
    counts = {"cards": len(report.cards), "repeats": len(report.repeats),
              "reviews_overdue": len(report.reviews_overdue)}
    for name, (header, rows) in tables(report, MAX_TABLE_PAGES * ROWS_PER_PAGE).items():
        cols = CARD_COLUMNS if name == "cards" else tuple(range(len(header)))
        head = tuple(header[c] for c in cols)
        room = (1 if name in ONE_PAGE else MAX_TABLE_PAGES) * ROWS_PER_PAGE
        total = counts.get(name, len(rows))
        body = [[for_display(r[c])[:28] for c in cols] for r in rows[:room]] or [
            ["none"] + [""] * (len(cols) - 1)]
        pieces = [body[i:i + ROWS_PER_PAGE] for i in range(0, len(body), ROWS_PER_PAGE)]
        for n, piece in enumerate(pieces):
            more = ""
            if n == len(pieces) - 1 and total > room:
                more = f"; + {total - room} more rows in the CSV"
            title = f"{TABLE_TITLES[name]}{f' ({n + 1})' if n else ''} - {name}.csv, " \
                    f"{total} rows{more}"
            out.append((title, head, piece, len(rows)))
    return out


def _aligned(head: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    """The table as lines of fixed-width columns: one text line a row draws in a fraction of
    the time a grid of cells takes (a year's tables were 3,000 cells, 4 s of the report)."""
    widths = [max(len(str(r[c])) for r in (head, *rows)) for c in range(len(head))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
             for r in (head, *rows)]
    return [lines[0], "-" * max(len(line) for line in lines), *lines[1:]]


def table_pages(report: Report) -> list[Figure]:
    """The tables, small ones stacked on a page (a row budget per page), big ones alone."""
    pages: list[list[tuple[str, tuple[str, ...], list[list[str]], int]]] = [[]]
    used = 0
    for chunk in _chunks(report):
        need = len(chunk[2]) + 3
        if pages[-1] and used + need > ROWS_PER_PAGE + 4:
            pages.append([])
            used = 0
        pages[-1].append(chunk)
        used += need
    out = []
    step = 0.84 / (ROWS_PER_PAGE + 8)  # a row's height: the fullest page fits
    for n, page in enumerate(pages, 1):
        fig = figure(f"Tables ({n} of {len(pages)})")
        y = 0.92
        for title, head, rows, _ in page:
            fig.text(0.04, y, title, fontsize=10, fontweight="bold")
            y -= step * 1.3
            for line in _aligned(head, rows):
                fig.text(0.04, y, line, fontsize=7, family="DejaVu Sans Mono")
                y -= step
            y -= step * 0.7
        out.append(fig)
    return out


def report_pdf(report: Report) -> tuple[bytes, int]:
    """(the PDF, its page count)."""
    from matplotlib.backends.backend_pdf import PdfPages

    out = io.BytesIO()
    pages = [*summary_pages(report), *(chart(report) for chart in CHARTS),
             *table_pages(report)]
    with PdfPages(out, metadata={"Title": _header(report), "Creator": "Dispatch Desk"}) as pdf:
        for page in pages:
            pdf.savefig(page)
    return out.getvalue(), len(pages)
