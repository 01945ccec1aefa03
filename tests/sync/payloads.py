"""Entries for every kind in the entry catalogue, built from its own schemas: valid ones (the
catalogue's checks are read, so a new kind or field is generated without touching this file)
and hostile ones (mutated payloads, garbage, hostile Unicode, stamps from anywhere).

The choices go through a `Pick`: `HypothesisPick` draws them from Hypothesis (shrinkable),
`RandomPick` from a seeded `random.Random` (cheap, for volume). The same walker serves both.
"""

from __future__ import annotations

import inspect
import json
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from app.models.entry import format_stamp
from app.protocol import catalogue as cat

T = TypeVar("T")

# Characters that have broken text handling somewhere: NUL and other C0 controls, DEL, C1
# controls (NEL, CSI), bidi controls (the Trojan Source set), a BOM, lone surrogates (what a
# byte that is not UTF-8 becomes), non-BMP characters, combining marks.
NASTY = ("\x00", "\x07", "\x08", "\t", "\n", "\r", "\x1b", "\x1b[2J", "\x1b]52;c;eA==\x07", "\x7f",
         "\x85", "\x9b", "\u202e", "\u2066", "\u200f", "\u061c", "\ufeff", "\udce9", "\ud800",
         "\udfff", "\U0001f6a8", "e\u0301", "\u2028")
CLEAN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-/:éßøçÆ中文€"
# Bidi controls are legal in stored text (they are removed or escaped when shown).
LEGAL_ODD = ("\u202e", "\u2066", "\u200f", "\U0001f6a8", "e\u0301", "\ufeff")
SIZES = (79, 80, 81, 120, 121, 200, 201, 300, 301, 2000, 2001, 4000, 4001, 8000, 8001, 70_000)
EXTREME_TIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-13-45T99:99:99Z",
                 "2026-11-23T02:10:00", "garbage", "", "2026-11-23T02:10:00+00:00" * 3)


class Pick(Protocol):
    def integer(self, low: int, high: int) -> int: ...

    def choice(self, items: Sequence[T]) -> T: ...

    def chance(self, percent: int) -> bool: ...

    def text(self, pool: Sequence[str], max_size: int) -> str: ...

    def any_char(self) -> str: ...


class RandomPick:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]

    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) < percent

    def text(self, pool: Sequence[str], max_size: int) -> str:
        size = self.rng.randint(0, max_size)
        return "".join(pool[self.rng.randrange(len(pool))] for _ in range(size))

    def any_char(self) -> str:
        return chr(self.rng.randint(0, 0x10FFFF))  # surrogates included


class HypothesisPick:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def choice(self, items: Sequence[T]) -> T:
        # An index drawn with fixed bounds: some lists (cards, ids seen) grow between
        # examples, and Hypothesis needs the same draws to mean the same choices.
        return items[self.data.draw(st.integers(0, 1023)) % len(items)]

    def chance(self, percent: int) -> bool:
        return self.data.draw(st.integers(0, 99)) < percent

    def text(self, pool: Sequence[str], max_size: int) -> str:
        return "".join(self.data.draw(st.lists(st.sampled_from(pool), max_size=max_size)))

    def any_char(self) -> str:
        # exclude_categories=() lets surrogates (category Cs) in.
        return self.data.draw(st.characters(exclude_categories=()))


# -- valid values, read off the catalogue's checks ---------------------------------------


class Gen:
    """What one desk generates: card ids from a shared pool, card numbers in codes of its
    own, stamps near the shared clock."""

    def __init__(self, pick: Pick, cards: Sequence[str], number_codes: Sequence[str],
                 now: datetime) -> None:
        self.pick = pick
        self.cards = cards
        self.number_codes = number_codes
        self.now = now

    def clean_text(self, limit: int, *, multiline: bool, empty: bool) -> str:
        pick = self.pick
        if pick.chance(3):  # now and then exactly at the limit
            return pick.choice(CLEAN[:26]) * limit
        pool = [*CLEAN, *LEGAL_ODD, *(("\n", "\t") if multiline else ())]
        value = pick.text(pool, min(limit, 12))[:limit]
        if not empty and not value.strip():
            value = "x" + value[: limit - 1]
        return value

    def time(self, latest: datetime | None) -> str:
        """An ISO time with a zone: a moment anywhere, or one no later than `latest`."""
        pick = self.pick
        if pick.chance(4):
            return pick.choice(("0001-01-01T00:00:00+14:00", "2020-01-01T00:00:00+00:00"))
        base = latest or self.now
        back = timedelta(seconds=pick.choice((0, 1, 59, 3600, 86_400, 40 * 86_400)))
        when = base - back if latest or pick.chance(50) else base + back
        zone = timezone(timedelta(minutes=pick.choice((0, 60, -300, 330, 840, -720))))
        return when.astimezone(zone).isoformat()

    def card_number(self) -> str:
        pick = self.pick
        digits = pick.choice((4, 4, 5, 7))
        counter = pick.integer(1, 10**digits - 1)
        return f"{pick.choice(self.number_codes)}-{counter:0{digits}d}"

    def value(self, check: Any, stamp: datetime) -> Any:
        """A value that `check` accepts on an entry stamped `stamp`."""
        pick = self.pick
        if isinstance(check, cat.Obj):
            out = {key: self.value(inner, stamp) for key, inner in check.required.items()}
            for key, inner in check.optional.items():
                if pick.chance(35):
                    out[key] = self.value(inner, stamp)
            return out
        name = check.__qualname__.split(".")[0]
        free = inspect.getclosurevars(check).nonlocals
        if name == "_string":
            return self.clean_text(free["limit"], multiline=free["multiline"],
                                   empty=free["empty"])
        if name == "integer":
            return pick.integer(free["low"], free["high"])
        if name == "number":
            return pick.integer(int(free["low"]), int(free["high"])) + pick.choice((0, 0.5))
        if name == "one_of":
            return pick.choice(free["choices"])
        if name == "nullable":
            return None if pick.chance(25) else self.value(free["check"], stamp)
        if name == "list_of":
            return [self.value(free["item"], stamp) for _ in range(pick.integer(0, 3))]
        if name == "mapping_of":
            return {f"k{i}": self.value(free["value_check"], stamp)
                    for i in range(pick.integer(0, 3))}
        if name == "flag":
            return pick.chance(50)
        if name == "moment":
            return self.time(None)
        if name == "happened":
            return self.time(stamp + timedelta(seconds=cat.MAX_STAMP_AHEAD_S))
        if name == "card_number":
            return self.card_number()
        if name == "_card_id":
            return pick.choice(self.cards)
        raise AssertionError(f"no generator for the catalogue check {check!r}: teach "
                             "tests/sync/payloads.py the new check")

    def kind(self) -> str:
        return self.pick.choice(KINDS)

    def card_for(self, kind: str) -> str:
        if kind in cat.HANDOVER_PAYLOADS:
            return cat.HANDOVER_CARD
        if kind in cat.SYNC_KINDS:
            return cat.SYNC_CARD
        for prefix, home in cat._PSEUDO_HOME.items():
            if kind.startswith(prefix):
                return home
        return self.pick.choice(self.cards)

    def payload(self, kind: str, stamp: datetime) -> dict[str, Any]:
        spec = (cat.HANDOVER_PAYLOADS.get(kind) or cat.INTAKE_PAYLOADS.get(kind)
                or cat.CARD_PAYLOADS[kind])
        made: dict[str, Any] = self.value(spec, stamp)
        return made

    # -- hostile values ---------------------------------------------------------------

    def nasty_text(self, max_size: int = 12) -> str:
        pick = self.pick
        if pick.chance(8):
            return pick.choice(("x", "é", "\u202e", "\udce9")) * pick.choice(SIZES)
        pool = [*CLEAN[:10], *NASTY, pick.any_char(), pick.any_char()]
        return pick.text(pool, max_size)

    def garbage(self, depth: int = 0) -> Any:
        """Any JSON value (never NaN: the wire is strict JSON)."""
        pick = self.pick
        kind = pick.integer(0, 9)
        if kind == 0:
            return None
        if kind == 1:
            return pick.chance(50)
        if kind == 2:
            return pick.choice((0, -1, 1, 2**31, 2**63, -(2**70), 10**30))
        if kind == 3:
            return pick.choice((0.5, -1e308, 1e-300, 3.0))
        if kind in (4, 5):
            return self.nasty_text()
        if kind == 6 and depth < 3:
            return [self.garbage(depth + 1) for _ in range(pick.integer(0, 3))]
        if kind == 7 and depth < 3:
            return {self.nasty_text(6): self.garbage(depth + 1) for _ in range(pick.integer(0, 3))}
        if kind == 8:
            nested: Any = "bottom"
            for _ in range(pick.choice((15, 16, 17, 40))):
                nested = [nested] if pick.chance(50) else {"d": nested}
            return nested
        return pick.choice(EXTREME_TIMES)

    def mutate_payload(self, payload: Any, *, keep_object: bool = False) -> Any:
        """`payload` with one thing wrong (with `keep_object`, still a JSON object: what a
        person can do through a form, which always sends one)."""
        pick = self.pick
        how = pick.integer(1 if keep_object else 0, 4)
        if how == 0 or not isinstance(payload, dict) or not payload:
            return {} if keep_object else self.garbage()
        key = pick.choice(sorted(payload))
        if how == 1:
            return {k: v for k, v in payload.items() if k != key}
        if how == 2:
            return {**payload, self.nasty_text(8): self.garbage()}
        if how == 3 and isinstance(payload[key], dict) and payload[key]:
            return {**payload, key: self.mutate_payload(payload[key])}
        return {**payload, key: self.garbage()}

    def stamp_ms(self) -> int:
        """Mostly now; sometimes within the store's allowance ahead, sometimes far off."""
        pick = self.pick
        now_ms = int(self.now.timestamp() * 1000)
        if pick.chance(75):
            return now_ms - pick.choice((0, 0, 1, 1000, 3_600_000))
        return pick.choice((now_ms + 299_000, now_ms + 300_000, now_ms + 301_000,
                            now_ms + 86_400_000, cat.STAMP_MIN_MS - 1, cat.STAMP_MAX_MS,
                            int(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000),
                            999_999_999_999_999))


def _catalogue_kinds() -> tuple[str, ...]:
    # Not the operator accounts' kinds: one account at the store turns its rights check on,
    # and every generated operator is then refused (tests/store/test_authorise.py covers them).
    return tuple(sorted(cat.KINDS - cat.OPERATOR_KINDS))


KINDS = _catalogue_kinds()
WIRE_FIELDS = ("id", "card_id", "kind", "payload", "hlc", "desk_id", "operator", "schema")


def hostile_entry(gen: Gen, desk_id: str, counter: int, ids_seen: Sequence[str],
                  other_desks: Sequence[str]) -> Any:
    """One wire entry from a desk that does not play by the rules (or, a third of the time,
    does: valid entries must be stored and reach every desk)."""
    pick = gen.pick
    kind = gen.kind()
    ms = gen.stamp_ms()
    stamp = datetime.fromtimestamp(min(ms, cat.STAMP_MAX_MS) / 1000, UTC)
    entry: dict[str, Any] = {
        "id": str(uuid.uuid4()), "card_id": gen.card_for(kind), "kind": kind,
        "payload": gen.payload(kind, stamp), "hlc": format_stamp(ms, counter, desk_id),
        "desk_id": desk_id, "operator": gen.clean_text(80, multiline=False, empty=False),
        "schema": 1,
    }
    if pick.chance(33):
        return entry
    for _ in range(pick.integer(1, 2)):
        _MUTATIONS[pick.integer(0, len(_MUTATIONS) - 1)](gen, entry, ids_seen, other_desks)
    if pick.chance(2):
        return gen.garbage()  # not even an object
    return entry


Mutation = Callable[[Gen, dict[str, Any], Sequence[str], Sequence[str]], None]


def _m_payload(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    e["payload"] = gen.mutate_payload(e.get("payload"))


def _m_operator(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    e["operator"] = gen.pick.choice((gen.nasty_text(), "", " ", "M" * 81, None, 7))


def _m_card(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    e["card_id"] = gen.pick.choice((gen.nasty_text(), "c" * 37, "", None, cat.HANDOVER_CARD,
                                    gen.pick.choice(gen.cards)))


def _m_kind(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    e["kind"] = gen.pick.choice((gen.kind(), gen.nasty_text(), "card.teleport", 3, "k" * 41))


def _m_hlc(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    ms = int(gen.now.timestamp() * 1000)
    own = str(e.get("desk_id"))
    e["hlc"] = gen.pick.choice((
        format_stamp(ms, 0, gen.pick.choice(desks)), f"{ms}.0.{own}", gen.nasty_text(),
        f"999999999999999.00000.{own}", f"-00000000000001.00000.{own}",
        format_stamp(ms, 99999, own) + "x", 12, None))


def _m_id(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    index = gen.pick.integer(0, 1 << 20)
    reuse = ids[index % len(ids)] if ids else str(uuid.uuid4())
    e["id"] = gen.pick.choice((reuse, reuse, str(uuid.uuid4()).upper(), gen.nasty_text(), "", None,
                               str(uuid.uuid4()) + "0"))


def _m_desk(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    e["desk_id"] = gen.pick.choice((gen.pick.choice(desks), gen.nasty_text(), "d" * 41))


def _m_schema(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    e["schema"] = gen.pick.choice((0, 2, "1", True, 1.0, None))


def _m_fields(gen: Gen, e: dict[str, Any], ids: Sequence[str], desks: Sequence[str]) -> None:
    if gen.pick.chance(50):
        e[gen.pick.choice(("seq", "extra", gen.nasty_text(6)))] = gen.garbage()
    else:
        e.pop(gen.pick.choice(WIRE_FIELDS), None)


_MUTATIONS: tuple[Mutation, ...] = (_m_payload, _m_payload, _m_payload, _m_operator, _m_card,
                                    _m_kind, _m_hlc, _m_id, _m_desk, _m_schema, _m_fields)


def wire_size(entries: list[Any]) -> int:
    return len(json.dumps(entries))
