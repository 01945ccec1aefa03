"""Waking long-polls when the store's head moves, in this process and in the others.

A pull that finds nothing new waits on the current `Wakeup` generation: an asyncio event that is
set (and replaced) whenever a push commits. In one process a push wakes it directly. On
PostgreSQL every push also sends `NOTIFY dispatch_store` inside its transaction (delivered on
commit), and each store process runs one listener thread on its own connection that turns those
notifications into wake-ups, so a write on any process wakes a poll on every process.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

CHANNEL = "dispatch_store"
# How often the listener looks up from an idle connection to notice it should stop.
_LISTEN_TICK_S = 1.0
_RECONNECT_MAX_S = 10.0

log = logging.getLogger(__name__)


class Wakeup:
    """The long-polls of one process: they wait on an event that every commit sets."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self.waiting = 0  # long-polls waiting now, reported by /v1/health

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        """Take this before looking for new entries; a commit after that will set it."""
        if self._event is None:
            self.attach(asyncio.get_running_loop())
        assert self._event is not None
        return self._event

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = asyncio.Event()

    def wake(self) -> None:
        """Safe from any thread (pushes commit on worker threads, the listener on its own)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake)

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait on an event from `current()`; True if woken before `timeout` seconds."""
        self.waiting += 1
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        return True


def announce(conn: Connection, head: int) -> None:
    """Inside a PostgreSQL push transaction: tell every store process when it commits."""
    conn.execute(text("SELECT pg_notify(:channel, :head)"), {"channel": CHANNEL, "head": str(head)})


class PgListener:
    """One thread per store process, LISTENing on its own autocommit connection."""

    def __init__(self, url: URL, wakeup: Wakeup) -> None:
        # psycopg takes a libpq URL: the same one without SQLAlchemy's driver suffix.
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wakeup = wakeup
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-listen", daemon=True)

    def start(self, ready_within: float = 10.0) -> None:
        self._thread.start()
        # Serve only once listening: a push on another process right after start must wake us.
        self._listening.wait(ready_within)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # an admin command never starts it
            self._thread.join(timeout=_LISTEN_TICK_S * 3)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    # Anything committed while we were not listening: let the polls re-check.
                    self._wakeup.wake()
                    backoff = 0.5
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=_LISTEN_TICK_S):
                            self._wakeup.wake()
            except psycopg.Error as exc:
                log.warning("store listener lost its connection (%s); retrying", exc)
                self._wakeup.wake()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _RECONNECT_MAX_S)
