"""The store's side of the monitoring doors: integration keys, open items, replays, refusals.

Four tables (revision s0005), each kept inside the transaction that stores the entries it
follows from, so they can never disagree with the entries table:

* ``intake_keys`` -- every integration key, projected from the ``integration.added`` and
  ``integration.revoked`` entries under INTEGRATIONS_CARD, whoever wrote them (a desk's
  `dispatch-desk integration add` reaches the store by push; `dispatch-desk server integration
  add` writes the same entry here). The fold is by stamp, so arrival order does not matter:
  the newest ``added`` of a name is its live key and replaces the older ones; a ``revoked``
  revokes every key of that name added before it. A revoked or replaced key is kept, so the
  door can answer 403 ("revoked") instead of 401 ("nobody knows this key").
* ``intake_open`` -- dedup key -> the open intake item. Filled from every stored
  ``intake.received`` (the store's own and those desks push from their local door or mailbox;
  the first item of a key wins). ``intake.accepted``/``intake.attached`` note the card the
  item went to and keep the key open, so repeats keep counting on that item while its card is
  open; ``intake.dismissed`` or the card's ``card.status`` closed close the key, and the next
  alert with it opens a new item.
* ``intake_seen`` -- occurrences already recorded (`occurrence_key`), so a replayed body
  (Alertmanager retrying after a lost reply) is answered "replayed" and stores nothing.
  Kept SEEN_FOR; older rows are pruned.
* ``intake_refusals`` -- calls refused at a door, per integration and reason, for the admin.

`plan` turns a request's alerts into entries: a new key gets one ``intake.received``; the
repeats of a key in one request are coalesced into one ``intake.repeated`` per item and
status, carrying the count, so a burst of 500 repeats is one entry, not 500.

Imported by `push.store_batch` (the projection hook), so this module never imports push or
storage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.models.entry import SCHEMA_VERSION, Entry, fact_id
from app.protocol.catalogue import INTEGRATIONS_CARD
from app.protocol.intake import Alert
from app.protocol.intake_formats import Integration, occurrence_key
from app.store.tables import (
    card_numbers,
    entries,
    intake_keys,
    intake_open,
    intake_refusals,
    intake_seen,
    seq_counter,
)
from app.sync.protocol import format_time

LIVE, REVOKED, REPLACED = "live", "revoked", "replaced"
SEEN_FOR = timedelta(days=7)
_IN_CHUNK = 500
_CLOSING = ("intake.dismissed",)
_TO_CARD = ("intake.accepted", "intake.attached")


@dataclass(frozen=True)
class KeyRecord:
    integration: Integration
    state: str  # LIVE, REVOKED or REPLACED


@dataclass
class Summary:
    """What one request did, as the door answers it."""

    accepted: int = 0  # alerts in the body
    created: int = 0  # new intake items
    repeated: int = 0  # alerts counted on an open item
    replayed: int = 0  # occurrences already recorded: nothing stored for them
    items: list[str] | None = None
    seq: int = 0  # the store's last seq after this request's entries (0: nothing stored)

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "created": self.created, "repeated": self.repeated,
                "replayed": self.replayed, "items": self.items or [], "seq": self.seq}


# -- integration keys -------------------------------------------------------------------

def fold_integrations(rows: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """`intake_keys` rows from (hlc, kind, payload) of integration entries, in any order."""
    keys: dict[str, dict[str, Any]] = {}
    for hlc, kind, payload in sorted(rows, key=lambda r: r[0]):
        name = str(payload.get("name", ""))
        if kind == "integration.added":
            for row in keys.values():
                if row["name"] == name and row["state"] == LIVE:
                    row.update(state=REPLACED, hlc=hlc)
            keys[str(payload["key_hash"])] = {
                "key_hash": str(payload["key_hash"]), "name": name,
                "kind": str(payload["kind"]), "state": LIVE, "hlc": hlc,
                "settings": json.dumps(dict(payload), sort_keys=True)}
        elif kind == "integration.revoked":
            for row in keys.values():
                if row["name"] == name and row["state"] != REVOKED:
                    row.update(state=REVOKED, hlc=hlc)
    return list(keys.values())


def refresh_keys(conn: Connection) -> None:
    """Rebuild `intake_keys` from the stored integration entries (a handful of rows)."""
    stored = conn.execute(select(entries.c.hlc, entries.c.kind, entries.c.payload).where(
        entries.c.card_id == INTEGRATIONS_CARD, entries.c.set_aside.is_(None))).all()
    rows = fold_integrations((r.hlc, r.kind, json.loads(r.payload)) for r in stored
                             if r.kind in ("integration.added", "integration.revoked"))
    conn.execute(delete(intake_keys))
    if rows:
        conn.execute(insert(intake_keys), rows)


def lookup(conn: Connection, key_hash: str) -> KeyRecord | None:
    row = conn.execute(select(intake_keys).where(intake_keys.c.key_hash == key_hash)).first()
    if row is None:
        return None
    return KeyRecord(Integration.from_payload(json.loads(row.settings)), str(row.state))


def integrations(conn: Connection) -> list[dict[str, Any]]:
    """Every integration's live or last key state with its refusal counts, for the admin."""
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(select(intake_keys).order_by(intake_keys.c.hlc)):
        settings = json.loads(row.settings)
        if row.name not in out or row.state == LIVE:
            out[row.name] = {"name": row.name, "kind": row.kind, "state": row.state,
                             "site": settings.get("site", ""),
                             "category": settings.get("category", ""), "refused": {}}
    unknown: dict[str, Any] = {"name": "", "kind": "", "state": "unknown keys", "refused": {}}
    for row in conn.execute(select(intake_refusals)):
        target = out.get(row.name, unknown) if row.name else unknown
        target["refused"][row.reason] = int(row._mapping["count"])
    listed = sorted(out.values(), key=lambda r: str(r["name"]))
    return [*listed, unknown] if unknown["refused"] else listed


def count_refusal(conn: Connection, name: str, reason: str, now: datetime) -> None:
    """One more refused call (an upsert: several store processes count into one row)."""
    values = {"name": name[:80], "reason": reason[:20], "count": 1, "last_at": format_time(now)}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(intake_refusals).values(values)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["name", "reason"],
        set_={"count": intake_refusals.c.count + 1, "last_at": values["last_at"]}))


# -- the projection hook (push.store_batch calls it for every stored batch) -------------------

def project(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Keep the door's tables in step with entries just stored in this transaction."""
    if any(r["card_id"] == INTEGRATIONS_CARD for r in rows):
        refresh_keys(conn)
    for row in rows:
        kind = row["kind"]
        if kind == "intake.received":
            key = json.loads(row["payload"])["dedup_key"]
            held = conn.execute(select(intake_open.c.item_id).where(
                intake_open.c.dedup_key == key)).first()
            if held is None:
                conn.execute(insert(intake_open).values(
                    dedup_key=key, item_id=row["card_id"], opened_at=row["stored_at"]))
        elif kind in _CLOSING:
            conn.execute(delete(intake_open).where(intake_open.c.item_id == row["card_id"]))
        elif kind in _TO_CARD:
            payload = json.loads(row["payload"])
            card = payload.get("card") or conn.execute(select(card_numbers.c.card_id).where(
                card_numbers.c.number == payload.get("number"))).scalar()
            if card:
                conn.execute(update(intake_open).where(
                    intake_open.c.item_id == row["card_id"]).values(card_id=card))
        elif kind == "card.status" and json.loads(row["payload"]).get("status") == "closed":
            conn.execute(delete(intake_open).where(intake_open.c.card_id == row["card_id"]))


# -- a request's alerts as entries --------------------------------------------------------

def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]


def _known(conn: Connection, column: Any, key: Any, values: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(values):
        for k, v in conn.execute(select(column, key).where(column.in_(chunk))).tuples():
            found[str(k)] = str(v)
    return found


def plan(conn: Connection, alerts: Sequence[Alert], now: datetime, stamp: Callable[[], str],
         desk_id: str, operator: str) -> tuple[list[Entry], Summary]:
    """The entries that record `alerts`, and what they amount to. Runs inside the write
    transaction that stores them: it takes the sequence lock first, so two store processes
    cannot both open an item for the same new key."""
    conn.execute(select(seq_counter.c.last_seq).where(seq_counter.c.id == 1).with_for_update())
    summary = Summary(accepted=len(alerts), items=[])
    occurrences = [occurrence_key(a) for a in alerts]
    seen = _known(conn, intake_seen.c.occurrence, intake_seen.c.item_id, sorted(set(occurrences)))
    fresh: dict[str, list[tuple[Alert, str]]] = {}  # dedup key -> its new occurrences
    for alert, occurrence in zip(alerts, occurrences, strict=True):
        if occurrence in seen:
            summary.replayed += 1
            continue
        seen[occurrence] = ""
        fresh.setdefault(alert.dedup_key, []).append((alert, occurrence))
    held = _known(conn, intake_open.c.dedup_key, intake_open.c.item_id, sorted(fresh))
    made: list[Entry] = []
    seen_rows: list[dict[str, str]] = []
    at = format_time(now)

    def entry(entry_id: str, item: str, kind: str, payload: dict[str, Any]) -> Entry:
        return Entry(entry_id, item, kind, payload, stamp(), desk_id, operator, SCHEMA_VERSION)

    for key, group in fresh.items():
        item = held.get(key)
        rest = group
        if item is None:
            first, occurrence = group[0]
            # Ids from the first occurrence: the same alert makes the same item everywhere.
            item = fact_id(f"intake.item:{occurrence}")
            made.append(entry(fact_id(f"intake.received:{item}"), item, "intake.received",
                              first.received_payload()))
            summary.created += 1
            rest = group[1:]
        for status in sorted({a.status for a, _ in rest}):
            batch = [(a, o) for a, o in rest if a.status == status]
            digest = fact_id("intake.repeated:" + item + ":" + ",".join(o for _, o in batch))
            made.append(entry(digest, item, "intake.repeated",
                              batch[-1][0].repeated_payload(len(batch))))
            summary.repeated += len(batch)
        summary.items = [*(summary.items or []), item]
        seen_rows += [{"occurrence": o, "item_id": item, "seen_at": at} for _, o in group]
    if seen_rows:
        conn.execute(insert(intake_seen), seen_rows)
    return made, summary


def prune_seen(conn: Connection, now: datetime) -> int:
    """Forget occurrences older than SEEN_FOR (a sender retries within minutes)."""
    cutoff = format_time(now - SEEN_FOR)
    return int(conn.execute(delete(intake_seen).where(intake_seen.c.seen_at < cutoff)).rowcount)
