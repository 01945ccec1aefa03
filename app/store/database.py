"""Opening the store's database: URL checks, engine settings, migrations, error translation.

SQLite (the embedded default) reuses the journal's durable engine settings (WAL,
`synchronous=FULL`, busy timeout, `BEGIN IMMEDIATE` for writers); PostgreSQL goes through
psycopg 3. Every database failure leaves here as a `StoreUnavailable` with one line an admin
can act on; the routes answer it with 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from app.errors import ConfigError, SyncError
from app.models import db as journal_db

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD_REVISION = "s0007"
# Any fixed number, the same in every store process: the PostgreSQL advisory lock for migrating.
_MIGRATION_LOCK = 0x44455348


class StoreUnavailable(SyncError):
    """The store's own database cannot be reached or written."""


def parse_db_url(url: str) -> URL:
    """A SQLAlchemy URL for SQLite or PostgreSQL (psycopg 3); ConfigError naming --db if not."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"--db {url!r} is not a database URL; use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/NAME",
            field="db",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(
                "--db: the store needs a SQLite file (sqlite:///PATH), not memory", field="db"
            )
        return parsed
    if backend == "postgresql":
        # One driver for the engine and for LISTEN: psycopg 3.
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(
        f"--db: {backend!r} is not supported; use sqlite:///PATH or postgresql+psycopg://...",
        field="db",
    )


def make_store_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database)).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--db: cannot create the folder {path.parent}: {exc}") from exc
        return journal_db.make_engine(path)
    # Long-polls do not hold a connection while they wait, so a modest pool serves many desks.
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def describe(url: URL) -> str:
    """The URL without its password, for messages and logs."""
    return url.render_as_string(hide_password=True)


def unavailable(exc: BaseException, url: URL) -> StoreUnavailable:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    return StoreUnavailable(f"store database {describe(url)}: {first}; check that it is running")


@contextmanager
def writing(engine: Engine, url: URL) -> Iterator[Connection]:
    """One write transaction (BEGIN IMMEDIATE on SQLite, so writers queue, never deadlock)."""
    try:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            yield conn
    except (DBAPIError, OSError) as exc:
        raise unavailable(exc, url) from exc


@contextmanager
def reading(engine: Engine, url: URL) -> Iterator[Connection]:
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except (DBAPIError, OSError) as exc:
        raise unavailable(exc, url) from exc


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else None


def current_revision(engine: Engine, url: URL) -> str | None:
    with reading(engine, url) as conn:
        return _revision(conn)


def migrate(engine: Engine, url: URL, target: str = "head") -> None:
    """Bring the store's tables to `target` with its own Alembic scripts.

    On PostgreSQL several store processes may start at once on an empty database; an advisory
    lock lets one migrate while the others wait and then find the tables current.
    """
    if target == "head" and current_revision(engine, url) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    shared = url.get_backend_name() == "postgresql"
    try:
        with engine.connect() as conn:
            if shared:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
            try:
                if target != "head" or _revision(conn) != HEAD_REVISION:
                    conn.commit()
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, target)
                conn.commit()
            finally:
                if shared:
                    conn.rollback()
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                    conn.commit()
    except (DBAPIError, OSError) as exc:
        raise unavailable(exc, url) from exc
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"store database {describe(url)}: migration failed: {exc}") from exc
