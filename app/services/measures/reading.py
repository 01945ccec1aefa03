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
entry, on one journal. Journal revision 0005 adds partial indexes these selects name
(`INDEXED BY`, so the planner cannot miss them; a journal without them is read without).

With the figures cache (`read_report`, measures/cache.py) the closed cards whose cached row
is still good come as rows, read in the same read transaction as the cards: only the others
are read as cards and facts, and when they are few their facts are folded from their
entries, looked up by card.
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
from app.models.measures_cache import GENERATION_KEY, HAS_TRIGGERS, TRIGGERS
from app.models.projection import CLOSED
from app.services.cards.card import Card
from app.services.measures.cache import decode
from app.services.measures.facts import CardFacts, card_facts, posted_message
from app.services.measures.figures import CardFigures
from app.services.measures.period import to_us
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
    "pages": "SELECT card_id, MIN(hlc) FROM entries {pages} WHERE kind = 'ladder.page' {live} "
             "GROUP BY card_id",
    "steps": "SELECT card_id, MAX(json_extract(payload, '$.tier')) FROM entries {steps} "
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
            "'$.status'), '') IN ('restored', 'closed') AS done FROM entries {status} "
            "WHERE kind = 'card.status' {live}) GROUP BY card_id "
            "HAVING MAX(CASE WHEN NOT done THEN hlc END) > MIN(CASE WHEN done THEN hlc END)",
}
# The partial indexes of journal revision 0005 each select names (the expressions must be
# the same text as in the index, see app/models/migrations/versions/0005_measures_cache.py).
FACT_INDEXES = {"pages": "ix_entries_first_page", "steps": "ix_entries_top_tier",
                "status": "ix_entries_status"}
# The cards open, or closed after a moment: nothing of a card closed before a period is
# decided in it (build.py), so a week's report reads the entries of a week's cards. Times
# in the states are ISO text; a day's margin keeps the text comparison safe whatever their
# UTC offset (the measures compare the real times).
_LIVE = ("AND card_id IN (SELECT id FROM cards WHERE status != 'closed' "
         "OR json_extract(state, '$.closed_at') >= :since)")
_SINCE = ("registered_at >= :repeats OR status != 'closed' "
          "OR json_extract(state, '$.closed_at') >= :since "
          "OR json_extract(state, '$.review_owed') OR json_extract(state, '$.review') "
          "IS NOT NULL")
_CARDS_SINCE = f" WHERE ({_SINCE})"


_FOLD_KINDS = (*FACT_KINDS, "card.registered")


def _fold_sql() -> str:
    kinds = ",".join(f"'{k}'" for k in _FOLD_KINDS)
    # `+kind`: look the few cards up by card, not every entry of these kinds up by kind
    return ("SELECT card_id, kind, hlc, payload FROM entries WHERE card_id IN "
            f"(SELECT value FROM json_each(?)) AND +kind IN ({kinds})")


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def cards_from_rows(rows: Iterable[tuple[Any, ...]], raw: dict[str, Any] | None = None
                    ) -> tuple[list[Card], dict[str, Review]]:
    """The cards as the measures read them (`Card.from_state` for the fields picked out;
    the intake fields other than CARD_FIELDS stay out), and their reviews (as recorded, into
    `raw`, when given: the figures cache keeps them with a card's row)."""
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
            if raw is not None:
                raw[card_id] = review
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


def _hints(con: sqlite3.Connection) -> dict[str, str]:
    """`INDEXED BY` for each of FACT_INDEXES the journal has (revision 0005 on)."""
    have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {k: f"INDEXED BY {name}" if name in have else "" for k, name in FACT_INDEXES.items()}


def _entry_rows(con: sqlite3.Connection, bound: dict[str, Any], live: str
                ) -> dict[str, list[Any]]:
    """The entries' aggregates, and the whole entries of the cards that need the fold."""
    hints = _hints(con)
    got = {name: con.execute(sql.format(live=live, **hints), bound).fetchall()
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
    got = read_report(path, since)
    return got.cards, got.facts, got.reviews


class JournalRead(NamedTuple):
    """What `read_report` read: the cards to compute, and the cached rows of the others."""

    cards: list[Card]
    facts: dict[str, CardFacts]
    reviews: dict[str, Review]  # of the cards and of the cached rows
    cached: list[CardFigures]  # rows of the cache still good (measures/cache.py)
    seqs: dict[str, int]  # card id -> its highest entry seq, of `cards` (with a basis)
    recorded: dict[str, Any]  # card id -> its review as recorded, of `cards`
    generation: int  # the cache's generation, for measures_cache.store


# With fewer cards to compute than this beside the cached rows, their facts are folded from
# their own entries (looked up by card) rather than aggregated over every entry of a kind.
FOLD_AT_MOST = 2000
# A row that is there is good (the triggers of revision 0005 drop it when an entry of its
# card changes); one of another basis (code, rules) is not.
_CACHE_SQL = "SELECT {what} FROM measures_cache m WHERE m.basis = :basis"
# A cached row is of a closed card: the narrowing of `_CARDS_SINCE`, in its own columns.
_CACHE_SINCE = (" AND (m.registered_us >= :repeats_us OR m.closed_us >= :since_us "
                "OR m.review_owed OR m.review IS NOT NULL)")
_SEQS_SQL = ("SELECT card_id, max(seq) FROM entries WHERE card_id IN "
             "(SELECT value FROM json_each(?)) GROUP BY card_id")
_IDS = "id IN (SELECT value FROM json_each(:ids))"
_BY_IDS = "AND card_id IN (SELECT value FROM json_each(:ids))"


def read_report(path: Path, since: datetime | None = None, basis: str | None = None
                ) -> JournalRead:
    """`read_journal`, and with `basis` (cache.basis of the rules) the figures cache: the
    cached rows of that basis whose card has no entry since, and only the other cards to
    compute, with their highest entry seqs (the key their rows are stored with)."""
    try:
        with closing(_connect(path)) as con:
            con.execute("BEGIN")
            return _read(con, since, basis)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read the journal {path}: {exc}") from exc


def _read(con: sqlite3.Connection, since: datetime | None, basis: str | None) -> JournalRead:
    bound, live, which = _narrowing(con, since)
    cached, reviews, generation = _cached(con, basis, bound, bool(which))
    recorded: dict[str, Any] = {}
    if not cached:
        cards, own = cards_from_rows(con.execute(_CARDS_SQL + which, bound), recorded)
        got = _entry_rows(con, bound, live)
        facts = facts_from_rows(got["pages"], got["steps"], got["messages"], got["whole"],
                                cards)
    else:
        have = {r.id for r in cached}
        ids = json.dumps([r[0] for r in con.execute("SELECT id FROM cards")
                          if r[0] not in have])
        query = _CARDS_SQL + (which + " AND " if which else " WHERE ") + _IDS
        cards, own = cards_from_rows(con.execute(query, {**bound, "ids": ids}), recorded)
        facts = _facts_of(con, cards, bound)
    reviews.update(own)
    seqs: dict[str, int] = {}
    if basis is not None:
        ids = json.dumps([c.id for c in cards if c.status == CLOSED])
        seqs = {c: int(s) for c, s in con.execute(_SEQS_SQL, (ids,))}
    return JournalRead(cards, facts, reviews, cached, seqs, recorded, generation)


def _cached(con: sqlite3.Connection, basis: str | None, bound: dict[str, Any], narrow: bool
            ) -> tuple[list[CardFigures], dict[str, Review], int]:
    """The good cached rows, their reviews, and the cache's generation."""
    if basis is None or con.execute(HAS_TRIGGERS).fetchone()[0] != len(TRIGGERS):
        return [], {}, 0  # no cache here (before revision 0005), or nothing keeps it right
    row = con.execute("SELECT value FROM desk_meta WHERE key = ?", (GENERATION_KEY,)).fetchone()
    params: dict[str, Any] = {"basis": basis}
    where = _CACHE_SINCE if narrow else ""
    if narrow:
        params.update({f"{k}_us": to_us(datetime.fromisoformat(v)) for k, v in bound.items()})
    # A row that does not decode (not one this version wrote) is left out: its card is
    # computed, and its row written again.
    rows = [r for r in map(decode, (data for (data,) in con.execute(
        _CACHE_SQL.format(what="m.figures") + where, params))) if r is not None]
    reviews: dict[str, Review] = {}
    for card_id, review in con.execute(_CACHE_SQL.format(what="m.card_id, m.review") + where
                                       + " AND m.review IS NOT NULL", params):
        if (found := review_of({"review": json.loads(review)})) is not None:
            reviews[card_id] = found
    return rows, reviews, int(row[0]) if row else 0


def _facts_of(con: sqlite3.Connection, cards: list[Card], bound: dict[str, Any]
              ) -> dict[str, CardFacts]:
    """The facts of the cards computed beside cached rows: few, so folded from their own
    entries; many, by the aggregates of those cards."""
    ids = json.dumps([c.id for c in cards])
    if len(cards) <= FOLD_AT_MOST:
        by_card: dict[str, list[FactEntry]] = {}
        for card_id, kind, hlc, payload in con.execute(_fold_sql(), (ids,)):
            by_card.setdefault(card_id, []).append(FactEntry(kind, hlc, json.loads(payload)))
        return {card_id: card_facts(entries) for card_id, entries in by_card.items()}
    got = _entry_rows(con, {**bound, "ids": ids}, _BY_IDS)
    return facts_from_rows(got["pages"], got["steps"], got["messages"], got["whole"], cards)


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
