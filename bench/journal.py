"""`python -m bench.journal`: the cost of durability, and opening a year of cards.

1. Register one card durably through the service layer (validation, entry, projection, one
   BEGIN IMMEDIATE ... COMMIT with synchronous=FULL) versus a bare `sqlite3` single-row
   insert and commit on the same disk with the same durability settings (WAL, FULL). The two
   are interleaved so machine noise hits both alike; the figure is the ratio of medians.
2. Open a journal of 100,000 cards (2,000 open) and list the open ones ranked by priority and
   nearest deadline, median of several cold opens in this process.

Targets: ratio of medians <= 2.0; open + ranked list <= 1.0 s. Last line: one JSON object.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from app.clock import SystemClock
from app.loaders import load_rules
from app.models.journal import Journal
from app.services.cards.card import Operator
from app.services.cards.queue import ranked
from app.services.cards.service import CardService
from bench.fixtures import build_big_journal
from bench.stats import pct

CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"
OPERATOR = Operator("bench", "dispatcher")
INTAKE = {"category": "power", "site": "HQ", "symptom": "UPS alarm", "priority": "P2",
          "priority_reason": "benchmark", "q_what": "w", "q_where": "w", "q_when": "w",
          "q_workaround": "w", "q_contact": "w"}


def durable_writes(rounds: int) -> dict[str, float]:
    CACHE.mkdir(exist_ok=True)
    journal_path, bare_path = CACHE / "register.sqlite", CACHE / "bare.sqlite"
    for p in CACHE.glob("register.sqlite*"):
        p.unlink()
    for p in CACHE.glob("bare.sqlite*"):
        p.unlink()
    clock = SystemClock()
    journal = Journal.open(journal_path, clock)
    cards = CardService(journal, load_rules(), clock)
    bare = sqlite3.connect(bare_path, isolation_level=None)
    bare.execute("PRAGMA journal_mode=WAL")
    bare.execute("PRAGMA synchronous=FULL")
    bare.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    body = json.dumps(INTAKE)
    service: list[float] = []
    baseline: list[float] = []
    for _ in range(rounds):
        t = time.perf_counter()
        cards.register(INTAKE, OPERATOR)
        service.append(time.perf_counter() - t)
        t = time.perf_counter()
        bare.execute("BEGIN IMMEDIATE")
        bare.execute("INSERT INTO t (body) VALUES (?)", (body,))
        bare.execute("COMMIT")
        baseline.append(time.perf_counter() - t)
    journal.close()
    bare.close()
    return {
        "register_median_ms": statistics.median(service) * 1000,
        "register_p99_ms": pct(service, 0.99) * 1000,
        "bare_insert_median_ms": statistics.median(baseline) * 1000,
        "bare_insert_p99_ms": pct(baseline, 0.99) * 1000,
        "ratio_of_medians": statistics.median(service) / statistics.median(baseline),
    }


def open_and_rank(runs: int) -> dict[str, float]:
    CACHE.mkdir(exist_ok=True)
    big = CACHE / "journal-100k.sqlite"
    if not big.exists():
        t = time.perf_counter()
        build_big_journal(big.with_suffix(".tmp"))
        big.with_suffix(".tmp").rename(big)
        print(f"built {big.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    rules = load_rules()
    times: list[float] = []
    count = 0
    for _ in range(runs):
        t = time.perf_counter()
        journal = Journal.open(big, SystemClock())
        cards = CardService(journal, rules, SystemClock())
        queue = ranked(cards.open_cards(), rules, SystemClock().now())
        times.append(time.perf_counter() - t)
        count = len(queue)
        journal.close()
    return {"open_ranked_100k_median_s": statistics.median(times),
            "open_ranked_100k_max_s": max(times), "open_cards": count}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    writes = durable_writes(rounds)
    reads = open_and_rank(5)
    print(f"register through the service: median {writes['register_median_ms']:.2f} ms, "
          f"p99 {writes['register_p99_ms']:.2f} ms ({rounds} cards)")
    print(f"bare sqlite3 insert+commit:   median {writes['bare_insert_median_ms']:.2f} ms, "
          f"p99 {writes['bare_insert_p99_ms']:.2f} ms")
    print(f"ratio of medians: {writes['ratio_of_medians']:.2f} (target <= 2.0)")
    print(f"open 100,000-card journal + ranked open list ({reads['open_cards']} cards): "
          f"median {reads['open_ranked_100k_median_s']:.3f} s (target <= 1.0 s)")
    figures = {k: round(v, 4) for k, v in {**writes, **reads}.items()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
