"""The escalation ladder inside the desk window: a QtScheduler wakes it, signals report it.

APScheduler's ``QtScheduler`` only uses a ``QTimer`` to wake up; the job itself runs on its
thread pool. So the job never touches a widget: it calls the services and emits this object's
signals, which Qt queues to the GUI thread (the object lives there), and they are forwarded to
``DeskEvents`` (``changed`` for the cards it wrote to, ``error`` for failures) and to
``alarm`` (the banner that cannot be missed when a ladder reaches its endpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from apscheduler.schedulers.qt import QtScheduler
from PySide6.QtCore import QObject, Qt, Signal

from app.runtime.escalation_scheduler import POLL_EVERY_S, EscalationScheduler
from app.services.escalation.service import EscalationService
from app.ui.events import DeskEvents


class LadderScheduler(QObject):
    # Emitted from the scheduler's worker thread; received on the GUI thread (queued).
    _changed = Signal(object)
    _error = Signal(str)
    alarm = Signal(str)

    def __init__(self, service: EscalationService, events: DeskEvents, *,
                 poll_every_s: float = POLL_EVERY_S,
                 heartbeats: Callable[[], Mapping[str, datetime]] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.events = events
        queued = Qt.ConnectionType.QueuedConnection
        self._changed.connect(self._announce_own, queued)
        self._echo = False
        self._error.connect(events.error, queued)
        self.runner = EscalationScheduler(
            service, events.clock, QtScheduler(), poll_every_s=poll_every_s,
            heartbeats=heartbeats, on_change=self._changed.emit, on_alarm=self.alarm.emit,
            on_error=self._error.emit)
        # A card registered or re-prioritised at this desk: page now, not at the next wake.
        events.changed.connect(self._on_desk_change)

    def start(self) -> None:
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()

    def _announce_own(self, cards: object) -> None:
        # The ladder's own writes reach every screen, but must not wake the ladder again: it
        # already planned its next wake when it wrote them.
        self._echo = True
        try:
            self.events.announce(cards)
        finally:
            self._echo = False

    def _on_desk_change(self, cards: object) -> None:
        if not self._echo and self.runner.scheduler.running:
            self.runner.nudge()
