"""The dispatcher's queue: open cards ranked by priority, then by time to the nearest breach."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules
from app.services.cards.sla import (
    SYSTEM_OPERATOR,
    CardClocks,
    ClockState,
    SlaClock,
    clocks_for,
    pending_breaches,
)

_FAR = timedelta(days=3650)
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class QueueItem:
    card: Card
    clocks: CardClocks

    def rank_key(self) -> tuple[str, datetime, datetime, str]:
        """`sort_key` without `now`: the same order, by the nearest deadline itself."""
        nearest = self.clocks.nearest(self.card.registered_at)
        due = nearest.due if nearest and nearest.due else _NEVER
        return (self.card.priority, due, self.card.registered_at, self.card.number)

    def sort_key(self, now: datetime) -> tuple[str, timedelta, datetime, str]:
        nearest = self.clocks.nearest(now)
        left = nearest.remaining(now) if nearest else None
        # The number last: equal cards keep one order however they were read.
        return (self.card.priority, left if left is not None else _FAR, self.card.registered_at,
                self.card.number)


def ranked(cards: Iterable[Card], rules: DispatchRules, now: datetime) -> list[QueueItem]:
    items = [QueueItem(c, clocks_for(c, rules, now)) for c in cards if c.is_open]
    items.sort(key=lambda item: item.sort_key(now))
    return items


# -- rows for the desk window -------------------------------------------------------------
#
# The window's queue shows immutable rows built here, once per change; only the countdown
# cells are recomputed, at tick time, from each clock's deadline (never stored as "minutes
# left", which would go stale the moment it was written).

# Shares of a clock's own allowance: below AMBER_FROM it is calm, from RED_FROM it is urgent.
AMBER_FROM = 0.5
RED_FROM = 0.8
_MINUTE = timedelta(minutes=1)


class Tone(StrEnum):
    CALM = "calm"
    AMBER = "amber"
    RED = "red"
    BREACHED = "breached"
    DONE = "done"  # met (or met late): nothing left to chase on this clock
    IDLE = "idle"  # paused, not started, or no such clock for this card


@dataclass(frozen=True)
class Countdown:
    text: str
    tone: Tone


@dataclass(frozen=True)
class QueueRow:
    card: Card
    clocks: CardClocks
    card_id: str
    number: str
    priority: str
    status: str
    status_label: str
    category: str
    site: str
    symptom: str
    assignee: str
    acknowledged_by: str
    #: Where the card stands in the queue: priority, nearest deadline, registration, number.
    rank: tuple[str, datetime, datetime, str]
    #: The words the free-text filter searches (number, symptom, place, people), normalised
    #: once by `search_text`: " a 0016 no wi fi ... a0016 no wifi ... a16 ", words spaced.
    haystack: str

    @property
    def reaction(self) -> SlaClock:
        return self.clocks.reaction

    @property
    def recovery(self) -> SlaClock:
        return self.clocks.recovery

    @property
    def update(self) -> SlaClock:
        return self.clocks.update

    def clock(self, name: str) -> SlaClock:
        return {"reaction": self.reaction, "recovery": self.recovery, "update": self.update}[name]


# -- the free-text filter's words ---------------------------------------------------------
#
# Rows and what is typed are normalised the same way: case-folded, accents stripped (NFKD),
# and a word written with hyphens, dots or slashes is kept both split and joined, so "wifi",
# "wi-fi" and "wi fi" all find "Wi-Fi". A typed word with a digit in it must be a whole word
# of the row ("3" finds "Branch 3", never "Branch 30" or card A-0013); other words may be part
# of one ("c east" finds building C at Campus East). Rows are normalised once, when built: the
# filter itself is a substring test per row and typed word (PITFALLS.md: 100,000 rows).

_JOINERS = re.compile(r"[^\w\s]+")  # hyphens, dashes, dots, slashes, apostrophes...
_DIGIT = re.compile(r"\d")
# The same split for ASCII text, as byte tables (bytes.translate is ~10x faster than a regex).
_ASCII_PUNCT = bytes(i for i in range(128) if _JOINERS.fullmatch(chr(i)))
_ASCII_SPACE = bytes(i for i in range(128) if chr(i).isspace())
_SPLIT = bytes.maketrans(_ASCII_PUNCT + _ASCII_SPACE, b" " * len(_ASCII_PUNCT + _ASCII_SPACE))
_JOIN = bytes.maketrans(_ASCII_SPACE, b" " * len(_ASCII_SPACE))


def fold(text: str) -> str:
    """Case-folded, without accents: "Café Wi-Fi" -> "cafe wi-fi"."""
    if text.isascii():
        return text.lower()  # the same as casefold for ASCII, and most rows are ASCII
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_text(*parts: str, number: str = "") -> str:
    """A row's searchable words with a space either side of each: every word split at its
    hyphens, dots and slashes, then again joined ("wi fi ... wifi"). `number` (the card's,
    "A-0016") is also kept in its short form ("a16"), the way dispatchers type it."""
    text = fold(" ".join(parts))
    code, dash, counter = fold(number).partition("-")
    extra = f"{code}{counter.lstrip('0') or '0'} " if dash and counter.isdigit() else ""
    if text.isascii():
        raw = text.encode("ascii")
        both = raw.translate(_SPLIT) + b" " + raw.translate(_JOIN, _ASCII_PUNCT)
        return f" {both.decode('ascii')} {extra}"
    split = " ".join(_JOINERS.sub(" ", text).split())
    joined = " ".join(_JOINERS.sub("", text).split())
    return f" {split} {joined} {extra}"


def search_words(typed: str) -> list[str]:
    """The words typed into the filter, normalised like rows: "Wi-Fi  Branch 3" ->
    ["wifi", "branch", " 3 "]. A word with a digit comes padded with spaces: a whole word."""
    words = [_JOINERS.sub("", word) for word in fold(typed).split()]
    return [f" {w} " if _DIGIT.search(w) else w for w in words if w]


def row_for(item: QueueItem) -> QueueRow:
    card = item.card
    assignee = card.assignee or ""
    acked = card.acknowledged_by or ""
    hay = search_text(card.number, card.symptom, card.location, card.category, assignee, acked,
                      card.status_label, card.priority_reason, number=card.number)
    return QueueRow(
        card=card,
        clocks=item.clocks,
        card_id=card.id,
        number=card.number,
        priority=card.priority,
        status=card.status,
        status_label=card.status_label,
        category=card.category,
        site=card.site,
        symptom=card.symptom,
        assignee=assignee,
        acknowledged_by=acked,
        rank=item.rank_key(),
        haystack=hay,
    )


def queue_rows(cards: Iterable[Card], rules: DispatchRules, now: datetime) -> list[QueueRow]:
    """Every open card as a row, ranked by priority, then time to the nearest breach."""
    return [row_for(item) for item in ranked(cards, rules, now)]


def rerank(rows: Iterable[QueueRow]) -> list[QueueRow]:
    """The same rows in queue order. Time to a deadline is the deadline minus now, the same
    `now` for every card, so the order only changes when a card does: no re-ranking by time."""
    return sorted(rows, key=lambda row: row.rank)


def with_cards(
    rows: Iterable[QueueRow], cards: Iterable[Card], rules: DispatchRules, now: datetime
) -> list[QueueRow]:
    """`rows` with these cards' rows replaced (a closed card leaves, a new one joins),
    re-ranked: after one action, only the cards it touched are read again."""
    fresh = {card.id: card for card in cards}
    kept = [row for row in rows if row.card_id not in fresh]
    return rerank(kept + queue_rows(fresh.values(), rules, now))


# Seconds are shown only in the last minutes before a deadline: that is when they matter,
# and a table of forty cells all changing every second is noise (and a repaint per cell).
SECONDS_UNDER = timedelta(minutes=10)


def span(delta: timedelta) -> str:
    """A duration the way a dispatcher reads it aloud: 4m 05s, 47m, 1h 20m, 2d 03h."""
    secs = max(0, int(delta.total_seconds()))
    days, rest = divmod(secs, 86_400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    if delta <= SECONDS_UNDER:
        return f"{mins}m {secs:02d}s"
    return f"{mins}m"


def countdown(clock: SlaClock, now: datetime) -> Countdown:
    """The clock as it stands at `now`: time left (or overdue) and its tone.

    The state is recomputed from the deadline here, not taken from when the row was built, so
    a clock that runs out between two changes turns BREACHED on the very next tick.
    """
    if clock.done_at is not None:
        if clock.due is not None and clock.done_at > clock.due:
            return Countdown(f"late {span(clock.done_at - clock.due)}", Tone.DONE)
        return Countdown("met", Tone.DONE)
    if clock.state is ClockState.NOT_STARTED:
        return Countdown("not started", Tone.IDLE)
    if clock.state is ClockState.OFF:
        return Countdown("—", Tone.IDLE)
    if clock.due is None:
        return Countdown("paused", Tone.IDLE)
    left = clock.due - now
    if left <= timedelta(0):
        overdue = -left
        if overdue >= timedelta(hours=1):
            text = span(overdue)
        elif overdue >= _MINUTE:
            text = f"{int(overdue // _MINUTE)}m"
        else:
            text = f"{int(overdue.total_seconds())}s"
        return Countdown(f"BREACHED {text}", Tone.BREACHED)
    used = 1.0 - left / clock.allowance if clock.allowance else 1.0
    tone = Tone.RED if used >= RED_FROM else Tone.AMBER if used >= AMBER_FROM else Tone.CALM
    return Countdown(span(left), tone)



@dataclass(frozen=True)
class QueueFilter:
    """What the dispatcher narrowed the queue to; empty fields match everything."""

    status: str = ""
    priority: str = ""
    category: str = ""
    site: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return any((self.status, self.priority, self.category, self.site, self.text.strip()))

    def matches(self, row: QueueRow) -> bool:
        if self.status and row.status != self.status:
            return False
        if self.priority and row.priority != self.priority:
            return False
        if self.category and row.category != self.category:
            return False
        if self.site and row.site != self.site:
            return False
        # Every word typed must appear somewhere: "c east" finds building C at Campus East.
        return all(word in row.haystack for word in search_words(self.text))


def filtered(rows: Sequence[QueueRow], spec: QueueFilter) -> list[QueueRow]:
    """The rows `spec` matches, in queue order. Same test as `QueueFilter.matches`, one
    condition at a time over the whole list: this runs on every keystroke in the filter."""
    out = list(rows)
    for name in ("status", "priority", "category", "site"):
        wanted = getattr(spec, name)
        if wanted:
            out = [row for row in out if getattr(row, name) == wanted]
    for word in search_words(spec.text):
        out = [row for row in out if word in row.haystack]
    return out


# -- breaches, from rows already built ---------------------------------------------------
#
# SlaWatch re-reads every open card to find breaches; the window already holds every open
# card's clocks in its rows, so it asks these instead (a full re-read of 2,000 open cards
# costs ~0.2 s, too long to do on the UI thread after every action).


def next_deadline(rows: Iterable[QueueRow], now: datetime) -> datetime | None:
    """The first deadline after `now` of any running clock in `rows`."""
    dues = [due for row in rows if (due := row.clocks.next_due_after(now)) is not None]
    return min(dues) if dues else None


def due_breaches(rows: Iterable[QueueRow], rules: DispatchRules, now: datetime) -> list[NewEntry]:
    """Breach facts that have fallen due by `now` and are not yet on their cards."""
    facts = []
    for row in rows:
        if any(c.running and c.due is not None and c.due <= now for c in row.clocks.all()):
            # The row's clock states are from when it was built; judge them at `now`.
            facts += pending_breaches(row.card, clocks_for(row.card, rules, now), now)
    return facts


def record_due_breaches(
    journal: Journal, rows: Iterable[QueueRow], rules: DispatchRules, now: datetime
) -> list[Entry]:
    facts = due_breaches(rows, rules, now)
    return journal.write(facts, SYSTEM_OPERATOR) if facts else []
