"""Where a card's escalation ladder stands, derived from the card's journal entries alone.

Nothing about the ladder is stored apart from the entries: when it started, which steps fired,
what was sent, what failed and when to try again, who acknowledged. So a desk that restarts, or
takes a ladder over from another desk, knows exactly where it stands by reading the card.

Entry kinds (all on the card; ids are facts from ``step_key`` so a repeat write is ignored):

    ladder.step          a step fired: tier, attempt, due, late, who, to, code (written FIRST)
    ladder.page          one channel of a step reached the provider: channel, to, sid
    ladder.page_failed   one try of a channel failed: error, status, retryable, retry_at
    ladder.page_skipped  a channel not used: the number replied STOP
    ladder.page_cancelled  a queued page not to send: cancelled offline, or expired
    ladder.unreachable   nobody could be reached on this step: the next tier is due at once
    ladder.exhausted     the last tier got no answer: the desk alarm stays on
    ladder.call_result   how a voice page ended (voicemail, no answer...); never an ack
    ladder.reply         an SMS reply that was not an acceptance
    ladder.taken_over    another desk took the ladder over (the owner went dark)
    ladder.declined      the paged person can't: the next tier is due at once
    ladder.escalate      escalate now (the person paged, or the dispatcher): next tier at once
    ladder.hold          nothing new fires until ``ladder.resume`` (or the hold's ``until``)
    ladder.resume        the ladder goes on; a tier whose time passed meanwhile fires at once
    card.ack             an acknowledgement (SMS reply, key 1, or "reached by phone")

A step that went to the duty coordinator for a card the matrix could not settle carries
``owner_by``: the coordinator must name an owner by then, so the next tier is due at that
deadline rather than after the tier's wait, and naming an owner (the card assigned to someone
else after that step) stops the ladder ("owner named"). The coordinator's own
acknowledgement stops it as any acknowledgement does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.models.entry import Entry, fact_id
from app.models.projection import CLOSED, RESTORED, CardState
from app.protocol.catalogue import LADDER_KINDS
from app.services.escalation.control import (
    CONTROL_KINDS,
    Decline,
    Hold,
    apply_assignee,
    apply_control,
)
from app.services.escalation.ladder import Ladder

# A step fired within this of its due time is on time; later is flagged "late" (DOMAIN: every
# step is timestamped, and the issue allows 2 s).
LATE_AFTER = timedelta(seconds=2)
REMOTE_CHANNELS = ("sms", "voice")
# Back-off between tries of a failed send when the provider gives no Retry-After.
RETRY_BACKOFF = (timedelta(seconds=5), timedelta(seconds=15), timedelta(seconds=30))


def step_key(card_id: str, tier: int, attempt: int, *more: object) -> str:
    """The idempotency key of a step (and, with ``more``, of one of its facts)."""
    return ":".join(str(p) for p in ("ladder", card_id, tier, attempt, *more))


def step_id(card_id: str, tier: int, attempt: int, *more: object) -> str:
    return fact_id(step_key(card_id, tier, attempt, *more))


def retry_delay(tries: int, retry_after: float | None) -> timedelta:
    """How long to wait before try ``tries + 1``; the provider's Retry-After wins if longer."""
    base = RETRY_BACKOFF[min(tries, len(RETRY_BACKOFF)) - 1] if tries else timedelta(0)
    return max(base, timedelta(seconds=retry_after or 0))


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


@dataclass
class ChannelState:
    """One channel (sms or voice) of one fired step."""

    channel: str
    to: str | None
    sid: str | None = None
    sent_at: datetime | None = None
    skipped: str | None = None  # why it was not used (STOP)
    tries: int = 0
    last_error: str | None = None
    retry_at: datetime | None = None  # None after a failure: given up
    outcome: str | None = None  # voice: how the call ended

    def pending_at(self, step_due: datetime, step_end: datetime, max_tries: int,
                   fired_at: datetime) -> datetime | None:
        """When this channel should be (re)sent, or None when it is settled."""
        if self.sid is not None or self.skipped is not None or self.to is None:
            return None
        if self.tries == 0:
            return fired_at  # fired but never sent (or the desk died in between): send now
        if self.retry_at is None or self.tries >= max_tries or self.retry_at >= step_end:
            return None
        return self.retry_at


@dataclass
class StepState:
    tier: int
    attempt: int
    due: datetime
    fired_at: datetime
    late: bool
    who: str | None
    contact_id: str | None
    code: str | None
    channels: dict[str, ChannelState] = field(default_factory=dict)
    desk_alarm: bool = False
    unreachable_at: datetime | None = None
    unreachable_reason: str | None = None
    owner_by: datetime | None = None  # the duty coordinator must name an owner by then
    declined: Decline | None = None
    escalated_at: datetime | None = None  # "escalate now" while this step was the last

    @property
    def sent(self) -> bool:
        return any(c.sid is not None for c in self.channels.values())

    @property
    def moved_on_at(self) -> datetime | None:
        """When the next tier became due at once: nobody reachable, a decline, or an
        escalate-now (the earliest of them)."""
        times = [t for t in (self.unreachable_at, self.escalated_at,
                             self.declined.at if self.declined else None) if t is not None]
        return min(times) if times else None

    @property
    def skips_tier(self) -> bool:
        """A decline or an escalate-now goes to the next TIER (the next person), not to the
        next page of the same tier."""
        return self.declined is not None or self.escalated_at is not None


@dataclass(frozen=True)
class Ack:
    at: datetime
    who: str
    how: str


@dataclass
class LadderState:
    card_id: str
    number: str
    priority: str
    owner: str  # the desk that runs this ladder
    start_due: datetime | None
    steps: list[StepState] = field(default_factory=list)
    ack: Ack | None = None
    stopped: str | None = None  # "acknowledged", "restored", "closed"
    exhausted_at: datetime | None = None
    replies: list[str] = field(default_factory=list)  # sids already handled
    holds: list[Hold] = field(default_factory=list)  # oldest first
    escalated_at: datetime | None = None  # "escalate now" before the first tier
    owner_named: tuple[str, datetime] | None = None  # who the coordinator named, when

    @property
    def last(self) -> StepState | None:
        return self.steps[-1] if self.steps else None

    @property
    def running(self) -> bool:
        return self.stopped is None and bool(self.steps)

    @property
    def hold(self) -> Hold | None:
        """The last hold if nobody resumed it (its ``until`` may have passed: ask
        ``held_at``)."""
        last = self.holds[-1] if self.holds else None
        return last if last is not None and last.resumed_at is None else None

    def held_at(self, at: datetime) -> Hold | None:
        hold = self.hold
        return hold if hold is not None and hold.holds_at(at) else None

    @property
    def owner_step(self) -> StepState | None:
        """The step that gave the card to the duty coordinator, with its owner deadline."""
        return next((s for s in self.steps if s.owner_by is not None), None)

    @property
    def declined_by(self) -> frozenset[str]:
        """Contact ids that declined this card: they are not paged for it again."""
        return frozenset(s.declined.contact_id or s.contact_id or "" for s in self.steps
                         if s.declined is not None) - {""}

    def step_end(self, ladder: Ladder, step: StepState) -> datetime:
        """When the wait after ``step`` ends without an acknowledgement; for the duty
        coordinator's step, the deadline to name an owner."""
        return step.owner_by or step.due + ladder.tier(step.tier).wait

    def _after_holds(self, due: datetime) -> datetime | None:
        """``due`` moved past every hold that keeps it from firing; None while a hold
        without an end lasts. A tier due during a hold fires when the hold ends."""
        for hold in self.holds:
            end = hold.end
            if end is None:
                return None
            if due < end:
                due = end
        return due

    def next_due(self, ladder: Ladder) -> tuple[int, int, datetime] | None:
        """The next step to fire (tier, attempt, due), or None if none is left or needed.

        A step's due time follows from the previous step's DUE time, never from when it
        actually fired, so a late step does not push the rest of the ladder later; an
        unreachable step makes the next one due when that became known.
        """
        if self.stopped is not None:
            return None
        order = [(t.number, a) for t, a in ladder.steps()]
        if not self.steps:
            if self.start_due is None:
                return None
            start = self.start_due if self.escalated_at is None else min(self.start_due,
                                                                          self.escalated_at)
            tier, attempt = order[0]
            due_at = self._after_holds(start)
            return None if due_at is None else (tier, attempt, due_at)
        last = self.steps[-1]
        index = order.index((last.tier, last.attempt)) if (last.tier, last.attempt) in order \
            else len(order)
        if last.skips_tier:
            while index + 1 < len(order) and order[index + 1][0] == last.tier:
                index += 1
        if index + 1 >= len(order):
            return None
        due = self.step_end(ladder, last)
        if last.moved_on_at is not None:
            due = min(due, last.moved_on_at)
        tier, attempt = order[index + 1]
        due_at = self._after_holds(due)
        return None if due_at is None else (tier, attempt, due_at)

    def exhaust_due(self, ladder: Ladder) -> datetime | None:
        """When the whole ladder has gone unanswered (the last step's wait is over)."""
        if self.stopped is not None or self.exhausted_at is not None or not self.steps:
            return None
        if self.next_due(ladder) is not None or self.hold is not None and self.hold.end is None:
            return None
        last = self.steps[-1]
        end = self.step_end(ladder, last)
        return self._after_holds(min(end, last.moved_on_at) if last.moved_on_at else end)

    def pages_to(self, number: str, channel: str) -> list[datetime]:
        """When this card already paged ``number`` on ``channel`` (sent, not just tried)."""
        return [c.sent_at for s in self.steps for c in s.channels.values()
                if c.to == number and c.channel == channel and c.sent_at is not None]


def _start_due(card: CardState, entries: Iterable[Entry], ladder: Ladder) -> datetime | None:
    """Registration plus the first priority's delay, or a priority raise plus its delay,
    whichever comes first (a P3 raised to P1 is paged at once). The card's kind of work as it
    stands now decides: planned work is not paged (ladder ``[start] planned``), and a job
    re-filed as an emergency is paged from its registration, that is at once."""
    kind = str(card.get("kind_of_work") or "")
    candidates: list[datetime] = []
    for entry in entries:
        if entry.kind == "card.registered":
            at = _dt(entry.payload.get("registered_at") or entry.at.isoformat())
            prio = str(entry.payload.get("priority", card["priority"]))
        elif entry.kind == "card.priority":
            at, prio = entry.at, str(entry.payload.get("priority"))
        else:
            continue
        delay = ladder.start_delay(prio, kind)
        if delay is not None:
            candidates.append(at + delay)
    return min(candidates) if candidates else None


def _stopped(card: CardState) -> str | None:
    if card.get("acknowledged_at"):
        return "acknowledged"
    if card["status"] == CLOSED:
        return "closed"
    if card["status"] == RESTORED:
        return "restored"
    return None


def derive(card: CardState, entries: Iterable[Entry], ladder: Ladder) -> LadderState:
    """The ladder state of one card from its entries (any order)."""
    ordered = sorted(entries, key=lambda e: (e.hlc, e.id))
    state = LadderState(card["id"], card["number"], card["priority"],
                        owner=card.get("registered_desk") or "",
                        start_due=_start_due(card, ordered, ladder), stopped=_stopped(card))
    return _fold(state, ordered)


def advance(state: LadderState, later: Sequence[Entry]) -> LadderState:
    """`state` with ladder entries that come after all it was derived from (the ladder's
    own writes, just made): the same as deriving again, without re-reading the card."""
    if any(e.kind not in LADDER_KINDS for e in later):
        raise ValueError("advance takes ladder entries only; derive for the rest")
    return _fold(copy.deepcopy(state), sorted(later, key=lambda e: (e.hlc, e.id)))


def _fold(state: LadderState, ordered: Sequence[Entry]) -> LadderState:
    steps = {(s.tier, s.attempt): s for s in state.steps}
    for e in ordered:
        p = e.payload
        key = (int(p.get("tier", 0)), int(p.get("attempt", 0)))
        step = steps.get(key)
        if e.kind == "ladder.step":
            step = StepState(key[0], key[1], _dt(p["due"]), e.at, bool(p.get("late")),
                             p.get("who"), p.get("contact_id"), p.get("code"),
                             desk_alarm=bool(p.get("desk_alarm")),
                             owner_by=_dt(p["owner_by"]) if p.get("owner_by") else None)
            for channel, to in dict(p.get("to") or {}).items():
                step.channels[channel] = ChannelState(channel, to)
            if p.get("unreachable"):
                step.unreachable_at, step.unreachable_reason = e.at, str(p["unreachable"])
            steps[key] = step
            state.steps.append(step)
        elif e.kind in CONTROL_KINDS:
            apply_control(state, step, e)
        elif e.kind == "card.fields" and "assignee" in dict(p.get("fields") or {}):
            apply_assignee(state, e)
        elif e.kind == "ladder.taken_over":
            state.owner = str(p["to"])
        elif e.kind == "ladder.exhausted":
            state.exhausted_at = e.at
        elif e.kind in ("card.ack", "ladder.reply") and p.get("sid"):
            state.replies.append(str(p["sid"]))
            if e.kind == "card.ack":
                state.ack = Ack(e.at, str(p.get("who", "?")), str(p.get("how", "?")))
        elif e.kind == "card.ack":
            state.ack = Ack(e.at, str(p.get("who", "?")), str(p.get("how", "?")))
        elif step is not None:
            _apply_channel_fact(step, e)
    return state


def _apply_channel_fact(step: StepState, e: Entry) -> None:
    p = e.payload
    if e.kind == "ladder.unreachable":
        step.unreachable_at, step.unreachable_reason = e.at, str(p.get("reason", ""))
        return
    channel = step.channels.get(str(p.get("channel")))
    if channel is None:
        return
    if e.kind == "ladder.page":
        channel.sid, channel.sent_at, channel.to = str(p["sid"]), e.at, str(p["to"])
    elif e.kind == "ladder.page_failed":
        channel.tries = max(channel.tries, int(p.get("try", 1)))
        channel.last_error = str(p.get("error", ""))
        channel.retry_at = _dt(p["retry_at"]) if p.get("retry_at") else None
    elif e.kind in ("ladder.page_skipped", "ladder.page_cancelled"):
        # cancelled (offline_alarm.py): the dispatcher phones instead, or it expired
        channel.skipped = str(p.get("reason", ""))
    elif e.kind == "ladder.call_result":
        channel.outcome = str(p.get("outcome"))


def opted_out(entries: Iterable[Entry]) -> frozenset[str]:
    """Numbers whose last STOP/START word was STOP (entries on the pager's pseudo card)."""
    last: dict[str, tuple[str, bool]] = {}
    for e in entries:
        if e.kind in ("pager.stop", "pager.start"):
            number = str(e.payload.get("number"))
            if number not in last or e.hlc > last[number][0]:
                last[number] = (e.hlc, e.kind == "pager.stop")
    return frozenset(n for n, (_, stop) in last.items() if stop)


def last_pages(states: Iterable[LadderState]) -> Mapping[str, datetime]:
    """The latest page sent to each number, over every card (for the per-number throttle)."""
    latest: dict[str, datetime] = {}
    for s in states:
        for step in s.steps:
            for c in step.channels.values():
                if c.to and c.sent_at and (c.to not in latest or c.sent_at > latest[c.to]):
                    latest[c.to] = c.sent_at
    return latest
