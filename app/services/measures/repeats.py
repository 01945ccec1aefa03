"""Repeat incidents (DOMAIN.md: "recurrence, same cause within 7 days").

A card repeats an earlier card at the same site when both have the same category, or the
same recorded closure cause, and it was registered at most REPEAT_WINDOW after the earlier
one was registered -- and after the earlier one was restored or closed: a second card while
the first is still open is a duplicate or an extra report, not a recurrence. The latest such
earlier card is the one it repeats. "unknown" is not a cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from app.services.cards.card import Card

REPEAT_WINDOW = timedelta(days=7)
NO_CAUSE = frozenset({"", "unknown", "n/a", "-"})


def recorded_cause(card: Card) -> str | None:
    cause = (card.closure or {}).get("cause", "").strip()
    return None if cause.casefold() in NO_CAUSE else cause


def _latest_before(group: list[Card], out: dict[str, Card]) -> None:
    group.sort(key=lambda c: (c.registered_at, c.number))
    for i, card in enumerate(group):
        for before in reversed(group[:i] if i < 64 else group[i - 64:i]):
            if card.registered_at - before.registered_at > REPEAT_WINDOW:
                break
            done = before.restored_at or before.closed_at
            if done is not None and done <= card.registered_at:
                best = out.get(card.id)
                if best is None or before.registered_at > best.registered_at:
                    out[card.id] = before
                break


def repeats(cards: Iterable[Card]) -> dict[str, tuple[Card, str]]:
    """card id -> (the earlier card it repeats, 'cause' or 'category': what matched)."""
    by_category: dict[tuple[str, str], list[Card]] = {}
    by_cause: dict[tuple[str, str], list[Card]] = {}
    for card in cards:
        site = card.site.casefold()
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
