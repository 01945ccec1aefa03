"""Status messages in the fixed phrasing of DOMAIN.md ("Status phrasing"), filled from a card.

Short, fixed shapes are what people on the receiving end learn to scan: the same words in the
same order every time, with the next update time at the end so nobody has to ask. This module
only writes the text and works out when the next update is owed; sending it is
`CardService.post_status_message`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from app.errors import ValidationError
from app.services.cards.calendar import add_operating_time
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules

# The shapes a dispatcher chooses from, in the order a card usually needs them.
SHAPES = {
    "opening": "Opening: priority, what, where, since when, who",
    "progress": "Progress: cause, what was done, what was asked for",
    "workaround": "Workaround in place",
    "closed": "Incident closed, with the permanent fix",
}
# The service's own limit for one status message (CardService.post_status_message).
MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class StatusMessage:
    text: str
    next_update_at: datetime | None  # None: no further update is owed (closed, or on request)


def next_update_at(card: Card, rules: DispatchRules, now: datetime) -> datetime | None:
    """When the next status update is owed if one goes out at `now`: the card's policy
    cadence (P1: every 15 minutes), counted in the policy's operating hours."""
    spec = rules.policy_for(card.category, card.priority, card.kind_of_work).updates
    if spec is None or not card.is_open:
        return None
    return add_operating_time(now, spec.duration, spec.hours)


def _part(parts: Mapping[str, str], name: str, what: str) -> str:
    text = " ".join(str(parts.get(name) or "").split())  # one line, single spaces
    if not text:
        raise ValidationError(f"{what} is needed for this message", field=name)
    return text.rstrip(".")


def _optional(parts: Mapping[str, str], name: str) -> str:
    return " ".join(str(parts.get(name) or "").split()).rstrip(".")


def _opening(card: Card, parts: Mapping[str, str], hm: Callable[[datetime], str]) -> str:
    what = _optional(parts, "what") or card.symptom.rstrip(".")
    since = _optional(parts, "since") or hm(card.registered_at)
    who = card.assignee or card.acknowledged_by or "not yet assigned"
    return f"{card.priority}. {what} at {card.site} since {since}. Assigned: {who}."


def _progress(card: Card, parts: Mapping[str, str], hm: Callable[[datetime], str]) -> str:
    cause = _optional(parts, "cause") or "Cause under investigation"
    text = f"{cause}. Done: {_part(parts, 'done', 'what was done')}."
    if requested := _optional(parts, "requested"):
        text += f" {requested}."
    return text


def _workaround(card: Card, parts: Mapping[str, str], hm: Callable[[datetime], str]) -> str:
    effect = _optional(parts, "effect") or "Service partially restored"
    return f"Workaround: {_part(parts, 'workaround', 'the workaround')}. {effect}."


def _closed(card: Card, parts: Mapping[str, str], hm: Callable[[datetime], str]) -> str:
    at = hm(card.closed_at) if card.closed_at else _optional(parts, "at")
    if not at:
        raise ValidationError("when the incident was closed is needed", field="at")
    return f"Incident closed at {at}. Permanent fix: {_part(parts, 'fix', 'the permanent fix')}."


_FILL: dict[str, Callable[[Card, Mapping[str, str], Callable[[datetime], str]], str]] = {
    "opening": _opening,
    "progress": _progress,
    "workaround": _workaround,
    "closed": _closed,
}


def compose(
    shape: str,
    card: Card,
    rules: DispatchRules,
    now: datetime,
    parts: Mapping[str, str] | None = None,
) -> StatusMessage:
    """The message of `shape` for `card` at `now`, ending with the next update time.

    `parts` are the dispatcher's words (what, since, cause, done, requested, workaround,
    effect, fix, at); what the card already knows is taken from the card.
    """
    fill = _FILL.get(shape)
    if fill is None:
        raise ValidationError(
            f"unknown message shape {shape!r}; use one of: {', '.join(SHAPES)}", field="shape"
        )
    tz = rules.tz

    def hm(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%H:%M")

    text = fill(card, parts or {}, hm)
    due = None if shape == "closed" else next_update_at(card, rules, now)
    if due is not None:
        text += f" Next update at {hm(due)}."
    if len(text) > MESSAGE_LIMIT:
        raise ValidationError(
            f"the message is {len(text)} characters; shorten it to {MESSAGE_LIMIT}", field="text"
        )
    return StatusMessage(text, due)
