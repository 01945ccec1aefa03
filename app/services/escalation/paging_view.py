"""The card's paging section: who is on call for it now, and what its ladder is doing.

Answers the dispatcher's two questions without leaving the card: whom would I phone (the
card's group from the routing matrix, that group's primary and backup with both numbers), and
where is the ladder (tier N of M, who each step paged, when, by which channel and how that
went, when the next tier falls due). Pure: the caller passes the roster routing, the card's
ladder state and the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from app.services.cards.card import Card
from app.services.cards.timeline import local_time
from app.services.escalation.ladder import Ladder
from app.services.escalation.recipients import Recipients
from app.services.escalation.state import ChannelState, LadderState

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
    tiers = len(ladder.tiers)
    if state is None or (state.start_due is None and not state.steps):
        return PagingView(group, people, f"no automatic paging for this {card.priority}", (),
                          "")
    if not state.steps:
        return PagingView(group, people, "not started", (),
                          f"tier 1 at {local_time(state.start_due, tz)}" if state.start_due
                          else "")
    steps = [f"tier {s.tier}: {s.who or 'nobody found'} · "
             + "; ".join(_channel_line(c, tz) for c in s.channels.values())
             for s in state.steps]
    if state.ack is not None:
        where = f"acknowledged by {state.ack.who} at {local_time(state.ack.at, tz)}"
    elif state.stopped:
        where = f"stopped ({state.stopped})"
    elif state.exhausted_at is not None:
        where = f"every tier unanswered (tier {state.steps[-1].tier} of {tiers}): phone them"
    else:
        where = f"tier {state.steps[-1].tier} of {tiers}"
    upcoming = state.next_due(ladder) if state.running and state.ack is None else None
    nxt = f"tier {upcoming[0]} at {local_time(upcoming[2], tz)}" if upcoming else ""
    return PagingView(group, people, where, steps, nxt)
