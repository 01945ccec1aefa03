"""What runs behind the desk window: sync with the store, the escalation ladder and the
doors (the emergency line read from Twilio, the mailbox, the desk's own intake door, the
outbound webhooks: app/runtime/channels.py, the same part the headless desk runs).

Both are optional by design: a desk that is not enrolled works "local only", and a desk
without Twilio credentials still shows every ladder's state but says plainly that it cannot
page. Their state reaches the screens only through signals and small fact callables (for the
handover sheet and the wallboard); nothing here blocks the GUI thread on the network.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.adapters.secrets import SecretStore
from app.adapters.twilio_pager import TwilioPager
from app.application import Desk
from app.bootstrap import build_escalation, build_sync, twilio_pager_from
from app.errors import DeskError
from app.runtime.channels import Channels
from app.runtime.facts import DeskFacts
from app.runtime.watch import WATCH_EVERY_S, JournalWatch
from app.services.escalation.service import EscalationService
from app.services.escalation.view import escalation_lines
from app.services.handover.breakglass import packet_due
from app.services.handover.facts import EscalationLine, OnCallLine, SyncFacts
from app.services.handover.sources import OutageLog
from app.sync.protocol import DeskSeen
from app.sync.status import SyncStatus
from app.ui.events import DeskEvents

log = logging.getLogger(__name__)
PACKET_PRINTED_KEY = "breakglass.printed_at"
PAGING_OFF = "Paging OFF: no Twilio credentials (dispatch-desk ladder set-credentials)"


class DeskBackground(QObject):
    link_changed = Signal(str)  # one line for the status strip
    paging_changed = Signal(str)
    offline_ready = Signal(object)  # OfflinePaging, once the ladder runs (offline_banner.py)
    offline_alarm = Signal(str)  # the ladder's alarm: the banner re-checks at once
    _door_wrote = Signal()  # from a door's thread, queued to the GUI thread

    def __init__(self, desk: Desk, events: DeskEvents, secrets: SecretStore | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk, self.events = desk, events
        self._secrets = secrets or SecretStore()
        self.outages = OutageLog(desk.journal)
        self.facts = DeskFacts(desk, live_sync=lambda: self.sync_status,
                               outages=lambda: self.outages.outages, desks=self._engine_desks)
        self.sync_status: SyncStatus | None = None
        self.sync_worker: object | None = None
        self.ladder: EscalationService | None = None
        self.scheduler: object | None = None
        self.paging = PAGING_OFF
        self.channels: Channels | None = None
        self._pager: TwilioPager | None = None
        self._door_wrote.connect(self._intake_arrived, Qt.ConnectionType.QueuedConnection)
        self._ticks = 0
        self._packet_reason: str | None = None

    def start(self) -> None:
        self._start_sync()
        self._start_ladder()
        self._start_channels()
        self._watch_journal()
        self.events.tick.connect(self._check_packet)
        self._check_packet()

    def _check_packet(self) -> None:
        """Say when a break-glass packet is due (shift start, a long link outage); once per
        reason, checked once a minute."""
        self._ticks = (self._ticks + 1) % 60
        if self._ticks != 1:
            return
        last = self.desk.journal.get_meta(PACKET_PRINTED_KEY)
        printed = datetime.fromisoformat(last) if last else None
        reason = packet_due(self.desk.shifts, self.desk.clock.now(), printed, self.sync())
        if reason and reason != self._packet_reason:
            self.events.info.emit(f"Break-glass packet due ({reason}): Ctrl+Shift+B prints "
                                  "the open cards, the rota and blank cards")
        self._packet_reason = reason

    def packet_printed(self) -> None:
        self.desk.journal.set_meta(PACKET_PRINTED_KEY, self.desk.clock.now().isoformat())
        self._packet_reason = None

    def _start_sync(self) -> None:
        try:
            engine = build_sync(self.desk, self._secrets)
        except DeskError as exc:
            self.events.error.emit(f"sync is off: {exc}")
            return
        if engine is None:
            return  # not enrolled: the strip keeps saying "local only"
        from app.ui.sync_worker import SyncWorker

        worker = SyncWorker(engine, self.events, parent=self)
        worker.status_changed.connect(self._on_sync_status)
        worker.arrived.connect(lambda _cards: self._intake_arrived())
        self.sync_worker = worker
        self._on_sync_status(worker.status)
        worker.start()

    def _watch_journal(self) -> None:
        """Announce what other processes write to this journal (`card new` from a hook, the
        headless desk) like this window's own actions: the queue, the ladder and the outbox
        all hear it within WATCH_EVERY_S."""
        self.watch = JournalWatch(self.desk.journal)
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(int(WATCH_EVERY_S * 1000))
        self._watch_timer.timeout.connect(self._look)
        self._watch_timer.start()

    def _look(self) -> None:
        change = self.watch.poll()
        if change is not None:
            self.events.announce(change.cards)

    def _on_sync_status(self, status: SyncStatus) -> None:
        self.sync_status = status
        self.outages.observe(status)
        self.link_changed.emit(status.summary(self.desk.rules.tz))

    def _start_ladder(self) -> None:
        try:
            pager = twilio_pager_from(self._secrets, self.desk.settings)
        except DeskError as exc:
            log.info("paging off: %s", exc)
            self.paging_changed.emit(PAGING_OFF)
            return
        self._pager = pager
        try:
            self.ladder = build_escalation(self.desk, pager)
        except DeskError as exc:
            self.events.error.emit(f"escalation ladder not started: {exc}")
            return
        from app.ui.ladder_scheduler import LadderScheduler

        scheduler = LadderScheduler(self.ladder, self.events, heartbeats=self.heartbeats,
                                    parent=self)
        scheduler.alarm.connect(self.events.error)
        scheduler.alarm.connect(self.offline_alarm)
        self.scheduler = scheduler
        self.watch_offline(self.ladder)
        scheduler.start()
        self.paging = "Paging on (Twilio)"
        self.paging_changed.emit(self.paging)

    def _start_channels(self) -> None:
        self.channels = Channels(
            self.desk, self._secrets, on_wrote=self._door_wrote.emit, say=self._say,
            link_up=lambda: bool(self.sync_status and self.sync_status.online),
            pager=self._pager if self.ladder is not None else None, ladder=self.ladder)
        self.events.changed.connect(self._nudge_channels)
        self.channels.start()

    def _nudge_channels(self, _cards: object = None) -> None:
        if self.channels is not None:
            self.channels.nudge()

    def _say(self, text: str) -> None:
        log.info("%s", text)
        if text.startswith(("mail OFF", "intake door OFF", "mail:", "webhooks:",
                            "outbox OFF", "outbox:")):
            self.events.info.emit(text)

    def _intake_arrived(self) -> None:
        """The store or a door brought tray items: register what the rules say to register
        at once, so the ladder pages them; every screen hears of it."""
        if self.channels is not None:
            self.channels.register_pending()
        self.events.announce(None)

    def watch_offline(self, service: EscalationService) -> None:
        """Let the offline banner judge, from the journal, when paging is impossible."""
        from app.services.escalation.offline_alarm import OfflinePaging

        self.offline_ready.emit(OfflinePaging(self.desk.journal, service.ladder,
                                              lambda: service.recipients.roster, self.desk.clock))

    def stop(self) -> None:
        timer = getattr(self, "_watch_timer", None)
        if timer is not None:
            timer.stop()
            self.watch.close()
        for part in (self.channels, self.scheduler, self.sync_worker):
            stop = getattr(part, "stop", None)
            if stop is not None:
                stop()

    def sync_now(self) -> None:
        worker = self.sync_worker
        if worker is None:
            self.events.info.emit("This desk is local only: enrol it with `dispatch-desk "
                                  "enroll URL CODE` to sync")
            return
        worker.sync_now()  # type: ignore[attr-defined]

    # -- facts for the handover sheet and the wallboard -----------------------------------

    def on_call(self, now: datetime) -> Sequence[OnCallLine] | None:
        return self.facts.on_call(now)

    def sync(self) -> SyncFacts | None:
        return self.facts.sync()

    def _engine_desks(self) -> tuple[DeskSeen, ...]:
        engine = getattr(self.sync_worker, "engine", None)
        return engine.desks if engine is not None else ()

    def heartbeats(self) -> dict[str, datetime]:
        """Every desk's last heartbeat at the store (empty when local only): a ladder whose
        owning desk went dark for 2 minutes is taken over here."""
        return {d.desk_id: d.last_seen for d in self._engine_desks() if d.last_seen}

    def escalations(self) -> Mapping[str, EscalationLine] | None:
        # The running ladder's states (re-derived only for cards that changed); without one,
        # the same lines from the journal with the configured ladder, as the command line's
        # handover prints them, so they show even when this desk cannot page.
        if self.ladder is None:
            return self.facts.escalations()
        try:
            states = self.ladder.states(active_only=True)
        except DeskError as exc:
            log.warning("ladder state unavailable: %s", exc)
            return None
        return {line.card_id: line for line in escalation_lines(states, self.ladder.ladder)}
