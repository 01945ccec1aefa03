"""The emergency line read by the desk itself: inbound SMS fetched from Twilio's REST API, so
that a text sent while the store is unreachable (and Twilio's webhook to it failed) still
reaches the tray.

Every `every_s` the desk lists the messages sent to the line's number since the last one it
saw (a little overlap: Twilio's times are whole seconds) and takes each it has not already got.
A message is offered to the ladder first, exactly as the store's webhook does: an answer to
an open page (a reply code, a STOP, any text from a paged number) or a contact's verification
code is the escalation poll's, never an emergency. Everything else becomes the same
``intake.received`` entry the store's webhook writes (`app.protocol.phone_line`: ids from the
MessageSid), so whichever copy comes second -- the webhook's after the store is back, or this
one after the webhook's was pulled -- is the same entry and is stored once.

While the link to the store is up the webhook normally gets there first, so a message is only
taken here once it is `grace_s` old (its copy has been pulled by then, and every journal holds
the very same entry, time and all); with the link down it is taken at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.adapters.pager import InboundReply
from app.adapters.twilio_pager import TwilioPager
from app.clock import Clock
from app.errors import DeskError, ValidationError
from app.models.entry import NewEntry, fact_id
from app.models.journal import Journal
from app.protocol.catalogue import INTEGRATIONS_CARD
from app.protocol.phone_line import (
    LineSettings,
    entry_id,
    item_id,
    sms_alert,
)
from app.services.escalation.inbound import OpenPage, answer_reply, open_pages
from app.services.escalation.ladder import Ladder
from app.services.escalation.view import ladder_states
from app.services.intake.integrations import integrations_from
from app.services.roster.verification import VERIFY_CARD, PendingCheck, pending

log = logging.getLogger(__name__)

#: How often the desk asks Twilio (real seconds): Twilio allows far more, an SMS waits this.
POLL_EVERY_S = 5.0
#: How old a message must be before the desk takes it while the store is reachable.
GRACE_S = 20.0
#: How far back the first poll of a journal looks.
FIRST_LOOK = timedelta(hours=1)
#: Twilio's DateSent is whole seconds and its filter may be per day: overlap, dedupe by id.
OVERLAP = timedelta(seconds=2)
OPERATOR = "phone line"
_CURSOR = "twilio_inbox.since"
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class InboxReport:
    fetched: int = 0
    taken: int = 0  # new items written
    answers: int = 0  # left to the ladder (acks, replies, STOP)
    waiting: int = 0  # younger than the grace while the store is reachable
    refused: list[str] = field(default_factory=list)  # not a message the tray can hold

    def summary(self) -> str:
        text = (f"phone line: {self.fetched} fetched, {self.taken} new, "
                f"{self.answers} answers to pages")
        return text + "".join(f"; {r}" for r in self.refused)


def _nothing(*_: object) -> None:
    return None


def _offline() -> bool:
    return False


def line_settings(journal: Journal) -> LineSettings:
    """The phone line's integration as this desk knows it: the newest of kind "sms" not
    revoked (the store reads its own copy of the same entries)."""
    live = [i for i in integrations_from(journal.entries(INTEGRATIONS_CARD))
            if i.kind == "sms" and not i.revoked]
    if not live:
        return LineSettings()
    newest = max(live, key=lambda i: i.added_at or _EPOCH)
    return LineSettings(integration=newest.name, category=newest.category, site=newest.site,
                        kind_of_work=newest.kind_of_work)


class TwilioInbox:
    def __init__(self, journal: Journal, pager: TwilioPager, ladder: Ladder, clock: Clock, *,
                 number: str | None = None, every_s: float = POLL_EVERY_S,
                 grace_s: float = GRACE_S, link_up: Callable[[], bool] = _offline,
                 take: Callable[[Sequence[NewEntry]], int] | None = None,
                 on_taken: Callable[[frozenset[str]], None] = _nothing,
                 on_error: Callable[[str], None] = _nothing) -> None:
        self.journal, self.pager, self.ladder, self.clock = journal, pager, ladder, clock
        self.number = number or pager.number
        self.every_s, self.grace = every_s, timedelta(seconds=grace_s)
        self._link_up = link_up
        self._take = take or self._write
        self._on_taken, self._on_error = on_taken, on_error
        self.last: InboxReport | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one poll ---------------------------------------------------------------------------

    def poll_once(self) -> InboxReport:
        """Take every new message to the line into the journal; raises PagerError when Twilio
        cannot be reached (the next poll tries again from the same point)."""
        now = self.clock.now()
        cursor = self.journal.get_meta(_CURSOR)
        since = datetime.fromisoformat(cursor) if cursor else now - FIRST_LOOK
        messages = self.pager.fetch_replies(since - OVERLAP, to=self.number)
        report = InboxReport(fetched=len(messages))
        waiting = self.grace if self._link_up() else timedelta(0)
        line = line_settings(self.journal)
        pages: list[OpenPage] | None = None
        checks: list[PendingCheck] = []
        made: list[NewEntry] = []
        newest, held = since, None
        for message in messages:
            # Already an item, or already an answer on a card (the ladder's poll or the store
            # recorded it under inbound.py's id): either way nothing more to do here.
            if (self.journal.has_entry(entry_id(message.sid))
                    or self.journal.has_entry(fact_id(f"inbound:{message.sid}"))):
                newest = max(newest, message.received_at)
                continue
            if now - message.received_at < waiting:
                report.waiting += 1
                held = message.received_at if held is None else min(held, message.received_at)
                continue
            newest = max(newest, message.received_at)
            if pages is None:  # read the ladders only when there is something to judge
                # Acknowledged ladders too, like the store's webhook: a late "1" to a page
                # someone else took is still an answer, not an emergency.
                pages = open_pages(ladder_states(self.journal, self.ladder))
                checks = pending(self.journal.entries(VERIFY_CARD), now)
            entry = self._judge(message, line, pages, checks, report)
            if entry is not None:
                made.append(entry)
        if made:
            report.taken = self._take(made)
            self._on_taken(frozenset(e.card_id for e in made))
        # Never past a message still waiting out its grace, or it would never be read again.
        mark = min(newest, held) if held is not None else newest
        if mark > since:
            self.journal.set_meta(_CURSOR, mark.isoformat())
        self.last = report
        return report

    def _judge(self, message: InboundReply, line: LineSettings, pages: Sequence[OpenPage],
               checks: Sequence[PendingCheck], report: InboxReport) -> NewEntry | None:
        try:
            if answer_reply(message.sid, message.from_number, message.body,
                            message.received_at, pages, checks=checks).entries:
                # A command, a reply or a verification code: the escalation poll records
                # it (same ids as here), never an emergency.
                report.answers += 1
                return None
            alert = sms_alert(message.sid, message.from_number, self.number, message.body,
                              message.received_at, line)
        except ValidationError as exc:
            report.refused.append(f"{message.sid}: {exc.message}")
            return None
        return NewEntry(item_id(message.sid), "intake.received", alert.received_payload(),
                        id=entry_id(message.sid))

    def _write(self, made: Sequence[NewEntry]) -> int:
        return len(self.journal.write(made, OPERATOR))

    # -- over time --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="twilio-inbox", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.poll_once()
                self.last_error = ""
                if report.taken or report.refused:
                    log.info("%s", report.summary())
            except DeskError as exc:
                if exc.message != self.last_error:  # said once per outage, not every poll
                    self._on_error(f"phone line: {exc.message}")
                self.last_error = exc.message
            except Exception:  # noqa: BLE001 - a bug must not stop the line silently
                log.exception("phone line poll failed")
            self._stop.wait(self.every_s)
