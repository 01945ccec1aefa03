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

Measured, on the same file:
1. figures: what `dispatch-desk report --from 2025-12-01 --to 2026-11-30` does before its
   output: read the journal (measures/reading.py) and build the year's report;
2. figures + PDF: the same and the PDF with its charts (matplotlib, Agg);
3. baseline: a plain SQL GROUP BY of the same counts (cards by priority and status, breach
   facts by clock and priority, escalated, bounced and reopened cards) on the same file.
Each report is measured cold (the first report, with an empty figures cache: every card
computed, then the cache written, timed on its own) and warm (median of 3 after it, every
closed card's figures read from the cache, as every later report of the year reads them).
The targets are the warm report's: figures <= 1.5 s, figures + PDF <= 5 s. The ratios to the
baseline say what the report's extra work costs. The cold and warm reports are checked to be
the same as one computed without the cache. Last line: one JSON object.
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

from app.cli.report import build_rows, gc_paused, report_period
from app.clock import FakeClock
from app.loaders import load_rules
from app.models import measures_cache
from app.models.entry import Entry, HybridClock, uuid7
from app.models.journal import Journal
from app.models.journal_sync import card_params
from app.models.projection import apply
from app.services.measures import CardFigures, Report, as_json
from app.services.measures.cache import basis as cache_basis
from app.services.measures.cache import cache_rows
from app.services.measures.pdf import report_pdf
from app.services.measures.period import to_us
from app.services.measures.reading import JournalRead, read_report
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


def figures(path: Path, basis: str | None = None
            ) -> tuple[Report, list[CardFigures], JournalRead]:
    """What `dispatch-desk report --from 2025-12-01 --to 2026-11-30` does before its output
    (with `basis`: reading the figures cache; without: computing every card)."""
    rules = load_rules()
    with gc_paused():
        first, last = date(2025, 12, 1), date(2026, 11, 30)
        read = read_report(path, report_period(rules, END, first, last).start, basis)
        report, computed = build_rows(read.cards, read.facts, read.reviews, rules, END, first,
                                      last, None, read.cached)
    return report, computed, read


def remember(path: Path, computed: list[CardFigures], read: JournalRead, basis: str) -> int:
    """What the command line does after its output: keep the computed closed cards' rows."""
    rows = cache_rows(computed, read.seqs, read.recorded, basis, to_us(END))
    return measures_cache.store(path, rows, read.generation) if rows else 0


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
        for _ in range(2):  # a journal built before revision 0005 migrates (a copy is made
            Journal.open(path, FakeClock(END)).close()  # first; the second open removes it)
        con = sqlite3.connect(path)
        n_entries = con.execute("SELECT count(*) FROM entries").fetchone()[0]
        n_cards = con.execute("SELECT count(*) FROM cards").fetchone()[0]
        con.close()
        print(f"built {n_cards:,} cards, {n_entries:,} entries in {built:.1f} s", flush=True)
        basis = cache_basis(load_rules())
        fresh, _, _ = figures(path)  # computed without the cache: what both must give
        want = as_json(fresh)
        report_pdf(fresh)  # warm: matplotlib's fonts, the file cache
        del fresh  # each report is measured alone in memory, as the command line makes it
        base_t = [timed(lambda: baseline(path))]
        measures_cache.clear(path)
        t = time.perf_counter()
        cold, computed, read = figures(path, basis)
        cold_fig = time.perf_counter() - t
        _, pages = report_pdf(cold)
        cold_pdf = time.perf_counter() - t
        t = time.perf_counter()
        stored = remember(path, computed, read, basis)
        write_s = time.perf_counter() - t
        same = as_json(cold) == want
        del cold, computed, read
        print(f"cold: figures {cold_fig:.2f} s, figures + PDF {cold_pdf:.2f} s; "
              f"{stored:,} rows cached in {write_s:.2f} s", flush=True)
        fig_t, pdf_t, hits = [], [], 0
        for _ in range(args.runs):
            base_t.append(timed(lambda: baseline(path)))
            t = time.perf_counter()
            warm, computed, read = figures(path, basis)
            fig_t.append(time.perf_counter() - t)
            same = same and as_json(warm) == want
            hits = len(read.cached)
            del warm, computed, read
            t = time.perf_counter()
            _, pages = report_pdf(figures(path, basis)[0])
            pdf_t.append(time.perf_counter() - t)
        warm = figures(path, basis)[0]  # for the year's line below (not timed)
        fig_s, pdf_s, base_s = (statistics.median(x) for x in (fig_t, pdf_t, base_t))
        share = len(warm.repeats) / max(1, len(warm.cards))
        print(f"SQL GROUP BY        {base_s:.3f} s runs {fmt(base_t)}")
        print(f"figures alone       cold {cold_fig:.2f} s ({cold_fig / base_s:.1f}x SQL), "
              f"warm {fig_s:.2f} s ({fig_s / base_s:.1f}x SQL; target <= 1.5 s, warm) "
              f"runs {fmt(fig_t)}")
        print(f"figures + PDF       cold {cold_pdf:.2f} s ({cold_pdf / base_s:.1f}x SQL), "
              f"warm {pdf_s:.2f} s ({pdf_s / base_s:.1f}x SQL; target <= 5 s, warm), "
              f"{pages} pages, runs {fmt(pdf_t)}")
        print(f"figures cache       {hits:,} of {n_cards:,} cards read from it warm; "
              f"{stored:,} rows written cold in {write_s:.2f} s; same report as computed "
              f"afresh: {'yes' if same else 'NO'}")
        print(f"year: {len(warm.cards):,} cards, reaction median "
              f"{warm.reaction_median}, repeats {len(warm.repeats):,} ({share:.1%}), "
              f"escalated {warm.escalated:,}")
        print(json.dumps({
            "cards": n_cards, "entries": n_entries, "sql_group_by_s": round(base_s, 3),
            "cold_figures_s": round(cold_fig, 3), "cold_figures_pdf_s": round(cold_pdf, 3),
            "cache_write_s": round(write_s, 3), "cached_rows": stored,
            "figures_s": round(fig_s, 3), "figures_pdf_s": round(pdf_s, 3),
            "figures_vs_sql": round(fig_s / base_s, 1), "pdf_vs_sql": round(pdf_s / base_s, 1),
            "cold_figures_vs_sql": round(cold_fig / base_s, 1),
            "cold_pdf_vs_sql": round(cold_pdf / base_s, 1),
            "warm_hits": hits, "same_as_fresh": same,
            "pages": pages, "repeat_share": round(share, 4),
            "figures_target_met": fig_s <= 1.5, "pdf_target_met": pdf_s <= 5.0,
            "targets_apply_to": "warm",
        }))


def fmt(times: list[float]) -> str:
    return "/".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    main()
