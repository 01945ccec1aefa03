"""What an operator does with an entry set aside (app/models/quarantine.py): retry it, or
discard it with a reason that is itself a journal entry, so every desk and the handover sheet
can see who let which entry go, and why."""

from __future__ import annotations

from datetime import datetime

from app.errors import ValidationError
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.models.journal_sync import not_authorised
from app.models.quarantine import PULLED, REFUSED, SetAside, as_entry
from app.protocol.catalogue import SYNC_CARD, line
from app.protocol.rights import REFUSED_PREFIX
from app.protocol.text import for_display
from app.services.cards.timeline import TimelineLine, describe
from app.sync.protocol import parse_wire_entry


def retry(journal: Journal, item_id: str) -> str:
    """Try a set-aside entry again; returns what happened, in words. A refused entry goes back
    to the outbox (fix its cause first: the store judges it again); a pulled or local one is
    applied if this version accepts it now."""
    item = journal.set_aside_item(item_id)
    if item.resolved_at is not None:
        raise ValidationError(f"{item_id} was already resolved ({item.resolution})", field="id")
    if not_authorised(item.reason):
        # The store keeps it refused for good: it judges the same entry, by the same operator
        # at the same time, the same way again.
        raise ValidationError(
            f"{item.id} was refused: not authorised, and a retry is judged the same way; "
            f"discard it with a reason (dispatch-desk journal quarantine discard {item.id} "
            "--reason TEXT), and have someone who holds the right make the change", field="id")
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


def refused_lines(journal: Journal, card_id: str) -> list[TimelineLine]:
    """The card's entries the store refused for rights, as lines of its timeline: "refused:
    not authorised — <why>", and what the entry would have done. They are applied nowhere,
    so they are not among the card's entries; a front end adds these lines to the card's
    timeline (`card show` does), discarded ones too, with who let them go."""
    lines = []
    for item in journal.set_aside(include_resolved=True):
        if item.card_id != card_id or not not_authorised(item.reason):
            continue
        why = item.reason.split(REFUSED_PREFIX.strip(), 1)[-1].strip()
        entry = as_entry(item) if isinstance(item.raw, dict) and "payload" in item.raw \
            else None
        if entry is not None:  # our own: the whole entry is kept
            would = describe(entry)
            at, who, desk = entry.at, would.who, entry.desk_id
            detail = f"not applied: {would.title}" + (f" ({would.detail})" if would.detail
                                                       else "")
        else:  # another desk's: the store sends only a placeholder
            at, who, desk = datetime.fromisoformat(item.noted_at), "store", ""
            detail = f"not applied: {item.kind or 'an entry'}"
        if item.resolution:
            detail += f"; {item.resolution}"
        lines.append(TimelineLine(at, who, item.kind or "", for_display(
            f"refused: not authorised — {why}"), for_display(detail), desk))
    return sorted(lines, key=lambda line: line.at)


__all__ = ["PULLED", "REFUSED", "discard", "refused_lines", "retry"]
