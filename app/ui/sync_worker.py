"""The window's link to the central store, off the GUI thread.

Two loops share one `SyncEngine`: the push loop (a QThread) sends the outbox as
soon as an action writes to the journal, and the pull loop (a daemon thread, because a
long-poll may hold it for `poll_wait` seconds and must not delay closing the window) waits on
the store for other desks' entries. Neither ever touches a widget: the status goes out as
`status_changed(SyncStatus)` and applied entries as `events.announce(card ids)`, both queued
to the GUI thread by Qt. The GUI thread only sets flags (`sync_now`, `outbox_changed`), so it
never waits on the network.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.errors import SyncError
from app.sync.engine import SyncEngine
from app.sync.status import SyncStatus
from app.ui.events import DeskEvents

log = logging.getLogger(__name__)

#: How long one pull waits on the store for news before asking again (protocol max: 30).
POLL_WAIT_S = 25.0
#: How often an idle push loop looks at the outbox anyway (a write from another process).
IDLE_PUSH_S = 30.0


class _Loop(QThread):
    """A QThread that runs one function to its end (no event loop: nothing is queued to it)."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self._target = target

    def run(self) -> None:
        self._target()


class SyncWorker(QObject):
    """Lives on the GUI thread; its loops run on their own threads and only emit signals."""

    status_changed = Signal(object)  # SyncStatus
    _arrived = Signal(object)  # frozenset of card ids, queued to events.announce

    def __init__(
        self,
        engine: SyncEngine,
        events: DeskEvents,
        *,
        poll_wait: float = POLL_WAIT_S,
        idle_push: float = IDLE_PUSH_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.poll_wait = poll_wait
        self.idle_push = idle_push
        self._stopping = threading.Event()
        self._push_wake = threading.Event()
        self._pull_wake = threading.Event()
        self._pusher = _Loop(self._push_loop, "sync-push")
        self._puller: threading.Thread | None = None
        self._arrived.connect(events.announce, Qt.ConnectionType.QueuedConnection)
        events.changed.connect(self.outbox_changed)
        self._last_status = engine.status
        previous = engine.on_status

        def report(status: SyncStatus) -> None:
            self._last_status = status
            self.status_changed.emit(status)
            if previous is not None:
                previous(status)

        engine.on_status = report

    @property
    def status(self) -> SyncStatus:
        return self._last_status

    # -- called from the GUI thread (only set flags) --------------------------------------

    def start(self) -> None:
        self._puller = threading.Thread(target=self._pull_loop, name="sync-pull", daemon=True)
        self._puller.start()
        self._pusher.start()

    @Slot()
    def sync_now(self) -> None:
        """The "Sync now" action: try at once, whatever the backoff says."""
        self.engine.backoff.succeeded()
        self._push_wake.set()
        self._pull_wake.set()

    @Slot(object)
    def outbox_changed(self, _cards: Any = None) -> None:
        self._push_wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop both loops; a long-poll in flight is abandoned (its thread is a daemon)."""
        self._stopping.set()
        self._push_wake.set()
        self._pull_wake.set()
        self._pusher.wait(int(timeout_s * 1000))
        if self._puller is not None:
            self._puller.join(timeout=0.2)

    # -- the loops (worker threads) ---------------------------------------------------------

    def _pause(self, wake: threading.Event, idle: float) -> None:
        delay = self.engine.backoff.wait_s() or idle
        wake.wait(delay)
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
        # The first pull does not wait: the strip should say "online" (or why not) at once,
        # not after the first long-poll ends.
        wait = 0.0
        while not self._stopping.is_set():
            try:
                _added, cards = self.engine.pull(wait=wait)
                wait = self.poll_wait
                if cards:
                    self._arrived.emit(cards)
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
