"""The card's paging section: who is on call for it now, and what its ladder is doing.

Answers the dispatcher's two questions without leaving the card: whom would I phone (the
card's group from the routing matrix, that group's primary and backup with both numbers), and
where is the ladder (tier N of M, who each step paged, when, by which channel and how that
went, when the next tier falls due). Pure: the caller passes the roster routing, the card's
ladder state and the time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from app.services.cards.card import Card
from app.services.cards.timeline import local_time
from app.services.escalation.commands import refusals
from app.services.escalation.ladder import Ladder
from app.services.escalation.recipients import Recipients
from app.services.escalation.state import ChannelState, LadderState, StepState

ROLES_SHOWN = ("primary", "backup")


@dataclass(frozen=True)
class OnCallNow:
    role: str
    name: str
    phone: str
    backup_phone: str


@dataclass(frozen=True)
class PagingView:
    group: str  # "" when no routing rule or default names one
    on_call: Sequence[OnCallNow]
    ladder: str  # "tier 2 of 4", "not started", "acknowledged by ...", "no ladder (P3)"
    steps: Sequence[str]  # one line per page sent or tried, oldest first
    next_tier: str  # "tier 3 at 02:41" or ""
    #: What the dispatcher may do to the ladder now: "escalate", "hold", "resume" (the
    #: commands' own judgement, app/services/escalation/commands.py).
    actions: frozenset[str] = frozenset()
    #: Why the others would be refused, by action (the same words the command says).
    refused: Mapping[str, str] = field(default_factory=dict)

    @property
    def first_on_call(self) -> str:
        """The name the acknowledgement dialog offers: the group's primary, else backup."""
        return self.on_call[0].name if self.on_call else ""


def _channel_line(c: ChannelState, tz: tzinfo) -> str:
    if c.skipped:
        return f"{c.channel} not sent: {c.skipped}"
    if c.sent_at is not None:
        how = f", {c.outcome}" if c.outcome else ""
        return f"{c.channel} to {c.to} at {local_time(c.sent_at, tz)}{how}"
    if c.last_error:
        again = f"; again at {local_time(c.retry_at, tz)}" if c.retry_at else "; given up"
        return f"{c.channel} to {c.to} failed ({c.tries}×): {c.last_error}{again}"
    return f"{c.channel} to {c.to}: sending"


def paging_view(card: Card, recipients: Recipients, state: LadderState | None,
                ladder: Ladder, now: datetime, tz: tzinfo) -> PagingView:
    # What routing looks at (Recipients.route): the card's category, site and priority.
    routed = {"id": card.id, "number": card.number, "category": card.category,
              "site": card.site, "priority": card.priority}
    group = recipients.group(routed, now) or ""
    roster = recipients.roster
    people = []
    for role in ROLES_SHOWN:
        person = roster.on_call(group, role, now) if group else None
        if person is not None:
            people.append(OnCallNow(role, person.name, person.primary_phone,
                                    person.backup_phone or ""))
    if state is None:
        return PagingView(group, people, f"no automatic paging for this {card.priority}", (),
                          "")
    refused = refusals(state, ladder)
    if state.start_due is None and not state.steps:
        return PagingView(group, people, f"no automatic paging for this {card.priority}", (),
                          "", frozenset(), refused)
    where, nxt = ladder_summary(state, ladder, now, tz)
    return PagingView(group, people, where, tuple(_step_line(s, tz) for s in state.steps), nxt,
                      frozenset({"escalate", "hold", "resume"} - set(refused)), refused)


def _step_line(s: StepState, tz: tzinfo) -> str:
    line = f"tier {s.tier}: {s.who or 'nobody found'} · " + "; ".join(
        _channel_line(c, tz) for c in s.channels.values())
    if s.declined is not None:
        line += f" · DECLINED at {local_time(s.declined.at, tz)}" + (
            f": {s.declined.reason}" if s.declined.reason else "")
    if s.escalated_at is not None:
        line += f" · escalated at {local_time(s.escalated_at, tz)}"
    return line


def ladder_summary(state: LadderState, ladder: Ladder, now: datetime, tz: tzinfo
                   ) -> tuple[str, str]:
    """Where a card's ladder stands and what comes next, in the dispatcher's words: for the
    paging section, `dispatch-desk ladder escalate|hold|resume` and the like."""
    tiers = len(ladder.tiers)
    upcoming = state.next_due(ladder) if state.stopped is None and state.ack is None else None
    nxt = f"tier {upcoming[0]} at {local_time(upcoming[2], tz)}" if upcoming else ""
    hold = state.held_at(now)
    held = ""
    if hold is not None:
        until = f" until {local_time(hold.until, tz)}" if hold.until else ", until resumed"
        held = (f"HELD by {hold.by} since {local_time(hold.at, tz)}{until}: {hold.reason}")
        if not upcoming:
            nxt = "nothing fires while the ladder is held"
    if not state.steps:
        return held or "not started", nxt
    if state.ack is not None:
        where = f"acknowledged by {state.ack.who} at {local_time(state.ack.at, tz)}"
    elif state.owner_named is not None:
        where = (f"owner named: {state.owner_named[0]} at "
                 f"{local_time(state.owner_named[1], tz)}")
    elif state.stopped:
        where = f"stopped ({state.stopped})"
    elif state.exhausted_at is not None:
        where = f"every tier unanswered (tier {state.steps[-1].tier} of {tiers}): phone them"
    else:
        where = f"tier {state.steps[-1].tier} of {tiers}"
        owner = state.owner_step
        if owner is not None and owner.owner_by is not None:
            where += (f"; {owner.who} (duty coordinator) must name an owner by "
                      f"{local_time(owner.owner_by, tz)}")
    return (f"{where} · {held}" if held else where), nxt
