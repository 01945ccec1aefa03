"""The outbox at work: queue what the journal asks for, send what is due, record each outcome.

One thread, woken by every write (`nudge`) and at the next due time. A pass:

1. **Queue.** The entries that ask for messages (`triggers.TRIGGER_KINDS`) after a
   desk-local cursor; for each one this desk is the sender of (`triggers.sender_of`), the
   ``message.queued`` entries it asks for are written, in one transaction, ids from the
   cause. The cursor starts at the journal's end on a desk's first run: messages from now on.
2. **Send.** The outbox derived from the message entries (`outbox.messages`); what this desk
   queued and is due now (`outbox.due`: waiting, not stale, not held by the per-number
   throttle) is sent in parallel: SMS through the Twilio client, e-mail through SMTP. The
   journal's write lock is never held while sending: the queue entry is committed before,
   the outcome entries after.
3. A send cut short by a crash (its id still in the desk's in-flight list at the next
   start) is recorded as *in doubt*, not sent again: a person confirms it in the outbox.

A notice to someone the card's ladder has already paged is recorded as sent "via page":
the page told them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from app.adapters.pager import PagerError, PagerHttpError
from app.adapters.secrets import SecretStore
from app.adapters.smtp import SECRET_NAME as SMTP_SECRET
from app.adapters.smtp import MailError, SmtpSender
from app.adapters.twilio_pager import MAX_VALIDITY_S, TwilioPager
from app.application import Desk
from app.clock import Clock
from app.errors import DeskError
from app.loaders import load_notification_plan, load_templates
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.runtime.message_ledger import CURSOR_KEY, IN_FLIGHT_KEY, MessageLedger
from app.runtime.step_loop import StepLoop
from app.services.escalation.recipients import Recipients
from app.services.messages import outbox as ob
from app.services.messages.outbox import Message
from app.services.messages.triggers import TRIGGER_KINDS, Context, sender_of, wanted
from app.services.roster import Roster

log = logging.getLogger(__name__)

OPERATOR = "outbox"
IDLE_S = 2.0
BATCH = 200
#: Ladder pages older than this are not looked at for the per-number throttle.
_PAGES_BACK = timedelta(minutes=10)


class MessageWorker(StepLoop):
    def __init__(self, journal: Journal, clock: Clock, context: Callable[[], Context], *,
                 pager: TwilioPager | None = None,
                 mailer: Callable[[], SmtpSender] | None = None,
                 intake_desk: bool = False, idle_s: float = IDLE_S,
                 on_error: Callable[[str], None] | None = None,
                 on_wrote: Callable[[frozenset[str]], None] | None = None) -> None:
        super().__init__("outbox", idle_s,
                         on_error or (lambda text: log.warning("outbox: %s", text)))
        self.journal, self.clock, self.pager = journal, clock, pager
        self._context, self._mailer = context, mailer
        self.intake_desk = intake_desk
        self.ledger = MessageLedger(journal)
        self._on_wrote = on_wrote or (lambda _cards: None)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="outbox")
        self._busy = threading.Lock()
        if journal.get_meta(CURSOR_KEY) is None:
            journal.set_meta(CURSOR_KEY, str(self.ledger.top()))
        self._settle_in_doubt()

    @property
    def me(self) -> str:
        return self.journal.desk_id

    # -- one pass -------------------------------------------------------------------------

    def step(self) -> float | None:
        """Queue and send what is due; seconds until something is due again (None: nothing
        is scheduled). Safe to call from any thread: passes never overlap."""
        with self._busy:
            while self._queue_new():
                pass
            return self._send_due()

    def _write(self, entries: list[NewEntry]) -> list[Entry]:
        if not entries:
            return []
        written = self.journal.write(entries, OPERATOR)
        if written:
            self._on_wrote(frozenset(e.card_id for e in written))
        return written

    def _queue_new(self) -> bool:
        """Queue what the next batch of entries asks for; True when more are waiting."""
        cursor = int(self.journal.get_meta(CURSOR_KEY) or 0)
        found, scanned = self.ledger.after(cursor, TRIGGER_KINDS, BATCH)
        out: list[NewEntry] = []
        if found:
            ctx = self._context()
            for _seq, trigger in found:
                out += self._wanted(trigger, ctx)
        self._write(out)
        if scanned != cursor:
            self.journal.set_meta(CURSOR_KEY, str(scanned))
        return len(found) == BATCH

    def _wanted(self, trigger: Entry, ctx: Context) -> list[NewEntry]:
        card = None
        entries: list[Entry] = []
        if trigger.kind != "intake.received":
            try:
                card = self.journal.card(trigger.card_id)
            except DeskError:
                return []
            entries = self.ledger.card_entries(trigger.card_id)
        sender = sender_of(trigger, card, entries, self.intake_desk)
        if sender not in (self.me, ""):
            return []
        if trigger.kind == "intake.received" and trigger.desk_id.startswith("store-") \
                and trigger.payload.get("channel") == "sms":
            return []  # the store answered the text itself (the integration's `reply`)
        items = self.ledger.items_of(trigger.card_id) if trigger.kind == "card.ack" else {}
        try:
            return wanted(trigger, card, entries, items, ctx)
        except (KeyError, ValueError) as exc:  # a template the file check let through
            self._say_once(f"tpl:{exc}", f"a message could not be written: {exc}")
            return []

    def outbox(self) -> list[Message]:
        return list(ob.messages(self.ledger.of_kinds(ob.MESSAGE_KINDS)).values())

    def _send_due(self) -> float | None:
        now = self.clock.now()
        msgs = self.outbox()
        recent = ob.pages(self.ledger.of_kinds(("ladder.step", "ladder.page"),
                                               since=now - _PAGES_BACK))
        throttle = self._context().templates.throttle
        todo = ob.due([*msgs, *recent], self.me, now, throttle)
        if todo.send:
            self._send(todo.send)
            return 0.0
        if todo.next_wake is None:
            return None
        return max((todo.next_wake - now).total_seconds(), 0.0)

    def _send(self, batch: list[Message]) -> None:
        self.journal.set_meta(IN_FLIGHT_KEY, json.dumps([m.id for m in batch]))
        futures = [(m, self._pool.submit(self._send_one, m)) for m in batch]
        out: list[NewEntry] = []
        for m, future in futures:
            now = self.clock.now()
            try:
                sid, status, via = future.result()
            except MailError as exc:
                out.append(ob.failed_entry(m, now, exc.message, retryable=exc.retryable,
                                           status=exc.code))
            except PagerError as exc:
                retryable = not isinstance(exc, PagerHttpError) or exc.retryable
                out.append(ob.failed_entry(m, now, exc.message, retryable=retryable,
                                           status=getattr(exc, "status", None)))
            except DeskError as exc:  # e-mail off, no password: a person must fix it
                out.append(ob.failed_entry(m, now, exc.message, retryable=False))
            else:
                out.append(ob.sent_entry(m, now, sid, status, via))
        self._write(out)
        self.journal.set_meta(IN_FLIGHT_KEY, "[]")
        for entry in out:
            if entry.kind == "message.failed" and int(entry.payload.get("try", 1)) == 1:
                self._on_error(f"{entry.payload['error']} (outbox: F8)")

    def _send_one(self, m: Message) -> tuple[str | None, str | None, str]:
        if m.channel == "email":
            if self._mailer is None:
                raise DeskError("e-mail is off: set [smtp] in the settings file",
                                field="smtp")
            return self._mailer().send(m.to, m.subject or m.body[:80], m.body), "sent", "email"
        if m.type == "notice" and self._paged(m):
            return None, "paged", "page"
        if self.pager is None:
            raise PagerError("paging is off on this desk (no Twilio credentials): the text "
                             "cannot go; `dispatch-desk ladder set-credentials`")
        left = int((m.expires_at - self.clock.now()).total_seconds()) if m.expires_at else 0
        validity = min(max(left, 1), MAX_VALIDITY_S) if m.expires_at else None
        result = self.pager.send_sms(m.to, m.body, validity_s=validity)
        return result.sid, result.status, "sms"

    def _paged(self, m: Message) -> bool:
        """Whether the card's ladder has paged this number already (its step names it)."""
        return any(e.kind == "ladder.step" and m.to in dict(e.payload.get("to") or {}).values()
                   for e in self.ledger.of_kinds(("ladder.step",), card_id=m.card_id))

    def _settle_in_doubt(self) -> None:
        try:
            ids = set(json.loads(self.journal.get_meta(IN_FLIGHT_KEY) or "[]"))
        except ValueError:
            ids = set()
        if not ids:
            return
        now = self.clock.now()
        doubt = [ob.failed_entry(m, now, "the desk stopped while sending; not sent again "
                                 "to avoid a double text, so it may or may not have gone "
                                 "out: confirm to send it", retryable=False, in_doubt=True)
                 for m in self.outbox() if m.id in ids and m.state(now) in ob.WAITING]
        self._write(doubt)
        self.journal.set_meta(IN_FLIGHT_KEY, "[]")

    def stop(self, timeout_s: float = 5.0) -> None:
        self._join(timeout_s)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.ledger.close()


def next_due(msgs: list[Message], now: datetime) -> datetime | None:
    """The earliest time a waiting message may go (for a display)."""
    times = [m.due_at() for m in msgs if m.state(now) in ob.WAITING]
    return min(times) if times else None


def message_worker_for(desk: Desk, secrets: SecretStore, *, pager: TwilioPager | None,
                       on_error: Callable[[str], None],
                       on_wrote: Callable[[frozenset[str]], None] | None = None
                       ) -> MessageWorker:
    """The outbox of a desk: its messages file, its policies' notification plan, its roster
    (re-read when edited) and routing, Twilio for SMS and the [smtp] setting for e-mail.
    A broken messages file or plan is a ConfigError naming the key."""
    settings = desk.settings
    templates = load_templates(settings.message_templates)
    plan = load_notification_plan(settings.policies, desk.rules)
    roster_store = desk.roster

    def current_roster() -> Roster:
        try:
            roster_store.refresh()
        except DeskError as exc:  # a broken edit: keep informing with the last good roster
            log.warning("roster file not reloaded: %s", exc)
        return roster_store.roster

    recipients = Recipients(current_roster, routing=lambda: roster_store.routing,
                            hours=desk.rules.business_hours)

    def context() -> Context:
        return Context(templates, plan, current_roster(), recipients.group)

    mailer = None
    if settings.smtp.configured:
        def mailer() -> SmtpSender:
            return SmtpSender(settings.smtp, secrets.get(SMTP_SECRET))

    return MessageWorker(desk.journal, desk.clock, context, pager=pager, mailer=mailer,
                         intake_desk=settings.auto_register, on_error=on_error,
                         on_wrote=on_wrote)
