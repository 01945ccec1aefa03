"""Opening a journal file: durable connection settings, migrations, and error translation.

Every connection runs in WAL mode with `synchronous=FULL` (a commit is on disk before we say
"saved"), a busy timeout, and writes under `BEGIN IMMEDIATE` so two processes on one journal
(the window and a command line) queue for the write lock instead of failing mid-transaction.
"""

from __future__ import annotations

import glob
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from app.errors import JournalError

BUSY_TIMEOUT_MS = 5000
HEAD_REVISION = "0005"
MIGRATIONS = Path(__file__).with_name("migrations")


def translate(exc: BaseException, path: Path | str) -> JournalError:
    """A SQLite failure as the one-line message a dispatcher or admin can act on."""
    text_ = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text_ or "busy" in text_:
        return JournalError(
            f"journal {path} is locked by another process (waited {BUSY_TIMEOUT_MS // 1000} s); "
            "close the other Dispatch Desk or try again"
        )
    if "disk is full" in text_ or "database or disk is full" in text_:
        return JournalError(f"disk full: journal {path} could not be written; free space and retry")
    if "not a database" in text_ or "malformed" in text_:
        return JournalError(f"{path} is not a Dispatch Desk journal (not a SQLite database)")
    if "readonly" in text_ or "unable to open" in text_:
        return JournalError(f"journal {path} cannot be opened for writing: {text_}")
    return JournalError(f"journal {path}: {text_}")


def make_engine(path: Path | str) -> Engine:
    url = "sqlite+pysqlite:///" + str(path)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine, path: Path | str) -> Iterator[Connection]:
    """One durable write transaction under BEGIN IMMEDIATE; SQLite errors become JournalError."""
    try:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            yield conn
    except DBAPIError as exc:
        raise translate(exc, path) from exc
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc


@contextmanager
def raw_write(engine: Engine, path: Path | str) -> Iterator[sqlite3.Cursor]:
    """The hot write path: one BEGIN IMMEDIATE ... COMMIT on a pooled connection's plain
    sqlite3 cursor. Every card action goes through here; SQLAlchemy's per-statement and
    per-transaction bookkeeping would cost more than the commit's own fsync."""
    try:
        pooled = engine.raw_connection()
    except DBAPIError as exc:
        raise translate(exc, path) from exc
    try:
        conn = cast(sqlite3.Connection, pooled.driver_connection)
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
            cur.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            cur.close()
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    finally:
        pooled.close()


@contextmanager
def read_connection(engine: Engine, path: Path | str) -> Iterator[Connection]:
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except DBAPIError as exc:
        raise translate(exc, path) from exc


def current_revision(engine: Engine, path: Path | str) -> str | None:
    with read_connection(engine, path) as conn:
        has = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).first()
        if not has:
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return str(row[0]) if row else None


BACKUP_INFIX = ".before-"


def migrate(engine: Engine, path: Path | str, target: str = "head") -> None:
    """Bring the journal to `target` with Alembic (skipped when it is already at the head).

    Before migrating a journal that has data, a copy is made beside it
    (`journal.sqlite.before-0003`, SQLite's online backup, so what sits in the WAL is in it);
    it is kept until the next start that finds the journal already migrated, which removes it.
    """
    revision = current_revision(engine, path)
    if target == "head" and revision == HEAD_REVISION:
        _remove_backups(Path(path))
        return
    if revision is not None:
        _back_up(engine, Path(path), HEAD_REVISION if target == "head" else target)
    # Imported here: Alembic costs ~100 ms to load and an up-to-date journal never needs it.
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, target)
            conn.commit()
    except DBAPIError as exc:
        raise translate(exc, path) from exc


def _back_up(engine: Engine, path: Path, target: str) -> None:
    backup = path.with_name(f"{path.name}{BACKUP_INFIX}{target}")
    raw = engine.raw_connection()
    try:
        source = cast(sqlite3.Connection, raw.driver_connection)
        with sqlite3.connect(backup) as copy:
            source.backup(copy)
        copy.close()
    except sqlite3.Error as exc:
        raise JournalError(
            f"journal {path} was not migrated: its backup {backup} could not be written ({exc})"
        ) from exc
    finally:
        raw.close()


def _remove_backups(path: Path) -> None:
    """A start on a migrated journal succeeded: the copies made before migrating can go."""
    if not path.name:
        return
    for old in path.parent.glob(f"{glob.escape(path.name)}{BACKUP_INFIX}*"):
        old.unlink(missing_ok=True)
