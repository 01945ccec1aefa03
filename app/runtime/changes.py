"""One typed change: which cards, which kinds of fact, and who wrote it.

Every write to a desk's journal -- a dispatcher's action, a pulled page, the ladder, or another
process on the same journal (`dispatch-desk card new` from a monitoring hook) -- is announced
as one `Change`; the queue, the open card, the wallboard, the ladder and the outbox each decide
from it whether to react.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.protocol.catalogue import HANDOVER_KINDS, LADDER_KINDS, SYNC_KINDS

# Kinds of fact a change can carry.
CARD = "card"
LADDER = "ladder"
HANDOVER = "handover"
SYNC = "sync"

# Who wrote it.
HERE = "this process"
OTHER_PROCESS = "another process"


def fact_of(kind: str) -> str:
    if kind in LADDER_KINDS:
        return LADDER
    if kind in HANDOVER_KINDS:
        return HANDOVER
    if kind in SYNC_KINDS:
        return SYNC
    return CARD


@dataclass(frozen=True)
class Change:
    cards: frozenset[str]
    facts: frozenset[str]
    origin: str = HERE

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str]], origin: str = HERE) -> Change:
        """From (card_id, kind) pairs."""
        pairs = list(rows)
        return cls(frozenset(c for c, _ in pairs), frozenset(fact_of(k) for _, k in pairs),
                   origin)

    @property
    def pages(self) -> bool:
        """Whether the ladder may have something new to do (a card fact, not only its own)."""
        return CARD in self.facts or (LADDER in self.facts and self.origin != HERE)
