"""The triage tray: intake entries folded into items, the same on every desk.

An item is an ``intake.received`` entry's card id; ``intake.repeated`` adds to its count, and
``intake.accepted`` / ``intake.attached`` / ``intake.dismissed`` settle it (the first by stamp
wins: a second desk's late decision is kept in the journal but does not undo the first).

De-duplication across doors: the store's webhook door and a desk's local door may each make
an item for the same alert before they see each other's. Folding in stamp order, a *pending*
item whose dedup key belongs to an earlier item that is still open at its stamp (pending, or
settled onto a card not yet closed) counts as a repeat of that earlier item and is not shown
on its own. Every desk holding the same entries folds them to the same tray, whatever order
they arrived in. An item that a person already settled on its own is never merged away.

Pure: entries and card facts in, items out; no clock, no journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.models.entry import Entry, stamp_time

PENDING, ACCEPTED, ATTACHED, DISMISSED = "pending", "accepted", "attached", "dismissed"
STATES = (PENDING, ACCEPTED, ATTACHED, DISMISSED)
_SETTLING = {"intake.accepted": ACCEPTED, "intake.attached": ATTACHED,
             "intake.dismissed": DISMISSED}


@dataclass(frozen=True)
class CardFacts:
    """What the tray needs of the card an item became."""

    number: str
    status: str
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "closed"


@dataclass(frozen=True)
class TrayItem:
    id: str
    integration: str
    channel: str
    dedup_key: str
    status: str  # firing or resolved: the latest word from the source
    summary: str
    received_at: datetime  # when the source sent (or the door took) the first alert
    last_at: datetime  # the latest alert or repeat
    count: int  # alerts folded into this item, the first one included
    state: str = PENDING  # pending, accepted, attached, dismissed
    details: str = ""
    source: str = ""
    node: str = ""
    metric: str = ""
    severity: str = ""
    site: str = ""
    category: str = ""
    kind_of_work: str = ""
    callback: str = ""
    links: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    maintenance: str = ""  # the window that collected it ("" when none)
    auto: bool = False  # the rules registered it at once
    number: str = ""  # the card it became or was attached to
    card_id: str = ""
    reason: str = ""  # why it was dismissed
    settled_by: str = ""
    settled_at: datetime | None = None
    settled_stamp: str = ""  # the settling entry's stamp
    probable: bool = False  # three similar reports within 10 minutes
    merged: tuple[str, ...] = ()  # items from other doors counted as repeats of this one
    stamp: str = ""  # the received entry's stamp: the fold's order

    @property
    def is_pending(self) -> bool:
        return self.state == PENDING

    def open_at(self, stamp: str, cards: Mapping[str, CardFacts]) -> bool:
        """Whether a later alert (at `stamp`) with this key is still a repeat of this item."""
        if self.state == PENDING:
            return True
        if self.state == DISMISSED:
            return stamp < self.settled_stamp
        facts = cards.get(self.card_id)
        if facts is None:
            return True  # the card has not arrived here yet: it was open when it was made
        if facts.closed_at is None:
            return facts.is_open
        return stamp_time(stamp) < facts.closed_at

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[name] = value
        return out


def item_from(item_id: str, p: Mapping[str, Any], stamp: str = "") -> TrayItem:
    """A new item from an ``intake.received`` payload (before any repeat or decision)."""
    at = datetime.fromisoformat(p["received_at"])
    return TrayItem(
        id=item_id, integration=p["integration"], channel=p["channel"],
        dedup_key=p["dedup_key"], status=p["status"], summary=p["summary"], received_at=at,
        last_at=at, count=1, details=p.get("details", ""), source=p.get("source", ""),
        node=p.get("node", ""), metric=p.get("metric", ""), severity=p.get("severity", ""),
        site=p.get("site", ""), category=p.get("category", ""),
        kind_of_work=p.get("kind_of_work", ""), callback=p.get("callback", ""),
        links=tuple(p.get("links", ())), labels=dict(p.get("labels", {})),
        fields=dict(p.get("fields", {})), maintenance=p.get("maintenance", ""),
        auto=bool(p.get("auto", False)), stamp=stamp)


def _repeats(item: TrayItem, entries: Iterable[Entry]) -> TrayItem:
    """The item with its repeats counted (one copy made, however many there are)."""
    count, last, status = item.count, item.last_at, item.status
    links = list(item.links)
    for entry in entries:
        p = entry.payload
        at = datetime.fromisoformat(p["at"])
        count += int(p["count"])
        if at >= last:
            last, status = at, p["status"]
        links += [link for link in p.get("links") or () if link not in links]  # a voicemail
    return replace(item, count=count, last_at=last, status=status, links=tuple(links))


def fold(entries: Iterable[Entry], cards: Mapping[str, CardFacts]) -> list[TrayItem]:
    """Every item the entries describe (settled ones too, merged ones not), oldest first.

    `cards` maps card ids to what is known of them, for items that became or joined a card.
    """
    ordered = sorted(entries, key=lambda e: (e.hlc, e.id))
    settled: dict[str, Entry] = {}  # item id -> its first settling entry
    repeats: dict[str, list[Entry]] = {}
    received: list[Entry] = []
    for entry in ordered:
        if entry.kind == "intake.received":
            received.append(entry)
        elif entry.kind == "intake.repeated":
            repeats.setdefault(entry.card_id, []).append(entry)
        elif entry.kind in _SETTLING and entry.card_id not in settled:
            settled[entry.card_id] = entry
    items: dict[str, TrayItem] = {}
    by_key: dict[str, str] = {}  # dedup key -> the item that owns it (the latest opened)
    for entry in received:
        if entry.card_id in items:
            continue  # the same item received twice (a replayed fact): once is enough
        item = item_from(entry.card_id, entry.payload, entry.hlc)
        if item.id in repeats:
            item = _repeats(item, repeats[item.id])
        item = _settle(item, settled.get(item.id), cards)
        owner_id = by_key.get(item.dedup_key)
        owner = items.get(owner_id) if owner_id else None
        if owner is not None and owner.open_at(entry.hlc, cards):
            if item.state == PENDING:
                items[owner.id] = _absorb(owner, item)
            else:
                items[item.id] = item  # settled on its own; the earlier item keeps the key
            continue
        items[item.id] = item
        by_key[item.dedup_key] = item.id
    return sorted(items.values(), key=lambda i: (i.stamp, i.id))


def _settle(item: TrayItem, entry: Entry | None, cards: Mapping[str, CardFacts]) -> TrayItem:
    if entry is None:
        return item
    p = entry.payload
    card_id = p.get("card", "")
    facts = cards.get(card_id)
    number = facts.number if facts is not None else p.get("number", "")
    return replace(item, state=_SETTLING[entry.kind], card_id=card_id, number=number,
                   reason=p.get("reason", ""), settled_by=entry.operator,
                   settled_at=entry.at, settled_stamp=entry.hlc)


def _absorb(owner: TrayItem, later: TrayItem) -> TrayItem:
    return replace(owner, count=owner.count + later.count,
                   links=(*owner.links, *(k for k in later.links if k not in owner.links)),
                   last_at=max(owner.last_at, later.last_at),
                   status=later.status if later.last_at >= owner.last_at else owner.status,
                   merged=(*owner.merged, later.id))


def open_by_key(items: Iterable[TrayItem], cards: Mapping[str, CardFacts],
                stamp: str) -> dict[str, TrayItem]:
    """dedup key -> the item an alert with that key, arriving at `stamp`, repeats."""
    out: dict[str, TrayItem] = {}
    for item in items:
        if item.open_at(stamp, cards):
            out.setdefault(item.dedup_key, item)  # oldest first: the earliest open one wins
    return out
