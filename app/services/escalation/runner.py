"""What the ladder must do now, and when to wake next: a pure function of the ladder states.

The scheduler (APScheduler in the window or headless) never holds a job per card: it asks
``plan`` for the one next wake time and sleeps until then. ``plan`` also decides which desk
runs each card's ladder (``ladder_runner``): one desk owns a card's ladder, and another takes it
over only when the owner's heartbeat at the store is older than two minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.models.entry import NewEntry, fact_id
from app.services.escalation.ladder import Ladder
from app.services.escalation.state import LATE_AFTER, LadderState, step_id

# The owner of a ladder is presumed dark when its last heartbeat at the store is older.
HEARTBEAT_STALE = timedelta(minutes=2)


def ladder_runner(
    owner: str,
    me: str,
    heartbeats: Mapping[str, datetime],
    now: datetime,
    stale_after: timedelta = HEARTBEAT_STALE,
) -> str:
    """The desk that should run a ladder owned by ``owner``, as seen by desk ``me``.

    ``heartbeats`` maps desk id to its last heartbeat at the store (empty: no sync, so every
    desk runs the ladders it owns). The owner keeps its ladder while its heartbeat is fresh;
    when it is stale (or unknown), the live desk with the smallest id takes over, so that all
    desks that see the same heartbeats agree on one successor. This desk counts as live.
    """
    if owner == me or not heartbeats:
        return owner
    last = heartbeats.get(owner)
    if last is not None and now - last <= stale_after:
        return owner
    live = {desk for desk, seen in heartbeats.items() if now - seen <= stale_after} | {me}
    live.discard(owner)
    return min(live)


@dataclass(frozen=True)
class Fire:
    card_id: str
    tier: int
    attempt: int
    due: datetime


@dataclass(frozen=True)
class Send:
    """(Re)send one channel of an already fired step."""

    card_id: str
    tier: int
    attempt: int
    channel: str
    to: str


@dataclass(frozen=True)
class InDoubt:
    """A channel of a step fired before a restart with no record of the send: it may or may
    not have gone out. It is not resent (a step is never sent twice by one desk)."""

    card_id: str
    tier: int
    attempt: int
    channel: str
    to: str


@dataclass(frozen=True)
class Unreachable:
    card_id: str
    tier: int
    attempt: int
    reason: str


@dataclass(frozen=True)
class Exhaust:
    card_id: str
    due: datetime


@dataclass
class Plan:
    fire: list[Fire] = field(default_factory=list)
    send: list[Send] = field(default_factory=list)
    in_doubt: list[InDoubt] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)
    exhaust: list[Exhaust] = field(default_factory=list)
    take_over: list[str] = field(default_factory=list)  # card ids this desk takes over
    next_wake: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.fire or self.send or self.in_doubt or self.unreachable
                    or self.exhaust or self.take_over)

    def wake(self, at: datetime) -> None:
        if self.next_wake is None or at < self.next_wake:
            self.next_wake = at


def throttled_until(state: LadderState, to: str, channel: str,
                    last_page: Mapping[str, datetime], ladder: Ladder) -> datetime | None:
    """When a page to ``to`` may go out under the per-number throttle, or None if at once.

    The throttle spaces pages to one phone, but a card's first page to a person (its SMS and
    its call) is never held back: that is the page the ladder exists for.
    """
    if not state.pages_to(to, channel) or to not in last_page:
        return None
    return last_page[to] + ladder.throttle


def is_late(due: datetime, fired_at: datetime) -> bool:
    return fired_at - due > LATE_AFTER


def plan(
    states: Iterable[LadderState],
    ladder: Ladder,
    now: datetime,
    *,
    me: str,
    heartbeats: Mapping[str, datetime] | None = None,
    last_page: Mapping[str, datetime] | None = None,
    sending_here: frozenset[tuple[str, int, int]] = frozenset(),
) -> Plan:
    """Everything due at ``now`` for the ladders this desk runs, and the next wake time.

    ``last_page`` is the latest page to each number over every card (the per-number
    throttle); ``sending_here`` are the steps this process fired itself, whose unsent
    channels are simply not sent yet rather than in doubt.
    """
    out = Plan()
    beats = heartbeats or {}
    last_page = last_page or {}
    for s in states:
        if s.stopped is not None:
            continue
        runner = ladder_runner(s.owner, me, beats, now)
        if runner != me:
            continue
        if s.owner != me:
            out.take_over.append(s.card_id)
        _plan_channels(s, ladder, now, out, last_page, sending_here)
        nxt = s.next_due(ladder)
        if nxt is not None:
            tier, attempt, due = nxt
            if due <= now:
                out.fire.append(Fire(s.card_id, tier, attempt, due))
            else:
                out.wake(due)
        exhaust = s.exhaust_due(ladder)
        if exhaust is not None:
            if exhaust <= now:
                out.exhaust.append(Exhaust(s.card_id, exhaust))
            else:
                out.wake(exhaust)
    return out


def _plan_channels(s: LadderState, ladder: Ladder, now: datetime, out: Plan,
                   last_page: Mapping[str, datetime],
                   sending_here: frozenset[tuple[str, int, int]]) -> None:
    step = s.last
    if step is None or step.unreachable_at is not None or not step.channels:
        return
    end = s.step_end(ladder, step)
    unsettled = False
    for ch in step.channels.values():
        at = ch.pending_at(step.due, end, ladder.max_tries, step.fired_at)
        if at is None or ch.to is None:
            continue
        unsettled = True
        if ch.tries == 0 and (s.card_id, step.tier, step.attempt) not in sending_here:
            out.in_doubt.append(InDoubt(s.card_id, step.tier, step.attempt, ch.channel, ch.to))
            continue
        held = throttled_until(s, ch.to, ch.channel, last_page, ladder)
        if held is not None:
            at = max(at, held)
        if at <= now:
            out.send.append(Send(s.card_id, step.tier, step.attempt, ch.channel, ch.to))
        else:
            out.wake(at)
    if not unsettled and not step.sent:
        errors = "; ".join(f"{c.channel}: {c.skipped or c.last_error or 'not sent'}"
                           for c in step.channels.values())
        out.unreachable.append(Unreachable(s.card_id, step.tier, step.attempt,
                                           f"every channel failed ({errors})"))


def bookkeeping(todo: Plan, by_id: Mapping[str, LadderState], tiers: int, me: str,
                now: datetime) -> tuple[list[NewEntry], list[str]]:
    """The facts a plan records besides its pages (takeovers, pages left in doubt by a
    crash, unreachable steps, exhausted ladders), with ids every desk derives alike, and
    the alarms to say out loud."""
    out: list[NewEntry] = []
    alarms: list[str] = []
    for card_id in todo.take_over:
        was = by_id[card_id].owner
        out.append(NewEntry(card_id, "ladder.taken_over", {"from": was, "to": me},
                            id=fact_id(f"ladder:{card_id}:takeover:{was}:{me}")))
    for d in todo.in_doubt:
        out.append(NewEntry(d.card_id, "ladder.page_failed", {
            "tier": d.tier, "attempt": d.attempt, "channel": d.channel, "to": d.to,
            "try": 1, "retryable": False, "in_doubt": True, "retry_at": None,
            "error": "the desk stopped while sending; not sent again to avoid a double "
                     "page, so it may or may not have gone out"},
            id=step_id(d.card_id, d.tier, d.attempt, d.channel, "try", 1)))
    for u in todo.unreachable:
        out.append(NewEntry(u.card_id, "ladder.unreachable", {
            "tier": u.tier, "attempt": u.attempt, "reason": u.reason, "at": now.isoformat()},
            id=step_id(u.card_id, u.tier, u.attempt, "unreachable")))
    for x in todo.exhaust:
        out.append(NewEntry(x.card_id, "ladder.exhausted", {
            "tiers": tiers, "due": x.due.isoformat(), "late": is_late(x.due, now)},
            id=fact_id(f"ladder:{x.card_id}:exhausted")))
        alarms.append(f"Nobody acknowledged card {by_id[x.card_id].number}: the whole "
                      "ladder went unanswered. Phone the people now.")
    return out, alarms
