"""Large journals for benchmarks, built fast with bulk inserts of real entries.

The entries are the same ones the card service would write (and the card rows are their real
projection), so `journal verify` passes on the result; only the per-action transaction is
skipped, because a benchmark fixture need not be durable entry by entry.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

from app.clock import FakeClock
from app.models.entry import Entry, HybridClock, uuid7
from app.models.journal import Journal
from app.models.journal_sync import card_params
from app.models.projection import apply

CATEGORIES = ("network", "server", "workstation", "printing", "power", "hvac", "security",
              "telephony", "business_system", "water")
SITES = tuple(f"Site {n}" for n in range(1, 41))
OPEN_STATUSES = ("registered", "in_progress", "waiting_customer", "restored")


def build_big_journal(path: Path, total: int = 100_000, open_: int = 2_000,
                      seed: int = 7) -> Path:
    rng = random.Random(seed)
    clock = FakeClock()
    end = clock.now()
    start = end - timedelta(days=365)
    journal = Journal.open(path, clock)
    desk = journal.desk_id
    journal.close()
    hlc = HybridClock(clock, desk)
    entries: list[tuple[object, ...]] = []
    cards: list[dict[str, object]] = []
    for n in range(1, total + 1):
        is_open = n > total - open_
        # Open cards are recent (the last few hours); closed ones spread over the year.
        if is_open:
            clock.set(end - timedelta(minutes=rng.uniform(1, 600)))
        else:
            clock.set(start + (end - start) * (n / total))
        card_id = str(uuid.UUID(int=rng.getrandbits(128)))
        prio = rng.choice(("P1", "P2", "P2", "P3", "P3", "P3", "P4"))
        reg = Entry(uuid7(int(clock.now().timestamp() * 1000)), card_id, "card.registered", {
            "number": f"A-{n:06d}",
            "priority": prio,
            "priority_reason": "benchmark card",
            "fields": {"category": rng.choice(CATEGORIES), "site": rng.choice(SITES),
                       "symptom": f"Symptom {n} reported by phone", "kind_of_work": "emergency",
                       "q_what": "x", "q_where": "x", "q_when": "x", "q_workaround": "x",
                       "q_contact": "x"},
        }, hlc.tick(), desk, "bench")
        chain = [reg]
        status = rng.choice(OPEN_STATUSES) if is_open else "closed"
        if status != "registered":
            clock.advance(timedelta(minutes=rng.uniform(1, 30)))
            payload: dict[str, object] = {"status": status, "from": "registered", "reason": ""}
            if status == "closed":
                payload["closure"] = {"cause": "x", "workaround": "x", "fix": "x",
                                      "lessons": "x", "confirmed_by": "bench"}
            chain.append(Entry(uuid7(int(clock.now().timestamp() * 1000)), card_id,
                               "card.status", payload, hlc.tick(), desk, "bench"))
        state = None
        for e in chain:
            state = apply(state, e)
            entries.append((e.id, e.card_id, e.kind, e.payload_json(), e.hlc, e.desk_id,
                            e.operator, e.schema))
        assert state is not None
        cards.append(card_params(state))
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO entries (id, card_id, kind, payload, hlc, desk_id, operator, schema)"
            " VALUES (?,?,?,?,?,?,?,?)", entries)
        con.executemany(
            "INSERT INTO cards (id, number, status, priority, category, site, registered_at,"
            " state, last_hlc) VALUES (:id,:number,:status,:priority,:category,:site,"
            ":registered_at,:state,:last_hlc)", cards)
        con.execute("INSERT OR REPLACE INTO desk_meta (key, value) VALUES ('counter:A', ?)",
                    (str(total),))
    con.close()
    return path


if __name__ == "__main__":
    import sys
    import time

    t = time.perf_counter()
    build_big_journal(Path(sys.argv[1]))
    print(json.dumps({"built_s": round(time.perf_counter() - t, 2)}))
