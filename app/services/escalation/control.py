"""The dispatcher's and the paged people's say over a running ladder, folded into its state.

A decline ("I can't") or an escalate-now makes the next tier -- the next person -- due at
once; a hold keeps any new tier from firing until it is resumed (pages already out stay
out); an assignment after the duty coordinator was paged names the card's owner and stops
the ladder. ``state._fold`` calls these for the entries of ``CONTROL_KINDS`` and for
``card.fields``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from app.models.entry import Entry

if TYPE_CHECKING:
    from app.services.escalation.state import LadderState, StepState


def _dt(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class Decline:
    at: datetime
    who: str | None
    contact_id: str | None
    reason: str
    how: str


@dataclass(frozen=True)
class Hold:
    """The ladder held from ``at`` until it is resumed (or ``until``, if the hold said)."""

    at: datetime
    by: str
    reason: str
    until: datetime | None = None
    resumed_at: datetime | None = None
    resumed_by: str | None = None

    @property
    def end(self) -> datetime | None:
        """When the hold ended or ends; None while it lasts until someone resumes."""
        if self.resumed_at is not None and self.until is not None:
            return min(self.resumed_at, self.until)
        return self.resumed_at or self.until

    def holds_at(self, at: datetime) -> bool:
        return self.at <= at and (self.end is None or at < self.end)



CONTROL_KINDS = frozenset({"ladder.declined", "ladder.escalate", "ladder.hold",
                            "ladder.resume"})


def apply_control(state: LadderState, step: StepState | None, e: Entry) -> None:
    """A decline, an escalate-now, a hold or a resume. Times are the entry's own stamp (when
    it was recorded), the same on every desk that holds the entry."""
    p = e.payload
    if e.kind == "ladder.declined":
        if step is None and "attempt" not in p:
            step = next((s for s in reversed(state.steps) if s.tier == int(p["tier"])), None)
        if step is not None and step.declined is None:
            step.declined = Decline(e.at, p.get("who"), p.get("contact_id"),
                                    str(p.get("reason") or ""), str(p.get("how") or "desk"))
    elif e.kind == "ladder.escalate":
        # With a tier: that page's person escalates (a late reply to an old page moves
        # nothing); without: the dispatcher escalates whatever is current.
        target = step if "tier" in p else state.last
        if target is None and "tier" in p and "attempt" not in p:  # a tier's latest page
            target = next((s for s in reversed(state.steps) if s.tier == int(p["tier"])), None)
        if target is not None:
            target.escalated_at = target.escalated_at or e.at
        elif "tier" not in p and state.escalated_at is None:
            state.escalated_at = e.at
    elif e.kind == "ladder.hold":
        if state.hold is None:  # a second hold while held changes nothing
            state.holds.append(Hold(e.at, str(p.get("by", "?")), str(p.get("reason", "")),
                                    _dt(p["until"]) if p.get("until") else None))
    elif state.hold is not None:  # ladder.resume
        state.holds[-1] = replace(state.holds[-1], resumed_at=e.at,
                                  resumed_by=str(p.get("by", "?")))


def apply_assignee(state: LadderState, e: Entry) -> None:
    """The card assigned to someone other than the duty coordinator after the coordinator
    was paged for it: the owner is named, the ladder stops."""
    owner = state.owner_step
    who = str(dict(e.payload["fields"]).get("assignee") or "").strip()
    if owner is None or not who or state.owner_named is not None:
        return
    if who.casefold() not in {str(owner.who or "").casefold(),
                              str(owner.contact_id or "").casefold()}:
        state.owner_named = (who, e.at)
        if state.stopped is None:
            state.stopped = "owner named"
