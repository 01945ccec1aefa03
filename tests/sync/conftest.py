"""Fixtures for the desk side of sync: an in-memory keyring, the real store on loopback, and
enrolled desks with real journal files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.adapters.secrets import SecretStore
from app.clock import Clock, FakeClock
from app.models.journal import Journal
from app.sync.client import StoreClient
from app.sync.engine import SyncEngine
from app.sync.enroll import enroll_desk
from tests.sync.loopback import LoopbackStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[LoopbackStore]:
    running = LoopbackStore(tmp_path / "store.sqlite", clock)
    yield running
    running.stop()


DeskFactory = Callable[..., SyncEngine]


def enrolled_desk(
    path: Path, url: str, code: str, desk_code: str, clock: Clock, **engine_args: object
) -> SyncEngine:
    journal = Journal.open(path, clock)
    if journal.desk_code != desk_code:
        journal.set_desk_code(desk_code)
    enroll_desk(journal, url, code, f"desk {desk_code}")
    return open_engine(journal, clock, **engine_args)


def open_engine(journal: Journal, clock: Clock, url: str | None = None,
                **engine_args: object) -> SyncEngine:
    from app.sync.enroll import store_url

    client = StoreClient.from_keyring(url or store_url(journal), journal.desk_id, SecretStore(),
                                      clock)  # the store's fake clock signs the requests
    return SyncEngine(journal, client, clock, **engine_args)  # type: ignore[arg-type]


@pytest.fixture
def make_desk(
    tmp_path: Path, store: LoopbackStore, clock: FakeClock
) -> Iterator[DeskFactory]:
    made: list[SyncEngine] = []

    def make(desk_code: str, **engine_args: object) -> SyncEngine:
        engine = enrolled_desk(
            tmp_path / f"desk-{desk_code}.sqlite", store.url, store.add_desk(desk_code),
            desk_code, clock, **engine_args,
        )
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.client.close()
        engine.journal.close()
