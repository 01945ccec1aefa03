"""The report's read of a desk's journal file: what the measures need of a year's cards, in
a few selects on a read-only connection of its own (so the window can run it on a worker
thread while the desk writes; the command line runs it as is). The one module of the package
that touches a file; everything it returns is counted by the pure rest.

A year's journal has a million entries and 100,000 card states; decoding them in Python cost
most of the report's time. So SQLite picks out what the measures read: of each card state the
fields below (one json_extract per card: one parse), and of the entries only per-card
aggregates (the first page, the top ladder tier, the status messages). The whole entries come
only for the cards whose facts need the fold (`card_facts`): a rare ladder kind, a field
change, a status after Restored/Closed. A test compares the facts with the fold over every
entry, on one journal.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from app.errors import JournalError
from app.models.entry import stamp_time
from app.services.cards.card import Card
from app.services.measures.facts import CardFacts, card_facts, posted_message
from app.services.measures.repeats import REPEAT_WINDOW
from app.services.measures.reviews import Review, review_of

# The entry kinds the measures read beyond the card states (measures/facts.py).
FACT_KINDS = ("card.fields", "card.status", "card.status_message", "ladder.step",
              "ladder.page", "ladder.unreachable", "ladder.page_failed", "ladder.reply",
              "ladder.call_result", "ladder.declined")


class FactEntry(NamedTuple):
    """An entry as far as the measures read it (measures.facts.EntryLike); a tuple, because
    a year's report makes 600,000 of them."""

    kind: str
    hlc: str
    payload: dict[str, Any]

    @property
    def at(self) -> datetime:
        return stamp_time(self.hlc)


# The intake fields the measures read: the kind of work, and the place (repeats).
CARD_FIELDS = ("kind_of_work", "building", "floor", "room", "equipment")
_CARD_PATHS = ("priority_reason", "symptom", "assignee", "confirmed_at", "acknowledged_at",
               "acknowledged_by", "in_progress_at", "restored_at", "closed_at",
               "last_update_at", "next_update_at", "pauses", "review_owed", "closure",
               "review", *CARD_FIELDS)
_CARDS_SQL = ("SELECT id, number, status, priority, category, site, registered_at, "
              "json_extract(state, " + ", ".join(f"'$.{k}'" for k in _CARD_PATHS)
              + ") FROM cards")
_RARE = ("card.fields", "ladder.unreachable", "ladder.page_failed", "ladder.reply",
         "ladder.call_result", "ladder.declined")
# `{live}` narrows a query to the cards still of interest since a moment (see `_live`).
_FACTS_SQL = {
    # only a card's first page counts (time to first page), and its top ladder tier
    "pages": "SELECT card_id, MIN(hlc) FROM entries WHERE kind = 'ladder.page' {live} "
             "GROUP BY card_id",
    "steps": "SELECT card_id, MAX(json_extract(payload, '$.tier')) FROM entries "
             "WHERE kind = 'ladder.step' {live} GROUP BY card_id",
    "messages": "SELECT card_id, hlc, json_extract(payload, '$.at'), "
                "json_extract(payload, '$.next_update_at') FROM entries "
                "WHERE kind = 'card.status_message' {live}",
    # The cards whose facts need the fold: a rare kind, a step that found nobody, or a
    # status other than Restored/Closed after one of them (perhaps reopened).
    "fold": "SELECT card_id FROM entries WHERE kind IN ("
            + ",".join(f"'{k}'" for k in _RARE) + ") {live} UNION "
            "SELECT card_id FROM entries WHERE kind = 'ladder.step' AND "
            "json_extract(payload, '$.unreachable') IS NOT NULL {live} UNION "
            "SELECT card_id FROM (SELECT card_id, hlc, coalesce(json_extract(payload, "
            "'$.status'), '') IN ('restored', 'closed') AS done FROM entries "
            "WHERE kind = 'card.status' {live}) GROUP BY card_id "
            "HAVING MAX(CASE WHEN NOT done THEN hlc END) > MIN(CASE WHEN done THEN hlc END)",
}
# The cards open, or closed after a moment: nothing of a card closed before a period is
# decided in it (build.py), so a week's report reads the entries of a week's cards. Times
# in the states are ISO text; a day's margin keeps the text comparison safe whatever their
# UTC offset (the measures compare the real times).
_LIVE = ("AND card_id IN (SELECT id FROM cards WHERE status != 'closed' "
         "OR json_extract(state, '$.closed_at') >= :since)")
_CARDS_SINCE = (" WHERE registered_at >= :repeats OR status != 'closed' "
                "OR json_extract(state, '$.closed_at') >= :since "
                "OR json_extract(state, '$.review_owed') OR json_extract(state, '$.review') "
                "IS NOT NULL")


_FOLD_KINDS = (*FACT_KINDS, "card.registered")


def _fold_sql() -> str:
    kinds = ",".join(f"'{k}'" for k in _FOLD_KINDS)
    # `+kind`: look the few cards up by card, not every entry of these kinds up by kind
    return ("SELECT card_id, kind, hlc, payload FROM entries WHERE card_id IN "
            f"(SELECT value FROM json_each(?)) AND +kind IN ({kinds})")


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def cards_from_rows(rows: Iterable[tuple[Any, ...]]) -> tuple[list[Card], dict[str, Review]]:
    """The cards as the measures read them (`Card.from_state` for the fields picked out;
    the intake fields other than CARD_FIELDS stay out), and their reviews."""
    cards: list[Card] = []
    reviews: dict[str, Review] = {}
    for card_id, number, status, priority, category, site, registered, picked in rows:
        (reason, symptom, assignee, confirmed, acked, acked_by, in_progress, restored, closed,
         last_update, next_update, pauses, review_owed, closure, review, *fields
         ) = json.loads(picked)
        cards.append(Card(
            id=card_id, number=number, status=status, priority=priority,
            priority_reason=reason, category=category or "", site=site or "",
            symptom=symptom or "", assignee=assignee,
            registered_at=datetime.fromisoformat(registered), confirmed_at=_at(confirmed),
            acknowledged_at=_at(acked), acknowledged_by=acked_by,
            in_progress_at=_at(in_progress), restored_at=_at(restored), closed_at=_at(closed),
            last_update_at=_at(last_update), next_update_at=_at(next_update),
            pauses=tuple((datetime.fromisoformat(a), _at(b)) for a, b in pauses or ()),
            breaches=(), report_count=1, review_owed=bool(review_owed), entered_late=False,
            closure=closure, fields=dict(zip(CARD_FIELDS, fields, strict=True))))
        if review and (found := review_of({"review": review})) is not None:
            reviews[card_id] = found
    return cards, reviews


def facts_from_rows(pages: Iterable[tuple[str, str]], steps: Iterable[tuple[str, Any]],
                    messages: Iterable[tuple[str, str, Any, Any]],
                    whole: Iterable[tuple[str, str, str, str]], cards: Iterable[Card]
                    ) -> dict[str, CardFacts]:
    """Each card's facts from the aggregates; a card with `whole` entries by the fold over
    them (measures.card_facts). Without a field change, a card's assignee can only come from
    its registration: assigned when registered (as the fold says)."""
    folded: dict[str, list[FactEntry]] = {}
    for card_id, kind, hlc, payload in whole:
        folded.setdefault(card_id, []).append(FactEntry(kind, hlc, json.loads(payload)))
    out = {card_id: card_facts(entries) for card_id, entries in folded.items()}
    posted: dict[str, list[tuple[str, Any, Any]]] = {}
    for card_id, hlc, at, nxt in messages:
        if card_id not in out:
            posted.setdefault(card_id, []).append((hlc, at, nxt))
    first_page = {c: hlc for c, hlc in pages if c not in out}
    top = {c: tier for c, tier in steps if c not in out}
    assigned = {c.id: c.registered_at for c in cards if c.assignee and c.id not in out}
    for card_id in first_page.keys() | top.keys() | posted.keys() | assigned.keys():
        page = first_page.get(card_id)
        out[card_id] = CardFacts(
            first_page_at=None if page is None else stamp_time(page),
            top_tier=int(top.get(card_id) or 0),
            assigned_at=assigned.get(card_id),
            messages=tuple(posted_message(stamp_time(hlc), at, nxt)
                           for hlc, at, nxt in sorted(posted.get(card_id, ()))))
    return out


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def _entry_rows(con: sqlite3.Connection, bound: dict[str, str], live: str
                ) -> dict[str, list[Any]]:
    """The entries' aggregates, and the whole entries of the cards that need the fold."""
    got = {name: con.execute(sql.format(live=live), bound).fetchall()
           for name, sql in _FACTS_SQL.items()}
    fold_ids = [r[0] for r in got["fold"]]
    got["whole"] = con.execute(_fold_sql(), (json.dumps(fold_ids),)).fetchall()
    return got


def read_journal(path: Path, since: datetime | None = None
                 ) -> tuple[list[Card], dict[str, CardFacts], dict[str, Review]]:
    """Every card, its facts and its review, read from the journal file (read-only, in one
    read transaction, so cards and facts are of one moment).

    With `since` (a period's start), only what a report from `since` on counts: the cards
    registered from a week before it (repeats), open or closed since, or with a review to
    come (overdue reviews), and the facts only of those open or closed since. (Reading the
    entries on a second thread while this one parses the cards was tried: slower here.)"""
    try:
        with closing(_connect(path)) as con:
            con.execute("BEGIN")
            bound, live, which = _narrowing(con, since)
            cards, reviews = cards_from_rows(con.execute(_CARDS_SQL + which, bound))
            got = _entry_rows(con, bound, live)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read the journal {path}: {exc}") from exc
    return cards, facts_from_rows(got["pages"], got["steps"], got["messages"], got["whole"],
                                  cards), reviews


def _narrowing(con: sqlite3.Connection, since: datetime | None
               ) -> tuple[dict[str, str], str, str]:
    """(parameters, the entries' condition, the cards' condition) for a report from `since`.
    Narrowing costs a look-up per row, so only when it leaves some card out."""
    if since is None:
        return {}, "", ""
    utc = since.astimezone(UTC)
    bound = {"since": (utc - timedelta(days=1)).isoformat(),
             "repeats": (utc - REPEAT_WINDOW - timedelta(days=1)).isoformat()}
    oldest = con.execute("SELECT min(registered_at) FROM cards").fetchone()[0]
    if not oldest or oldest >= bound["repeats"]:
        return bound, "", ""
    return bound, _LIVE, _CARDS_SINCE
