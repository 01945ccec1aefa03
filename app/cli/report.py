"""`dispatch-desk report --from --to [--site] [--out report.pdf] [--csv DIR] [--json]`: the
period's measures (app/services/measures) for local dates in the site's time zone; by default
the last 7 days, today included. On a synced desk the journal holds every desk's cards it has
pulled, so the report covers them all; `dispatch-desk server report ...` (`cmd_server_report`)
makes the same report from the store's entries, folded by the same projection.

Reading is the heavy part on a big journal: `measures.reading.read_report` does it in SQL
that only selects (the window's report view reads the same way). Every figure is defined
once, in the measures package. The closed cards' figures come from the figures cache in the
journal (measures/cache.py) where they are still good; the ones this report computed are
written back after the output (`remember`), a few thousand rows per write transaction.

Card text (sites, causes) comes from people: the text goes through `emit`, the PDF through
`for_display`, and the CSV through the csv module (a cause with a comma stays one cell).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from app.cli import emit
from app.errors import JournalError, ValidationError
from app.models import measures_cache
from app.models.entry import Entry
from app.models.projection import fold
from app.services import measures
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.measures import CardFacts, CardFigures, Report, Review
from app.services.measures.cache import basis as cache_basis
from app.services.measures.cache import cache_rows
from app.services.measures.period import to_us
from app.services.measures.reading import JournalRead, read_report


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a report reads and counts: it makes millions of
    small objects and no cycles, and the collector's passes over them cost 40 % of the time
    on a year's journal (measured with bench.report). On the way out they are frozen
    (`gc.freeze`: left out of every later collection, still freed when no longer used), so
    the collections that writing the PDF sets off do not walk them either (0.5 s a pass)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-23") from exc


def read_store(db_url: str) -> tuple[list[Card], dict[str, CardFacts], dict[str, Review]]:
    """Every card in the store, folded from its entries by the desk's own projection."""
    from sqlalchemy import select

    from app.store.storage import Store
    from app.store.tables import entries

    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(entries.c.id, entries.c.card_id, entries.c.kind, entries.c.payload,
                       entries.c.hlc, entries.c.desk_id, entries.c.operator, entries.c.schema)
                .where(entries.c.set_aside.is_(None))).all()
    finally:
        store.close()
    by_card: dict[str, list[Entry]] = {}
    for r in rows:
        by_card.setdefault(r[1], []).append(Entry(r[0], r[1], r[2], json.loads(r[3]), r[4],
                                                  r[5], r[6], r[7]))
    states = [s for es in by_card.values() if any(e.kind == "card.registered" for e in es)
              if (s := fold(es)) is not None]
    facts = {s["id"]: measures.card_facts(by_card[s["id"]]) for s in states}
    return [Card.from_state(s) for s in states], facts, measures.reviews_of(states)


def report_period(rules: DispatchRules, now: datetime, first: date | None, last: date | None
                  ) -> measures.Period:
    try:
        return measures.period_for(now, rules.tz, first, last)
    except ValueError as exc:
        raise ValidationError(str(exc), field="from") from exc


def build(cards: list[Card], facts: Mapping[str, CardFacts], reviews: Mapping[str, Review],
          rules: DispatchRules, now: datetime, first: date | None, last: date | None,
          site: str | None, cached: Sequence[CardFigures] = ()) -> Report:
    return build_rows(cards, facts, reviews, rules, now, first, last, site, cached)[0]


def build_rows(cards: list[Card], facts: Mapping[str, CardFacts],
               reviews: Mapping[str, Review], rules: DispatchRules, now: datetime,
               first: date | None, last: date | None, site: str | None,
               cached: Sequence[CardFigures] = ()) -> tuple[Report, list[CardFigures]]:
    """The report, and the figures computed for it (`cached`: rows read from the cache)."""
    period = report_period(rules, now, first, last)
    if site is not None:
        if not site.strip():
            raise ValidationError("--site needs a site name", field="site")
        key = site.strip().casefold()
        cards = [c for c in cards if c.site.casefold() == key]
        cached = [r for r in cached if r.site.casefold() == key]
    return measures.build_report_rows(cards, facts, rules, period, now, reviews, cached)


def remember(path: Path, read: JournalRead, computed: list[CardFigures], basis: str,
             now: datetime) -> int:
    """Keep the closed cards' figures this report computed (measures/cache.py), so the next
    report reads them; returns how many. A journal this process may not write (a copy on a
    read-only share, a read-only file) keeps the cache it has: the report used it as is."""
    rows = cache_rows(computed, read.seqs, read.recorded, basis, to_us(now))
    if not rows:
        return 0
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        emit(f"figures cache not updated: {path} is read-only (the report used it as is)",
             file=sys.stderr)
        return 0
    try:
        return measures_cache.store(path, rows, read.generation)
    except JournalError as exc:
        emit(f"figures cache not updated ({exc}); the next report computes those cards again",
             file=sys.stderr)
        return 0


def write_csv(report: Report, target: Path) -> list[Path]:
    """Every table into the folder `target` (made if its parent exists); a path ending in
    .csv gets the one row per card only, as before."""
    tables = measures.tables(report)
    if target.suffix.lower() == ".csv":
        picked = {target: tables["cards"]}
    else:
        if not target.parent.exists():
            raise ValidationError(f"folder {target.parent} does not exist", field="csv")
        target.mkdir(exist_ok=True)
        picked = {target / f"{name}.csv": table for name, table in tables.items()}
    for path, (header, rows) in picked.items():
        if not path.parent.is_dir():
            raise ValidationError(f"folder {path.parent} does not exist", field="csv")
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
    return list(picked)


def write_pdf(report: Report, out: Path) -> int:
    if not out.parent.is_dir():
        raise ValidationError(f"folder {out.parent} does not exist", field="out")
    from app.services.measures.pdf import report_pdf

    data, pages = report_pdf(report)
    out.write_bytes(data)
    return pages


def check_targets(args: argparse.Namespace) -> None:
    """Refuse a --csv or --out whose folder is missing before any work or output."""
    # --csv DIR is made when its parent exists; --csv FILE.csv and --out need their folder.
    targets = (("csv", args.csv.parent if args.csv else None),
               ("out", args.out.parent if args.out else None))
    for option, folder in targets:
        if folder is not None and not folder.is_dir():
            raise ValidationError(f"--{option}: folder {folder} does not exist; make it first "
                                  "or name another", field=option)


def deliver(report: Report, args: argparse.Namespace) -> int:
    from app.cli import print_json

    if args.json:
        print_json(measures.as_json(report))
    else:
        for line in measures.summary_lines(report):
            emit(line)
    if args.csv:
        written = write_csv(report, args.csv)
        emit(f"{len(written)} table(s) written to {args.csv} ({len(report.cards)} cards)")
    if args.out:
        pages = write_pdf(report, args.out)
        emit(f"report written to {args.out} ({pages} pages)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from app.bootstrap import build_desk
    from app.cli import settings_from

    check_targets(args)
    with closing(build_desk(settings_from(args))) as desk, gc_paused():
        now = desk.clock.now()
        since = report_period(desk.rules, now, args.date_from, args.date_to).start
        path = Path(desk.journal.path)
        basis = None if args.no_cache else cache_basis(desk.rules)
        read = read_report(path, since, basis)
        report, computed = build_rows(read.cards, read.facts, read.reviews, desk.rules, now,
                                      args.date_from, args.date_to, args.site, read.cached)
    code = deliver(report, args)
    if basis is not None:  # after the output: nobody waits for it
        remember(path, read, computed, basis, now)
    return code


def cmd_server_report(args: argparse.Namespace) -> int:
    """The store's report for the whole organisation: the store's entries, this machine's
    dispatch rules (--policies) and clock."""
    from app.clock import SystemClock
    from app.loaders import load_rules

    check_targets(args)
    rules = load_rules(getattr(args, "policies", None))
    with gc_paused():
        cards, facts, reviews = read_store(args.db)
        report = build(cards, facts, reviews, rules, SystemClock().now(), args.date_from,
                       args.date_to, args.site)
    return deliver(report, args)


def add_report_options(parser: Any) -> None:
    parser.add_argument("--from", dest="date_from", type=_date, metavar="DATE",
                        help="first day (YYYY-MM-DD, site time); default: 6 days before --to")
    parser.add_argument("--to", dest="date_to", type=_date, metavar="DATE",
                        help="last day, included (default: today)")
    parser.add_argument("--site", help="only this site's cards")
    parser.add_argument("--csv", type=Path, metavar="DIR",
                        help="every table as CSV into this folder (FILE.csv: the cards only)")
    parser.add_argument("--out", type=Path, metavar="FILE.pdf",
                        help="the report as a PDF: summary, charts, tables")
    parser.add_argument("--json", action="store_true", help="the figures as JSON")


def register(sub: Any) -> None:
    rep = sub.add_parser("report", help="the period's measures: SLA breaches, reaction, "
                         "repeats, escalations, bounces, reviews (text, CSV, PDF, JSON)")
    add_report_options(rep)
    rep.add_argument("--no-cache", action="store_true",
                     help="compute every card afresh; neither read nor update the figures "
                     "cache kept in the journal (the report is the same either way)")
    rep.add_argument("--paper", default="a4", choices=("a4", "letter"),
                     help="kept for scripts; the PDF is A4 landscape")
    rep.set_defaults(handler=cmd_report)
