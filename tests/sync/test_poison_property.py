"""The poison property: whatever hostile desks push, honest desks stay in step.

Two hostile desks push raw wire entries (every kind in the catalogue, valid ones built from
its schemas and mutated or garbage ones, hostile Unicode, stamps from anywhere, sizes at and
past every limit) through the real store on SQLite; three honest desks (real journals,
`SyncEngine`) write valid entries of every kind and sync. After every example:

* the store never answered 5xx, and never stored an entry that the catalogue (or the stamp
  allowance) refuses; what the catalogue accepts under a new id is stored;
* every pull succeeds; all honest desks hold identical entry sets (exactly the store's) and
  identical set-aside lists, and `verify()` is clean;
* no honest desk's hybrid clock is more than MAX_STAMP_AHEAD_S ahead of its own clock.

One store and the same desks serve every example (a fresh store per example would cost more
than the examples), so later examples meet everything earlier ones left behind. Each example
pushes ~130 entries: a few drawn by Hypothesis itself (shrinkable) and the bulk from a
Hypothesis-drawn random seed; the run prints the total (at least 10,000).
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.clock import FakeClock
from app.errors import ValidationError
from app.models.entry import NewEntry, parse_stamp
from app.models.journal import Journal
from app.protocol.catalogue import MAX_STAMP_AHEAD_S
from app.store.database import reading
from app.store.tables import entries as store_entries
from app.sync import protocol as p
from app.sync.client import StoreClient
from app.sync.engine import SyncEngine
from app.sync.protocol import RENUMBER_KIND
from tests.store.harness import ThreadStore
from tests.sync.hostile import HostileDesk, enrol_raw_desk, server_errors, set_aside_list
from tests.sync.payloads import KINDS, Gen, HypothesisPick, RandomPick, hostile_entry

EXAMPLES = 80
HOSTILE_BATCHES = (2, 3)  # per example
DRAWN_PER_BATCH = (0, 6)  # entries Hypothesis draws itself
BULK_PER_BATCH = (64, 80)  # entries from the drawn seed
HONEST_WRITES = (2, 10)  # per example
# At least 80 examples x (2 x 64 + 2) entries; about 15,000 on average.
MIN_ENTRIES = 10_000
# Only the sync engine writes renames (after the store's hint, for a card the desk has).
HONEST_KINDS = tuple(k for k in KINDS if k != RENUMBER_KIND)
HONEST_CODES = ("HA", "HB", "HC")
# Card numbers the generated entries use. Never an honest desk's code: a hostile desk that
# takes numbers in another desk's series stops that desk registering cards, which
# tests/sync/test_poison.py ("another desk's card numbers") pins down on its own.
NUMBER_CODES = ("Q", "QX", "ZZZ")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RENAME_CODES = ("RN",)


@dataclass
class World:
    store: ThreadStore
    clock: FakeClock
    folder: Path
    honest: list[SyncEngine] = field(default_factory=list)
    hostile: list[HostileDesk] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    #: Ids a hostile desk may replay: stored ones (an honest desk's only once it is synced:
    #: before that, no other desk can know it).
    ids_seen: list[str] = field(default_factory=list)
    ids_pending: list[str] = field(default_factory=list)
    generated: int = 0
    stored: int = 0
    examples: int = 0

    def heal(self) -> None:
        for _ in range(2):
            for engine in self.honest:
                engine.round()


def _honest_desk(store: ThreadStore, folder: Path, clock: FakeClock, code: str,
                 **engine_args: Any) -> SyncEngine:
    """An enrolled desk whose credential stays in memory (this module's fixtures outlive the
    per-test keyring)."""
    journal = Journal.open(folder / f"{code}.sqlite", clock)
    journal.set_desk_code(code)
    enrolment = StoreClient(store.url).enroll(store.add_desk_code(code), code, f"desk {code}",
                                              journal.desk_id)
    client = StoreClient(store.url, (enrolment.desk_id, enrolment.secret))
    return SyncEngine(journal, client, clock, random.Random(0), **engine_args)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clock = FakeClock()
        store = ThreadStore(f"sqlite:///{folder / 'store.sqlite'}", clock)
        made = World(store, clock, folder)
        made.honest = [_honest_desk(store, folder, clock, "HA", page=7, batch=5),
                       _honest_desk(store, folder, clock, "HB"),
                       _honest_desk(store, folder, clock, "HC", page=50)]
        made.hostile = [HostileDesk(enrol_raw_desk(store, folder, clock, code), clock)
                        for code in ("XA", "XB")]
        for n in range(12):
            engine = made.honest[n % len(made.honest)]
            card_id = str(uuid.uuid4())
            engine.journal.write([NewEntry(card_id, "card.registered", {
                "priority": "P2", "priority_reason": "seed", "fields": {"site": f"S{n}"}})],
                "seed")
            made.cards.append(card_id)
        made.heal()
        try:
            yield made
        finally:
            for engine in made.honest:
                engine.client.close()
                engine.journal.close()
            for desk in made.hostile:
                desk.desk.journal.close()
            store.close()


def _judged_locally(raw: Any, sender: str, code: str, now: Any) -> bool:
    """Would the catalogue, the stamp allowance and the number series accept this entry from
    `sender`, whose card numbers start with `code`? (The series is checked for new entries;
    a replay of a stored one is a duplicate either way.)"""
    if not isinstance(raw, dict) or "seq" in raw:
        return False
    try:
        entry = p.parse_wire_entry(raw)
        p.check_stamp_ahead(entry, now)
    except ValidationError:
        return False
    if entry.kind in ("card.registered", p.RENUMBER_KIND):
        parts = p.card_number_parts(str(entry.payload["number"]))
        if parts is None or parts[0] != code:
            return False
    return entry.desk_id == sender


def _known_ids(world: World, ids: list[str]) -> set[str]:
    """Which of `ids` the store holds already (only a lower-case UUID can be stored)."""
    ids = [i for i in ids if _UUID.fullmatch(i)]
    store = world.store.store
    with reading(store.engine, store.url) as conn:
        rows = conn.execute(select(store_entries.c.id).where(store_entries.c.id.in_(ids)))
        return {r.id for r in rows}


def push_hostile(world: World, desk: HostileDesk, batch: list[Any]) -> None:
    now = world.clock.now()
    ids = [e["id"] for e in batch if isinstance(e, dict) and isinstance(e.get("id"), str)]
    known = _known_ids(world, ids)
    results = desk.push(batch)
    first: set[str] = set()
    for raw, result in zip(batch, results, strict=True):
        ok = _judged_locally(raw, desk.desk_id, desk.desk.journal.desk_code, now)
        entry_id = raw["id"] if ok else None
        if not ok:
            assert result["status"] == p.REJECTED, (raw, result)
            assert result["reason"], result
        elif entry_id in known or entry_id in first:
            assert result["status"] in (p.DUPLICATE, p.REJECTED), (raw, result)
        else:
            assert result["status"] == p.STORED, (raw, result)
            first.add(raw["id"])
            world.ids_seen.append(raw["id"])
            world.stored += 1


def write_honest(world: World, engine: SyncEngine, gen: Gen) -> None:
    kind = gen.pick.choice(HONEST_KINDS)
    stamp = world.clock.now()
    if kind == "card.registered":
        card_id = str(uuid.uuid4())
        payload = gen.payload(kind, stamp)
        payload.pop("number")  # the journal numbers it
    else:
        card_id = gen.card_for(kind)
        payload = gen.payload(kind, stamp)
    if gen.pick.chance(15):  # a person pastes something hostile
        payload = gen.mutate_payload(payload, keep_object=True)
    before = engine.journal.outbox_size()
    try:
        written = engine.journal.write([NewEntry(card_id, kind, payload)], "honest op")
    except ValidationError:
        assert engine.journal.outbox_size() == before, "a refused write wrote something"
        return
    if kind == "card.registered":
        world.cards.append(card_id)
    world.ids_pending += [e.id for e in written]


def _entries_digest(path: Path) -> tuple[int, int]:
    """(count, hash) of a journal's entries, read straight from the file (cheap enough to do
    after every example on journals of several thousand entries)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, card_id, kind, payload, hlc, desk_id, operator, schema,"
                          " server_seq FROM entries ORDER BY id").fetchall()
    return len(rows), hash(tuple(rows))


def check(world: World, records: list[Any]) -> None:
    world.heal()
    assert server_errors(records) == []
    digests = {_entries_digest(engine.journal.path) for engine in world.honest}
    assert len(digests) == 1, "honest desks hold different entries"
    store = world.store.store
    with reading(store.engine, store.url) as conn:
        in_store = conn.execute(select(func.count()).select_from(store_entries)
                                .where(store_entries.c.set_aside.is_(None))).scalar_one()
    [(count, _)] = digests
    assert count == in_store, "the desks do not hold exactly what the store holds"
    lists = {json.dumps(set_aside_list(engine.journal)) for engine in world.honest}
    assert len(lists) == 1, "honest desks set aside different entries"
    now_ms = int(world.clock.now().timestamp() * 1000)
    for engine in world.honest:
        journal = engine.journal
        assert journal.outbox_size() == 0
        wall, _, _ = parse_stamp(engine.journal._hlc.last)
        assert wall <= now_ms + MAX_STAMP_AHEAD_S * 1000, "a remote stamp dragged the clock"
        assert journal.verify() == []
    assert world.honest[0].journal.integrity_check() == "ok"


batch_plan = st.tuples(st.integers(0, 1), st.integers(*DRAWN_PER_BATCH),
                       st.integers(*BULK_PER_BATCH), st.integers(0, 2**32))


@pytest.mark.slow  # about 30 s: left out of the quick loop (-m "not slow")
def test_hostile_desks_never_split_honest_ones(world: World, caplog: pytest.LogCaptureFixture,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()

    # Generate only: the world carries over between examples, so a failure cannot be replayed
    # to shrink it; the first failure is the report.
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              verbosity=Verbosity.quiet,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(data=st.data(), tick=st.integers(0, 900),
           batches=st.lists(batch_plan, min_size=HOSTILE_BATCHES[0],
                            max_size=HOSTILE_BATCHES[1]),
           honest=st.lists(st.tuples(st.integers(0, len(HONEST_CODES) - 1), st.booleans()),
                           min_size=HONEST_WRITES[0], max_size=HONEST_WRITES[1]))
    def example(data: st.DataObject, tick: int, batches: list[tuple[int, int, int, int]],
                honest: list[tuple[int, bool]]) -> None:
        world.examples += 1
        world.clock.advance(tick)
        now = world.clock.now()
        drawn = HypothesisPick(data)
        for index, sync in honest:
            gen = Gen(drawn, world.cards, RENAME_CODES, now)
            write_honest(world, world.honest[index], gen)
            world.generated += 1
            if sync:
                world.honest[index].round()
        others = [e.journal.desk_id for e in world.honest]
        for which, from_hypothesis, bulk, seed in batches:
            desk = world.hostile[which]
            entries = []
            for n in range(from_hypothesis + bulk):
                pick = drawn if n < from_hypothesis else RandomPick(random.Random(seed + n))
                gen = Gen(pick, world.cards, NUMBER_CODES, now)
                entries.append(hostile_entry(gen, desk.desk_id, n, world.ids_seen, others))
            world.generated += len(entries)
            push_hostile(world, desk, entries)
        check(world, caplog.records)
        world.ids_seen += world.ids_pending
        world.ids_pending.clear()

    example()
    took = time.perf_counter() - started
    with capsys.disabled():
        print(f"\npoison property: {world.generated:,} generated entries in {world.examples} "
              f"examples ({world.stored:,} stored by the store), {took:.1f} s")
    assert world.generated >= MIN_ENTRIES
