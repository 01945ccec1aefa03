"""Small helpers that write card entries straight into a journal (the sync tests care about
entries, not about the card service's intake rules)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.models.projection import CardState, fold


def register(journal: Journal, symptom: str = "switch down", priority: str = "P2") -> str:
    card_id = str(uuid.uuid4())
    payload = {"priority": priority, "priority_reason": "test", "fields": {"symptom": symptom}}
    journal.write([NewEntry(card_id, "card.registered", payload)], "ops")
    return card_id


def edit(journal: Journal, card_id: str, **fields: str) -> None:
    journal.write([NewEntry(card_id, "card.fields", {"fields": fields})], "ops")


def reference(entries: Iterable[Entry]) -> dict[str, CardState]:
    """The reference model: the projection fold over a set of entries, card by card."""
    by_card: dict[str, list[Entry]] = {}
    for entry in entries:
        by_card.setdefault(entry.card_id, []).append(entry)
    states = {cid: fold(es) for cid, es in by_card.items()}
    return {cid: s for cid, s in states.items() if s is not None}


def cards_of(journal: Journal) -> dict[str, CardState]:
    return {c["id"]: c for c in journal.cards()}
