"""The merge property: desks that edit shared cards while their messages are lost, repeated,
cut short and reordered, and that restart, all end up showing the same cards as the store and
as a reference model (the projection fold over the set of every entry written), with every
entry stored exactly once and no pull cursor ever moving back.

Three desks with real journal files and the real store on a loopback port; each example gets a
fresh store database behind the same server (see `LoopbackStore.replace`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import FakeClock
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.sync import protocol as p
from app.sync.engine import SyncEngine
from app.sync.status import CURSOR_KEY
from tests.sync.cards import cards_of, reference
from tests.sync.conftest import enrolled_desk, open_engine
from tests.sync.loopback import LoopbackStore
from tests.sync.store_facts import ENROLLED, store_facts, without_store_facts

DESKS = ("A", "B", "C")
FIELDS = ("site", "room", "assignee")

desk_index = st.integers(0, len(DESKS) - 1)
card_index = st.integers(0, 2)
operation = st.one_of(
    st.tuples(st.just("edit"), desk_index, card_index, st.sampled_from(FIELDS), st.integers(0, 9)),
    st.tuples(st.just("priority"), desk_index, card_index, st.sampled_from(["P1", "P2", "P3"])),
    st.tuples(st.just("note"), desk_index, card_index),
    st.tuples(st.just("push"), desk_index,
              st.sampled_from(["ok", "lost_reply", "dropped", "duplicate", "partial"])),
    st.tuples(st.just("pull"), desk_index, st.sampled_from(["ok", "partial", "lost_reply"])),
    st.tuples(st.just("restart"), desk_index),
    st.tuples(st.just("tick"), st.integers(0, 3)),
)


@dataclass
class World:
    store: LoopbackStore
    folder: Path
    clock: FakeClock
    desks: list[SyncEngine] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    written: dict[str, Entry] = field(default_factory=dict)
    cursors: dict[int, int] = field(default_factory=dict)  # desk -> last seq seen

    def write(self, desk: int, new: NewEntry) -> None:
        for entry in self.desks[desk].journal.write([new], f"op{desk}"):
            self.written[entry.id] = entry

    def note_cursor(self, desk: int) -> None:
        cursor = p.parse_cursor(self.desks[desk].journal.get_meta(CURSOR_KEY))
        seq = cursor.seq if cursor else 0
        assert seq >= self.cursors.get(desk, 0), "a pull cursor moved backwards"
        self.cursors[desk] = seq

    def restart(self, desk: int) -> None:
        old = self.desks[desk]
        old.client.close()
        old.journal.close()
        journal = Journal.open(old.journal.path, self.clock)
        self.desks[desk] = open_engine(journal, self.clock, page=3, batch=4)


@pytest.fixture(scope="module")
def shared_store() -> Iterator[LoopbackStore]:
    with tempfile.TemporaryDirectory() as folder:
        running = LoopbackStore(Path(folder) / "first.sqlite", FakeClock())
        yield running
        running.stop()


def _setup(store: LoopbackStore, folder: Path) -> World:
    clock = FakeClock()
    store.replace(folder / "store.sqlite", clock)
    world = World(store, folder, clock)
    for code in DESKS:
        world.desks.append(enrolled_desk(folder / f"{code}.sqlite", store.url,
                                         store.add_desk(code), code, clock, page=3, batch=4))
    for desk in (0, 0, 1):
        card_id = f"card-{len(world.cards)}"
        world.cards.append(card_id)
        payload = {"priority": "P3", "priority_reason": "seed", "fields": {"symptom": card_id}}
        world.write(desk, NewEntry(card_id, "card.registered", payload))
    for engine in world.desks:
        engine.round()
    return world


def _run(world: World, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "tick":
        world.clock.advance(op[1] * 0.25)
        return
    desk = op[1]
    engine = world.desks[desk]
    if kind == "edit":
        world.write(desk, NewEntry(world.cards[op[2]], "card.fields",
                                   {"fields": {op[3]: f"{DESKS[desk]}{op[4]}"}}))
    elif kind == "priority":
        world.write(desk, NewEntry(world.cards[op[2]], "card.priority",
                                   {"priority": op[3], "reason": "changed", "from": None}))
    elif kind == "note":
        world.write(desk, NewEntry(world.cards[op[2]], "card.note", {"text": "n"}))
    elif kind == "restart":
        world.restart(desk)
    elif kind == "push":
        _push(engine, op[2])
    elif kind == "pull":
        _pull(engine, op[2])
        world.note_cursor(desk)


def _push(engine: SyncEngine, mode: str) -> None:
    waiting = engine.journal.outbox(3)
    if mode == "ok":
        engine.push_outbox()
    elif mode == "lost_reply" and waiting:  # the store stores, the desk never hears
        engine.client.push(engine._clock.now(), waiting)
    elif mode == "duplicate" and waiting:  # the same batch arrives twice
        engine.client.push(engine._clock.now(), waiting)
        engine.push_outbox()
    elif mode == "partial" and waiting:  # only the first entries of the outbox get through
        engine._push_batch(waiting[:1], [])
    # "dropped": the request never reaches the store


def _pull(engine: SyncEngine, mode: str) -> None:
    if mode == "ok":
        engine.pull()
        return
    page = engine.client.pull(engine.journal.get_meta(CURSOR_KEY) or "", limit=2)
    if mode == "partial":  # one short page, then the link drops
        engine.journal.apply_remote(page.entries, (CURSOR_KEY, page.cursor))
    # "lost_reply": the page never reaches the journal


def _store_entries(world: World) -> list[Entry]:
    entries: list[Entry] = []
    cursor = ""
    while True:
        page = world.desks[0].client.pull(cursor, limit=p.PULL_LIMIT_MAX)
        entries += page.entries
        cursor = page.cursor
        if not page.more:
            return entries


@pytest.mark.slow  # seconds of real processes or real waiting: outside the quick loop
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=5, max_size=30))
def test_desks_converge_whatever_the_network_does(shared_store: LoopbackStore,
                                                  ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        world = _setup(shared_store, Path(folder))
        try:
            for op in ops:
                _run(world, op)
            # Healing: the link comes back and every desk syncs twice.
            for _ in range(2):
                for index, engine in enumerate(world.desks):
                    engine.round()
                    world.note_cursor(index)
            everything = _store_entries(world)
            assert [e.server_seq for e in everything] == sorted(
                e.server_seq or 0 for e in everything)
            # The store's own facts: its enrolment of each desk, once (no desk wrote any).
            facts = store_facts(everything)
            assert sorted((e.kind, e.payload["desk_id"]) for e in facts) == sorted(
                (ENROLLED, engine.journal.desk_id) for engine in world.desks)
            stored = without_store_facts(everything)
            ids = [e.id for e in stored]
            assert len(ids) == len(set(ids)), "an entry was stored twice"
            assert set(ids) == set(world.written), "an entry was lost"
            model = reference(world.written.values())
            assert reference(stored) == model
            for engine in world.desks:
                assert engine.journal.outbox_size() == 0
                assert cards_of(engine.journal) == model
                assert engine.journal.verify() == []
                acked = {e.id: e.server_seq for c in model for e in engine.journal.entries(c)}
                assert acked == {e.id: e.server_seq for e in stored}
        finally:
            for engine in world.desks:
                engine.client.close()
                engine.journal.close()
