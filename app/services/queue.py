"""The dispatcher's queue: open cards ranked by priority, then by time to the nearest breach."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.services.card import Card
from app.services.rules import DispatchRules
from app.services.sla import CardClocks, clocks_for

_FAR = timedelta(days=3650)


@dataclass(frozen=True)
class QueueItem:
    card: Card
    clocks: CardClocks

    def sort_key(self, now: datetime) -> tuple[str, timedelta, datetime]:
        nearest = self.clocks.nearest(now)
        left = nearest.remaining(now) if nearest else None
        return (self.card.priority, left if left is not None else _FAR, self.card.registered_at)


def ranked(cards: Iterable[Card], rules: DispatchRules, now: datetime) -> list[QueueItem]:
    items = [QueueItem(c, clocks_for(c, rules, now)) for c in cards if c.is_open]
    items.sort(key=lambda item: item.sort_key(now))
    return items
