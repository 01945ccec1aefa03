"""The dispatcher's commands over a card's ladder: escalate now, hold it, resume it.

Each is one journal entry (``ladder.escalate``, ``ladder.hold``, ``ladder.resume``) written
after the card's ladder was derived and judged, so a command that would do nothing is
refused with what to do instead, and nothing is written:

- **Escalate now**: the next tier (the next person) is due at once; before the first tier it
  starts the ladder now. Refused with no ladder (a P4), a stopped or exhausted ladder, at the
  last tier (phone them), while held (resume first), and twice for one tier.
- **Hold**: no new tier fires until it is resumed (pages already out stay out); a reason is
  required, it goes on the timeline. Refused when already held or nothing is left to fire.
- **Resume**: the ladder goes on; a tier whose time passed during the hold fires at once.

The running ladder (``EscalationService.run_due``) reads the entries like any other; the
desk's change signal wakes it, on this desk or another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import Clock
from app.errors import ValidationError
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.protocol.text import text_problem
from app.services.cards.card import Operator
from app.services.escalation.ladder import Ladder
from app.services.escalation.state import LadderState, derive

REASON_MAX = 500


@dataclass(frozen=True)
class EscalateNow:
    card_id: str
    reason: str = ""


@dataclass(frozen=True)
class HoldLadder:
    card_id: str
    reason: str


@dataclass(frozen=True)
class ResumeLadder:
    card_id: str
    reason: str = ""


LadderCommand = EscalateNow | HoldLadder | ResumeLadder


def _reason(text: str, *, required: bool) -> str:
    reason = " ".join(str(text or "").split())
    if required and not reason:
        raise ValidationError("say why the ladder is held (for example 'technician on the "
                              "phone, on site in 20 min'); it goes on the card's timeline",
                              field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationError(f"the reason is {len(reason)} characters; keep it under "
                              f"{REASON_MAX}", field="reason")
    if problem := text_problem(reason):
        raise ValidationError(f"the reason {problem}", field="reason")
    return reason


def _hhmm(at: datetime) -> str:
    return at.strftime("%H:%M UTC")


def _refuse_if_not_running(state: LadderState, what: str) -> None:
    number = state.number
    if state.start_due is None and not state.steps:
        raise ValidationError(f"card {number} has no ladder to {what}: {state.priority} cards "
                              "are not paged automatically (the ladder file's [start]); raise "
                              "the priority to page", field="card")
    if state.stopped is not None:
        raise ValidationError(f"the ladder of card {number} has stopped ({state.stopped}); "
                              f"there is nothing to {what}", field="card")
    if state.exhausted_at is not None:
        raise ValidationError(f"every tier of card {number} already went unanswered: phone "
                              "the people now (the desk alarm is on)", field="card")


def _escalate(state: LadderState, ladder: Ladder, command: EscalateNow,
              operator: Operator) -> dict[str, Any]:
    _refuse_if_not_running(state, "escalate")
    hold = state.hold
    if hold is not None:
        raise ValidationError(f"the ladder of card {state.number} is held by {hold.by} since "
                              f"{_hhmm(hold.at)} ({hold.reason}); resume it first",
                              field="card")
    payload: dict[str, Any] = {"by": operator.name, "how": "desk"}
    last = state.last
    if last is not None:
        if state.next_due(ladder) is None:
            who = last.who or "the endpoint"
            raise ValidationError(f"card {state.number} is at its last tier ({who}): there is "
                                  "nobody further to page; phone them", field="card")
        if last.skips_tier:
            raise ValidationError(f"tier {last.tier} of card {state.number} was already "
                                  "escalated; the next tier is due now", field="card")
        payload.update(tier=last.tier, attempt=last.attempt)
    elif state.escalated_at is not None:
        raise ValidationError(f"the ladder of card {state.number} was already told to start "
                              "now", field="card")
    if reason := _reason(command.reason, required=False):
        payload["reason"] = reason
    return payload


def _hold(state: LadderState, ladder: Ladder, command: HoldLadder,
          operator: Operator) -> dict[str, Any]:
    reason = _reason(command.reason, required=True)
    _refuse_if_not_running(state, "hold")
    hold = state.hold
    if hold is not None:
        raise ValidationError(f"the ladder of card {state.number} is already held by {hold.by} "
                              f"since {_hhmm(hold.at)} ({hold.reason})", field="card")
    if state.steps and state.next_due(ladder) is None:
        raise ValidationError(f"card {state.number} is at its last tier: no tier is left to "
                              "hold back", field="card")
    return {"by": operator.name, "reason": reason}


def _resume(state: LadderState, ladder: Ladder, command: ResumeLadder,
            operator: Operator) -> dict[str, Any]:
    if state.hold is None:
        raise ValidationError(f"the ladder of card {state.number} is not held; nothing to "
                              "resume", field="card")
    payload: dict[str, Any] = {"by": operator.name}
    if reason := _reason(command.reason, required=False):
        payload["reason"] = reason
    return payload


_KINDS = {EscalateNow: ("ladder.escalate", _escalate), HoldLadder: ("ladder.hold", _hold),
          ResumeLadder: ("ladder.resume", _resume)}


def handle_ladder(command: LadderCommand, journal: Journal, ladder: Ladder, clock: Clock,
                  operator: Operator) -> LadderState:
    """Judge ``command`` against the card's ladder as the journal has it, write its one
    entry, and return the ladder as it now stands (what fires next, and when)."""
    card = journal.card(command.card_id)
    if card.get("status") == "closed":
        raise ValidationError(f"card {card['number']} is closed; its ladder has ended",
                              field="card")
    state = derive(card, journal.entries(card["id"]), ladder)
    kind, judge = _KINDS[type(command)]
    payload = judge(state, ladder, command, operator)  # type: ignore[operator]
    payload["at"] = clock.now().isoformat()
    journal.write([NewEntry(card["id"], kind, payload)], operator.name)
    return derive(journal.card(card["id"]), journal.entries(card["id"]), ladder)


def refusals(state: LadderState, ladder: Ladder) -> dict[str, str]:
    """Why each of "escalate", "hold" and "resume" would be refused now (absent: it would be
    accepted), judged by the very checks that refuse the command: the window offers only
    what is accepted and says why the rest is not, before asking for words."""
    someone = Operator("desk", "dispatcher")
    out: dict[str, str] = {}
    for name, command in (("escalate", EscalateNow(state.card_id)),
                          ("hold", HoldLadder(state.card_id, "why")),
                          ("resume", ResumeLadder(state.card_id))):
        _, judge = _KINDS[type(command)]
        try:
            judge(state, ladder, command, someone)  # type: ignore[operator]
        except ValidationError as exc:
            out[name] = exc.message
    return out


def allowed(state: LadderState, ladder: Ladder) -> frozenset[str]:
    """Which of "escalate", "hold" and "resume" the commands would accept now."""
    return frozenset({"escalate", "hold", "resume"} - set(refusals(state, ladder)))
