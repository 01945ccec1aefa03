"""`python -m bench.store`: the central store's costs, on real store processes.

1. Push throughput: 10,000 entries in batches of 500 over HTTP into a store process, on SQLite
   and on PostgreSQL, against a baseline measured in the same run: the same rows inserted
   straight into the same kind of database with SQLAlchemy Core (executemany, one transaction
   per batch). The figure is the ratio of the medians of per-batch times.
2. Wake latency: a desk long-polls, another desk pushes one entry; time from the push being
   sent to the poll's answer arriving, median and p95 over N rounds, on SQLite (one process)
   and across two processes on PostgreSQL (LISTEN/NOTIFY). Baseline: a /v1/health round trip.
3. Idle cost: 200 desks long-polling one store process: its CPU share and resident memory
   over a quiet window, against the same process idle with no polls.

PostgreSQL must run on 127.0.0.1:5432 (user postgres); the benchmark makes and drops its own
database. Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy import create_engine, insert

from app.clock import SystemClock
from app.models.entry import format_stamp, uuid7
from app.store.storage import Store
from app.store.tables import entries as entries_table
from app.sync import protocol as p
from app.sync.client import DeskAuth
from bench.stats import pct
from tests.store.harness import ProcessStore

PG_ADMIN = os.environ.get("DD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TOTAL, BATCH, WAKE_ROUNDS, IDLE_POLLS, IDLE_WINDOW_S = 10_000, 500, 60, 200, 5.0


class BenchDesk:
    def __init__(self, store: ProcessStore, name: str) -> None:
        admin = Store(store.db_url)
        code = admin.add_desk_code(name)
        admin.close()
        self.session = requests.Session()
        self.base = store.url
        body = {"code": code, "desk_code": "BN", "name": name}
        reply = self.session.post(
            self.base + p.PATH_ENROLL, json=body, headers={p.HEADER_PROTOCOL: "1"}, timeout=10
        )
        reply.raise_for_status()
        enrolment = p.Enrollment.from_json(reply.json())
        self.desk_id = enrolment.desk_id
        self.session.headers.update({p.HEADER_PROTOCOL: "1"})
        self.session.auth = DeskAuth(self.desk_id, enrolment.secret)  # signs every request
        self.counter = 0

    def entries(self, count: int) -> list[dict[str, Any]]:
        made = []
        now_ms = int(time.time() * 1000)
        for _ in range(count):
            self.counter += 1
            made.append(
                {
                    "id": uuid7(now_ms),
                    "card_id": f"bench-{self.counter % 97}",
                    "kind": "card.note",
                    "payload": {"text": f"note {self.counter}"},
                    "hlc": format_stamp(now_ms, self.counter, self.desk_id),
                    "desk_id": self.desk_id,
                    "operator": "bench",
                    "schema": 1,
                }
            )
        return made

    def push(self, wire: list[dict[str, Any]]) -> None:
        body = {"desk_time": p.format_time(SystemClock().now()), "entries": wire}
        reply = self.session.post(self.base + p.PATH_PUSH, json=body, timeout=60)
        reply.raise_for_status()

    def cursor(self) -> str:
        h = p.Health.from_json(self.session.get(self.base + p.PATH_HEALTH, timeout=10).json())
        return f"{h.store_id}.{h.epoch}.{h.head}"

    def pull(self, after: str, wait: float) -> p.PullPage:
        reply = self.session.get(
            self.base + p.PATH_PULL, params={"after": after, "wait": wait}, timeout=wait + 30
        )
        reply.raise_for_status()
        return p.PullPage.from_json(reply.json())


def push_throughput(store: ProcessStore, baseline_url: str) -> dict[str, float]:
    desk = BenchDesk(store, "throughput")
    engine = create_engine(baseline_url)
    entries_table.metadata.create_all(engine, tables=[entries_table])
    served, bare, seq = [], [], 0
    for _ in range(TOTAL // BATCH):
        wire = desk.entries(BATCH)
        t = time.perf_counter()
        desk.push(wire)
        served.append(time.perf_counter() - t)
        rows = []
        for w in wire:
            seq += 1
            rows.append(
                {
                    **w,
                    "seq": seq,
                    "payload": json.dumps(w["payload"]),
                    "stored_at": "2026-11-23T00:00:00Z",
                }
            )
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(entries_table), rows)
        bare.append(time.perf_counter() - t)
    engine.dispose()
    med_s, med_b = statistics.median(served), statistics.median(bare)
    return {
        "batch_ms": med_s * 1000,
        "baseline_batch_ms": med_b * 1000,
        "entries_per_s": BATCH / med_s,
        "ratio": med_s / med_b,
    }


def wake_latency(writer_store: ProcessStore, reader_store: ProcessStore) -> dict[str, float]:
    writer, reader = BenchDesk(writer_store, "writer"), BenchDesk(reader_store, "reader")
    latencies, health_rtt = [], []
    for _ in range(WAKE_ROUNDS):
        cursor = reader.cursor()
        got: dict[str, float] = {}
        waiting_before = reader.session.get(reader.base + p.PATH_HEALTH, timeout=5).json()

        def poll(after: str = cursor, got: dict[str, float] = got) -> None:
            page = reader.pull(after, wait=10)
            got["at"] = time.perf_counter()
            got["n"] = len(page.entries)

        thread = threading.Thread(target=poll)
        thread.start()
        probe = requests.Session()
        while True:  # until the store reports the poll waiting
            t = time.perf_counter()
            h = probe.get(reader.base + p.PATH_HEALTH, timeout=5).json()
            health_rtt.append(time.perf_counter() - t)
            if h["polls_waiting"] > waiting_before["polls_waiting"]:
                break
        wire = writer.entries(1)
        sent = time.perf_counter()
        writer.push(wire)
        thread.join(timeout=15)
        assert got.get("n") == 1, "the poll was not woken"
        latencies.append(got["at"] - sent)
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": pct(latencies, 0.95) * 1000,
        "baseline_health_rtt_ms": statistics.median(health_rtt) * 1000,
    }


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _window(pid: int) -> tuple[float, float]:
    c0, t0 = _cpu_s(pid), time.monotonic()
    time.sleep(IDLE_WINDOW_S)  # a benchmark measures a quiet window; tests never sleep
    return (_cpu_s(pid) - c0) / (time.monotonic() - t0) * 100, _rss_mb(pid)


def idle_cost(store: ProcessStore) -> dict[str, float]:
    pid = store.proc.pid
    desks = [BenchDesk(store, f"idle-{i}") for i in range(IDLE_POLLS)]
    cursor = desks[0].cursor()
    quiet_cpu, quiet_rss = _window(pid)
    threads = [threading.Thread(target=d.pull, args=(cursor, 30.0), daemon=True) for d in desks]
    for t in threads:
        t.start()
    probe = requests.Session()
    while probe.get(store.url + p.PATH_HEALTH, timeout=5).json()["polls_waiting"] < IDLE_POLLS:
        pass
    busy_cpu, busy_rss = _window(pid)
    # Wake them all with one push so the threads end.
    desks[0].push(desks[0].entries(1))
    for t in threads:
        t.join(timeout=30)
    return {
        "polls": IDLE_POLLS,
        "cpu_pct": busy_cpu,
        "rss_mb": busy_rss,
        "baseline_cpu_pct": quiet_cpu,
        "baseline_rss_mb": quiet_rss,
    }


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    name = f"dd_bench_{os.getpid()}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.execute(f'CREATE DATABASE "{name}_bare"')
    pg = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    results: dict[str, Any] = {}
    stores: list[ProcessStore] = []
    try:
        sqlite_store = ProcessStore("sqlite:///" + str(folder / "store.sqlite"))
        stores.append(sqlite_store)
        pg_one, pg_two = ProcessStore(f"{pg}/{name}"), ProcessStore(f"{pg}/{name}")
        stores += [pg_one, pg_two]
        results["push_sqlite"] = push_throughput(
            sqlite_store, "sqlite:///" + str(folder / "bare.sqlite")
        )
        results["push_postgresql"] = push_throughput(pg_one, f"{pg}/{name}_bare")
        results["wake_sqlite"] = wake_latency(sqlite_store, sqlite_store)
        results["wake_postgresql_cross_process"] = wake_latency(pg_one, pg_two)
        results["idle_postgresql"] = idle_cost(pg_two)
    finally:
        for store in stores:
            store.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP DATABASE IF EXISTS "{name}_bare" WITH (FORCE)')
        admin.close()
        shutil.rmtree(folder, ignore_errors=True)
    for section, figures in results.items():
        print(section + ": " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    print(json.dumps({k: {m: round(v, 3) for m, v in f.items()} for k, f in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
