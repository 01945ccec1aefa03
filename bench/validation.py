"""`python -m bench.validation`: what the entry catalogue costs the store and the desk.

1. A 1,000-entry push as the store handles it (`check_entries`, then `store_batch` in one write
   transaction on the store's real database): 100 registrations with a full intake, then
   notes, field edits, status and priority changes on those cards. The same push with
   `Entry.check` (the catalogue) bypassed is the baseline; the two alternate round by round,
   each with fresh entries, so machine noise and the growing tables fall on both alike.
   Figure: ratio of the medians (target <= 1.15, i.e. at most 15 % more). On SQLite, and on
   PostgreSQL too when DD_TEST_POSTGRES_URL names a server (a database is made and dropped).
2. The bare cost of `Entry.check()` per entry, in microseconds, for a registration and a note
   (median of repeated timings).

Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from app.clock import SystemClock
from app.models.entry import Entry, format_stamp, uuid7
from app.store.database import writing
from app.store.enrol import DeskRecord
from app.store.push import check_entries, store_batch
from app.store.storage import Store
from tests.store.conftest import pg_database  # the tests' own: a database made and dropped

PUSH = 1000
CARDS = 100
TARGET = 1.15
PG_ADMIN = os.environ.get("DD_TEST_POSTGRES_URL", "")
INTAKE = {"kind_of_work": "fault", "category": "network", "site": "HQ", "building": "B2",
          "floor": "2", "room": "2.14", "equipment": "core switch SW-02",
          "symptom": "no network on floor 2", "impact_scope": "floor", "affected_users": "40",
          "source_channel": "phone", "reporter": "J. Weber", "q_what": "no network for anyone",
          "q_where": "HQ, building 2, floor 2", "q_when": "since 09:50, after a power dip",
          "q_workaround": "none; laptops on wifi", "q_contact": "J. Weber, ext. 4411",
          "urgency": "high", "impact": "medium"}
NOTE = {"text": "Vendor called back: engineer on site at 11:30, bringing a spare supervisor "
                "module. Floor 2 informed by mail."}


def push_batch(desk_id: str, code: str, start: int) -> list[dict[str, Any]]:
    """1,000 wire entries as a desk sends them (`Entry.to_wire()`)."""
    now_ms = int(SystemClock().now().timestamp() * 1000) - 60_000
    out: list[dict[str, Any]] = []
    cards = [str(uuid.uuid4()) for _ in range(CARDS)]
    for n in range(PUSH):
        card = cards[n % CARDS]
        step = n // CARDS
        payload: dict[str, Any]
        if step == 0:
            kind, payload = "card.registered", {
                "priority": "P2", "priority_reason": "one floor, no workaround",
                "number": f"{code}-{start + n + 1:04d}", "fields": INTAKE}
        elif step % 4 == 1:
            kind, payload = "card.note", NOTE
        elif step % 4 == 2:
            kind, payload = "card.fields", {"fields": {"assignee": "P. Braun", "room": "2.15"}}
        elif step % 4 == 3:
            kind, payload = "card.status", {"status": "in_progress", "from": "registered",
                                            "reason": "engineer assigned"}
        else:
            kind, payload = "card.priority", {"priority": "P1", "reason": "two floors now",
                                              "from": "P2"}
        ms = now_ms + n
        out.append(Entry(uuid7(ms), card, kind, payload, format_stamp(ms, 0, desk_id), desk_id,
                         "A. Novak").to_wire())
    return out


@contextmanager
def catalogue_off() -> Iterator[None]:
    """`Entry.check` does nothing for the duration (the measurement's baseline only)."""
    real = Entry.check
    Entry.check = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Entry.check = real  # type: ignore[method-assign]


def one_push(store: Store, desk: DeskRecord, raw: list[dict[str, Any]]) -> float:
    now = store.clock.now()
    t = time.perf_counter()
    checked = check_entries(raw, desk, now)
    with writing(store.engine, store.url) as conn:
        outcome = store_batch(conn, checked, desk, now)
    took = time.perf_counter() - t
    assert outcome.stored == PUSH, [r for r in outcome.results if r.status != "stored"][:3]
    return took


def pushes(db_url: str, rounds: int) -> dict[str, float]:
    store = Store(db_url)
    try:
        code = "V"
        enrolled = store.enrol({"code": store.add_desk_code("bench"), "desk_code": code,
                                "name": "bench"})
        desk = DeskRecord(enrolled.desk_id, "bench", code)
        on: list[float] = []
        off: list[float] = []
        numbers = 0
        one_push(store, desk, push_batch(desk.desk_id, code, numbers))  # warm up
        numbers += CARDS
        for _ in range(rounds):
            on.append(one_push(store, desk, push_batch(desk.desk_id, code, numbers)))
            numbers += CARDS
            raw = push_batch(desk.desk_id, code, numbers)
            numbers += CARDS
            with catalogue_off():
                off.append(one_push(store, desk, raw))
    finally:
        store.close()
    on_s, off_s = statistics.median(on), statistics.median(off)
    return {"with_catalogue_ms": on_s * 1000, "without_catalogue_ms": off_s * 1000,
            "ratio": on_s / off_s, "catalogue_us_per_entry": (on_s - off_s) / PUSH * 1e6}


def bare_check_us(entry: Entry, repeat: int = 7, number: int = 2000) -> float:
    runs = timeit.repeat(entry.check, repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    figures: dict[str, float] = {}
    backends: list[tuple[str, Callable[[], Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        backends.append(("sqlite", lambda: pushes(f"sqlite:///{Path(tmp) / 's.sqlite'}", rounds)))
        if PG_ADMIN:
            def on_pg() -> dict[str, float]:
                with pg_database() as url:
                    return pushes(url, rounds)

            backends.append(("postgresql", on_pg))
        for name, run in backends:
            for key, value in run().items():
                figures[f"{name}_{key}"] = value
    ms = int(datetime.now().timestamp() * 1000)
    registration = Entry(uuid7(ms), str(uuid.uuid4()), "card.registered",
                         {"priority": "P2", "priority_reason": "one floor", "number": "V-0001",
                          "fields": INTAKE}, format_stamp(ms, 0, "dbench"), "dbench", "A. Novak")
    note = Entry(uuid7(ms), str(uuid.uuid4()), "card.note", NOTE, format_stamp(ms, 1, "dbench"),
                 "dbench", "A. Novak")
    figures["check_registration_us"] = bare_check_us(registration)
    figures["check_note_us"] = bare_check_us(note)
    print(f"a {PUSH:,}-entry push, check_entries + store_batch, medians of {rounds} rounds each:")
    for name, _ in backends:
        print(f"  {name:10}  with the catalogue {figures[f'{name}_with_catalogue_ms']:7.1f} ms, "
              f"without {figures[f'{name}_without_catalogue_ms']:7.1f} ms: ratio "
              f"{figures[f'{name}_ratio']:.3f} (target <= {TARGET}); "
              f"{figures[f'{name}_catalogue_us_per_entry']:.1f} us per entry")
    if not PG_ADMIN:
        print("  (PostgreSQL not measured: DD_TEST_POSTGRES_URL is not set)")
    print(f"Entry.check() alone: registration with a full intake "
          f"{figures['check_registration_us']:.1f} us, note {figures['check_note_us']:.1f} us")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
