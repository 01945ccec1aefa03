"""The facts every front end reports the same way: who is on call, the link and its outages,
where each ladder stands. The window passes its live sync status; a command line process reads
what the journal keeps (the last sync, the outages, the entries set aside), so
`dispatch-desk handover` prints the sheet the window would."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from app.application import Desk
from app.errors import DeskError
from app.loaders import load_ladder
from app.services.escalation.ladder import Ladder
from app.services.escalation.view import escalation_lines, ladder_states
from app.services.handover.facts import EscalationLine, OnCallLine, SyncFacts
from app.services.handover.sources import load_outages, on_call_lines, sync_facts
from app.services.roster.verification import VERIFY_CARD, unverified
from app.sync.enroll import enrolled
from app.sync.protocol import DeskSeen
from app.sync.status import SyncStatus, initial_status

log = logging.getLogger(__name__)


class DeskFacts:
    def __init__(self, desk: Desk, *, live_sync: Callable[[], SyncStatus | None] | None = None,
                 outages: Callable[[], list[tuple[datetime, datetime | None]]] | None = None,
                 desks: Callable[[], Sequence[DeskSeen]] | None = None) -> None:
        self.desk = desk
        self._live_sync, self._outages, self._desks = live_sync, outages, desks
        self._ladder: Ladder | None = None

    def on_call(self, now: datetime | None = None) -> Sequence[OnCallLine] | None:
        roster = self.desk.roster.roster
        at = now or self.desk.clock.now()
        if not roster.contacts:
            return None
        # The handover sheet and the wallboard warn about on-call people whose number was not
        # verified in 30 days (`dispatch-desk roster verify`): marked beside the name.
        stale = {u.name for u in unverified(roster, self.desk.journal.entries(VERIFY_CARD), at)}
        return [replace(line, unverified=True) if line.name in stale and not line.is_next
                else line for line in on_call_lines(roster, at)]

    def sync(self) -> SyncFacts | None:
        if self._live_sync is not None:
            status = self._live_sync()
        else:
            try:
                status = initial_status(self.desk.journal, enrolled=enrolled(self.desk.journal))
            except DeskError as exc:  # no keyring here: the sheet says "not synced"
                log.info("sync facts unavailable: %s", exc)
                return None
        outages = self._outages() if self._outages else load_outages(self.desk.journal)
        return sync_facts(status, outages, self._desks() if self._desks else ())

    def escalations(self) -> Mapping[str, EscalationLine] | None:
        try:
            if self._ladder is None:  # read once: the wallboard asks every 15 s
                self._ladder = load_ladder(self.desk.settings.ladder)
            ladder = self._ladder
            states = ladder_states(self.desk.journal, ladder, active_only=True)
        except DeskError as exc:
            log.warning("ladder state unavailable: %s", exc)
            return None
        return {line.card_id: line for line in escalation_lines(states, ladder)}
