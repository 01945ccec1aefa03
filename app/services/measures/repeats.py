"""Repeat incidents (DOMAIN.md: "recurrence, same cause within 7 days").

A card repeats an earlier card when
- both are incidents: planned work is scheduled, it does not recur (a maintenance window
  every night is not seven repeats);
- both are at the same place: the same site, and the same building, floor, room and
  equipment wherever both cards record them (two workstations failing at one campus are
  two incidents; the same switch failing again is a repeat);
- they share the category, or the recorded closure cause ("unknown" is not a cause);
- it was registered at most REPEAT_WINDOW after the earlier one was registered, and after
  the earlier one was restored or closed: a second card while the first is still open is a
  duplicate or an extra report, not a recurrence.
Only the later card is a repeat; the latest such earlier card is the one it repeats.

Counted over the report's rows (`figures.CardFigures` or `figures.Outline`: moments in
microseconds since the epoch), which carry what is read here already worked out of the card
(`place_of`, `recorded_cause`), so a year's report does not work it out again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from operator import attrgetter
from typing import Protocol, TypeVar, cast

from app.services.cards.card import Card

REPEAT_WINDOW = timedelta(days=7)
WINDOW_US = REPEAT_WINDOW // timedelta(microseconds=1)
NO_CAUSE = frozenset({"", "unknown", "n/a", "-"})
# The parts of a place finer than the site, compared where both cards record them.
PLACE_PARTS = ("building", "floor", "room", "equipment")
NOT_INCIDENTS = frozenset({"planned"})
# Cards at one place to look back over: a place with more than this many cards in a week is
# looked at as far back as that (the latest ones are the likely match).
LOOK_BACK = 64

Place = tuple[str | None, ...]


class Repeatable(Protocol):
    """What a repeat reads of a card."""

    @property
    def id(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def kind_of_work(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def registered(self) -> int: ...
    @property
    def done(self) -> int | None: ...
    @property
    def place(self) -> Place: ...
    @property
    def recorded_cause(self) -> str | None: ...


R = TypeVar("R", bound=Repeatable)


def recorded_cause(card: Card) -> str | None:
    cause = (card.closure or {}).get("cause", "").strip()
    return None if cause.casefold() in NO_CAUSE else cause


def place_of(card: Card) -> Place:
    return tuple((v.strip().casefold() or None) if (v := card.get(k)) else None
                 for k in PLACE_PARTS)


def same_place(a: Place, b: Place) -> bool:
    """Parts of the place that both record agree (the site is compared by the grouping)."""
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


# (registered, number): the order cards are looked through.
_key: Callable[[Repeatable], tuple[int, str]] = attrgetter("registered", "number")


def _parts(place: Place) -> tuple[bool, ...]:
    return tuple(v is None for v in place)


class _Group:
    """The cards so far of one site and category (or cause), by place. A card looks back
    over the cards before it at its place, and at the places that record other parts and
    agree with it where both record one (`same_place`). Kept apart by place, so a busy
    site's other equipment is never walked through."""

    __slots__ = ("by_place", "by_parts")

    def __init__(self) -> None:
        self.by_place: dict[Place, list[Repeatable]] = {}
        self.by_parts: dict[tuple[bool, ...], list[Place]] = {}

    def place(self, place: Place) -> list[Repeatable]:
        members = self.by_place[place] = []
        self.by_parts.setdefault(_parts(place), []).append(place)
        return members

    def elsewhere(self, place: Place, registered: int, best: Repeatable | None
                  ) -> Repeatable | None:
        """`best`, or a later card at a place that records other parts and agrees."""
        parts = _parts(place)
        for other, places in self.by_parts.items():
            if other == parts:
                continue
            for q in places:
                if same_place(place, q):
                    found = _look_back(self.by_place[q], registered)
                    if found is not None and (best is None or _key(found) > _key(best)):
                        best = found
        return best


def _look_back(members: list[Repeatable], registered: int) -> Repeatable | None:
    """The latest of the last LOOK_BACK `members` (all registered before) registered at most
    REPEAT_WINDOW before `registered` and restored or closed by then."""
    for j in range(len(members) - 1, max(0, len(members) - LOOK_BACK) - 1, -1):
        before = members[j]
        if registered - before.registered > WINDOW_US:
            return None
        done = before.done
        if done is not None and done <= registered:
            return before
    return None


def _latest(groups: dict[tuple[str, str], _Group], key: tuple[str, str], card: Repeatable
            ) -> Repeatable | None:
    """The latest card so far of group `key` that `card` repeats; then `card` joins it."""
    group = groups.get(key)
    if group is None:
        group = groups[key] = _Group()
    place = card.place
    members = group.by_place.get(place)
    if members is None:
        members = group.place(place)
    registered = card.registered
    # Most cards: nothing at their place in the week before (one look, no call).
    best = _look_back(members, registered) if members and (
        registered - members[-1].registered <= WINDOW_US) else None
    if len(group.by_parts) > 1:
        best = group.elsewhere(place, registered, best)
    members.append(card)
    return best


def repeats(cards: Iterable[R], *, in_order: bool = False) -> dict[str, tuple[R, str]]:
    """card id -> (the earlier card it repeats, 'cause' or 'category': what matched).
    `in_order`: the cards come in (registered, number) order already (the report's do)."""
    by_category: dict[tuple[str, str], _Group] = {}
    by_cause: dict[tuple[str, str], _Group] = {}
    out: dict[str, tuple[Repeatable, str]] = {}
    for card in cards if in_order else sorted(cards, key=_key):
        if card.kind_of_work in NOT_INCIDENTS:
            continue
        site = card.site.strip().casefold()
        b = _latest(by_category, (site, card.category), card)
        cause = card.recorded_cause
        if cause is not None:
            a = _latest(by_cause, (site, cause.casefold()), card)
            if a is not None and (b is None or a.registered >= b.registered):
                out[card.id] = (a, "cause")
                continue
        if b is not None:
            out[card.id] = (b, "category")
    return cast("dict[str, tuple[R, str]]", out)
