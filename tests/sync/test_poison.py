"""The poison corpus: what a hostile (or broken) desk can push, and what it must not achieve.

Each case is pushed as raw wire entries by a desk that speaks the wire by hand, through the
real store on SQLite and on PostgreSQL, while two honest desks (real journals, `SyncEngine`)
sync. After every case:

* the store answered 200 (never 5xx) and judged each entry: ``rejected`` with a reason that
  names the field, or, where the case is legal but surprising, ``stored`` and harmless;
* every honest desk's `round()` succeeds, `verify()` is clean and SQLite's integrity check
  passes; both honest desks hold the same entries and the same set-aside list;
* each honest desk still computes and shows its cards (queue clocks, breaches, `card show`);
* no clock moved: a card registered on an honest desk afterwards is registered at the desk's
  own clock time, with its reaction deadline 10 minutes later.

Then the desk's own half (the real command line refuses what the store would), and stores
that an older version left with poison rows in them (the recheck sets them aside alike on
every desk). One store per backend serves the whole corpus; each case gets new desks, and
the checks that read cards look at the case's own cards, so one case that gets poison stored
cannot fail the cases after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import product
from pathlib import Path
from string import ascii_uppercase
from typing import Any

import pytest
import requests
from sqlalchemy import MetaData, Table, insert, inspect, literal_column, update

from app.cli import main
from app.clock import FakeClock
from app.loaders import load_rules
from app.models.entry import format_stamp
from app.models.journal import Journal
from app.services.cards.card import Card, Operator
from app.services.cards.queue import ranked
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.cards.sla import clocks_for, pending_breaches
from app.store.database import make_store_engine, migrate, parse_db_url
from app.store.tables import seq_counter
from app.sync import protocol as p
from app.sync.engine import SyncEngine
from app.sync.status import CURSOR_KEY
from tests.store.conftest import pg_database
from tests.store.harness import TIMEOUT, ThreadStore
from tests.sync.conftest import enrolled_desk
from tests.sync.hostile import (
    HostileDesk,
    enrol_raw_desk,
    entry_set,
    server_errors,
    set_aside_list,
)

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("sqlite", "postgresql")
OPERATOR = Operator("A. Novak", "dispatcher")
INTAKE = {"category": "network", "site": "HQ", "symptom": "core switch down", "priority": "P1",
          "priority_reason": "whole site offline", "q_what": "no network", "q_where": "HQ",
          "q_when": "09:50", "q_workaround": "none", "q_contact": "J. Weber"}
# P1 network cards run on a 10-minute, around-the-clock reaction clock (default policies).
REACTION = timedelta(minutes=10)
# Desk codes: two letters for honest desks, "X" and two letters for hostile ones, each used
# once per test session, so no two desks of one store ever share card numbers.
_HONEST_CODES = iter(a + b for a, b in product("HJKMNPRTVW", ascii_uppercase))
_HOSTILE_CODES = iter("X" + a + b for a, b in product(ascii_uppercase, repeat=2))
SURROGATE = "caf\udce9 au lait"  # what b"caf\xe9 au lait" becomes under surrogateescape


# -- the world: one store per backend, new desks per case ----------------------------------


@pytest.fixture(scope="module")
def poison_clock() -> FakeClock:
    # The store's clock and every desk's: skew is what a case makes it.
    return FakeClock()


@pytest.fixture(scope="module", params=BACKENDS)
def poison_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 poison_clock: FakeClock) -> Iterator[ThreadStore]:
    if request.param == "sqlite":
        served = ThreadStore("sqlite:///" + str(tmp_path_factory.mktemp("poison") / "store.db"),
                             poison_clock)
        yield served
        served.close()
        return
    with pg_database() as url:
        served = ThreadStore(url, poison_clock)
        yield served
        served.close()


@dataclass
class World:
    store: ThreadStore
    clock: FakeClock
    folder: Path
    rules: DispatchRules
    honest: list[SyncEngine] = field(default_factory=list)
    hostile: HostileDesk | None = None
    #: The honest desks' cards (one each), id and number, known to every desk.
    cards: list[tuple[str, str]] = field(default_factory=list)
    #: Every card id this case touched: the card checks read these.
    touched: set[str] = field(default_factory=set)

    @property
    def evil(self) -> HostileDesk:
        assert self.hostile is not None
        return self.hostile

    def sync(self) -> None:
        """Two rounds on every honest desk: whatever one pushes, the other has pulled."""
        for _ in range(2):
            for engine in self.honest:
                engine.round()

    def register(self, engine: SyncEngine) -> Card:
        return CardService(engine.journal, self.rules, self.clock).register(INTAKE, OPERATOR)


@pytest.fixture
def world(poison_store: ThreadStore, poison_clock: FakeClock, tmp_path: Path) -> Iterator[World]:
    poison_clock.advance(60)
    made = World(poison_store, poison_clock, tmp_path, load_rules())
    for name, args in (("a", {"page": 3, "batch": 4}), ("b", {})):
        code = next(_HONEST_CODES)
        made.honest.append(enrolled_desk(tmp_path / f"{name}.sqlite", poison_store.url,
                                         poison_store.add_desk_code(name), code, poison_clock,
                                         **args))
    made.hostile = HostileDesk(enrol_raw_desk(poison_store, tmp_path, poison_clock,
                                              next(_HOSTILE_CODES)), poison_clock)
    for engine in made.honest:
        card = made.register(engine)
        made.cards.append((card.id, card.number))
        made.touched.add(card.id)
    made.sync()
    yield made
    for engine in made.honest:
        engine.client.close()
        engine.journal.close()
    made.evil.desk.journal.close()


def check_world(w: World, caplog: pytest.LogCaptureFixture,
                capsys: pytest.CaptureFixture[str]) -> None:
    """Everything that must hold after a case, whatever the case sent."""
    w.sync()  # every honest round succeeds (a 5xx or a refused pull raises here)
    assert server_errors(caplog.records) == []
    a, b = (engine.journal for engine in w.honest)
    for journal in (a, b):
        assert journal.verify() == []
        assert journal.integrity_check() == "ok"
        assert journal.outbox_size() == 0
    assert entry_set(a) == entry_set(b)
    assert set_aside_list(a) == set_aside_list(b)
    for engine in w.honest:
        shows_its_cards(w, engine.journal, capsys)
    # No clock moved: a card registered now is registered now, due in 10 minutes.
    for engine in w.honest:
        now = w.clock.now()
        card = w.register(engine)
        w.touched.add(card.id)
        assert card.registered_at == now, "the desk's hybrid clock was dragged off its clock"
        reaction = clocks_for(card, w.rules, now).reaction
        assert reaction.due == now + REACTION
    w.sync()
    assert entry_set(a) == entry_set(b)
    assert server_errors(caplog.records) == []


def shows_its_cards(w: World, journal: Journal, capsys: pytest.CaptureFixture[str]) -> None:
    """The desk computes the case's cards' clocks and breaches, ranks them, and prints each
    one through the real `card show` (an exception here is what a dispatcher would meet)."""
    now = w.clock.now()
    cards = [Card.from_state(s) for s in journal.cards() if s["id"] in w.touched]
    for card in cards:
        pending_breaches(card, clocks_for(card, w.rules, now), now)
    ranked(cards, w.rules, now)
    for card in cards:
        assert main(["--journal", str(journal.path), "card", "show", card.number]) == 0
    capsys.readouterr()


# -- the cases ------------------------------------------------------------------------------

Build = Callable[[World], list[Any]]
STORED = ("stored", "")


def rejected(reason: str) -> tuple[str, str]:
    return ("rejected", reason)


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    expect: list[tuple[str, str]]


def _card(w: World, index: int = 0) -> str:
    return w.cards[index][0]


def note(text: Any, **fields: Any) -> Build:
    return lambda w: [w.evil.wire("card.note", {"text": text}, _card(w), **fields)]


def on_card(kind: str, payload: Any, **fields: Any) -> Build:
    return lambda w: [w.evil.wire(kind, payload, _card(w), **fields)]


def new_card(kind: str, payload: Any) -> Build:
    return lambda w: [w.evil.wire(kind, payload, str(uuid.uuid4()))]


def several(*builds: Build) -> Build:
    return lambda w: [entry for build in builds for entry in build(w)]


def _stamp_at(when: datetime) -> Callable[[World], str]:
    return lambda w: w.evil.stamp(int(when.timestamp() * 1000))


def stamped(build: Build, stamp: Callable[[World], str]) -> Build:
    def made(w: World) -> list[Any]:
        return [{**entry, "hlc": stamp(w)} for entry in build(w)]

    return made


def _registration(number: str, **extra: Any) -> dict[str, Any]:
    return {"priority": "P2", "priority_reason": "hostile", "number": number, **extra}


def twice_other_content(w: World) -> list[Any]:
    first = w.evil.wire("card.note", {"text": "first"}, _card(w))
    return [first, {**first, "payload": {"text": "second, other content"}}]


def twice_same_content(w: World) -> list[Any]:
    first = w.evil.wire("card.note", {"text": "said twice"}, _card(w))
    return [first, dict(first)]


def other_desks_numbers(w: World) -> list[Any]:
    """Card numbers in an honest desk's own series: its next one, and the series' last."""
    code = w.honest[0].journal.desk_code
    return [w.evil.wire("card.registered", _registration(f"{code}-{n:04d}"), str(uuid.uuid4()))
            for n in (2, 3, 9_999_999)]


def rename_onto_another_card(w: World) -> list[Any]:
    # Card B renamed to card A's number, in another desk's series: refused like a
    # registration there (a desk numbers only its own cards).
    return [w.evil.wire("card.renumbered", {"number": w.cards[0][1], "was": w.cards[1][1]},
                        _card(w, 1))]


def register_again(w: World) -> list[Any]:
    own = f"{w.evil.desk.journal.desk_code}-0001"
    return [w.evil.wire("card.registered", _registration(own), _card(w))]


def surrogate_id(w: World) -> list[Any]:
    return [{**w.evil.wire("card.note", {"text": "x"}, _card(w)), "id": "\udce9" * 3}]


def surrogate_field_name(w: World) -> list[Any]:
    return [{**w.evil.wire("card.note", {"text": "x"}, _card(w)), "caf\udce9": 1}]


_ESC = "\x1b[2J\x1b[Hforged screen"
_OSC52 = "\x1b]52;c;cm0gLXJmIH4vCg==\x07vendor called"
_TROJAN = "gpj\u202eexe.txt"

CASES = [
    Case("lone surrogate in payload strings",
         several(note(SURROGATE), on_card("card.fields", {"fields": {"symptom": SURROGATE}})),
         [rejected("payload.text holds bytes that are not UTF-8"),
          rejected("payload.fields.symptom holds bytes that are not UTF-8")]),
    Case("card.priority {}", on_card("card.priority", {}),
         [rejected("payload.priority is missing")]),
    Case("card.fields with fields a string", on_card("card.fields", {"fields": "x"}),
         [rejected("payload.fields must be an object")]),
    Case("sla.breach {}", on_card("sla.breach", {}), [rejected("payload.clock is missing")]),
    Case("card.registered with only a number", new_card("card.registered", {"number": "QA-0001"}),
         [rejected("payload.priority is missing")]),
    Case("a list where a field was expected",
         several(on_card("card.fields", {"fields": {"site": ["HQ"]}}), note(["a", "b"]),
                 on_card("card.note", ["text"]), on_card("card.fields", {"fields": []})),
         [rejected("payload.fields.site must be text"), rejected("payload.text must be text"),
          rejected("payload must be a JSON object"),
          rejected("payload.fields must be an object")]),
    Case("an HLC of 999999999999999",
         stamped(note("from the end of time"), lambda w: f"999999999999999.00000.{w.evil.desk_id}"),
         [rejected("hlc: the stamp's time is not between 2020 and 2200")]),
    Case("a note stamped 2100-01-01",
         stamped(note("from the future"), _stamp_at(datetime(2100, 1, 1, tzinfo=UTC))),
         [rejected("hlc is stamped")]),
    Case("handover.accepted {}",
         lambda w: [w.evil.wire("handover.accepted", {}, "handover")],
         [rejected("payload.shift is missing")]),
    Case("ladder.step due garbage",
         on_card("ladder.step", {"tier": 1, "attempt": 1, "due": "garbage"}),
         [rejected("payload.due 'garbage' is not an ISO-8601 time")]),
    Case("card numbers past the counter",
         several(new_card("card.registered", _registration("QA-2147483647")),
                 new_card("card.registered", _registration("QA-" + "9" * 30))),
         [rejected("payload.number must be a card number")] * 2),
    Case("NUL in the operator", note("x", operator="M. \x00Mallory"),
         [rejected("operator holds a NUL character")]),
    Case("lone surrogate in operator and card_id",
         several(note("x", operator=SURROGATE),
                 lambda w: [w.evil.wire("card.note", {"text": "x"}, "card-\udce9")]),
         [rejected("operator holds bytes that are not UTF-8"),
          rejected("card_id must be a card id")]),
    Case("a 70,000-character symptom (and a 5,000-character one)",
         several(on_card("card.fields", {"fields": {"symptom": "s" * 70_000}}),
                 on_card("card.fields", {"fields": {"symptom": "s" * 5_000}})),
         # Over 64 KiB the size check answers first: it names the payload, not the field.
         [rejected("payload is 70"),
          rejected("payload.fields.symptom is 5000 characters; keep it to 300")]),
    Case("an operator name over 80 characters", note("x", operator="M" * 81),
         [rejected("operator must be a name of 1 to 80 characters")]),
    Case("one id twice in a batch with other content", twice_other_content,
         [STORED, rejected("comes twice in this batch with other content")]),
    Case("one id twice in a batch with the same content", twice_same_content,
         [STORED, ("duplicate", "")]),
    # The catalogue refuses control characters in every stored string (app/protocol/text.py):
    # ESC and OSC never reach another desk's terminal.
    Case("ESC and OSC sequences in a note", several(note(_ESC), note(_OSC52)),
         [rejected("payload.text holds the control character \\x1b")] * 2),
    # Legal but surprising: bidi controls are stored, and removed or escaped when shown.
    Case("U+202E in a note and a field (legal)",
         several(note(_TROJAN), on_card("card.fields", {"fields": {"equipment": _TROJAN}})),
         [STORED, STORED]),
    Case("a second registration of an existing card (legal)", register_again, [STORED]),
    Case("a rename onto another desk's card number", rename_onto_another_card,
         [rejected("not in this desk's series")]),
    # Found by this corpus. When written, the store answered the first two with a 500 (the
    # reply echoed the surrogate), stored the times that then crash every desk's clocks,
    # and stored numbers in an honest desk's series, after which that desk cannot
    # register a card.
    Case("lone surrogate in the entry id", surrogate_id, [rejected("id must be")]),
    Case("lone surrogate in an unknown entry field's name", surrogate_field_name,
         [rejected("unknown entry fields")]),
    Case("a registration that happened in year 1 at UTC+14",
         new_card("card.registered",
                  {**_registration("XQ-0001"), "registered_at": "0001-01-01T00:00:00+14:00",
                   "fields": {"category": "network"}}),
         [rejected("payload.registered_at")]),
    Case("a wait from year 1 and an update due in year 9999",
         several(on_card("card.status", {"status": "waiting_customer",
                                         "at": "0001-01-01T00:00:00+14:00"}),
                 on_card("card.status_message", {"text": "later",
                                                 "next_update_at": "9999-12-31T23:59:59-14:00"})),
         [rejected("payload.at"), rejected("payload.next_update_at")]),
    Case("another desk's card numbers", other_desks_numbers,
         [rejected("payload.number")] * 3),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_poison_is_refused_or_harmless(case: Case, world: World,
                                       caplog: pytest.LogCaptureFixture,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    sent = case.build(world)
    world.touched.update(e["card_id"] for e in sent
                         if isinstance(e, dict) and isinstance(e.get("card_id"), str))
    results = world.evil.push(sent)
    got = [(r["status"], r["reason"] or "") for r in results]
    # The desks first: what a wrong verdict costs them shows here, before the verdict.
    check_world(world, caplog, capsys)
    for (status, reason), (want, names) in zip(got, case.expect, strict=True):
        assert status == want, got
        assert names in reason, f"the reason {reason!r} does not say {names!r}"
    # What the store stored reaches every desk; what it refused reaches none (unless the same
    # id was also stored, as the first of a pair).
    stored = {e["id"] for e, (status, _) in zip(sent, got, strict=True) if status != "rejected"}
    for entry in sent:
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(entry_id, str) or "\udce9" in entry_id:
            continue
        for engine in world.honest:
            assert engine.journal.has_entry(entry_id) == (entry_id in stored), entry_id


@pytest.mark.parametrize(
    "body",
    [{"desk_time": "now", "entries": [], "caf\udce9": 1},
     {"desk_time": "caf\udce9", "entries": []},
     {"desk_time": None, "entries": "caf\udce9"}],
    ids=["surrogate in an unknown field", "surrogate as the desk time", "entries a string"],
)
def test_a_hostile_push_envelope_is_answered_422(world: World, body: dict[str, Any],
                                                 caplog: pytest.LogCaptureFixture,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    response = requests.post(world.store.url + p.PATH_PUSH, data=json.dumps(body),
                             headers={**world.evil.desk.headers(),
                                      "Content-Type": "application/json"},
                             auth=world.evil.desk.auth(), timeout=TIMEOUT)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == p.ERR_INVALID
    check_world(world, caplog, capsys)


# -- the desk's own half: the real command line refuses what the store would --------------

NEW = [b"card", b"new", b"--category", b"network", b"--site", b"HQ", b"--impact", b"high",
       b"--urgency", b"medium", b"--reason", b"floor 2 offline", b"--q-what", b"no network",
       b"--q-where", b"HQ floor 2", b"--q-when", b"09:50", b"--q-workaround", b"none",
       b"--q-contact", b"J. Weber"]


def _cli(journal: Path, *args: bytes) -> subprocess.CompletedProcess[bytes]:
    argv = [sys.executable.encode(), b"-m", b"app", b"--journal", os.fsencode(journal),
            b"--desk-code", b"B", *args]
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
    return subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=120, env=env,
                          check=False)


def _entries(journal: Path) -> list[tuple[Any, ...]]:
    reader = Journal.open(journal, FakeClock())
    try:
        return sorted(entry_set(reader))
    finally:
        reader.close()


@pytest.fixture(scope="module")
def cli_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "desk.sqlite"
    done = _cli(path, *NEW, b"--symptom", b"switch down")
    assert done.returncode == 0, done.stderr
    return path


@pytest.mark.parametrize(
    ("args", "names"),
    [([b"--symptom", b"caf\xe9 au lait"], "symptom holds bytes that are not UTF-8"),
     ([b"--symptom", b"s" * 70_000], "symptom is 70000 characters"),
     ([b"--config", b"M" * 300, b"--symptom", b"switch down"], "operator"),
     ([b"--config", b"caf\xe9", b"--symptom", b"switch down"], "is not UTF-8 text")],
    ids=["symptom not UTF-8", "70,000-character symptom", "300-character operator",
         "operator not UTF-8"],
)
def test_the_desk_refuses_it_first_in_one_line(cli_journal: Path, args: list[bytes],
                                               names: str) -> None:
    before = _entries(cli_journal)
    # Global options go before the command; the rest after `card new`. The author's name on
    # a desk without accounts is the `operator` setting (--operator is gone): the bad name
    # comes in a settings file.
    lead: list[bytes] = []
    if args[0] == b"--config":
        config = cli_journal.with_name(f"settings-{len(args[1])}.toml")
        config.write_bytes(b'operator = "' + args[1] + b'"\n')
        lead = [b"--config", os.fsencode(config)]
    done = _cli(cli_journal, *lead, *NEW, *args[len(lead):])
    err = done.stderr.decode("utf-8")
    assert done.returncode == 1, (done.stdout, err)
    assert err.startswith("dispatch-desk: error: ") and err.count("\n") == 1, err
    assert names in err, err
    assert _entries(cli_journal) == before


# -- stores an older version left behind -------------------------------------------------


@pytest.fixture(params=BACKENDS)
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "old-store.sqlite")
    else:
        with pg_database() as url:
            yield url


LEGACY_DESK = "dlegacy"
LEGACY_CARD = "legacy-card"


@dataclass
class Legacy:
    """Rows written straight into a store's `entries` at revision s0003 (before the store
    checked entries against the catalogue), and which of them the desks must set aside."""

    clock: FakeClock
    rows: list[dict[str, Any]] = field(default_factory=list)
    poison: set[str] = field(default_factory=set)

    def add(self, kind: str, payload: Any, *, poison: bool, ahead_s: float = 0.0,
            **fields: Any) -> str:
        now = self.clock.now()
        entry_id = str(uuid.uuid4())
        stamp_ms = int((now + timedelta(seconds=ahead_s)).timestamp() * 1000)
        self.rows.append({
            "seq": len(self.rows) + 1, "id": entry_id, "card_id": LEGACY_CARD, "kind": kind,
            # json.dumps escapes a lone surrogate (ensure_ascii), as an older store kept it.
            "payload": json.dumps(payload) if isinstance(payload, dict | list) else payload,
            "hlc": format_stamp(stamp_ms, len(self.rows), LEGACY_DESK), "desk_id": LEGACY_DESK,
            "operator": "old op", "schema": 1, "stored_at": p.format_time(now), **fields,
        })
        if poison:
            self.poison.add(entry_id)
        return entry_id

    def write(self, db_url: str) -> None:
        url = parse_db_url(db_url)
        engine = make_store_engine(url)
        try:
            migrate(engine, url, target="s0003")
            with engine.begin() as conn:
                table = Table("entries", MetaData(), autoload_with=conn)
                assert "set_aside" not in {c["name"] for c in inspect(conn).get_columns("entries")}
                for row in self.rows:
                    conn.execute(insert(table).values(**row))
                conn.execute(update(seq_counter).where(seq_counter.c.id == 1)
                             .values(last_seq=len(self.rows)))
        finally:
            engine.dispose()


def legacy_corpus(clock: FakeClock, *, sqlite: bool) -> Legacy:
    old = Legacy(clock)
    old.add("card.registered", _registration("LG-0001"), poison=False)
    old.add("card.note", {"text": SURROGATE}, poison=True)
    old.add("card.priority", {}, poison=True)
    old.add("card.note", "{not json", poison=True)
    old.add("card.fields", {"fields": "x"}, poison=True)
    old.add("card.note", {"text": "from the future"}, poison=True, ahead_s=3600)
    old.add("card.teleport", {"to": "mars"}, poison=True)
    old.add("ladder.step", {"tier": 1, "attempt": 1, "due": "garbage"}, poison=True)
    old.add("card.note", {"text": "x" * 70_000}, poison=True)
    if sqlite:  # PostgreSQL text cannot hold a NUL, so no older store there held one
        old.add("card.note", {"text": "x"}, poison=True, operator="old\x00op")
    old.add("card.note", {"text": "a good old note"}, poison=False)
    return old


def _legacy_desks(store: ThreadStore, tmp_path: Path,
                  clock: FakeClock) -> tuple[SyncEngine, SyncEngine]:
    a = enrolled_desk(tmp_path / "a.sqlite", store.url, store.add_desk_code("a"), "LA", clock,
                      page=2)
    b = enrolled_desk(tmp_path / "b.sqlite", store.url, store.add_desk_code("b"), "LB", clock)
    return a, b


def _pull_all_raw(store: ThreadStore, tmp_path: Path, clock: FakeClock,
                  desk_code: str = "LR") -> list[dict[str, Any]]:
    """Every item /v1/pull sends, page by page (each page answered 200)."""
    reader = enrol_raw_desk(store, tmp_path, clock, desk_code)
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        response = reader.pull_raw(cursor, limit=2)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["entries"]
        cursor = body["cursor"]
        if not body["more"]:
            reader.journal.close()
            return items


def _check_legacy(store: ThreadStore, old: Legacy, tmp_path: Path, clock: FakeClock,
                  caplog: pytest.LogCaptureFixture) -> None:
    placeholders = {i["id"] for i in _pull_all_raw(store, tmp_path, clock) if "set_aside" in i}
    assert placeholders == old.poison
    a, b = _legacy_desks(store, tmp_path, clock)
    try:
        for _ in range(2):
            for engine in (a, b):
                engine.round()
        for engine in (a, b):
            journal = engine.journal
            assert {s.id for s in journal.set_aside()} == old.poison
            assert all(s.direction == "pulled" for s in journal.set_aside())
            assert journal.verify() == [] and journal.integrity_check() == "ok"
            card = journal.card(LEGACY_CARD)
            assert card["number"] == "LG-0001"
            notes = [e.payload["text"] for e in journal.entries(LEGACY_CARD)
                     if e.kind == "card.note"]
            assert notes == ["a good old note"]
            cursor = p.parse_cursor(journal.get_meta(CURSOR_KEY))
            assert cursor is not None and cursor.seq >= len(old.rows)
        assert set_aside_list(a.journal) == set_aside_list(b.journal)
        assert entry_set(a.journal) == entry_set(b.journal)
        assert server_errors(caplog.records) == []
    finally:
        for engine in (a, b):
            engine.client.close()
            engine.journal.close()


def test_legacy_poison_rows_are_set_aside_alike_on_every_desk(
    empty_store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    old = legacy_corpus(clock, sqlite=empty_store_url.startswith("sqlite"))
    old.write(empty_store_url)
    clock.advance(5)
    store = ThreadStore(empty_store_url, clock)  # migrates to head, then rechecks every row
    try:
        _check_legacy(store, old, tmp_path, clock, caplog)
    finally:
        store.close()
    # Opened again: the recheck is not repeated, and nothing changes for a desk.
    again = ThreadStore(empty_store_url, clock)
    try:
        placeholders = {i["id"] for i in _pull_all_raw(again, tmp_path, clock, "LS")
                        if "set_aside" in i}
        assert placeholders == old.poison
    finally:
        again.close()


def test_a_legacy_row_that_is_not_utf8_is_set_aside_not_a_dead_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A byte that is not UTF-8 in an old SQLite store (another tool, a hand edit: SQLite does
    not check): the store must still open, and desks must pull past the row."""
    clock = FakeClock()
    url = "sqlite:///" + str(tmp_path / "old-store.sqlite")
    old = Legacy(clock)
    old.add("card.registered", _registration("LG-0001"), poison=False)
    raw = b'{"text":"caf' + b"\xe9" + b' au lait"}'
    old.add("card.note", literal_column(f"CAST(X'{raw.hex()}' AS TEXT)"), poison=True)
    old.add("card.note", {"text": "a good old note"}, poison=False)
    old.write(url)
    store = ThreadStore(url, clock)
    try:
        _check_legacy(store, old, tmp_path, clock, caplog)
    finally:
        store.close()
