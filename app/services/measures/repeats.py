"""Repeat incidents (DOMAIN.md: "recurrence, same cause within 7 days").

A card repeats an earlier card when
- both are incidents: planned work is scheduled, it does not recur (a maintenance window
  every night is not seven repeats);
- both are at the same place: the same site, and the same building, floor, room and
  equipment wherever both cards record them (two workstations failing at one campus are
  two incidents; the same switch failing again is a repeat);
- they share the category, or the recorded closure cause ("unknown" is not a cause);
- it was registered at most REPEAT_WINDOW after the earlier one was registered, and after
  the earlier one was restored or closed: a second card while the first is still open is a
  duplicate or an extra report, not a recurrence.
Only the later card is a repeat; the latest such earlier card is the one it repeats.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import datetime, timedelta

from app.services.cards.card import Card

REPEAT_WINDOW = timedelta(days=7)
NO_CAUSE = frozenset({"", "unknown", "n/a", "-"})
# The parts of a place finer than the site, compared where both cards record them.
PLACE_PARTS = ("building", "floor", "room", "equipment")
NOT_INCIDENTS = frozenset({"planned"})
# Cards at one place to look back over: a place with more than this many cards in a week is
# looked at as far back as that (the latest ones are the likely match).
LOOK_BACK = 64


def recorded_cause(card: Card) -> str | None:
    cause = (card.closure or {}).get("cause", "").strip()
    return None if cause.casefold() in NO_CAUSE else cause


Place = tuple[str | None, ...]


def _place(card: Card) -> Place:
    return tuple((v.strip().casefold() or None) if (v := card.get(k)) else None
                 for k in PLACE_PARTS)


def same_place(a: Place, b: Place) -> bool:
    """Parts of the place that both record agree (the site is compared by the grouping)."""
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def _key(card: Card) -> tuple[datetime, str]:
    return (card.registered_at, card.number)


def _latest_before(group: list[Card], out: dict[str, Card]) -> None:
    """For each card of one site and category (or cause), the latest earlier card at the
    same place that it repeats. Cards are kept apart by place, so a busy site's other
    equipment is never walked through."""
    by_place: dict[Place, list[Card]] = {}
    for card in sorted(group, key=_key):
        by_place.setdefault(_place(card), []).append(card)
    keys = {place: [_key(c) for c in cards] for place, cards in by_place.items()}
    # Places that record the same parts match only when equal; the others part by part.
    by_parts: dict[tuple[bool, ...], list[Place]] = {}
    for place in by_place:
        by_parts.setdefault(tuple(v is None for v in place), []).append(place)
    for place, cards in by_place.items():
        parts = tuple(v is None for v in place)
        near = [place] + [q for other, places in by_parts.items() if other != parts
                          for q in places if same_place(place, q)]
        for card in cards:
            best: Card | None = None
            for q in near:
                members = by_place[q]
                i = bisect_left(keys[q], _key(card))  # the ones registered before it
                for before in reversed(members[max(0, i - LOOK_BACK):i]):
                    if card.registered_at - before.registered_at > REPEAT_WINDOW:
                        break
                    done = before.restored_at or before.closed_at
                    if done is not None and done <= card.registered_at:
                        if best is None or _key(before) > _key(best):
                            best = before
                        break
            if best is not None:
                out[card.id] = best


def repeats(cards: Iterable[Card]) -> dict[str, tuple[Card, str]]:
    """card id -> (the earlier card it repeats, 'cause' or 'category': what matched)."""
    by_category: dict[tuple[str, str], list[Card]] = {}
    by_cause: dict[tuple[str, str], list[Card]] = {}
    for card in cards:
        if card.kind_of_work in NOT_INCIDENTS:
            continue
        site = card.site.strip().casefold()
        by_category.setdefault((site, card.category), []).append(card)
        cause = recorded_cause(card)
        if cause is not None:
            by_cause.setdefault((site, cause.casefold()), []).append(card)
    via_cause: dict[str, Card] = {}
    via_category: dict[str, Card] = {}
    for group in by_cause.values():
        _latest_before(group, via_cause)
    for group in by_category.values():
        _latest_before(group, via_category)
    out: dict[str, tuple[Card, str]] = {}
    for card_id in via_cause.keys() | via_category.keys():
        a, b = via_cause.get(card_id), via_category.get(card_id)
        if a is not None and (b is None or a.registered_at >= b.registered_at):
            out[card_id] = (a, "cause")
        elif b is not None:
            out[card_id] = (b, "category")
    return out
