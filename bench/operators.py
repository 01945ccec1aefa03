"""`python -m bench.operators`: what operator accounts cost.

1. Sign-in on the desk: the Argon2id check of a PIN (the shipped parameters, t=3, m=64 MiB,
   p=4), median of VERIFY_RUNS. Target: <= 0.3 s.
2. The store's rights check per pushed entry (app/store/authorise.py): a 1,000-entry push by a
   dispatcher into a store that holds accounts (every entry judged: the operator's role at the
   entry's time, the card rules; closes look up the card's priority), against the same push
   into a store with no accounts (no checks), both SQLite files, in this process, in the same
   run; median of PUSH_RUNS each, interleaved. Target: the ratio <= 1.10.

Last line: one JSON object. `--quick`: fewer runs.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from app.clock import SystemClock
from app.models.entry import Entry, HybridClock, uuid7
from app.services.operators import PinHasher
from app.store.enrol import DeskRecord
from app.store.operators import StoreOperators
from app.store.storage import Store

VERIFY_RUNS, PUSH_RUNS, BATCH = 7, 7, 1000
TARGETS = {"verify_median_s": 0.3, "rights_check_ratio": 1.10}
CLOSURE = {"cause": "PSU", "workaround": "spare", "fix": "replaced", "lessons": "spares"}


def verify_median() -> float:
    hasher = PinHasher()
    hashed = hasher.hash("417209 correct")
    times = []
    for _ in range(VERIFY_RUNS):
        start = time.perf_counter()
        assert hasher.verify(hashed, "417209 correct")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Pusher:
    """A desk's 1,000-entry pushes into one store: 200 new cards, 200 priority changes, 580
    notes and 20 closes, by the dispatcher `disp`."""

    def __init__(self, store: Store, code: str) -> None:
        self.store = store
        self.desk = DeskRecord(f"bench-{code.lower()}", "bench", code)
        self.code = code
        self.hlc = HybridClock(SystemClock(), self.desk.desk_id)
        self.number = 0

    def _entry(self, card: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        stamp = self.hlc.tick()
        ms = int(stamp.split(".", 1)[0])
        return Entry(uuid7(ms), card, kind, payload, stamp, self.desk.desk_id,
                     "disp").to_wire()

    def batch(self) -> list[dict[str, Any]]:
        wire = []
        for i in range(200):
            self.number += 1
            card = str(uuid.uuid4())
            wire.append(self._entry(card, "card.registered", {
                "priority": "P3", "priority_reason": "one site",
                "number": f"{self.code}-{self.number:04d}", "fields": {"symptom": "down"}}))
            wire.append(self._entry(card, "card.priority", {"priority": "P4", "reason": "ok"}))
            for n in range(3 if i >= 20 else 2):
                wire.append(self._entry(card, "card.note", {"text": f"note {n}"}))
            if i < 20:
                wire.append(self._entry(card, "card.status", {
                    "status": "closed", "from": "restored", "closure": CLOSURE}))
        assert len(wire) == BATCH
        return wire

    def push(self) -> float:
        wire = self.batch()
        start = time.perf_counter()
        reply = self.store.push(self.desk, self.store.clock.now(), wire)
        took = time.perf_counter() - start
        assert all(r.status == "stored" for r in reply.results), reply.results[:2]
        return took


def rights_check(folder: Path) -> dict[str, float]:
    checked, plain = Store(f"sqlite:///{folder / 'checked.sqlite'}"), \
        Store(f"sqlite:///{folder / 'plain.sqlite'}")
    try:
        admin, pin = StoreOperators(checked), PinHasher(1, 1024, 1).hash("417209 correct")
        admin.add(login="boss", name="Boss", roles=["admin"], pin_hash=pin)
        admin.add(login="disp", name="Disp", roles=["dispatcher", "service_owner"], pin_hash=pin)
        for n in range(30):  # a floor of people with some history
            admin.add(login=f"op{n}", name=f"Op {n}", roles=["l1"], pin_hash=pin)
            admin.set_roles(f"op{n}", ["l2"])
        time.sleep(0.002)  # the pushes' stamps come after the accounts (a bench, not a test)
        pushers = [Pusher(checked, "CK"), Pusher(plain, "PL")]
        for pusher in pushers:
            pusher.push()  # warm up: connections, statement caches
        times: dict[str, list[float]] = {"checked": [], "plain": []}
        for _ in range(PUSH_RUNS):
            times["checked"].append(pushers[0].push())
            times["plain"].append(pushers[1].push())
        med = {k: statistics.median(v) for k, v in times.items()}
        return {"push_checked_median_s": round(med["checked"], 4),
                "push_plain_median_s": round(med["plain"], 4),
                "rights_check_ratio": round(med["checked"] / med["plain"], 3)}
    finally:
        checked.close()
        plain.close()


def main() -> int:
    global VERIFY_RUNS, PUSH_RUNS
    if "--quick" in sys.argv:
        VERIFY_RUNS, PUSH_RUNS = 3, 3
    result: dict[str, Any] = {"verify_median_s": round(verify_median(), 4)}
    with tempfile.TemporaryDirectory() as folder:
        result.update(rights_check(Path(folder)))
    result["targets_met"] = all(result[k] <= v for k, v in TARGETS.items())
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
