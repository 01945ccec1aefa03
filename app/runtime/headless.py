"""The desk without a window: sync, the escalation ladder, heartbeats and the journal watch in
one process (`dispatch-desk run`), for an unattended night desk, a wallboard PC or a
server-room box. The window runs the same parts (app/ui/background.py).

Every part is optional as at the window: a desk that is not enrolled runs local only, a desk
without Twilio credentials still watches and syncs and says it cannot page. A write by another
process (`dispatch-desk card new` from a monitoring hook) is seen within WATCH_EVERY_S: the
ladder runs at once and the outbox is pushed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from app.adapters.secrets import SecretStore
from app.adapters.twilio_pager import TwilioPager
from app.application import Desk
from app.bootstrap import build_escalation, build_sync, twilio_pager_from
from app.errors import DeskError
from app.runtime.changes import CARD, Change
from app.runtime.channels import Channels
from app.runtime.escalation_scheduler import POLL_EVERY_S, EscalationScheduler
from app.runtime.sync_loops import SyncLoops
from app.runtime.twilio_inbox import POLL_EVERY_S as INBOX_EVERY_S
from app.runtime.watch import WATCH_EVERY_S, JournalWatch
from app.services.escalation.service import EscalationService
from app.sync.status import SyncStatus

log = logging.getLogger(__name__)


def _log(text: str) -> None:
    log.info("%s", text)


class HeadlessDesk:
    def __init__(self, desk: Desk, secrets: SecretStore | None = None, *, sync: bool = True,
                 ladder: bool = True, poll_every_s: float = POLL_EVERY_S,
                 watch_every_s: float = WATCH_EVERY_S,
                 say: Callable[[str], None] = _log, alarm: Callable[[str], None] = _log,
                 ladder_file: Path | None = None, default_group: str | None = None) -> None:
        self.desk, self.say = desk, say
        self.watch_every_s = watch_every_s
        secrets = secrets or SecretStore()
        self.watch = JournalWatch(desk.journal)
        self.sync: SyncLoops | None = None
        if sync:
            engine = build_sync(desk, secrets)
            if engine is None:
                say("local only: not enrolled with a store (dispatch-desk enroll URL CODE)")
            else:
                self.sync = SyncLoops(engine, on_status=self._status,
                                      on_arrived=self._arrived)
        self.ladder: EscalationScheduler | None = None
        pager: TwilioPager | None = None
        service: EscalationService | None = None
        if ladder:
            try:
                pager = twilio_pager_from(secrets, desk.settings)
                service = build_escalation(desk, pager, ladder_file=ladder_file,
                                           default_group=default_group)
            except DeskError as exc:
                say(f"paging OFF: {exc}")
                pager = service = None
            else:
                self.ladder = EscalationScheduler(
                    service, desk.clock, poll_every_s=poll_every_s, heartbeats=self.heartbeats,
                    on_alarm=alarm, on_error=lambda text: say(f"error: {text}"),
                    on_change=self._ladder_wrote)
        self.channels = Channels(desk, secrets, on_wrote=self._channel_wrote, say=say,
                                 link_up=self._link_up, pager=pager, ladder=service,
                                 inbox_every_s=min(poll_every_s, INBOX_EVERY_S))
        self._stop = threading.Event()
        self._last_line = ""

    # -- what the parts report ------------------------------------------------------------

    def heartbeats(self) -> Mapping[str, datetime]:
        engine = self.sync.engine if self.sync else None
        return engine.heartbeats() if engine is not None else {}

    def _status(self, status: SyncStatus) -> None:
        line = status.summary(self.desk.rules.tz)
        if line.split(" · ")[0] != self._last_line.split(" · ")[0]:  # online/offline changed
            self.say(line)
        self._last_line = line

    def _arrived(self, cards: frozenset[str]) -> None:
        self.channels.nudge()
        # Items the store's doors took arrive as pending: register what the rules say to
        # register at once (settings.auto_register), so their ladder starts below.
        self.channels.register_pending()
        if self.ladder is not None:
            self.ladder.nudge()  # a card that arrived by sync may need paging here

    def _link_up(self) -> bool:
        return self.sync is not None and self.sync.last_status.online

    def _channel_wrote(self) -> None:
        """A door wrote to the tray (an SMS read from Twilio, a mail, the local door): register
        what the rules say, page, push and deliver."""
        self.channels.register_pending()
        self.on_change(Change(frozenset(), frozenset({CARD})))

    def _ladder_wrote(self, cards: frozenset[str]) -> None:
        self.channels.nudge()
        if self.sync is not None:
            self.sync.outbox_changed()  # its steps go to the store; it needs no nudge itself

    def on_change(self, change: Change) -> None:
        """Another process wrote to the journal: page, push and deliver at once."""
        self.channels.nudge()
        if self.ladder is not None and change.pages:
            self.ladder.nudge()
        if self.sync is not None:
            self.sync.outbox_changed()

    # -- running ----------------------------------------------------------------------------

    def run(self) -> None:
        """Start every part and watch the journal until `stop` (SIGTERM, Ctrl-C)."""
        if self.sync is not None:
            self.sync.start()
        if self.ladder is not None:
            self.ladder.start()
        self.channels.start()
        try:
            while not self._stop.wait(self.watch_every_s):
                change = self.watch.poll()
                if change is not None:
                    self.on_change(change)
        finally:
            self._shutdown()

    def stop(self) -> None:
        self._stop.set()

    def _shutdown(self) -> None:
        self.channels.stop()
        if self.ladder is not None:
            self.ladder.stop()
            self.ladder.service.close()
        if self.sync is not None:
            self.sync.stop()
            self.sync.engine.client.close()
        self.watch.close()
