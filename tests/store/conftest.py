"""The store under test, on SQLite and on PostgreSQL.

PostgreSQL is the server DD_TEST_POSTGRES_URL names (user postgres or any user that may CREATE
DATABASE); the test command (scripts/run-tests.sh) starts a cluster of its own and sets it. Each
test session creates its own uniquely named database and drops it at the end. Without
PostgreSQL these tests FAIL and say so: a store that was never tested on its production
database is not tested.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from app.clock import FakeClock
from tests.store.harness import Desk, ThreadStore, new_desk

PG_ADMIN = os.environ.get("DD_TEST_POSTGRES_URL", "")


@contextmanager
def pg_database() -> Iterator[str]:
    """A new, uniquely named PostgreSQL database as a SQLAlchemy URL; dropped afterwards."""
    name = f"dd_store_test_{os.getpid()}_{os.urandom(3).hex()}"
    if not PG_ADMIN:
        pytest.fail(
            "DD_TEST_POSTGRES_URL is not set. These store tests need PostgreSQL: run them "
            "through bash scripts/run-tests.sh (it starts a cluster of its own), or set "
            "DD_TEST_POSTGRES_URL=postgresql://USER@HOST:PORT/postgres, a server where that "
            "user may CREATE DATABASE.",
            pytrace=False,
        )
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN} ({exc}). These store tests need it: "
            "run them through bash scripts/run-tests.sh (it starts a cluster of its own), or "
            "point DD_TEST_POSTGRES_URL at a server where that user may CREATE DATABASE.",
            pytrace=False,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The session's PostgreSQL database."""
    with pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def clock() -> FakeClock:
    # The store's clock and the desks' clocks are the same fake: skew is what a test makes it.
    return FakeClock(datetime.now(UTC))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def store(
    backend: str,
    clock: FakeClock,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[ThreadStore]:
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("store") / "store.sqlite")
    else:
        url = request.getfixturevalue("pg_url")
    served = ThreadStore(url, clock)
    yield served
    served.close()


@pytest.fixture
def desk_a(store: ThreadStore, tmp_path: Path, clock: FakeClock) -> Desk:
    return new_desk(store, tmp_path, clock)


@pytest.fixture
def desk_b(store: ThreadStore, tmp_path: Path, clock: FakeClock) -> Desk:
    return new_desk(store, tmp_path, clock)
