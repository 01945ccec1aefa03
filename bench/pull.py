"""`python -m bench.pull`: pulling one busy card's history, at 10,000 and at 80,000 entries.

A card with a long life (a major incident: notes and edits all night) is the worst case for
applying pulled pages: before the incremental apply (app/models/remote.py) each page re-read
the whole card, so the cost per entry grew with the card's history. Here one card holds N
entries (a registration, then notes and field edits in turn) in a real store (SQLite, served
in this process by uvicorn on a loopback port, as the tests run it); a fresh desk journal pulls
them all in pages of 1,000 through `SyncEngine.pull`, and applies each page. The same run
measures N = 10,000 (the baseline) and N = 80,000; medians over `rounds` fresh desks each.

Figures: entries/s for each N (whole pull, and the journal's apply alone), and the ratio of the
cost per entry at 80,000 to the cost per entry at 10,000 (target <= 1.5: linear, not
quadratic). Last line: one JSON object.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from app.clock import SystemClock
from app.models.entry import format_stamp, uuid7
from app.models.journal import Journal
from app.store.database import make_store_engine, migrate, parse_db_url
from app.store.tables import entries as entries_table
from app.store.tables import seq_counter
from app.sync import protocol as p
from app.sync.client import StoreClient
from app.sync.engine import SyncEngine
from tests.store.harness import ThreadStore

SIZES = (10_000, 80_000)
PAGE = 1000
TARGET = 1.5
AUTHOR = "dbusydesk"


def fill_store(db_url: str, total: int) -> str:
    """A store holding one card with `total` entries, inserted straight into its tables (the
    fill is not what is measured); returns the card id."""
    url = parse_db_url(db_url)
    engine = make_store_engine(url)
    migrate(engine, url)
    card = str(uuid.uuid4())
    start = SystemClock().now() - timedelta(days=2)
    start_ms = int(start.timestamp() * 1000)
    rows: list[dict[str, Any]] = []
    for n in range(total):
        if n == 0:
            kind, payload = "card.registered", {
                "priority": "P1", "priority_reason": "whole site offline", "number": "BZ-0001",
                "fields": {"category": "network", "site": "HQ", "symptom": "core switch down"}}
        elif n % 2:
            kind, payload = "card.note", {"text": f"update {n}: vendor on site, still down"}
        else:
            kind, payload = "card.fields", {"fields": {"room": f"R{n % 97}",
                                                       "assignee": f"tech {n % 7}"}}
        rows.append({
            # UUIDv7 ids, as desks make them: they sort by time, as the stamps do.
            "seq": n + 1, "id": uuid7(start_ms + n), "card_id": card, "kind": kind,
            "payload": json.dumps(payload, sort_keys=True, separators=(",", ":")),
            "hlc": format_stamp(start_ms + n, 0, AUTHOR), "desk_id": AUTHOR,
            "operator": "night shift", "schema": 1,
            "stored_at": p.format_time(start + timedelta(milliseconds=n)),
        })
    with engine.begin() as conn:
        for begin in range(0, total, 5000):
            conn.execute(insert(entries_table), rows[begin:begin + 5000])
        conn.execute(update(seq_counter).where(seq_counter.c.id == 1).values(last_seq=total))
    engine.dispose()
    return card


class TimedJournal(Journal):
    """The desk's real journal, with the time spent in `apply_remote` added up."""

    applying_s = 0.0

    def apply_remote(self, *args: Any, **kwargs: Any) -> int:
        t = time.perf_counter()
        try:
            return super().apply_remote(*args, **kwargs)
        finally:
            self.applying_s += time.perf_counter() - t


def one_pull(store: ThreadStore, folder: Path, name: str, total: int, card: str,
             profile: bool = False) -> dict[str, float]:
    clock = SystemClock()
    journal = TimedJournal(folder / f"{name}.sqlite", clock)
    journal.set_desk_code("D")
    code = store.add_desk_code(name)
    enrolment = StoreClient(store.url).enroll(code, "D", name, journal.desk_id)
    client = StoreClient(store.url, (enrolment.desk_id, enrolment.secret))
    engine = SyncEngine(journal, client, clock, random.Random(1), page=PAGE)
    profiler = cProfile.Profile() if profile else None
    t = time.perf_counter()
    if profiler:
        profiler.enable()
    added, _ = engine.pull()
    if profiler:
        profiler.disable()
    took = time.perf_counter() - t
    assert added == total, (added, total)
    assert len(journal.entries(card)) == total and journal.card(card)["room"]
    applying = journal.applying_s
    client.close()
    journal.close()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue(), file=sys.stderr)
    return {"pull_s": took, "apply_s": applying}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results: dict[int, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stores: dict[int, tuple[ThreadStore, str]] = {}
        for total in SIZES:
            db_url = f"sqlite:///{folder / f'store-{total}.sqlite'}"
            card = fill_store(db_url, total)
            stores[total] = (ThreadStore(db_url), card)
        try:
            # Interleaved, so machine noise falls on both sizes alike.
            for rep in range(rounds):
                for total in SIZES:
                    store, card = stores[total]
                    results.setdefault(total, []).append(
                        one_pull(store, folder, f"desk-{total}-{rep}", total, card))
            pull_s = {n: statistics.median(r["pull_s"] for r in results[n]) for n in SIZES}
            apply_s = {n: statistics.median(r["apply_s"] for r in results[n]) for n in SIZES}
            small, big = SIZES
            ratio = (pull_s[big] / big) / (pull_s[small] / small)
            apply_ratio = (apply_s[big] / big) / (apply_s[small] / small)
            if ratio > TARGET:
                print(f"ratio {ratio:.2f} > {TARGET}: profile of one {big:,}-entry pull",
                      file=sys.stderr)
                store, card = stores[big]
                one_pull(store, folder, "desk-profile", big, card, profile=True)
        finally:
            for store, _ in stores.values():
                store.close()
    figures: dict[str, float] = {}
    for n in SIZES:
        figures[f"pull_{n}_entries_per_s"] = n / pull_s[n]
        figures[f"apply_{n}_entries_per_s"] = n / apply_s[n]
        figures[f"pull_{n}_s"] = pull_s[n]
    figures["per_entry_cost_ratio"] = ratio
    figures["apply_per_entry_cost_ratio"] = apply_ratio
    print(f"one card, pulled by a fresh desk in pages of {PAGE:,} from a store on loopback "
          f"(medians of {rounds}):")
    for n in SIZES:
        print(f"  {n:>6,} entries: {figures[f'pull_{n}_entries_per_s']:8,.0f} entries/s "
              f"({pull_s[n]:.2f} s; apply alone {figures[f'apply_{n}_entries_per_s']:,.0f}/s)")
    print(f"cost per entry at {big:,} / at {small:,}: {ratio:.2f} (apply alone "
          f"{apply_ratio:.2f}; target <= {TARGET})")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
