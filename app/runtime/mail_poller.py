"""The intake mailbox over time: every `mail_poll_s` (on the injected clock) take the mail not
yet done, make each an intake item, and only then mark it done on the server.

Never lost, never doubled, whatever moment the desk dies at:

* killed after the fetch, before the journal write: nothing was marked, so the next poll
  fetches the same mail again;
* killed after the write, before the mark: the next poll fetches it again and finds it in
  the journal already, so it only marks it. A mail's alert is the same on every fetch: its
  instant is the server's INTERNALDATE plus its UID in microseconds (`received_time`), and
  that instant is in the entry that recorded it, an ``intake.received`` (a new item) or an
  ``intake.repeated`` (a repeat of an open one), whichever `receive` made of it.
  (`IntakeService.receive` itself writes a second repeat for the same alert given twice.)
* the mark (MOVE or a flag) comes only after `receive` returned, i.e. after the commit.

A mail that cannot be read still becomes an item that says so; a failing server (down, wrong
password, untrusted certificate) is reported through `on_error` and tried again at the next
poll: the desk never stops for its mailbox. `DD_MAIL_FAULT=fetched|written` halts the poller
at that point (for the crash test, which kills it there).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.adapters.imap import (
    BATCH,
    MAIL_PASSWORD,
    FetchedMail,
    ImapMailbox,
    Mailbox,
    parse_mail_server,
)
from app.adapters.secrets import SecretStore
from app.application import Desk
from app.clock import Clock
from app.config import Settings
from app.errors import DeskError, ValidationError
from app.models.intake_read import intake_since
from app.models.journal import Journal
from app.protocol.intake import Alert, derive_key
from app.services.intake import IntakeService, Integration
from app.services.intake.mail import (
    CHANNEL,
    SUMMARY_MAX,
    mail_alert,
    one_line,
    parse_mail,
    received_time,
)

log = logging.getLogger(__name__)

FAULT_ENV = "DD_MAIL_FAULT"
#: The integration name mail arrives under when the journal has no (or several) integrations
#: of kind email; with exactly one, its name (and so its default category and site).
INTEGRATION = "email"
#: Who the journal says wrote a mail's item: the door, not the person at the desk.
OPERATOR = "mailbox"
#: The longest a running poller sleeps between looks at the clock (real seconds), so a clock
#: that jumped, or a stop, is noticed soon.
WAKE_S = 1.0


class Receiver(Protocol):
    journal: Journal

    def receive(self, alerts: Sequence[Alert], operator: str) -> Sequence[Any]: ...

    def integrations(self) -> Sequence[Integration]: ...


class MailInJournal:
    """The instants of the mail already recorded in a journal, read incrementally (the
    intake entries since the last look: a short range scan on the kind index)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._seq = 0
        self._seen: set[tuple[str, str]] = set()

    def has(self, alert: Alert) -> bool:
        new, self._seq = intake_since(self.journal, self._seq)
        for entry in new:
            p = entry.payload
            if p.get("channel") != CHANNEL:
                continue
            if entry.kind == "intake.received":
                self._seen.add((str(p.get("integration")), str(p.get("received_at"))))
            elif entry.kind == "intake.repeated":
                self._seen.add((str(p.get("integration")), str(p.get("at"))))
        return (alert.integration, alert.received_at.isoformat()) in self._seen


@dataclass
class PollReport:
    """What one poll did: mails taken, items written, mails marked done, what went wrong."""

    fetched: int = 0
    written: int = 0
    marked: int = 0
    unreadable: int = 0

    def summary(self) -> str:
        text = f"mail: {self.fetched} fetched, {self.written} written, {self.marked} done"
        if self.unreadable:
            text += f", {self.unreadable} unreadable (kept as items)"
        return text


def fault_point(name: str) -> None:
    """Halt here when the crash test asks (DD_MAIL_FAULT=name): it kills the process now."""
    if os.environ.get(FAULT_ENV) == name:
        sys.stderr.write(f"mail fault point: {name}\n")
        sys.stderr.flush()
        threading.Event().wait()


def _nothing(*_: object) -> None:
    return None


def _email_integration(intake: Receiver) -> str:
    live = [i.name for i in intake.integrations() if i.kind == CHANNEL and not i.revoked]
    return live[0] if len(live) == 1 else INTEGRATION


class MailPoller:
    def __init__(self, intake: Receiver, open_mailbox: Callable[[], Mailbox], clock: Clock, *,
                 every_s: float, integration: str | None = None, operator: str = OPERATOR,
                 batch: int = BATCH, on_error: Callable[[str], None] = _nothing,
                 on_polled: Callable[[PollReport], None] = _nothing,
                 fault: Callable[[str], None] = fault_point) -> None:
        self.intake, self.open_mailbox, self.clock = intake, open_mailbox, clock
        self.recorded = MailInJournal(intake.journal)
        self.every = timedelta(seconds=every_s)
        self.integration, self.operator, self.batch = integration, operator, batch
        self._integration = integration or INTEGRATION
        self._on_error, self._on_polled, self._fault = on_error, on_polled, fault
        self.next_at: datetime | None = None  # None: at once
        self.last: PollReport | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one poll ---------------------------------------------------------------------------

    def poll_once(self) -> PollReport:
        """Take every mail not yet done (a batch at a time) into the journal, then mark it.
        Raises DeskError when the mailbox cannot be reached or refuses us."""
        report = PollReport()
        self._integration = self.integration or _email_integration(self.intake)
        mailbox = self.open_mailbox()
        try:
            while True:
                mails = mailbox.unprocessed(self.batch)
                for mail in mails:
                    self._take(mailbox, mail, report)
                if len(mails) < self.batch:
                    break
        finally:
            mailbox.close()
        return report

    def _take(self, mailbox: Mailbox, mail: FetchedMail, report: PollReport) -> None:
        report.fetched += 1
        self._fault("fetched")
        alert = self._alert(mail, report)
        if self.recorded.has(alert):
            log.info("mail %s is in the journal already (a poll died before marking it)",
                     mail.place)
        else:
            self._receive(mail, alert, report)
        self._fault("written")
        mailbox.mark_done(mail)
        report.marked += 1

    def _receive(self, mail: FetchedMail, alert: Alert, report: PollReport) -> None:
        try:
            self.intake.receive([alert], self.operator)
        except ValidationError as exc:  # the mapping should make every mail valid: keep it
            log.warning("mail %s refused as read (%s); kept as an unreadable mail", mail.place,
                        exc)
            report.unreadable += 1
            unreadable = replace(self._unreadable(mail, str(exc), alert.received_at),
                                 source=alert.source, callback=alert.callback)
            self.intake.receive([unreadable], self.operator)
        report.written += 1

    def _alert(self, mail: FetchedMail, report: PollReport) -> Alert:
        try:
            message = parse_mail(mail.raw)
            return mail_alert(
                message, integration=self._integration, place=mail.place,
                received_at=received_time(mail.arrived, message, self.clock.now(), mail.uid),
                truncated_bytes=mail.size - len(mail.raw) if mail.truncated else 0)
        except (ValueError, TypeError, LookupError, IndexError, AttributeError) as exc:
            # The parser is lenient; a mail it still chokes on is a fact, not a reason to stop.
            log.warning("mail %s could not be read: %s", mail.place, exc)
            report.unreadable += 1
            at = received_time(mail.arrived, parse_mail(b""), self.clock.now(), mail.uid)
            return self._unreadable(mail, f"{exc.__class__.__name__}: {exc}", at)

    def _unreadable(self, mail: FetchedMail, why: str, at: datetime) -> Alert:
        return Alert(
            integration=self._integration, channel=CHANNEL,
            dedup_key=derive_key(self._integration, "unreadable-mail", mail.place),
            summary=one_line(f"An unreadable mail ({mail.size:,} bytes)", SUMMARY_MAX),
            received_at=at,
            details=one_line(f"The desk could not read this mail ({why}); it is kept in the "
                             "mailbox: read it there.", 1000),
            labels={"mailbox_place": mail.place})

    # -- over time --------------------------------------------------------------------------

    def run_due(self) -> datetime:
        """Poll if it is time (by the clock); return when the next poll is due. A failure is
        reported and logged, never raised: the desk keeps running without its mailbox."""
        now = self.clock.now()
        if self.next_at is None or now >= self.next_at:
            self.next_at = now + self.every
            try:
                report = self.poll_once()
            except DeskError as exc:
                self._failed(str(exc))
            except Exception as exc:  # noqa: BLE001 - a bug must not stop the desk silently
                log.exception("mail poll failed")
                self._failed(f"the mail poll failed ({exc.__class__.__name__}: {exc}); see "
                             "the log")
            else:
                self.last = report
                if self.last_error:
                    log.info("mailbox reachable again")
                self.last_error = ""
                if report.fetched:
                    log.info("%s", report.summary())
                self._on_polled(report)
        return self.next_at

    def _failed(self, text: str) -> None:
        repeated = text == self.last_error
        self.last_error = text
        if not repeated:  # the same failure every 30 s is said once
            log.warning("mailbox: %s", text)
            self._on_error(text)

    def start(self) -> None:
        """`run` on a thread of its own."""
        self._thread = threading.Thread(target=self.run, name="mail-poller", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Poll when due until `stop`."""
        while not self._stop.is_set():
            due = self.run_due()
            wait = (due - self.clock.now()).total_seconds()
            self._stop.wait(min(max(wait, 0.0), WAKE_S))

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)


def mailbox_opener(settings: Settings, secrets: SecretStore) -> Callable[[], Mailbox]:
    """Opens the settings' mailbox; the password is read from the keyring at every poll, so
    `dispatch-desk intake set-mail-password` takes effect without a restart."""
    server = parse_mail_server(settings.mail_server)

    def open_mailbox() -> Mailbox:
        return ImapMailbox.connect(
            server, settings.mail_user, secrets.get(MAIL_PASSWORD) or "",
            folder=settings.mail_folder, done_folder=settings.mail_done_folder,
            ca_file=settings.mail_ca_file)

    return open_mailbox


def mail_poller_for(desk: Desk, secrets: SecretStore, **options: Any) -> MailPoller | None:
    """The desk's mail poller, or None when no `mail_server` is set."""
    settings = desk.settings
    if not settings.mail_server:
        return None
    # An intake service of its own: the desk's keeps a cache for the thread that uses it.
    core = desk.intake
    intake = IntakeService(desk.journal, desk.rules, core.intake_rules, desk.clock, desk.cards,
                           auto_register=core.auto_register)
    return MailPoller(intake, mailbox_opener(settings, secrets), desk.clock,
                      every_s=settings.mail_poll_s, **options)
