"""`dispatch-desk report [--from DATE] [--to DATE] [--csv FILE] [--out FILE.pdf]`: the weekly
measures (app/services/report.py) for a period of local dates in the site's time zone; by
default the last 7 days, today included.

Card text (sites, causes) comes from people: the text goes through `emit`, the PDF through
`for_display` and HTML escaping, and the CSV through the csv module (a cause with a comma or a
quote stays one cell).
"""

from __future__ import annotations

import argparse
import csv
from contextlib import closing
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from app.bootstrap import Desk, build_desk
from app.cli import emit
from app.errors import ValidationError
from app.services.card import Card
from app.services.report import (
    CSV_HEADER,
    REPORT_CLOCKS,
    Report,
    build_report,
    csv_rows,
    period_for,
    share_text,
    summary_lines,
)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-23") from exc


def make_report(desk: Desk, first: date | None, last: date | None) -> Report:
    now = desk.clock.now()
    try:
        period = period_for(now, desk.rules.tz, first, last)
    except ValueError as exc:
        raise ValidationError(str(exc), field="from") from exc
    cards = [Card.from_state(s) for s in desk.journal.cards()]
    # Entries only for the period's cards: the rest are needed for repeats, by state alone.
    entries = {c.id: desk.journal.entries(c.id) for c in cards if c.registered_at in period}
    return build_report(cards, entries, desk.rules, period, now)


def write_csv(report: Report, path: Path) -> None:
    if not path.parent.exists():
        raise ValidationError(f"folder {path.parent} does not exist", field="csv")
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_rows(report))


def _bar(label: str, share: float | None, text: str) -> str:
    """One bar of a chart as a table row: Qt's rich text has tables, not drawing, and a cell
    with a background and a width prints as a bar (black on white survives a photocopier)."""
    from app.protocol.text import for_display

    width = max(1, round((share or 0) * 100))
    bar = (f'<table width="{width}%" cellspacing="0" cellpadding="0"><tr>'
           f'<td bgcolor="#000000">&nbsp;</td></tr></table>' if share else "")
    return (f"<tr><td width=\"15%\">{escape(label)}</td><td width=\"50%\">{bar}</td>"
            f"<td>{escape(for_display(text))}</td></tr>")


def report_html(report: Report) -> str:
    from app.protocol.text import for_display

    def e(value: object) -> str:
        return escape(for_display(value))

    out = ["<h3>Summary</h3>"] + [f"<div>{e(line)}</div>" for line in summary_lines(report)]
    for name in REPORT_CLOCKS:
        out.append(f"<h3>SLA {e(name)}: breach share by priority</h3>"
                   '<table width="100%" cellspacing="2" cellpadding="1">')
        out += [_bar(label, s.share, share_text(s))
                for label, s in report.breaches[name].items()]
        out.append("</table>")
    out.append('<h3>Cards</h3><table width="100%" border="1" cellspacing="0" cellpadding="2">')
    out.append("<tr>" + "".join(f'<th bgcolor="#e4e4e4">{e(h)}</th>' for h in CSV_HEADER)
               + "</tr>")
    out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
            for row in csv_rows(report)]
    out.append("</table>")
    return "".join(out)


def write_report_pdf(report: Report, out: Path, paper: str) -> int:
    from app.cli_handover import _pdf
    from app.ui.printing import PrintJob

    p = report.period
    job = PrintJob("Desk report", f"{p.first_day} to {p.last_day}",
                   f"{p.tz.key} · printed {report.now.astimezone(p.tz):%Y-%m-%d %H:%M}",
                   report_html(report))
    return _pdf(job, out, paper)


def cmd_report(args: argparse.Namespace) -> int:
    from app.cli import settings_from

    with closing(build_desk(settings_from(args))) as desk:
        report = make_report(desk, args.date_from, args.date_to)
        for line in summary_lines(report):
            emit(line)
        if args.csv:
            write_csv(report, args.csv)
            emit(f"{len(report.cards)} cards written to {args.csv}")
        if args.out:
            pages = write_report_pdf(report, args.out, args.paper)
            emit(f"report written to {args.out} ({pages} pages)")
    return 0


def register(sub: Any) -> None:
    rep = sub.add_parser("report", help="the period's measures: SLA breaches, reaction, "
                         "repeats, escalations, category changes")
    rep.add_argument("--from", dest="date_from", type=_date, metavar="DATE",
                     help="first day (YYYY-MM-DD, site time); default: 6 days before --to")
    rep.add_argument("--to", dest="date_to", type=_date, metavar="DATE",
                     help="last day, included (default: today)")
    rep.add_argument("--csv", type=Path, metavar="FILE", help="one row per card")
    rep.add_argument("--out", type=Path, metavar="FILE.pdf", help="the report as a PDF")
    rep.add_argument("--paper", default="a4", choices=("a4", "letter"))
    rep.set_defaults(handler=cmd_report)
