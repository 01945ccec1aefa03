"""Where each ladder stands, for every front end: the desk, the handover sheet and the
wallboard read it from the journal with the configured ladder; no pager is needed."""

from __future__ import annotations

from collections.abc import Iterable

from app.models.journal import Journal
from app.services.escalation.ladder import Ladder
from app.services.escalation.state import LadderState, derive
from app.services.handover.facts import EscalationLine


def ladder_states(journal: Journal, ladder: Ladder, *, active_only: bool = False
                  ) -> list[LadderState]:
    """Ladders of the open cards; ``active_only`` skips, without reading their entries,
    cards whose ladder an acknowledgement has already stopped. Needs no pager: any front end
    can show where each ladder stands."""
    return [derive(c, journal.entries(c["id"]), ladder)
            for c in journal.cards(open_only=True)
            if not (active_only and c.get("acknowledged_at"))]


def escalation_lines(states: Iterable[LadderState], ladder: Ladder) -> list[EscalationLine]:
    """Where each ladder in flight stands, for the desk, the handover sheet and the wallboard."""
    lines = []
    for s in states:
        if s.last is None:
            continue
        nxt = s.next_due(ladder)
        hold = s.hold
        lines.append(EscalationLine(
            card_id=s.card_id, tier=s.last.tier, tiers=len(ladder.tiers),
            paged=s.last.who or "nobody", paged_at=s.last.fired_at,
            acknowledged_by=s.ack.who if s.ack else None,
            next_tier_at=None if hold else (nxt[2] if nxt else None),
            held=f"held by {hold.by}: {hold.reason}" if hold else None))
    return lines
