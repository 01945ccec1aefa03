"""The figures cache: a closed card's figures, computed once and read back by every later
report until something they depend on changes. Pure: what a cached row is, when it may be
used, and its text; the reader (measures/reading.py) reads the rows in the journal's own
read transaction, the journal package (app/models/measures_cache.py) writes them.

A closed card's figures (measures/figures.py, `CardFigures` without its last three fields,
which depend on the other cards and on `now`) change only when
- an entry for the card arrives (a reopen, a late note, a ladder fact pulled from the
  store): the row is kept with the card's highest entry seq, and a row whose seq is not the
  card's highest is not used; an entry taken out or replaced in place (the sync's rare
  repairs) drops the card's row at once (a trigger, see migration 0005);
- the dispatch rules change (`basis`: a digest of every rule);
- the code that computes them changes (`basis`: FIGURES_VERSION and the program's version).
An open card is always computed (its figures run with `now`), and so is a card closed after
`now` (another desk's clock ahead of ours).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import marshal
import sys
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app import __version__
from app.models.measures_cache import CacheRow
from app.models.projection import CLOSED
from app.services.cards.rules import DispatchRules
from app.services.measures.figures import NOT_COUNTED, REPORT_FIELDS, CardFigures

# Bump whenever a per-card figure is computed differently (figures.py, clocks.py, facts.py,
# the SLA clocks, the projection of what they read): every cached row is then recomputed.
FIGURES_VERSION = 1
_FIELDS = len(CardFigures._fields)
_new = tuple.__new__  # CardFigures._make without its own check of the length (done here)


def _canonical(value: Any) -> Any:
    """A value of the rules as JSON whose text does not vary between runs (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return sorted([str(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, (frozenset, set)):
        return sorted((_canonical(v) for v in value), key=json.dumps)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, timedelta):
        return ["timedelta", value // timedelta(microseconds=1)]
    if isinstance(value, (datetime, date, time)):
        return [type(value).__name__, value.isoformat()]
    if isinstance(value, ZoneInfo):
        return ["zone", value.key]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"the figures cache cannot digest {type(value).__name__} in the rules")


def basis(rules: DispatchRules) -> str:
    """What every cached row was computed with: a row of another basis is not used."""
    text = json.dumps(_canonical(rules), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    python = f"py{sys.version_info[0]}.{sys.version_info[1]}m{marshal.version}"
    return f"{FIGURES_VERSION}/{__version__}/{python}/{digest}"


def cacheable(row: CardFigures, now_us: int) -> bool:
    """A row that no later `now` changes: the card is closed, and closed by now."""
    return row.status == CLOSED and row.closed is not None and row.closed <= now_us


def encode(row: CardFigures) -> bytes:
    """The row as the card gives it (without what the report sets), in marshal's format:
    Python's own for its compiled-code cache, and read back 3x faster than JSON (a year's
    warm report reads 100,000 rows). Only strings, integers, bools, None and tuples of them,
    which marshal keeps exactly; its format can change between Python versions, so `basis`
    names the version it was written by."""
    return marshal.dumps((*row[:-REPORT_FIELDS], *NOT_COUNTED))


def decode(data: bytes) -> CardFigures | None:
    """The row `encode` made, or None for data that is not one (a damaged row, or one of
    another shape: the card is computed again)."""
    try:
        v = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if type(v) is not tuple or len(v) != _FIELDS:
        return None
    return _new(CardFigures, v)


def cache_rows(computed: Iterable[CardFigures], seqs: Mapping[str, int],
               recorded: Mapping[str, Any], basis_: str, now_us: int) -> list[CacheRow]:
    """The rows to keep of the figures a report computed: the cacheable ones, each keyed by
    its card's highest entry seq (`seqs`, read with the cards), with the card's review as
    recorded (`recorded`)."""
    out = []
    for row in computed:
        seq = seqs.get(row.id)
        if seq is None or not cacheable(row, now_us):
            continue
        review = recorded.get(row.id)
        out.append(CacheRow(row.id, seq, basis_, row.registered, row.closed or 0,
                            row.review_owed, None if review is None else json.dumps(review),
                            encode(row)))
    return out
