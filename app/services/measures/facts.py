"""What a card's entries say beyond its state: pages, escalation, bounces, reopening,
assignment and the status messages. One fold over a card's entries in stamp order, so every
figure that needs the timeline reads it from here.

Escalation (DOMAIN.md, "Two-contact rule"): the ladder moves past tier 1 only when nobody
acknowledged. Why, per tier below the top one reached:
- unavailable: a `ladder.unreachable`, a step that found nobody to page (`unreachable`), or
  a `ladder.page_failed` (not an "in doubt" one: that is the desk stopping mid-send);
- declined: the paged person said no (an SMS reply starting with a DECLINE_WORDS word, a
  call rejected -- Twilio's "busy" -- or a `ladder.declined` entry where one is recorded);
- otherwise: paged and did not answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# Fields whose change after registration is a bounce between groups: the category decides
# the group a card is routed to (the routing matrix is type x location x time x priority).
BOUNCE_FIELDS = ("category",)
DECLINE_WORDS = frozenset({"DECLINE", "DECLINED", "NO", "BUSY", "CANNOT", "CANT", "REFUSE"})
DECLINED_CALLS = frozenset({"busy", "declined", "rejected"})
REOPEN_FROM = frozenset({"restored", "closed"})
_WORD = re.compile(r"[A-Za-z0-9]+")


class EntryLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def hlc(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def at(self) -> datetime: ...


@dataclass(frozen=True)
class CardFacts:
    first_page_at: datetime | None = None
    top_tier: int = 0  # the highest ladder tier stepped (0: the ladder never ran)
    unavailable_tiers: frozenset[int] = frozenset()
    declined_tiers: frozenset[int] = frozenset()
    bounces: int = 0
    reopened: int = 0  # Restored or Closed, then worked on again
    assigned_at: datetime | None = None
    messages: tuple[tuple[datetime, datetime | None], ...] = ()  # (posted, next update due)

    @property
    def escalated(self) -> bool:
        return self.top_tier >= 2

    @property
    def escalation_reason(self) -> str:
        """'' (not escalated), 'unavailable', 'declined' or 'no answer'."""
        if not self.escalated:
            return ""
        if any(t < self.top_tier for t in self.unavailable_tiers):
            return "unavailable"
        if any(t < self.top_tier for t in self.declined_tiers):
            return "declined"
        return "no answer"


NO_FACTS = CardFacts()


def _time(value: Any, fallback: datetime) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else fallback


def posted_message(stamped: datetime, at: Any, next_update_at: Any
                   ) -> tuple[datetime, datetime | None]:
    """A status message's (posted, next update due): its own `at`, else its stamp's time."""
    return (_time(at, stamped), _time(next_update_at, stamped) if next_update_at else None)


def _declined(kind: str, p: dict[str, Any]) -> bool:
    if kind == "ladder.declined":
        return True
    if kind == "ladder.reply":
        words = _WORD.findall(str(p.get("body") or "").upper())
        return bool(words) and words[0] in DECLINE_WORDS
    return kind == "ladder.call_result" and str(p.get("outcome")) in DECLINED_CALLS


def card_facts(entries: Iterable[EntryLike]) -> CardFacts:
    first_page: datetime | None = None
    top = 0
    unavailable: set[int] = set()
    declined: set[int] = set()
    category: Any = None
    bounces = reopened = 0
    status = "registered"
    assigned: datetime | None = None
    messages: list[tuple[datetime, datetime | None]] = []
    for e in sorted(entries, key=lambda x: x.hlc):
        kind, p = e.kind, e.payload
        if kind.startswith("ladder."):
            tier = int(p.get("tier") or 0)
            if kind == "ladder.step":
                top = max(top, tier)
                if p.get("unreachable"):
                    unavailable.add(tier)
            elif kind == "ladder.page":
                if first_page is None:
                    first_page = e.at
            elif kind == "ladder.unreachable" or (
                    kind == "ladder.page_failed" and not p.get("in_doubt")):
                unavailable.add(tier)
            elif _declined(kind, p):
                declined.add(tier)
        elif kind == "card.registered":
            fields = p.get("fields") or {}
            category = fields.get("category")
            if fields.get("assignee") and assigned is None:
                assigned = _time(p.get("registered_at"), e.at)
        elif kind == "card.fields":
            fields = p.get("fields") or {}
            for name in BOUNCE_FIELDS:
                if name in fields and fields[name] != category:
                    bounces += 1
                    category = fields[name]
            if fields.get("assignee") and assigned is None:
                assigned = e.at
        elif kind == "card.status":
            new = p.get("status")
            if status in REOPEN_FROM and new not in REOPEN_FROM:
                reopened += 1
            status = str(new)
        elif kind == "card.status_message":
            messages.append(posted_message(e.at, p.get("at"), p.get("next_update_at")))
    return CardFacts(first_page, top, frozenset(unavailable), frozenset(declined), bounces,
                     reopened, assigned, tuple(messages))
