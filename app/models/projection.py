"""How entries become a card's state: a pure fold in stamp order.

Folding a card's entries sorted by HLC stamp gives the same state whatever order they arrived
in, which is the merge rule from the design: scalar fields are last-writer-wins by stamp (the
desk id inside the stamp breaks ties) and the timeline is the union of entries. The journal
applies a local entry incrementally (it is always the newest) and re-folds a card when an older
entry arrives from another desk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.models.entry import Entry

# Re-exported: readers of card states know them from here.
from app.protocol.catalogue import CARD_KINDS as CARD_KINDS
from app.protocol.catalogue import HANDOVER_KINDS as HANDOVER_KINDS
from app.protocol.catalogue import INTAKE_FIELDS as INTAKE_FIELDS
from app.protocol.catalogue import LADDER_KINDS as LADDER_KINDS

CardState = dict[str, Any]

# Status values in the order a card normally moves through them.
REGISTERED = "registered"
IN_PROGRESS = "in_progress"
WAITING_CUSTOMER = "waiting_customer"
WAITING_CONTRACTOR = "waiting_contractor"
RESTORED = "restored"
CLOSED = "closed"
WAITING = frozenset({WAITING_CUSTOMER, WAITING_CONTRACTOR})
OPEN_STATUSES = (REGISTERED, IN_PROGRESS, WAITING_CUSTOMER, WAITING_CONTRACTOR, RESTORED)

# The kinds and their shapes live in the entry catalogue (app/protocol/catalogue.py).


def new_state(entry: Entry) -> CardState:
    p = entry.payload
    given = p.get("fields", {})
    fields = {name: given.get(name) for name in INTAKE_FIELDS}
    at = p.get("registered_at") or entry.at.isoformat()
    return {
        "id": entry.card_id,
        "number": p["number"],
        **fields,
        "status": REGISTERED,
        "priority": p["priority"],
        "priority_reason": p["priority_reason"],
        "registered_at": at,
        "entered_late": bool(p.get("entered_late", False)),
        "registered_by": entry.operator,
        "registered_desk": entry.desk_id,
        "confirmed_at": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "in_progress_at": None,
        "restored_at": None,
        "closed_at": None,
        "closure": None,
        "review_owed": p["priority"] in ("P1", "P2"),
        "pauses": [],
        "last_update_at": None,
        "next_update_at": None,
        "report_count": 1,
        "breaches": [],
        "last_hlc": entry.hlc,
    }


def apply(state: CardState | None, entry: Entry) -> CardState | None:
    """Apply one entry to a card's state; returns the new state (the input is not changed)."""
    if entry.kind == "card.registered":
        base = new_state(entry)
        if state is not None:
            # A registration that arrives after edits (out of order): keep later edits.
            return _refold_needed(base, state)
        return base
    if state is None:
        return None
    s = dict(state)
    p = entry.payload
    at = p.get("at") or entry.at.isoformat()
    kind = entry.kind
    if kind == "card.fields":
        for name, value in p["fields"].items():
            if name in INTAKE_FIELDS:
                s[name] = value
    elif kind == "card.priority":
        s["priority"] = p["priority"]
        s["priority_reason"] = p["reason"]
        if p["priority"] in ("P1", "P2") and s.get("closure") is None:
            s["review_owed"] = True
    elif kind == "card.status":
        _apply_status(s, p["status"], at, p)
    elif kind == "card.status_message":
        s["last_update_at"] = at
        s["next_update_at"] = p.get("next_update_at")
    elif kind == "card.ack":
        if s["acknowledged_at"] is None:
            s["acknowledged_at"] = at
            s["acknowledged_by"] = p.get("who")
        if s["confirmed_at"] is None:
            s["confirmed_at"] = at
    elif kind == "card.confirmed":
        if s["confirmed_at"] is None:
            s["confirmed_at"] = at
    elif kind == "card.renumbered":
        # The store found the number already taken (a desk restored from an old backup
        # reissued it); app/sync/engine.py writes this rename.
        s["number"] = p["number"]
    elif kind == "card.report":
        s["report_count"] = int(s["report_count"]) + 1
    elif kind == "card.review":
        _apply_review(s, p, at, entry.operator)
    elif kind == "card.review_measure_done":
        _tick_measure(s, int(p["measure"]), at, entry.operator)
    elif kind == "sla.breach":
        key = f"{p['clock']}@{p['due']}"
        if key not in s["breaches"]:
            s["breaches"] = [*s["breaches"], key]
    s["last_hlc"] = max(s["last_hlc"], entry.hlc)
    return s


def _apply_status(s: CardState, status: str, at: str, p: dict[str, Any]) -> None:
    previous = s["status"]
    pauses: list[list[str | None]] = [list(x) for x in s["pauses"]]
    if status in WAITING and previous not in WAITING:
        pauses.append([at, None])
    elif status not in WAITING and previous in WAITING and pauses and pauses[-1][1] is None:
        pauses[-1][1] = at
    s["pauses"] = pauses
    s["status"] = status
    if status == IN_PROGRESS and s["in_progress_at"] is None:
        s["in_progress_at"] = at
    if status == RESTORED:
        s["restored_at"] = at
    elif status in (IN_PROGRESS, *WAITING):
        s["restored_at"] = None  # a relapse re-opens the recovery clock
    if status == CLOSED:
        s["closed_at"] = at
        s["closure"] = p.get("closure")
    elif previous == CLOSED:
        s["closed_at"] = None


def _apply_review(s: CardState, p: dict[str, Any], at: str, operator: str) -> None:
    # A review recorded again (corrected) keeps the measures already done, matched by text.
    done = {m["text"]: m for m in (s.get("review") or {}).get("measures", []) if m["done_at"]}
    s["review"] = {
        "summary": p["summary"], "owner": p["owner"], "due": p["due"], "at": at,
        "by": operator,
        "measures": [done.get(t) or {"text": t, "done_at": None, "done_by": None}
                     for t in p["measures"]],
    }
    s["review_owed"] = False


def _tick_measure(s: CardState, index: int, at: str, operator: str) -> None:
    review = s.get("review")
    if not review or not 1 <= index <= len(review["measures"]):
        return  # a tick for a review this desk has not seen (yet): nothing to mark
    measures = [dict(m) for m in review["measures"]]
    if measures[index - 1]["done_at"] is None:
        measures[index - 1].update(done_at=at, done_by=operator)
    s["review"] = {**review, "measures": measures}


def _refold_needed(base: CardState, later: CardState) -> CardState:
    # Only reachable when a caller applies entries out of order; fold() sorts first, so the
    # journal never gets here. Keep the later state's fields rather than lose them.
    merged = dict(base)
    merged.update({k: v for k, v in later.items() if v is not None})
    return merged


def fold(entries: Iterable[Entry]) -> CardState | None:
    """A card's state from its entries, in stamp order (order of arrival does not matter)."""
    state: CardState | None = None
    for entry in sorted(entries, key=lambda e: (e.hlc, e.id)):
        state = apply(state, entry)
    return state
