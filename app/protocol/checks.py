"""The checks the entry catalogue is written in (app/protocol/catalogue.py): one small
function per kind of value, each raising a ValidationError that names the field's path.

Every check looks at the value and at the entry's own stamp (`_Context`), never at a clock or
a database, so every desk and the store judge an entry alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.errors import ValidationError
from app.protocol.text import text_problem

#: How far ahead of the store's clock an entry's stamp may be, and how far a desk's hybrid
#: clock moves forward on a remote stamp (CockroachDB allows its nodes 500 ms; desks are
#: workstations with NTP that may fail, so minutes).
MAX_STAMP_AHEAD_S = 300.0
COUNTER_MAX = 9_999_999
CARD_NUMBER = re.compile(r"^([A-Z]{1,3})-(\d{4,7})$")
# Card ids are UUIDs made on the desk; tests and pseudo cards use other short ids of the same
# alphabet, which is what matters: an id is a key, never text to show.
_CARD_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")
# 2020-01-01 and 2200-01-01 in ms: a stamp outside is a broken clock, not a time.
STAMP_MIN_MS = 1_577_836_800_000
STAMP_MAX_MS = 7_258_118_400_000
_TIME_MIN = datetime(2020, 1, 1, tzinfo=UTC)
_TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)


Check = Callable[[Any, str, "_Context"], None]


class _Context:
    """What a time check compares against: the entry's own stamp (never a clock)."""

    __slots__ = ("latest",)

    def __init__(self, stamp_ms: int) -> None:
        self.latest = datetime.fromtimestamp(stamp_ms / 1000 + MAX_STAMP_AHEAD_S, UTC)


_NO_CONTEXT = _Context(STAMP_MIN_MS)  # for checks that compare no times


def _fail(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path} {message}", field=path.rsplit(".", 1)[-1])


def _string(limit: int, *, multiline: bool, empty: bool) -> Check:
    def check(value: Any, path: str, _: _Context) -> None:
        if not isinstance(value, str):
            raise _fail(path, "must be text")
        if len(value) > limit:
            raise _fail(path, f"is {len(value)} characters; keep it to {limit}")
        if not empty and not value.strip():
            raise _fail(path, "must not be empty")
        problem = text_problem(value, multiline=multiline)
        if problem:
            raise _fail(path, problem)

    return check


def line(limit: int = 200, *, empty: bool = True) -> Check:
    """One line of text (names, places, reasons)."""
    return _string(limit, multiline=False, empty=empty)


def text(limit: int = 4000, *, empty: bool = True) -> Check:
    """Text that may hold line breaks (notes, answers)."""
    return _string(limit, multiline=True, empty=empty)


def integer(low: int, high: int) -> Check:
    def check(value: Any, path: str, _: _Context) -> None:
        if type(value) is not int or not low <= value <= high:
            raise _fail(path, f"must be a whole number from {low} to {high}")

    return check


def number(low: float, high: float) -> Check:
    def check(value: Any, path: str, _: _Context) -> None:
        if type(value) not in (int, float) or not low <= value <= high:
            raise _fail(path, f"must be a number from {low:g} to {high:g}")

    return check


def flag(value: Any, path: str, _: _Context) -> None:
    if type(value) is not bool:
        raise _fail(path, "must be true or false")


def one_of(*choices: str) -> Check:
    allowed = frozenset(choices)

    def check(value: Any, path: str, _: _Context) -> None:
        if not isinstance(value, str) or value not in allowed:
            raise _fail(path, f"must be one of {', '.join(choices)}")

    return check


def _parse_time(value: Any, path: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise _fail(path, "must be an ISO-8601 time such as 2026-11-23T02:10:00+00:00")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(path, f"{value[:40]!r} is not an ISO-8601 time") from None
    if when.tzinfo is None:
        raise _fail(path, "has no time zone")
    try:
        utc = when.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00: no desk can compute a deadline from it
        raise _fail(path, f"{value[:40]!r} is out of range") from None
    if not _TIME_MIN <= utc < _TIME_MAX:
        raise _fail(path, f"{value[:40]!r} is not between 2020 and 2200")
    return when


def moment(value: Any, path: str, _: _Context) -> None:
    """A time that may lie in the future (a deadline, a planned retry)."""
    _parse_time(value, path)


def happened(value: Any, path: str, ctx: _Context) -> None:
    """When something happened: never later than the entry that records it."""
    if _parse_time(value, path) > ctx.latest:
        raise _fail(path, "lies after the entry that records it; check the desk's clock")


def card_number(value: Any, path: str, _: _Context) -> None:
    match = CARD_NUMBER.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match.group(2)) < 1:
        raise _fail(path, f"must be a card number like B-0042 (counter 1 to {COUNTER_MAX:,})")


def nullable(check: Check) -> Check:
    def maybe(value: Any, path: str, ctx: _Context) -> None:
        if value is not None:
            check(value, path, ctx)

    return maybe


class Obj:
    """An object with known keys: `required` must be there, `optional` may be."""

    def __init__(self, required: Mapping[str, Check] | None = None,
                 optional: Mapping[str, Check] | None = None) -> None:
        self.required = dict(required or {})
        self.optional = dict(optional or {})

    def __call__(self, value: Any, path: str, ctx: _Context) -> None:
        if not isinstance(value, dict):
            raise _fail(path, "must be an object")
        for key, check in self.required.items():
            if key not in value:
                raise _fail(f"{path}.{key}", "is missing")
            check(value[key], f"{path}.{key}", ctx)
        for key, item in value.items():
            if key in self.required:
                continue
            opt = self.optional.get(key)
            if opt is None:
                shown = key[:40] if isinstance(key, str) else "?"
                raise ValidationError(f"{path}: unknown field {shown!r}", field=path)
            opt(item, f"{path}.{key}", ctx)


def list_of(item: Check, most: int) -> Check:
    def check(value: Any, path: str, ctx: _Context) -> None:
        if not isinstance(value, list) or len(value) > most:
            raise _fail(path, f"must be a list of at most {most}")
        for i, x in enumerate(value):
            item(x, f"{path}[{i}]", ctx)

    return check


def _card_id(value: Any, path: str, _: _Context) -> None:
    if not isinstance(value, str) or not _CARD_ID.fullmatch(value):
        raise _fail(path, "must be a card id (a UUID)")


def mapping_of(value_check: Check, most: int, key_limit: int = 100) -> Check:
    """An object of free keys (labels, annotations), each a one-line name."""
    key_check = line(key_limit, empty=False)

    def check(value: Any, path: str, ctx: _Context) -> None:
        if not isinstance(value, dict) or len(value) > most:
            raise _fail(path, f"must be an object of at most {most} entries")
        for key, item in value.items():
            key_check(key, f"{path} key", ctx)
            value_check(item, f"{path}.{str(key)[:40]}", ctx)

    return check
