"""`python -m bench.intake_channels`: the one door in under load.

1. **Alert burst** (`alert_burst`, this module): 5,000 Alertmanager-format alerts on 50 dedup
   keys (the first of each key opens an item; the other 4,950, 99 %, are repeats) posted as
   webhooks of 50 alerts by 4 senders at once to ONE store process (`python -m app server`,
   SQLite, on loopback). A desk (a real journal, the real sync engine long-polling, the real
   triage tray) pulls meanwhile. Figures: alerts accepted per second; items created (must be
   50); from each webhook's 200 to its entries being in the desk's tray (the desk's pull
   cursor past the reply's ``seq`` and the tray refolded), median and p95; and that nothing
   was lost or doubled (the tray's counts sum to 5,000, no replays). Baseline, same run and
   same 4 senders: a desk push of one entry, the store's plain write path; the figure is the
   ratio of the medians of the request times. Target: p95 webhook -> desk <= 1 s.
2. **Emergency SMS** (`emergency_sms` in bench/intake_sms.py, when that module is there):
   an inbound SMS to the phone line until both tier-1 pages are asked of the Twilio stand-in.

Medians over ROUNDS fresh stores. Last line: one JSON object with both halves.
"""

from __future__ import annotations

import importlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from app.clock import SystemClock
from app.store.intake_routes import IntakeDoor
from app.store.storage import Store
from app.sync import protocol as p
from app.sync.status import CURSOR_KEY
from bench.stats import pct
from bench.store import BenchDesk
from tests.channels.alertmanager import PullingDesk
from tests.store.harness import ProcessStore

ALERTS, KEYS, PER_WEBHOOK, SENDERS, ROUNDS = 5_000, 50, 50, 4, 3
TARGET_P95_S = 1.0
INTEGRATION = "bench-prometheus"


def webhooks(seed: int) -> list[dict[str, Any]]:
    """ALERTS alerts on KEYS keys, each its own occurrence (its own startsAt), the first
    KEYS of them one per key, the rest drawn at random, cut into webhook bodies."""
    rng = random.Random(seed)
    keys = list(range(KEYS)) + [rng.randrange(KEYS) for _ in range(ALERTS - KEYS)]
    t0 = datetime.now(UTC) - timedelta(hours=2)
    alerts = [{
        "status": "firing",
        "labels": {"alertname": "DiskFull", "instance": f"host{k:02d}:9100",
                   "severity": "critical", "job": "node"},
        "annotations": {"summary": f"Disk full on host{k:02d}"},
        "startsAt": (t0 + timedelta(milliseconds=i)).isoformat(),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=disk",
        "fingerprint": f"{k:016x}",
    } for i, k in enumerate(keys)]
    return [{"receiver": "dispatch-desk", "status": "firing",
             "alerts": alerts[i:i + PER_WEBHOOK], "groupLabels": {"alertname": "DiskFull"},
             "commonLabels": {}, "commonAnnotations": {}, "version": "4",
             "externalURL": "http://alertmanager.example.org:9093",
             "groupKey": '{}:{alertname="DiskFull"}', "truncatedAlerts": 0}
            for i in range(0, ALERTS, PER_WEBHOOK)]


class Watcher:
    """The desk's sync loop: long-poll pulls, the tray refolded after each; when each pull
    cursor position was reached."""

    def __init__(self, desk: PullingDesk) -> None:
        self.desk = desk
        self.reached: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.desk.engine.pull(wait=1.0)
            self.desk.tray.pending()
            cursor = p.parse_cursor(self.desk.journal.get_meta(CURSOR_KEY))
            self.reached.append((time.perf_counter(), cursor.seq if cursor else 0))

    def when(self, seq: int) -> float | None:
        return next((t for t, s in self.reached if s >= seq), None)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def _timed_posts(calls: list[Any]) -> list[tuple[float, float, Any]]:
    """Run the calls on SENDERS threads; (sent, answered, result) of each."""
    def one(call: Any) -> tuple[float, float, Any]:
        sent = time.perf_counter()
        result = call()
        return sent, time.perf_counter(), result

    with ThreadPoolExecutor(SENDERS) as pool:
        return list(pool.map(one, calls))


def burst_round(folder: Path, seed: int) -> dict[str, float]:
    db = "sqlite:///" + str(folder / "store.sqlite")
    store = ProcessStore(db)
    admin = Store(db)
    key = IntakeDoor(admin).add("alertmanager", INTEGRATION)
    admin.close()
    desk = PullingDesk(store, folder / "desk", SystemClock())
    watcher = Watcher(desk)
    sessions = threading.local()

    def post(body: dict[str, Any]) -> dict[str, Any]:
        if not hasattr(sessions, "s"):
            sessions.s = requests.Session()
            sessions.s.headers["Authorization"] = f"Bearer {key}"
        reply = sessions.s.post(store.url + "/v1/intake/alertmanager", json=body, timeout=60)
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result

    try:
        bodies = webhooks(seed)
        done = _timed_posts([lambda b=b: post(b) for b in bodies])
        start, end = min(d[0] for d in done), max(d[1] for d in done)
        summaries = [d[2] for d in done]
        last_seq = max(s["seq"] for s in summaries)
        deadline = time.monotonic() + 60
        while watcher.when(last_seq) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        watcher.close()
        latencies = []
        for (_, answered, summary) in done:
            seen = watcher.when(summary["seq"])
            assert seen is not None, f"seq {summary['seq']} never reached the desk"
            latencies.append(max(0.0, seen - answered))
        items = desk.pending(INTEGRATION)
        counted = sum(i.count for i in items)
        created = sum(s["created"] for s in summaries)
        repeated = sum(s["repeated"] for s in summaries)
        replayed = sum(s["replayed"] for s in summaries)
        assert len(items) == KEYS and created == KEYS, (len(items), created)
        assert counted == ALERTS and created + repeated == ALERTS and replayed == 0, (
            counted, created, repeated, replayed)

        plain = BenchDesk(store, "baseline")
        base = _timed_posts([lambda: plain.push(plain.entries(1)) for _ in bodies])
        return {
            "accepted_per_s": ALERTS / (end - start),
            "webhook_ms": statistics.median(d[1] - d[0] for d in done) * 1000,
            "baseline_push_ms": statistics.median(d[1] - d[0] for d in base) * 1000,
            "to_desk_median_s": statistics.median(latencies),
            "to_desk_p95_s": pct(latencies, 0.95),
            "items": float(len(items)), "counted": float(counted),
        }
    finally:
        watcher.close()
        desk.close()
        store.close()


def alert_burst(rounds: int = ROUNDS) -> dict[str, Any]:
    results = []
    for n in range(rounds):
        folder = Path(tempfile.mkdtemp(prefix="bench-intake-"))
        try:
            results.append(burst_round(folder, seed=n))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def med(name: str) -> float:
        return statistics.median(r[name] for r in results)

    out = {name: round(med(name), 4) for name in results[0]}
    out["ratio_webhook_to_push"] = round(med("webhook_ms") / med("baseline_push_ms"), 3)
    out["p95_target_s"] = TARGET_P95_S
    out["p95_met"] = med("to_desk_p95_s") <= TARGET_P95_S
    out["lost_or_doubled"] = int(sum(abs(r["counted"] - ALERTS) for r in results))
    return out


def main() -> int:
    merged: dict[str, Any] = {}
    burst = alert_burst()
    print("alert burst: " + ", ".join(f"{k} {v}" for k, v in burst.items()), flush=True)
    merged["alert_burst"] = burst
    try:  # the phone line's half, owned by bench/intake_sms.py, when it is there
        sms_half = importlib.import_module("bench.intake_sms")
    except ModuleNotFoundError:
        sms_half = None
    if sms_half is not None and hasattr(sms_half, "emergency_sms"):
        sms = sms_half.emergency_sms()
        print("emergency sms: " + ", ".join(f"{k} {v}" for k, v in sms.items()), flush=True)
        merged["emergency_sms"] = sms
    print(json.dumps(merged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
