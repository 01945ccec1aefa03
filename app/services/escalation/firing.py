"""The entries that fire one ladder step, and the sends that follow them.

Pure: the caller (``EscalationService``) writes the entries in one transaction, FIRST, and only
then sends. Whom the step pages comes from ``Recipients`` (routing, skills, contact methods);
this module adds what the card's ladder so far says about it:

- a person who declined this card is not paged for it again: the step is unreachable and the
  next tier is due at once;
- the duty coordinator, reached because the matrix could not settle the card, is given the
  card (``card.fields`` assignee, under a fact id of the step, so every desk writes the same
  entry) with ``owner_by``: the deadline to name an owner, after which the next tier (the shift
  lead) is paged; the timeline says so in a note of the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.models.entry import NewEntry
from app.models.projection import CardState
from app.services.escalation.inbound import reply_code
from app.services.escalation.ladder import Ladder
from app.services.escalation.recipients import Pick, Recipients
from app.services.escalation.runner import Fire, Send, is_late
from app.services.escalation.state import LadderState, step_id
from app.services.roster import COORDINATOR_DEADLINE


@dataclass(frozen=True)
class Job:
    """One channel to send now: a fresh step's (tries 0) or a retry of a failed one."""

    send: Send
    code: str | None
    tries: int  # failed tries so far
    step_end: datetime  # retries stop here: the next tier is due


@dataclass(frozen=True)
class Fired:
    entries: list[NewEntry]
    jobs: list[Job]
    alarm: str | None


def _utc(at: datetime) -> str:
    return at.strftime("%H:%M UTC")


def _why_now(state: LadderState | None, fire: Fire) -> str:
    """Why this step fires before its tier's wait ran out (said on the timeline)."""
    last = state.last if state is not None else None
    if last is None:
        return "escalated now, before the ladder's start" if (
            state is not None and state.escalated_at is not None) else ""
    if last.declined is not None:
        why = f": {last.declined.reason}" if last.declined.reason else ""
        return f"{last.declined.who or last.who or 'the person paged'} declined{why}"
    if last.escalated_at is not None:
        return "escalated now"
    if last.owner_by is not None and fire.due >= last.owner_by:
        return f"{last.who} (duty coordinator) named no owner by {_utc(last.owner_by)}"
    return ""


def step_entries(fire: Fire, card: CardState, state: LadderState | None, ladder: Ladder,
                 recipients: Recipients, stopped: frozenset[str], now: datetime) -> Fired:
    """The entries that fire ``fire`` for ``card`` (its ladder so far: ``state``), the sends
    that follow, and the desk alarm it raises (the last tier)."""
    tier = ladder.tier(fire.tier)
    steps = state.steps if state is not None else []
    paged = frozenset(st.contact_id for st in steps if st.contact_id)
    pick = recipients.resolve(card, tier, now, paged=paged)
    person, reason = pick.contact, pick.reason
    if person is not None and not person.primary_phone:
        reason, person = f"{person.name} has no phone number", None
    if person is not None and state is not None and person.id in state.declined_by:
        reason, person = f"{person.name} declined this card already", None
    # The contact methods restrict the tier: "sms" never rings anyone.
    allowed = [c for c in tier.channels if pick.channels is None or c in pick.channels]
    if person is not None and not any(c in ("sms", "voice") for c in allowed):
        reason = (f"{pick.method or 'the contact method'} does not fit tier {tier.number}, "
                  f"which pages by {' + '.join(tier.channels)}")
        person = None
    to = {ch: person.primary_phone for ch in ("sms", "voice")
          if person is not None and ch in allowed}
    code = reply_code(fire.card_id, person.id) if person else None
    owner_by = fire.due + COORDINATOR_DEADLINE if (
        person is not None and pick.to_coordinator and not card.get("assignee")
        and (state is None or state.owner_step is None)) else None
    payload: dict[str, Any] = {
        "tier": fire.tier, "attempt": fire.attempt, "due": fire.due.isoformat(),
        "late": is_late(fire.due, now), "late_by_s": round((now - fire.due).total_seconds(), 1),
        "who": person.name if person else None, "contact_id": person.id if person else None,
        "to": to, "code": code, "desk_alarm": "desk_alarm" in tier.channels,
        "of": len(ladder.tiers)}
    if person is None:
        payload["unreachable"] = reason
    if owner_by is not None:
        payload["owner_by"] = owner_by.isoformat()
    entries = [NewEntry(fire.card_id, "ladder.step", payload,
                        id=step_id(fire.card_id, fire.tier, fire.attempt))]
    if owner_by is not None and person is not None:
        entries.append(NewEntry(fire.card_id, "card.fields", {"fields": {"assignee": person.name}},
                                id=step_id(fire.card_id, fire.tier, fire.attempt, "owner")))
    if note := _note(fire, pick, person is not None, owner_by, _why_now(state, fire)):
        # ladder.step has no field for why this person or these channels: the timeline says
        # it in a note, a fact of the step (one per step on every desk).
        entries.append(NewEntry(fire.card_id, "card.note", {"text": note},
                                id=step_id(fire.card_id, fire.tier, fire.attempt, "routing")))
    if "sms" in to and to["sms"] in stopped:
        entries.append(NewEntry(fire.card_id, "ladder.page_skipped", {
            "tier": fire.tier, "attempt": fire.attempt, "channel": "sms", "to": to["sms"],
            "reason": "the number replied STOP; it gets no SMS until it replies START"},
            id=step_id(fire.card_id, fire.tier, fire.attempt, "sms", "skipped")))
        del to["sms"]
    end = owner_by or fire.due + tier.wait
    jobs = [Job(Send(fire.card_id, fire.tier, fire.attempt, ch, number), code, 0, end)
            for ch, number in to.items()]
    alarm = None
    if payload["desk_alarm"]:
        alarm = (f"Card {card['number']} reached the last tier "
                 f"({payload['who'] or reason}): phone them now.")
    return Fired(entries, jobs, alarm)


def _note(fire: Fire, pick: Pick, paged: bool, owner_by: datetime | None, why_now: str) -> str:
    parts = [why_now] if why_now else []
    if paged and pick.note:
        owner = (f", who must name an owner by {_utc(owner_by)}; the card is theirs meanwhile"
                 if owner_by is not None else "")
        parts.append(pick.note + owner)
    if paged and pick.method:
        parts.append(pick.method)
    return f"Tier {fire.tier}: {'; '.join(parts)}." if parts else ""
