"""What an operator does with an entry set aside (app/models/quarantine.py): retry it, or
discard it with a reason that is itself a journal entry, so every desk and the handover sheet
can see who let which entry go, and why."""

from __future__ import annotations

from app.errors import ValidationError
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.models.quarantine import PULLED, REFUSED, SetAside
from app.protocol.catalogue import SYNC_CARD, line
from app.sync.protocol import parse_wire_entry


def retry(journal: Journal, item_id: str) -> str:
    """Try a set-aside entry again; returns what happened, in words. A refused entry goes back
    to the outbox (fix its cause first: the store judges it again); a pulled or local one is
    applied if this version accepts it now."""
    item = journal.set_aside_item(item_id)
    if item.resolved_at is not None:
        raise ValidationError(f"{item_id} was already resolved ({item.resolution})", field="id")
    if item.direction == REFUSED:
        journal.resolve_set_aside(item.id, "resent to the store", resend=True)
        return f"{item.id} is back in the outbox; the store judges it again at the next sync"
    entry = parse_wire_entry({**_wire(item), "seq": item.seq} if item.seq else _wire(item))
    journal.apply_remote([entry])
    journal.resolve_set_aside(item.id, "applied on retry")
    return f"{item.id} ({entry.kind}) applied"


def _wire(item: SetAside) -> dict[str, object]:
    if not isinstance(item.raw, dict) or "payload" not in item.raw:
        raise ValidationError(f"{item.id}: the store sent only a placeholder ({item.reason}); "
                              "there is nothing to apply. Discard it with a reason", field="id")
    return {k: v for k, v in item.raw.items() if k != "seq"}


def discard(journal: Journal, item_id: str, reason: str, operator: str) -> None:
    """Let a set-aside entry go, with the reason, as a `sync.discarded` entry."""
    item = journal.set_aside_item(item_id)
    if item.resolved_at is not None:
        raise ValidationError(f"{item_id} was already resolved ({item.resolution})", field="id")
    line(300, empty=False)(reason.strip(), "reason", None)  # type: ignore[arg-type]
    payload = {"entry": item.id[:36], "reason": reason.strip(), "direction": item.direction,
               "kind": item.kind[:40] if item.kind else None}
    journal.write([NewEntry(SYNC_CARD, "sync.discarded", payload)], operator)
    journal.resolve_set_aside(item.id, f"discarded by {operator}: {reason.strip()}", drop=True)


__all__ = ["PULLED", "REFUSED", "discard", "retry"]
