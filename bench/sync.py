"""`python -m bench.sync`: the desk side of sync through a real store process on loopback.

1. Throughput: desk A was offline and queued 10,000 entries (1,000 cards, ten entries each);
   it reconnects and pushes them (batches of 500), then desk B pulls and applies them (pages of
   1,000). Baseline in the same run: the same 10,000 entries applied straight into a fresh
   journal with `Journal.apply_remote` in pages of 1,000 (the journal work of a pull without
   the network and the store). Figures: entries/s, and time until the store and then desk B
   have them all (the issue's target: <= 10 s); medians over `rounds` repetitions.
2. Propagation: a write on desk A, pushed at once, until it is in desk B's journal through
   B's long-poll; median and p95 over 200 writes (the issue's target: p95 <= 300 ms).

Last line: one JSON object.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from app.clock import SystemClock
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.store.storage import Store
from app.sync.client import StoreClient
from app.sync.engine import SyncEngine
from bench.stats import pct

ROOT = Path(__file__).resolve().parent.parent
CARDS, EDITS = 1000, 9  # 10,000 entries


def start_store(db_url: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "server", "--db", db_url, "--port", "0",
         "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"the store did not start: {line!r}")
    return proc, line.split()[3]


def desk(folder: Path, name: str, url: str, code: str, **engine_args: int) -> SyncEngine:
    """A desk journal enrolled with the store; the credential stays in memory (a benchmark
    must not write to the machine's keyring)."""
    clock = SystemClock()
    journal = Journal.open(folder / f"{name}.sqlite", clock)
    journal.set_desk_code(name)
    enrolment = StoreClient(url).enroll(code, name, f"bench {name}", journal.desk_id)
    client = StoreClient(url, (enrolment.desk_id, enrolment.secret))
    return SyncEngine(journal, client, clock, random.Random(1), **engine_args)


def queue_offline(journal: Journal) -> None:
    for n in range(CARDS):
        card = str(uuid.uuid4())
        new = [NewEntry(card, "card.registered", {"priority": "P3", "priority_reason": "bench",
                                                  "fields": {"symptom": f"outage {n}"}})]
        new += [NewEntry(card, "card.fields", {"fields": {"room": f"R{k}"}}) for k in range(EDITS)]
        journal.write(new, "bench")


def throughput(folder: Path, url: str, codes: list[str], rep: int) -> dict[str, float]:
    letter = "ABCDEFGHIJ"[rep % 10]
    a = desk(folder, "A" + letter, url, codes.pop(), batch=500)
    b = desk(folder, "B" + letter, url, codes.pop(), page=1000)
    queue_offline(a.journal)
    total = a.journal.outbox_size()
    t0 = time.perf_counter()
    a.push_outbox()
    pushed = time.perf_counter() - t0
    t1 = time.perf_counter()
    b.pull()
    pulled = time.perf_counter() - t1
    assert a.journal.outbox_size() == 0 and b.journal.count_cards() >= CARDS
    # Baseline: the same entries straight into a fresh journal, pages of 1,000.
    entries = list(b.journal.all_entries())
    entries = [e for e in entries if e.desk_id == a.journal.desk_id]
    base = Journal.open(folder / f"baseline{rep}.sqlite", SystemClock())
    t2 = time.perf_counter()
    for start in range(0, len(entries), 1000):
        base.apply_remote(entries[start:start + 1000], ("bench.cursor", str(start)))
    baseline = time.perf_counter() - t2
    for engine in (a, b):
        engine.client.close()
        engine.journal.close()
    base.close()
    return {"entries": total, "push_s": pushed, "pull_s": pulled, "baseline_s": baseline}


def propagation(folder: Path, url: str, codes: list[str], writes: int) -> list[float]:
    a = desk(folder, "P", url, codes.pop())
    b = desk(folder, "Q", url, codes.pop())
    b.pull()
    arrived: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            _, cards = b.pull(wait=5)
            now = time.perf_counter()
            for card in cards:
                arrived.setdefault(card, now)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    time.sleep(0.2)  # let the first long-poll reach the store
    latencies: list[float] = []
    for n in range(writes):
        card = str(uuid.uuid4())
        t = time.perf_counter()
        a.journal.write([NewEntry(card, "card.registered", {
            "priority": "P2", "priority_reason": "bench", "fields": {"symptom": f"w{n}"}})],
            "bench")
        a.push_outbox()
        while card not in arrived:
            time.sleep(0.0005)
        latencies.append(arrived[card] - t)
    stop.set()
    poller.join(7)
    return latencies


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    writes = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'store.sqlite'}"
        admin = Store(db_url)
        codes = [admin.add_desk_code(f"bench {n}") for n in range(2 * rounds + 2)]
        admin.close()
        proc, url = start_store(db_url)
        try:
            runs = [throughput(folder, url, codes, rep) for rep in range(rounds)]
            latencies = propagation(folder, url, codes, writes)
        finally:
            proc.terminate()
            proc.wait(10)
    n = runs[0]["entries"]
    push_s = statistics.median(r["push_s"] for r in runs)
    pull_s = statistics.median(r["pull_s"] for r in runs)
    base_s = statistics.median(r["baseline_s"] for r in runs)
    figures = {
        "entries": n,
        "push_entries_per_s": n / push_s,
        "pull_entries_per_s": n / pull_s,
        "baseline_apply_entries_per_s": n / base_s,
        "pull_vs_baseline_ratio": pull_s / base_s,
        "reconnect_store_has_all_s": push_s,
        "reconnect_second_desk_has_all_s": push_s + pull_s,
        "propagation_median_ms": statistics.median(latencies) * 1000,
        "propagation_p95_ms": pct(latencies, 0.95) * 1000,
    }
    print(f"{n} queued entries, medians of {rounds} runs through a store process on loopback:")
    print(f"  push  {figures['push_entries_per_s']:8.0f} entries/s ({push_s:.2f} s)")
    print(f"  pull  {figures['pull_entries_per_s']:8.0f} entries/s ({pull_s:.2f} s, with apply)")
    print(f"  baseline apply_remote straight into a journal: "
          f"{figures['baseline_apply_entries_per_s']:.0f} entries/s ({base_s:.2f} s); "
          f"pull takes {figures['pull_vs_baseline_ratio']:.2f}x the baseline")
    print(f"  reconnect: store has all after {push_s:.2f} s, second desk after "
          f"{push_s + pull_s:.2f} s (target <= 10 s)")
    print(f"propagation A -> store -> B over {writes} writes: median "
          f"{figures['propagation_median_ms']:.1f} ms, p95 {figures['propagation_p95_ms']:.1f} ms"
          " (target p95 <= 300 ms)")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
