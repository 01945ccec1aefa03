"""Reading the answers back from the provider: SMS replies (reply codes, STOP, verification
codes), how calls ended and the keys pressed in them. `EscalationService.poll` runs this.

Only the desk that runs a card's ladder (`runner.ladder_runner`, the same rule that decides
who fires its steps) reads that card's answers, and a verification's replies are read by the
desk that sent it: desks sharing one Twilio account would otherwise each record every reply.
The store's webhook may record the same event too; ids and payloads come from the event
(`inbound`), so the copies agree and the store keeps one. A help reply is written to the
journal (``pager.help``) before it is sent, so it goes out once, and only from here or from
the store's answer to the webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.adapters.pager import CallOutcome, PagerError
from app.models.entry import NewEntry, fact_id
from app.models.projection import CardState
from app.services.escalation.inbound import (
    PAGER_CARD,
    CardLookup,
    answer_reply,
    entries_for_call,
    open_pages,
)
from app.services.escalation.reply_codes import last_help
from app.services.escalation.runner import ladder_runner
from app.services.escalation.state import LadderState
from app.services.roster.verification import VERIFY_CARD, pending

if TYPE_CHECKING:
    from app.services.escalation.service import EscalationService, RunResult

log = logging.getLogger(__name__)

REPLIES_CURSOR = "ladder.replies_since"
#: How long a call's result is still looked up, and how long a page is still answered.
CALL_WATCH = timedelta(minutes=30)
PAGE_WATCH = timedelta(hours=2)
#: How often one call's result is asked for. SMS replies are read at every poll (2 s), but a
#: call is two requests each time and rings for up to a minute: asking for 25 ringing calls
#: every 2 s starved the page sends of the next tiers (step lateness p99 over 1 s). A key
#: pressed in a call reaches the store's webhook at once; read by polling it waits <= 10 s.
CALL_CHECK_EVERY = timedelta(seconds=10)
#: Twilio's DateSent is whole seconds: look a little back, dedupe by id.
OVERLAP = timedelta(seconds=2)


def mine(service: EscalationService, heartbeats: Mapping[str, datetime] | None,
         now: datetime) -> list[LadderState]:
    """The ladders whose answers this desk reads: the ones it runs, with a page out lately
    (acknowledged ones too: an ETA may follow a key press)."""
    me = service.journal.desk_id
    beats = heartbeats or {}
    return [s for s in service.states() if s.steps
            and ladder_runner(s.owner, me, beats, now) == me
            and any(now - st.fired_at <= PAGE_WATCH for st in s.steps)]


def live(service: EscalationService, heartbeats: Mapping[str, datetime] | None,
         now: datetime) -> bool:
    """Whether answers are awaited here now: a running ladder, or a verification sent."""
    me = service.journal.desk_id
    if any(s.running for s in mine(service, heartbeats, now)):
        return True
    return any(c.desk_id == me for c in pending(service.journal.entries(VERIFY_CARD), now)
               if now - c.sent_at <= PAGE_WATCH)


def read_answers(service: EscalationService, result: RunResult,
                 heartbeats: Mapping[str, datetime] | None = None) -> None:
    """One poll: replies since the cursor, then the calls still out. Raises PagerError when
    the provider cannot be reached (the cursor stays, the next poll reads them)."""
    journal, clock = service.journal, service.clock
    now = clock.now()
    running = mine(service, heartbeats, now)
    pages = open_pages(running)
    checks = [c for c in pending(journal.entries(VERIFY_CARD), now)
              if c.desk_id == journal.desk_id]
    cursor = journal.get_meta(REPLIES_CURSOR)
    # Never further back than a page is answered: a desk that slept for days does not list
    # the account's whole history.
    since = max(datetime.fromisoformat(cursor), now - PAGE_WATCH) if cursor else \
        now - timedelta(hours=1)
    cards: dict[str, CardState] = {}

    def card(card_id: str) -> CardState | None:
        if card_id not in cards:
            cards[card_id] = journal.card(card_id)
        return cards[card_id]

    entries: list[NewEntry] = []
    helps: dict[str, tuple[str, str]] = {}  # pager.help id -> (number, text)
    newest = since
    if pages or checks:
        helped = dict(last_help(journal.entries(PAGER_CARD)))
        for reply in service.pager.fetch_replies(since - OVERLAP):
            newest = max(newest, reply.received_at)
            if journal.has_entry(fact_id(f"inbound:{reply.sid}")):
                continue  # recorded already (the store's webhook, or an earlier poll)
            answer = answer_reply(reply.sid, reply.from_number, reply.body, reply.received_at,
                                  pages, helped=helped, checks=checks, card=card)
            entries += answer.entries
            if answer.reply:
                helps[fact_id(f"inbound:{reply.sid}:help")] = (reply.from_number, answer.reply)
                helped[reply.from_number] = reply.received_at
    # Calls only of ladders still running: once acknowledged, how a call ended changes nothing
    # (and asking Twilio about every call of the last half hour would slow each poll).
    entries += _call_results(service, [s for s in running if s.running], now, card)
    written = service._write(entries, result)
    _send_help(service, [helps[e.id] for e in written if e.id in helps])
    service._settle_acks(result)
    if newest > since:
        journal.set_meta(REPLIES_CURSOR, newest.isoformat())


def _call_results(service: EscalationService, running: list[LadderState], now: datetime,
                  card: CardLookup) -> list[NewEntry]:
    pages = open_pages(running)
    done = {c.sid for s in running for st in s.steps for c in st.channels.values()
            if c.outcome is not None}
    checked = service._call_checked
    calls = [p for p in pages if p.call_sid and p.call_sid not in done
             and now - p.sent_at <= CALL_WATCH
             and now - checked.get(p.call_sid, p.sent_at - CALL_CHECK_EVERY)
             >= CALL_CHECK_EVERY]
    for page in calls:
        checked[str(page.call_sid)] = now
    for sid in [s for s, at in checked.items() if now - at > CALL_WATCH]:
        del checked[sid]  # forgotten once no longer watched
    outcomes = service._answers_pool.map(
        lambda p: service.pager.call_outcome(str(p.call_sid)), calls)
    out: list[NewEntry] = []
    for page, outcome in zip(calls, outcomes, strict=True):
        if outcome != CallOutcome.IN_PROGRESS:
            out += entries_for_call(str(page.call_sid), outcome.value, pages, now, card)
    return out


def _send_help(service: EscalationService, helps: list[tuple[str, str]]) -> None:
    """Send the help replies just recorded; a failure is logged (the person may text again,
    and the limit keeps a retry from becoming a flood)."""
    for number, text in helps:
        try:
            service.pager.send_sms(number, text)
        except PagerError as exc:
            log.warning("help reply to %s not sent: %s", number, exc)
