"""The escalation ladder at work: fire due steps, page SMS and voice at once, read answers.

``EscalationService.run_due`` is what a scheduler calls when it wakes: it derives every open
card's ladder from the journal (``escalation_state``), asks ``ladder_runner.plan`` what is due,
and does it. Firing a step is written to the journal FIRST, under a fact id made from (card,
tier, attempt), and only then sent; so a second process, a restart or a retry cannot fire the
same step twice, and after a crash whatever fell due fires at once, flagged late. A step that
was written but whose send left no trace (the desk died mid-send) is recorded as "in doubt"
and not resent; if nothing of it is known to have gone out, the next tier is due at once.

``poll`` reads SMS replies and call results back from the provider (``inbound``). Pure of Qt
and of the network: the pager is injected, time comes from the Clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from app.adapters.pager import Pager, PagerError, PageResult, PagerHttpError
from app.clock import Clock
from app.errors import ConfigError
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.models.projection import CardState
from app.protocol.catalogue import LADDER_KINDS
from app.services.escalation.firing import Job, step_entries
from app.services.escalation.inbound import (
    PAGER_CARD,
    entries_for_ack,
)
from app.services.escalation.ladder import Ladder
from app.services.escalation.recipients import Recipients, sms_text, tier_problems, voice_text
from app.services.escalation.runner import (
    Fire,
    Plan,
    Send,
    bookkeeping,
    plan,
    throttled_until,
)
from app.services.escalation.state import (
    LadderState,
    advance,
    derive,
    last_pages,
    opted_out,
    retry_delay,
    step_id,
)

log = logging.getLogger(__name__)

OPERATOR = "ladder"
_MAX_PASSES = 60  # a restart after a long outage may fire every tier in one call


@dataclass
class RunResult:
    """What one ``run_due`` did: cards it wrote to, alarms to raise at the desk, next wake."""

    touched: set[str] = field(default_factory=set)
    alarms: list[str] = field(default_factory=list)
    next_wake: datetime | None = None
    fired: int = 0
    sent: int = 0


class EscalationService:
    def __init__(self, journal: Journal, ladder: Ladder, pager: Pager, recipients: Recipients,
                 clock: Clock, *, workers: int = 16) -> None:
        self.journal, self.ladder, self.pager = journal, ladder, pager
        self.recipients, self.clock = recipients, clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pager")
        # Reading call results has its own few threads, so a poll never queues ahead of a
        # page being sent; `answers` also remembers when each call was last looked at.
        self._answers_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="answers")
        self._call_checked: dict[str, datetime] = {}
        self._fired_here: set[tuple[str, int, int]] = set()
        # card id -> (its entries' highest local seq, its ladder state); states are only read
        # once derived.
        self._derived: dict[str, tuple[int, LadderState]] = {}
        # card id -> the seq its acknowledgement was last settled at (assignee, status)
        self._acks_seen: dict[str, int] = {}
        self.check_roster()

    def check_roster(self) -> None:
        """Refuse to start a ladder with a tier that can never page anyone (a rota role with
        no rotation, a missing endpoint person): it would be skipped at 03:00 in silence.
        An empty roster (none imported yet) is left to each step's "nobody to page"."""
        roster = self.recipients.roster
        if not roster.groups:
            return
        routing, group = self.recipients.routing, self.recipients.default_group
        problems = tier_problems(self.ladder, roster, routing, default_group=group,
                                 shifts=False)
        for line in tier_problems(self.ladder, roster, routing, default_group=group):
            if line not in problems:
                log.warning("ladder %r: %s", self.ladder.name, line)
        if problems:
            raise ConfigError(f"ladder {self.ladder.name!r} does not fit the roster: "
                              + "; ".join(problems), field="tier")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._answers_pool.shutdown(wait=True)

    # -- reading -----------------------------------------------------------------------------

    def state(self, card_id: str) -> LadderState:
        return derive(self.journal.card(card_id), self.journal.entries(card_id), self.ladder)

    def states(self, *, active_only: bool = False) -> list[LadderState]:
        """Like `ladder_view.ladder_states`, re-deriving only cards whose entries changed
        since the last call (a card's highest local seq moves with every entry that arrives,
        in whatever stamp order): a pass over 30 ladders in flight reads the entries of the
        one card that changed, not of all 30."""
        out = []
        marks = self.journal.last_seqs(open_only=True)
        for card in self.journal.cards(open_only=True):
            if active_only and card.get("acknowledged_at"):
                continue
            mark = marks.get(card["id"], 0)
            seen = self._derived.get(card["id"])
            if seen is not None and seen[0] == mark:
                out.append(seen[1])
                continue
            state = derive(card, self.journal.entries(card["id"]), self.ladder)
            self._derived[card["id"]] = (mark, state)
            out.append(state)
        return out

    def opted_out(self) -> frozenset[str]:
        return opted_out(self.journal.entries(PAGER_CARD))

    # -- the ladder --------------------------------------------------------------------------

    def run_due(self, heartbeats: Mapping[str, datetime] | None = None) -> RunResult:
        """Do everything due now, pass after pass, until nothing is; return the next wake."""
        result = RunResult()
        self._settle_acks(result)
        for _ in range(_MAX_PASSES):
            states = self.states(active_only=True)
            by_id = {s.card_id: s for s in states}
            todo = plan(states, self.ladder, self.clock.now(), me=self.journal.desk_id,
                        heartbeats=heartbeats, last_page=last_pages(states),
                        sending_here=frozenset(self._fired_here))
            result.next_wake = todo.next_wake
            if todo.empty:
                return result
            self._record_bookkeeping(todo, by_id, result)
            jobs = [self._retry_job(send, by_id[send.card_id]) for send in todo.send]
            fresh = self._fire_all(todo.fire, by_id, result)
            jobs += self._unthrottled(fresh, by_id, last_pages(states))
            self._send_all(jobs, result)
        log.warning("ladder: still busy after %d passes; continuing at the next wake",
                    _MAX_PASSES)
        result.next_wake = self.clock.now()
        return result

    def _write(self, entries: list[NewEntry], result: RunResult) -> list[Entry]:
        written = self.journal.write(entries, OPERATOR) if entries else []
        result.touched.update(e.card_id for e in written)
        self._advance(written)
        return written

    def _advance(self, written: Sequence[Entry]) -> None:
        """Bring the cached states of the cards just written up to date from the entries in
        hand, when nothing else arrived for them meanwhile: the next pass then plans from
        them without reading and deriving those cards again (one derive per P1)."""
        mine: dict[str, list[Entry]] = {}
        for e in written:
            mine.setdefault(e.card_id, []).append(e)
        for card_id, entries in mine.items():
            seen = self._derived.get(card_id)
            if seen is None or any(e.kind not in LADDER_KINDS for e in entries):
                continue
            arrived = self.journal.arrived_after(card_id, seen[0])
            if set(arrived) != {e.id for e in entries}:
                continue  # another process wrote too: the next pass derives it afresh
            self._derived[card_id] = (max(arrived.values()), advance(seen[1], entries))

    def _record_bookkeeping(self, todo: Plan, by_id: dict[str, LadderState],
                            result: RunResult) -> None:
        entries, alarms = bookkeeping(todo, by_id, len(self.ladder.tiers),
                                      self.journal.desk_id, self.clock.now())
        result.alarms.extend(alarms)
        self._write(entries, result)

    def _settle_acks(self, result: RunResult) -> None:
        """An acknowledgement by a paged person makes them the card's assignee and moves a
        registered card to In progress, as entries (ids from the ack, so every desk writes
        the same ones). Reads only acknowledged cards whose entries changed."""
        marks = self.journal.last_seqs(open_only=True)
        out: list[NewEntry] = []
        for card in self.journal.cards(open_only=True):
            mark = marks.get(card["id"], 0)
            if not card.get("acknowledged_at") or self._acks_seen.get(card["id"]) == mark:
                continue
            self._acks_seen[card["id"]] = mark
            out += entries_for_ack(card, self.journal.entries(card["id"]))
        self._write(out, result)

    def _fire_all(self, fires: list[Fire], by_id: Mapping[str, LadderState],
                  result: RunResult) -> list[Job]:
        """Write every due step in ONE transaction (the journal first); return their sends.
        A step the journal already had (fired before) is not sent again."""
        if not fires:
            return []
        now, stopped = self.clock.now(), self.opted_out()
        entries: list[NewEntry] = []
        jobs: dict[str, list[Job]] = {}
        alarms: dict[str, str] = {}
        for fire in fires:
            fired = step_entries(fire, self.journal.card(fire.card_id), by_id.get(fire.card_id),
                                 self.ladder, self.recipients, stopped, now)
            entries += fired.entries
            step = str(fired.entries[0].id)
            jobs[step] = fired.jobs
            if fired.alarm:
                alarms[step] = fired.alarm
        out: list[Job] = []
        for entry in self._write(entries, result):
            if entry.kind == "ladder.step":
                p = entry.payload
                self._fired_here.add((entry.card_id, int(p["tier"]), int(p["attempt"])))
                result.fired += 1
                out += jobs[entry.id]
                if entry.id in alarms:
                    result.alarms.append(alarms[entry.id])
        return out

    def _unthrottled(self, jobs: list[Job], by_id: dict[str, LadderState],
                     last_page: Mapping[str, datetime]) -> list[Job]:
        """Fresh sends that may go now: a card's first page to a number always may; a repeat
        within the throttle stays pending and the planner sends it when the throttle ends."""
        now = self.clock.now()
        out = []
        for job in jobs:
            s, state = job.send, by_id.get(job.send.card_id)
            held = state and throttled_until(state, s.to, s.channel, last_page, self.ladder)
            if not held or held <= now:
                out.append(job)
        return out

    def _retry_job(self, send: Send, state: LadderState) -> Job:
        step = next(x for x in state.steps if (x.tier, x.attempt) == (send.tier, send.attempt))
        return Job(send, step.code, step.channels[send.channel].tries,
                    state.step_end(self.ladder, step))

    def _send_all(self, jobs: list[Job], result: RunResult) -> None:
        """Send every channel at once (SMS and voice of a tier go out together), then write
        what happened in one transaction."""
        if not jobs:
            return
        cards = {j.send.card_id: self.journal.card(j.send.card_id) for j in jobs}
        futures = [(j, self._pool.submit(self._send_one, j, cards[j.send.card_id]))
                   for j in jobs]
        entries: list[NewEntry] = []
        for job, future in futures:
            send = job.send
            base = {"tier": send.tier, "attempt": send.attempt, "channel": send.channel,
                    "to": send.to}
            try:
                page = future.result()
            except PagerError as exc:
                tries = job.tries + 1
                retryable = not isinstance(exc, PagerHttpError) or exc.retryable
                retry_after = exc.retry_after if isinstance(exc, PagerHttpError) else None
                retry_at: datetime | None = self.clock.now() + retry_delay(tries, retry_after)
                if not retryable or tries >= self.ladder.max_tries or \
                        self.clock.now() + retry_delay(tries, retry_after) >= job.step_end:
                    retry_at = None  # given up within this tier
                entries.append(NewEntry(send.card_id, "ladder.page_failed", {
                    **base, "try": tries, "retryable": retryable, "error": exc.message,
                    "status": getattr(exc, "status", None),
                    "retry_at": retry_at.isoformat() if retry_at else None},
                    id=step_id(send.card_id, send.tier, send.attempt, send.channel, "try",
                               tries)))
                continue
            entries.append(NewEntry(send.card_id, "ladder.page", {
                **base, "sid": page.sid, "status": page.status},
                id=step_id(send.card_id, send.tier, send.attempt, send.channel, "sent")))
            result.sent += 1
        self._write(entries, result)

    def _send_one(self, job: Job, card: CardState) -> PageResult:
        send = job.send
        if send.channel == "sms":
            text = sms_text(card, {"code": job.code, "tier": send.tier}, len(self.ladder.tiers))
            validity = int(self.ladder.sms_validity.total_seconds())
            return self.pager.send_sms(send.to, text, validity_s=validity)
        return self.pager.place_call(send.to, voice_text(card), card_ref=str(card["number"]))

    # -- answers -----------------------------------------------------------------------------

    def poll(self, heartbeats: Mapping[str, datetime] | None = None) -> set[str]:
        """Read SMS replies and finished calls back from the provider (`answers.py`: only for
        the ladders this desk runs); returns touched cards. Raises PagerError when the
        provider cannot be reached (the caller shows it)."""
        from app.services.escalation.answers import read_answers

        result = RunResult()
        read_answers(self, result, heartbeats)
        return result.touched
