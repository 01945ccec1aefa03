"""A desk's link to the store over time: a push loop and a pull loop on threads of their own.

The push loop sends the outbox as soon as something is written (`outbox_changed`) and looks
again every `idle_push` seconds; the pull loop long-polls the store for other desks' entries.
A long-poll may hold its thread for `poll_wait` seconds, so it is a daemon thread and stopping
does not wait for it. Both report only through the callbacks given here: the window turns them
into Qt signals, the headless desk logs them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.errors import SyncError
from app.sync.engine import SyncEngine
from app.sync.status import SyncStatus

log = logging.getLogger(__name__)

#: How long one pull waits on the store for news before asking again (protocol max: 30).
POLL_WAIT_S = 25.0
#: How often an idle push loop looks at the outbox anyway.
IDLE_PUSH_S = 30.0


def _nothing(*_: object) -> None:
    return None


class SyncLoops:
    def __init__(
        self,
        engine: SyncEngine,
        *,
        on_arrived: Callable[[frozenset[str]], None] = _nothing,
        on_status: Callable[[SyncStatus], None] = _nothing,
        poll_wait: float = POLL_WAIT_S,
        idle_push: float = IDLE_PUSH_S,
    ) -> None:
        self.engine = engine
        self.poll_wait, self.idle_push = poll_wait, idle_push
        self._on_arrived = on_arrived
        self._stopping = threading.Event()
        self._push_wake = threading.Event()
        self._pull_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.last_status = engine.status
        previous = engine.on_status

        def report(status: SyncStatus) -> None:
            self.last_status = status
            on_status(status)
            if previous is not None:
                previous(status)

        engine.on_status = report

    def start(self) -> None:
        for target, name in ((self._push_loop, "sync-push"), (self._pull_loop, "sync-pull")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def sync_now(self) -> None:
        """Try at once, whatever the backoff says."""
        self.engine.backoff.succeeded()
        self._push_wake.set()
        self._pull_wake.set()

    def outbox_changed(self) -> None:
        self._push_wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop both loops; a push in flight is waited for, a long-poll is abandoned."""
        self._stopping.set()
        self._push_wake.set()
        self._pull_wake.set()
        for thread in self._threads:
            thread.join(timeout=timeout_s if thread.name == "sync-push" else 0.2)

    def _pause(self, wake: threading.Event, idle: float) -> None:
        wake.wait(self.engine.backoff.wait_s() or idle)
        wake.clear()

    def _push_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.engine.push_outbox()
            except SyncError:
                pass  # already in the status; the backoff decides when to try again
            except Exception:  # noqa: BLE001 - a bug must not kill sync silently
                log.exception("sync push failed")
            if self._stopping.is_set():
                break
            self._pause(self._push_wake, self.idle_push)

    def _pull_loop(self) -> None:
        # The first pull does not wait: the status should say "online" (or why not) at once.
        wait = 0.0
        while not self._stopping.is_set():
            try:
                _added, cards = self.engine.pull(wait=wait)
                wait = self.poll_wait
                if cards:
                    self._on_arrived(cards)
                if self.engine.journal.outbox_size():
                    self._push_wake.set()  # e.g. a store restored from backup wants ours again
                continue
            except SyncError:
                pass
            except Exception:  # noqa: BLE001
                log.exception("sync pull failed")
            if self._stopping.is_set():
                break
            self._pause(self._pull_wake, 1.0)
