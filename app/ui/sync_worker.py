"""The window's link to the central store, off the GUI thread.

Two loops share one `SyncEngine` (app/runtime/sync_loops.py, the same as the headless
desk's): the push loop sends the outbox as soon as an action writes to the journal, and the
pull loop (a daemon thread, because a long-poll may hold it for `poll_wait` seconds and must not
delay closing the window) waits on the store for other desks' entries. Neither ever touches
a widget: the status goes out as `status_changed(SyncStatus)` and applied entries as
`events.announce(card ids)`, both queued to the GUI thread by Qt. The GUI thread only sets
flags (`sync_now`, `outbox_changed`), so it never waits on the network.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.runtime.sync_loops import IDLE_PUSH_S, POLL_WAIT_S, SyncLoops
from app.sync.engine import SyncEngine
from app.sync.status import SyncStatus
from app.ui.events import DeskEvents


class SyncWorker(QObject):
    """Lives on the GUI thread; the loops (app/runtime/sync_loops.py) run on their own
    threads and reach the window only through these signals, queued by Qt."""

    status_changed = Signal(object)  # SyncStatus
    _arrived = Signal(object)  # frozenset of card ids, queued to events.announce
    arrived = Signal(object)  # the same, on the GUI thread: what sync brought in

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
        self._arrived.connect(events.announce, Qt.ConnectionType.QueuedConnection)
        self._arrived.connect(self.arrived, Qt.ConnectionType.QueuedConnection)
        events.changed.connect(self.outbox_changed)
        self.loops = SyncLoops(engine, on_arrived=self._arrived.emit,
                               on_status=self.status_changed.emit, poll_wait=poll_wait,
                               idle_push=idle_push)

    @property
    def status(self) -> SyncStatus:
        return self.loops.last_status

    def start(self) -> None:
        self.loops.start()

    @Slot()
    def sync_now(self) -> None:
        """The "Sync now" action: try at once, whatever the backoff says."""
        self.loops.sync_now()

    @Slot(object)
    def outbox_changed(self, _cards: Any = None) -> None:
        self.loops.outbox_changed()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.loops.stop(timeout_s)
