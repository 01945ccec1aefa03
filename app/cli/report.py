"""`dispatch-desk report --from --to [--site] [--out report.pdf] [--csv DIR] [--json]`: the
period's measures (app/services/measures) for local dates in the site's time zone; by default
the last 7 days, today included. On a synced desk the journal holds every desk's cards it has
pulled, so the report covers them all; `dispatch-desk server report ...` (`cmd_server_report`)
makes the same report from the store's entries, folded by the same projection.

Reading is the heavy part on a big journal, so it is done here, in SQL that only selects: the
card states come from the projection table, and of the entries only the kinds the measures
read (`FACT_KINDS`), with the registration only for cards whose category changed later.
Every figure is still defined once, in the measures package.

Card text (sites, causes) comes from people: the text goes through `emit`, the PDF through
`for_display`, and the CSV through the csv module (a cause with a comma stays one cell).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from app.bootstrap import build_desk
from app.cli import emit
from app.errors import JournalError, ValidationError
from app.models.entry import Entry, stamp_time
from app.models.projection import CardState, fold
from app.services import measures
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.measures import CardFacts, Report

# The entry kinds the measures read beyond the card states (measures/facts.py).
FACT_KINDS = ("card.fields", "card.status", "card.status_message", "ladder.step",
              "ladder.page", "ladder.unreachable", "ladder.page_failed", "ladder.reply",
              "ladder.call_result", "ladder.declined")


class FactEntry(NamedTuple):
    """An entry as far as the measures read it (measures.facts.EntryLike); a tuple, because
    a year's report makes 600,000 of them."""

    kind: str
    hlc: str
    payload: dict[str, Any]

    @property
    def at(self) -> datetime:
        return stamp_time(self.hlc)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a report reads and counts: it makes millions of
    small objects and no cycles, and the collector's passes over them cost 40 % of the time
    on a year's journal (measured with bench.report)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-23") from exc


# What the facts read of the commonest kinds, picked out in SQL (the rest come whole): the
# same fields `measures.card_facts` reads, so the figures are the same either way (a test
# compares the two on one journal), only without decoding a million payloads in Python.
_PICKED: dict[str, tuple[str, str, Callable[[Any, Any], dict[str, Any]]]] = {
    "card.status": ("'$.status'", "NULL", lambda a, b: {"status": a}),
    "ladder.step": ("'$.tier'", "'$.unreachable'", lambda a, b: {"tier": a, "unreachable": b}),
    "card.status_message": ("'$.at'", "'$.next_update_at'",
                            lambda a, b: {"at": a, "next_update_at": b}),
}


def _facts_sql() -> str:
    def pick(path: str) -> str:
        return "NULL" if path == "NULL" else f"json_extract(payload, {path})"

    picked = " UNION ALL ".join(
        f"SELECT card_id, kind, hlc, NULL, {pick(a)}, {pick(b)} FROM entries WHERE kind = '{k}'"
        for k, (a, b, _) in _PICKED.items())
    whole = ",".join(f"'{k}'" for k in FACT_KINDS if k not in _PICKED and k != "ladder.page")
    return (
        f"{picked} UNION ALL "
        # Only a card's first page counts (time to first page).
        "SELECT card_id, kind, MIN(hlc), NULL, NULL, NULL FROM entries "
        "WHERE kind = 'ladder.page' GROUP BY card_id UNION ALL "
        f"SELECT card_id, kind, hlc, payload, NULL, NULL FROM entries WHERE kind IN ({whole}) "
        # The registration only where the category changed later (bounces start from it).
        "OR (kind = 'card.registered' AND card_id IN "
        "(SELECT card_id FROM entries WHERE kind = 'card.fields'))")


def facts_from_rows(rows: Iterable[tuple[str, str, str, str | None, Any, Any]]
                    ) -> dict[str, CardFacts]:
    """(card_id, kind, hlc, payload JSON or None, picked a, picked b) -> each card's facts."""
    by_card: dict[str, list[FactEntry]] = {}
    for card_id, kind, hlc, payload, a, b in rows:
        if payload is not None:
            body = json.loads(payload)
        else:
            picked = _PICKED.get(kind)
            body = picked[2](a, b) if picked else {}
        by_card.setdefault(card_id, []).append(FactEntry(kind, hlc, body))
    return {card_id: measures.card_facts(es) for card_id, es in by_card.items()}


def read_journal(path: Path) -> tuple[list[CardState], dict[str, CardFacts]]:
    """Every card state and its facts, in two reads of the journal file (read-only)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        with closing(con):
            states = [json.loads(r[0]) for r in con.execute("SELECT state FROM cards")]
            rows = con.execute(_facts_sql()).fetchall()
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read the journal {path}: {exc}") from exc
    return states, facts_from_rows(rows)


def read_store(db_url: str) -> tuple[list[CardState], dict[str, CardFacts]]:
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
    return states, facts


def build(states: list[CardState], facts: Mapping[str, CardFacts], rules: DispatchRules,
          now: datetime, first: date | None, last: date | None, site: str | None) -> Report:
    try:
        period = measures.period_for(now, rules.tz, first, last)
    except ValueError as exc:
        raise ValidationError(str(exc), field="from") from exc
    if site is not None:
        if not site.strip():
            raise ValidationError("--site needs a site name", field="site")
        states = [s for s in states if (s.get("site") or "").casefold()
                  == site.strip().casefold()]
    cards = [Card.from_state(s) for s in states]
    return measures.build_report(cards, facts, rules, period, now, measures.reviews_of(states))


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
    from app.cli import settings_from

    with closing(build_desk(settings_from(args))) as desk, gc_paused():
        states, facts = read_journal(desk.journal.path)
        report = build(states, facts, desk.rules, desk.clock.now(), args.date_from,
                       args.date_to, args.site)
    return deliver(report, args)


def cmd_server_report(args: argparse.Namespace) -> int:
    """The store's report for the whole organisation: the store's entries, this machine's
    dispatch rules (--policies) and clock."""
    from app.clock import SystemClock
    from app.loaders import load_rules

    rules = load_rules(getattr(args, "policies", None))
    with gc_paused():
        states, facts = read_store(args.db)
        report = build(states, facts, rules, SystemClock().now(), args.date_from,
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
    rep.add_argument("--paper", default="a4", choices=("a4", "letter"),
                     help="kept for scripts; the PDF is A4 landscape")
    rep.set_defaults(handler=cmd_report)
