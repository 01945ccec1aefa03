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
MAX_TABLE_PAGES = 3  # per table; the cards get one page: a year's belong in cards.csv
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
    return (f"Desk report {p.first_day} to {p.last_day} ({p.tz.key}) - printed "
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
        ("Escalated past tier 1", f"{report.escalated} ({report.escalated_unavailable} "
                                  "unavailable)"),
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
    counts = {"cards": len(report.cards), "repeats": len(report.repeats)}
    for name, (header, rows) in tables(report, MAX_TABLE_PAGES * ROWS_PER_PAGE).items():
        cols = CARD_COLUMNS if name == "cards" else tuple(range(len(header)))
        head = tuple(header[c] for c in cols)
        room = (1 if name == "cards" else MAX_TABLE_PAGES) * ROWS_PER_PAGE
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
    for n, page in enumerate(pages, 1):
        fig = figure(f"Tables ({n} of {len(pages)})")
        total = sum(len(c[2]) + 3 for c in page)
        top = 0.92
        for title, head, rows, _ in page:
            height = 0.88 * (len(rows) + 3) / max(total, ROWS_PER_PAGE)
            fig.text(0.04, top, title, fontsize=10, fontweight="bold")
            ax = fig.add_axes((0.04, top - height, 0.92, height - 0.015))
            ax.set_axis_off()
            table = ax.table(cellText=rows, colLabels=head, loc="upper center", cellLoc="left")
            table.auto_set_font_size(False)
            table.set_fontsize(7 if len(head) > 8 else 8)
            top -= height
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
