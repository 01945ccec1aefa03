"""`python -m bench.report`: the measures report for a year of one busy desk.

The journal: 100,000 cards over 365 days, 1,000,000 entries (ten a card: registered, a
ladder step and its two pages, an acknowledgement or a second tier, In progress, a status
message, a note or a category change, Restored, Closed with a cause from a short list),
built with bulk inserts of real entries whose card rows are their real projection (as
bench/fixtures.py does). The desk serves 40 sites; each card names what stopped (one of
EQUIPMENT items of its category at its site), and RECUR of the cards are the same thing
failing again within days, so repeats (same site and equipment, see measures/repeats.py)
are the minority they are on a real desk. Kinds of work: mostly emergencies, some
requests, some planned work (not paged: notes in place of the ladder).

Measured, median of 3, interleaved:
1. figures: what `dispatch-desk report --from 2025-12-01 --to 2026-11-30` does before its
   output: read the journal (measures/reading.py) and build the year's report;
   target <= 1.5 s;
2. figures + PDF: the same and the PDF with its charts (matplotlib, Agg); target <= 5 s;
3. baseline: a plain SQL GROUP BY of the same counts (cards by priority and status, breach
   facts by clock and priority, escalated, bounced and reopened cards) on the same file.
The ratios say what the report's extra work costs. Last line: one JSON object.

`--cards N` builds a smaller year to iterate with (the default is the issue's size);
`--journal FILE` keeps the built journal there and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.cli.report import build, gc_paused, report_period
from app.clock import FakeClock
from app.loaders import load_rules
from app.models.entry import Entry, HybridClock, uuid7
from app.models.journal import Journal
from app.models.journal_sync import card_params
from app.models.projection import apply
from app.services.measures import Report
from app.services.measures.pdf import report_pdf
from app.services.measures.reading import read_journal
from bench.fixtures import CATEGORIES, SITES

CARDS = 100_000
PER_CARD = 10
END = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
CAUSES = ("PSU failure", "fibre cut", "config change", "disk full", "power blip", "unknown")
KINDS = ("emergency",) * 15 + ("request",) * 3 + ("planned",) * 2
EQUIPMENT = 30  # items of each category at each site
RECUR = 0.04
RUNS = 3


def _card(rng: random.Random, n: int, clock: FakeClock, hlc: HybridClock, desk: str,
          recent: list[tuple[str, str, str]]) -> list[Entry]:
    card_id = str(uuid.UUID(int=rng.getrandbits(128)))
    made: list[Entry] = []

    def add(kind: str, payload: dict[str, Any], after_min: float) -> None:
        clock.advance(timedelta(minutes=after_min))
        made.append(Entry(uuid7(int(clock.now().timestamp() * 1000)), card_id, kind, payload,
                          hlc.tick(), desk, "bench"))

    prio = rng.choice(("P1", "P2", "P2", "P3", "P3", "P3", "P4"))
    kind = rng.choice(KINDS)
    if recent and rng.random() < RECUR:  # the same thing again: a repeat
        site, category, equipment = rng.choice(recent)
    else:
        site, category = rng.choice(SITES), rng.choice(CATEGORIES)
        equipment = f"{category} {rng.randint(1, EQUIPMENT):02d}"
    recent.append((site, category, equipment))
    del recent[:-300]  # about the last day's cards
    add("card.registered", {
        "number": f"A-{n:06d}", "priority": prio, "priority_reason": "benchmark card",
        "fields": {"category": category, "site": site, "equipment": equipment,
                   "symptom": f"Symptom {n} reported by phone", "kind_of_work": kind,
                   "q_what": "x", "q_where": "x", "q_when": "x", "q_workaround": "x",
                   "q_contact": "x"}}, 0)
    step = {"tier": 1, "attempt": 1}
    if kind == "planned":  # scheduled, not paged: four entries in place of the ladder's
        for text in ("window opened", "change started", "change applied"):
            add("card.note", {"text": text}, 1)
        add("card.confirmed", {}, 1)
    else:
        add("ladder.step", {**step, "due": clock.now().isoformat(), "who": "P. Braun"}, 0.1)
        for channel in ("sms", "voice"):
            add("ladder.page", {**step, "channel": channel, "to": "+4930123",
                                "sid": "SM" + uuid.UUID(int=rng.getrandbits(128)).hex}, 0.05)
        if rng.random() < 0.12:  # nobody answered tier 1
            add("ladder.step", {"tier": 2, "attempt": 1, "due": clock.now().isoformat(),
                                "who": "S. Yilmaz"}, 4)
        else:
            add("card.ack", {"who": "P. Braun", "how": "sms"}, rng.expovariate(1 / 6))
    add("card.status", {"status": "in_progress", "from": "registered", "reason": ""}, 0.5)
    add("card.status_message", {"text": "diagnostics in progress", "next_update_at": None},
        rng.uniform(5, 40))
    if rng.random() < 0.05:
        add("card.fields", {"fields": {"category": rng.choice(CATEGORIES)}}, 2)
    else:
        add("card.note", {"text": "vendor called"}, 2)
    add("card.status", {"status": "restored", "from": "in_progress", "reason": ""},
        rng.expovariate(1 / 90))
    add("card.status", {"status": "closed", "from": "restored", "reason": "", "closure": {
        "cause": rng.choice(CAUSES), "workaround": "x", "fix": "x", "lessons": "x",
        "confirmed_by": "bench"}}, 31)
    return made


def build_year(path: Path, cards: int = CARDS, seed: int = 14) -> Path:
    rng = random.Random(seed)
    clock = FakeClock(END)
    journal = Journal.open(path, clock)
    desk = journal.desk_id
    journal.close()
    hlc = HybridClock(clock, desk)
    start = END - timedelta(days=365)
    rows: list[tuple[object, ...]] = []
    states: list[dict[str, object]] = []
    recent: list[tuple[str, str, str]] = []
    for n in range(1, cards + 1):
        clock.set(start + (END - start) * (n / (cards + 1)) - timedelta(hours=3))
        state = None
        for e in _card(rng, n, clock, hlc, desk, recent):
            state = apply(state, e)
            rows.append((e.id, e.card_id, e.kind, e.payload_json(), e.hlc, e.desk_id,
                         e.operator, e.schema))
        assert state is not None
        states.append(card_params(state))
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO entries (id, card_id, kind, payload, hlc, desk_id, operator, schema)"
            " VALUES (?,?,?,?,?,?,?,?)", rows)
        con.executemany(
            "INSERT INTO cards (id, number, status, priority, category, site, registered_at,"
            " state, last_hlc) VALUES (:id,:number,:status,:priority,:category,:site,"
            ":registered_at,:state,:last_hlc)", states)
        con.execute("INSERT OR REPLACE INTO desk_meta (key, value) VALUES ('counter:A', ?)",
                    (str(cards),))
    con.close()
    return path


BASELINE_SQL = (
    "SELECT priority, status, count(*) FROM cards GROUP BY priority, status",
    "SELECT json_extract(e.payload, '$.clock'), c.priority, count(*) FROM entries e "
    "JOIN cards c ON c.id = e.card_id WHERE e.kind = 'sla.breach' GROUP BY 1, 2",
    "SELECT c.priority, count(DISTINCT e.card_id) FROM entries e JOIN cards c ON "
    "c.id = e.card_id WHERE e.kind = 'ladder.step' AND json_extract(e.payload, '$.tier') >= 2 "
    "GROUP BY c.priority",
    "SELECT count(DISTINCT card_id) FROM entries WHERE kind = 'card.fields' AND "
    "json_extract(payload, '$.fields.category') IS NOT NULL",
    "SELECT json_extract(payload, '$.from'), count(*) FROM entries WHERE kind = 'card.status'"
    " GROUP BY 1",
    "SELECT c.category, count(*) FROM cards c GROUP BY c.category",
)


def baseline(path: Path) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sum(len(con.execute(sql).fetchall()) for sql in BASELINE_SQL)
    finally:
        con.close()


def figures(path: Path) -> Report:
    """What `dispatch-desk report --from 2025-12-01 --to 2026-11-30` does before its output."""
    rules = load_rules()
    with gc_paused():
        first, last = date(2025, 12, 1), date(2026, 11, 30)
        cards, facts, reviews = read_journal(path, report_period(rules, END, first, last).start)
        return build(cards, facts, reviews, rules, END, first, last, None)


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--cards", type=int, default=CARDS,
                        help=f"cards in the year (default {CARDS:,}; smaller to iterate)")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs (default {RUNS})")
    parser.add_argument("--journal", type=Path, metavar="FILE",
                        help="keep the built journal here and reuse it when it exists")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.journal or Path(tmp) / "year.sqlite"
        t = time.perf_counter()
        if not path.exists():
            build_year(path, args.cards)
        built = time.perf_counter() - t
        con = sqlite3.connect(path)
        n_entries = con.execute("SELECT count(*) FROM entries").fetchone()[0]
        n_cards = con.execute("SELECT count(*) FROM cards").fetchone()[0]
        con.close()
        print(f"built {n_cards:,} cards, {n_entries:,} entries in {built:.1f} s", flush=True)
        report_pdf(figures(path))  # warm: matplotlib's fonts, the file cache
        fig_t, pdf_t, base_t = [], [], []
        pages = 0
        for _ in range(args.runs):
            base_t.append(timed(lambda: baseline(path)))
            fig_t.append(timed(lambda: figures(path)))
            t = time.perf_counter()
            _, pages = report_pdf(figures(path))
            pdf_t.append(time.perf_counter() - t)
        report = figures(path)
        fig_s, pdf_s, base_s = (statistics.median(x) for x in (fig_t, pdf_t, base_t))
        share = len(report.repeats) / max(1, len(report.cards))
        print(f"figures alone       {fig_s:.2f} s (target <= 1.5 s) runs {fmt(fig_t)}")
        print(f"figures + PDF       {pdf_s:.2f} s, {pages} pages (target <= 5 s) runs "
              f"{fmt(pdf_t)}")
        print(f"SQL GROUP BY        {base_s:.3f} s runs {fmt(base_t)}")
        print(f"year: {len(report.cards):,} cards, reaction median "
              f"{report.reaction_median}, repeats {len(report.repeats):,} ({share:.1%}), "
              f"escalated {report.escalated:,}")
        print(json.dumps({
            "cards": n_cards, "entries": n_entries, "figures_s": round(fig_s, 3),
            "figures_pdf_s": round(pdf_s, 3), "sql_group_by_s": round(base_s, 3),
            "figures_vs_sql": round(fig_s / base_s, 1), "pdf_vs_sql": round(pdf_s / base_s, 1),
            "pages": pages, "repeat_share": round(share, 4),
            "figures_target_met": fig_s <= 1.5, "pdf_target_met": pdf_s <= 5.0,
        }))


def fmt(times: list[float]) -> str:
    return "/".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    main()
