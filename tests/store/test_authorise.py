"""The store re-checks every pushed entry for rights (app/store/authorise.py), through the real
store on a loopback port, on SQLite and PostgreSQL, with real desks (journals, sync engines).

Each test has a store of its own: once a store holds an operator account it refuses entries
by operators without one, which the session's shared store must never start doing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.clock import FakeClock
from app.models.entry import NewEntry
from app.protocol.catalogue import INTEGRATIONS_CARD
from app.roles import load_roles
from app.services.operators import OperatorService, PinHasher
from app.store.authorise import REFUSED_PREFIX
from app.store.operators import StoreOperators
from app.store.recheck import META_KEY, recheck
from app.store.tables import entries, intake_keys, store_meta
from app.sync.engine import SyncEngine
from tests.store.conftest import pg_database
from tests.store.harness import ThreadStore
from tests.sync.conftest import enrolled_desk

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)  # real Argon2id, test costs
PIN = "417209"
CLOSURE = {"cause": "PSU", "workaround": "spare", "fix": "replaced", "lessons": "stock spares"}
Desks = Callable[[str], SyncEngine]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path,
           clock: FakeClock) -> Iterator[ThreadStore]:
    if request.param == "sqlite":
        running = ThreadStore(f"sqlite:///{tmp_path / 'store.sqlite'}", clock)
        yield running
        running.close()
        return
    with pg_database() as url:
        running = ThreadStore(url, clock)
        yield running
        running.close()


@pytest.fixture
def desks(served: ThreadStore, tmp_path: Path, clock: FakeClock) -> Iterator[Desks]:
    made: list[SyncEngine] = []

    def make(code: str) -> SyncEngine:
        engine = enrolled_desk(tmp_path / f"desk-{code}.sqlite", served.url,
                               served.add_desk_code(f"desk {code}"), code, clock)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.client.close()
        engine.journal.close()


def staff(served: ThreadStore, clock: FakeClock) -> StoreOperators:
    """The store admin adds the floor: an admin, an observer, a dispatcher, a shift lead."""
    admin = StoreOperators(served.store)
    for login, roles in (("boss", ["admin"]), ("obs", ["observer"]), ("disp", ["dispatcher"]),
                         ("lead", ["shift_lead"])):
        admin.add(login=login, name=login.title(), roles=roles, pin_hash=CHEAP.hash(PIN))
    clock.advance(1)  # the desks' entries come after the accounts, as they would
    return admin


def register(desk: SyncEngine, who: str, priority: str = "P3") -> str:
    card = str(uuid.uuid4())
    desk.journal.write([NewEntry(card, "card.registered", {
        "priority": priority, "priority_reason": "one user", "fields": {"symptom": "down"}})],
        who)
    return card


def write(desk: SyncEngine, card: str, kind: str, payload: dict[str, Any], who: str) -> str:
    return desk.journal.write([NewEntry(card, kind, payload)], who)[0].id


def refused_at_store(served: ThreadStore, entry_id: str) -> str | None:
    with served.store.engine.connect() as conn:
        reason = conn.execute(select(entries.c.set_aside).where(entries.c.id == entry_id))
        return reason.scalar()


def sync(*engines: SyncEngine) -> None:
    for engine in (*engines, *engines):
        engine.round()


def test_an_observers_priority_change_is_kept_refused_and_applied_nowhere(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a, b = desks("A"), desks("B")
    card = register(a, "disp")
    sync(a, b)
    bad = write(a, card, "card.priority",
                {"priority": "P1", "reason": "I say so", "role": "shift_lead"}, "obs")
    sync(a, b)
    reason = refused_at_store(served, bad)
    assert reason is not None and reason.startswith(REFUSED_PREFIX)
    assert "change_priority (dispatcher, shift lead, service owner)" in reason
    assert "obs held observer" in reason  # the payload's "role" counts for nothing
    [mine] = a.journal.set_aside()
    assert (mine.id, mine.direction) == (bad, "refused") and "not authorised" in mine.reason
    assert a.status.refused_open == 1 and "1 refused by the store" in a.status.summary()
    [theirs] = b.journal.set_aside()
    assert (theirs.id, theirs.direction) == (bad, "pulled") and theirs.seq is not None
    assert "not authorised" in theirs.reason
    assert b.journal.card(card)["priority"] == "P3"
    assert not b.journal.has_entry(bad)


def test_a_dispatchers_change_is_applied_on_every_desk(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a, b = desks("A"), desks("B")
    card = register(a, "disp")
    good = write(a, card, "card.priority", {"priority": "P1", "reason": "whole floor"}, "disp")
    sync(a, b)
    assert refused_at_store(served, good) is None
    assert b.journal.card(card)["priority"] == "P1"
    assert a.journal.set_aside() == [] and b.journal.set_aside() == []


def test_a_close_from_registered_without_closure_and_an_invented_operator_are_refused(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a, b = desks("A"), desks("B")
    card = register(a, "disp")
    close = write(a, card, "card.status", {"status": "closed", "from": "registered"}, "disp")
    note = write(a, card, "card.note", {"text": "all fine"}, "mallory")
    sync(a, b)
    assert "closure fields" in str(refused_at_store(served, close))
    assert "'mallory' has no account" in str(refused_at_store(served, note))
    assert b.journal.card(card)["status"] == "registered"
    assert {i.id for i in b.journal.set_aside()} == {close, note}
    assert {i.id for i in a.journal.set_aside()} == {close, note}


def test_closing_a_p1_needs_close_p1_p2(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a = desks("A")
    card = register(a, "disp", priority="P1")
    closed = {"status": "closed", "from": "restored", "closure": CLOSURE}
    by_dispatcher = write(a, card, "card.status", closed, "disp")
    by_lead = write(a, card, "card.status", closed, "lead")
    sync(a)
    assert "close_p1_p2 (shift lead, service owner)" in str(refused_at_store(served, by_dispatcher))
    assert refused_at_store(served, by_lead) is None


def test_an_entry_made_offline_after_the_role_was_removed_is_refused(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    admin = staff(served, clock)
    a, b = desks("A"), desks("B")
    card = register(a, "disp")
    sync(a, b)
    before = write(a, card, "card.note", {"text": "still a dispatcher"}, "disp")  # not pushed
    clock.advance(60)
    admin.set_roles("disp", ["observer"], "moved to the back office")
    clock.advance(60)
    after = write(a, card, "card.priority", {"priority": "P2", "reason": "spreading"}, "disp")
    sync(a, b)
    assert refused_at_store(served, before) is None  # made while the role was held
    assert "disp held observer at" in str(refused_at_store(served, after))
    assert b.journal.card(card)["priority"] == "P3"
    assert any(e.id == before for e in b.journal.entries(card))


def test_machinery_writes_its_facts_but_never_a_persons_decision(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a = desks("A")
    card = register(a, "disp")
    breach = write(a, card, "sla.breach", {"clock": "reaction",
                                           "due": datetime.now(UTC).isoformat()}, "system")
    raised = write(a, card, "card.priority", {"priority": "P1", "reason": "auto"}, "ladder")
    sync(a)
    assert refused_at_store(served, breach) is None
    assert "only a signed-in person may write card.priority" in str(
        refused_at_store(served, raised))


def test_a_store_without_accounts_takes_free_text_operators_until_the_first_account(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    a = desks("A")
    card = register(a, "Ivanov")  # today's desks: a name, no account
    sync(a)
    assert a.journal.set_aside() == []
    cheap = OperatorService(a.journal, clock, load_roles(), CHEAP)
    from app.services.operators import AddOperator

    root = cheap.handle(AddOperator("root", "R. Oot", ["admin"], "902113"), None)
    cheap.handle(AddOperator("kim", "K. Im", ["dispatcher"], "553120"), root)
    used = write(a, card, "card.priority", {"priority": "P2", "reason": "two sites"}, "kim")
    late = write(a, card, "card.note", {"text": "by name"}, "Ivanov")
    sync(a)  # the accounts and their first use go in one push
    assert refused_at_store(served, used) is None
    assert "'Ivanov' has no account" in str(refused_at_store(served, late))


def test_a_refused_entry_sent_again_is_refused_again(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a = desks("A")
    card = register(a, "disp")
    bad = write(a, card, "card.note", {"text": "hm"}, "obs")
    # Taken before the sync: refused, it leaves the pushing desk's cards (kept set aside).
    entry = next(e for e in a.journal.entries(card) if e.id == bad)
    sync(a)
    reply = a.client.push(a._clock.now(), [entry])
    [result] = reply.results
    assert result.status == "rejected" and str(result.reason).startswith(REFUSED_PREFIX)
    assert "writing to cards needs the right write_cards" in str(result.reason)


def test_a_refused_integration_key_never_opens_the_door(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a = desks("A")
    payload = {"name": "sneaky", "kind": "webhook", "key_hash": "0" * 64}
    bad = write(a, INTEGRATIONS_CARD, "integration.added", payload, "disp")
    sync(a)
    assert "edit_integrations" in str(refused_at_store(served, bad))
    with served.store.engine.connect() as conn:
        assert conn.execute(select(intake_keys)).all() == []


def test_a_newer_catalogue_keeps_the_refusals(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a = desks("A")
    card = register(a, "disp")
    bad = write(a, card, "card.note", {"text": "x"}, "obs")
    sync(a)
    with served.store.engine.begin() as conn:
        conn.execute(store_meta.update().where(store_meta.c.key == META_KEY).values(value="0"))
    assert recheck(served.store.engine, served.store.url) >= 1
    assert str(refused_at_store(served, bad)).startswith(REFUSED_PREFIX)


def test_signing_in_needs_no_link_and_a_disable_that_came_by_sync_is_honoured(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    admin = staff(served, clock)
    b = desks("B")
    sync(b)
    admin.disable("obs", "left the company")
    sync(b)
    served.close()  # no link at all from here on
    here = OperatorService(b.journal, clock, load_roles(), CHEAP)
    signed = here.sign_in("DISP", PIN)
    assert signed.ok and signed.account is not None and signed.account.id == "disp"
    refused = here.sign_in("obs", PIN)
    assert not refused.ok and "the account obs is disabled" in str(refused.refusal)
    assert "an admin (Boss)" in str(refused.refusal)


def test_a_number_in_another_desks_series_is_kept_refused(
        served: ThreadStore, desks: Desks, clock: FakeClock) -> None:
    staff(served, clock)
    a, b = desks("A"), desks("B")
    card = str(uuid.uuid4())
    bad = write(a, card, "card.registered", {"priority": "P3", "priority_reason": "x",
                                             "number": "B-0042"}, "disp")
    sync(a, b)
    assert "not in this desk's series (A-...)" in str(refused_at_store(served, bad))
    assert [i.id for i in b.journal.set_aside()] == [bad]
    assert b.journal.cards() == []


def test_every_role_and_right_at_the_store(served: ThreadStore, desks: Desks,
                                           clock: FakeClock) -> None:
    """Table-driven: one account per role of the shipped table, and for each role one entry
    per right that an entry kind needs (edit_roster, edit_rules and edit_ladder have no entry
    kind yet: the desk checks them, tests/operators/test_rights.py)."""
    from app.protocol.rights import Right
    from tests.operators.test_rights import EXPECTED

    admin = StoreOperators(served.store)
    admin.add(login="root", name="Root", roles=["admin"], pin_hash=CHEAP.hash(PIN))
    for role in EXPECTED:
        admin.add(login=f"u-{role}", name=role, roles=[role], pin_hash=CHEAP.hash(PIN))
    clock.advance(1)
    a = desks("A")
    p1 = register(a, "u-dispatcher", priority="P1")
    settle = {"shift": "day", "to_shift": "night", "outgoing": "x", "incoming": "y",
              "cards": [], "numbers": [], "read_back": [], "reason": ""}
    made: dict[tuple[str, Right], str] = {}
    for role in EXPECTED:
        who = f"u-{role}"
        for right, card, kind, payload in (
            (Right.WRITE_CARDS, p1, "card.note", {"text": "seen"}),
            (Right.CHANGE_PRIORITY, p1, "card.priority", {"priority": "P2", "reason": "r"}),
            (Right.CLOSE_P1_P2, p1, "card.status",
             {"status": "closed", "from": "restored", "closure": CLOSURE}),
            (Right.ACCEPT_HANDOVER, "handover", "handover.accepted", settle),
            (Right.OVERRIDE_HANDOVER, "handover", "handover.overridden", settle),
            (Right.EDIT_INTEGRATIONS, INTEGRATIONS_CARD, "integration.added",
             {"name": f"i-{role}", "kind": "webhook", "key_hash": role.ljust(64, "0")}),
            (Right.MANAGE_OPERATORS, "operators", "operator.enabled", {"id": "root"}),
        ):
            made[(role, right)] = write(a, card, kind, payload, who)
    sync(a)
    for (role, right), entry_id in made.items():
        needs = {right, Right.WRITE_CARDS} if right is Right.CLOSE_P1_P2 else {right}
        refused = refused_at_store(served, entry_id)
        assert (refused is None) == (needs <= EXPECTED[role]), (role, right, refused)
