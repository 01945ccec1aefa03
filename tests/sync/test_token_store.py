"""The store judges entries written with a script's token (`token:NAME`) like a person's:
the token in force at the entry's time, holding the entry's right, never a person's decision.
Real desks and the real store on a loopback port; the token is made on a desk by an admin and
reaches the store as a fact."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.clock import FakeClock
from app.models.entry import NewEntry
from app.protocol.accounts import accounts
from app.protocol.catalogue import OPERATORS_CARD
from app.roles import load_roles
from app.services.operators import CreateToken, OperatorService, PinHasher, RevokeToken
from app.store.operators import StoreOperators
from app.store.tables import entries
from app.sync.engine import SyncEngine
from tests.sync.conftest import DeskFactory
from tests.sync.loopback import LoopbackStore

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)
PIN = "417209"


def refused(store: LoopbackStore, entry_id: str) -> str | None:
    with store.store.engine.connect() as conn:
        value = conn.execute(select(entries.c.set_aside).where(entries.c.id == entry_id))
        return value.scalar()


def sync(*engines: SyncEngine) -> None:
    for engine in (*engines, *engines):
        engine.round()


def write(desk: SyncEngine, card: str, kind: str, payload: dict[str, Any], who: str) -> str:
    return desk.journal.write([NewEntry(card, kind, payload)], who)[0].id


def test_a_token_writes_within_its_rights_until_it_is_revoked(
        store: LoopbackStore, make_desk: DeskFactory, clock: FakeClock) -> None:
    StoreOperators(store.store).add(login="boss", name="B. Oss", roles=["admin"],
                                    pin_hash=CHEAP.hash(PIN))
    clock.advance(1)
    a, b = make_desk("A"), make_desk("B")
    sync(a, b)
    service = OperatorService(a.journal, clock, load_roles(), CHEAP)
    boss = accounts(a.journal.entries(OPERATORS_CARD))["boss"]
    token, secret = service.create_token(CreateToken("nagios", ["write_cards"]), boss)
    assert service.sign_in_token(secret).id == "token:nagios"
    clock.advance(1)

    card = str(uuid.uuid4())
    registered = write(a, card, "card.registered", {
        "priority": "P2", "priority_reason": "link down", "fields": {"symptom": "core"}},
        "token:nagios")
    note = write(a, card, "card.note", {"text": "made before the revocation"}, "token:nagios")
    # What an old or hostile desk might let a token write:
    raised = write(a, card, "card.priority", {"priority": "P1", "reason": "auto"},
                   "token:nagios")
    closed = write(a, card, "card.status", {"status": "closed", "from": "restored", "closure": {
        "cause": "c", "workaround": "w", "fix": "f", "lessons": "l"}}, "token:nagios")
    roster = write(a, "audit", "roster.imported", {
        "by": "token:nagios", "digest": "0" * 64, "contacts": 1, "rotations": 1,
        "overrides": 0}, "token:nagios")
    ghost = write(a, card, "card.note", {"text": "who am I"}, "token:ghost")
    clock.advance(60)
    service.revoke_token(RevokeToken("nagios", "moved to the new monitoring"), boss)
    clock.advance(60)
    late = write(a, card, "card.note", {"text": "after the revocation"}, "token:nagios")
    sync(a, b)  # everything reaches the store in one push, the revocation among it

    assert refused(store, registered) is None and refused(store, note) is None
    assert "only a signed-in person may write card.priority" in str(refused(store, raised))
    assert "only a signed-in person may write card.status" in str(refused(store, closed))
    assert "roster.imported needs the right edit_roster; the token nagios holds write_cards" \
        in str(refused(store, roster))
    assert "the token 'ghost' is not known" in str(refused(store, ghost))
    assert "the token nagios was revoked at" in str(refused(store, late))
    assert "moved to the new monitoring" in str(refused(store, late))
    # Applied nowhere, the same on both desks; the token's secret is in no entry.
    assert a.journal.card(card) == b.journal.card(card)
    assert a.journal.card(card)["priority"] == "P2"
    assert a.journal.card(card)["status"] != "closed"
    with store.store.engine.connect() as conn:
        stored = " ".join(r.payload for r in conn.execute(select(entries.c.payload)))
    assert secret not in stored and token.token_hash in stored


def test_an_expired_token_is_refused_for_entries_after_its_expiry(
        store: LoopbackStore, make_desk: DeskFactory, clock: FakeClock) -> None:
    StoreOperators(store.store).add(login="boss", name="B. Oss", roles=["admin"],
                                    pin_hash=CHEAP.hash(PIN))
    clock.advance(1)
    a = make_desk("A")
    sync(a)
    service = OperatorService(a.journal, clock, load_roles(), CHEAP)
    boss = accounts(a.journal.entries(OPERATORS_CARD))["boss"]
    from datetime import timedelta

    _, secret = service.create_token(
        CreateToken("cron", ["write_cards"], clock.now() + timedelta(minutes=5)), boss)
    clock.advance(1)
    card = str(uuid.uuid4())
    ok = write(a, card, "card.registered", {"priority": "P4", "priority_reason": "nightly",
                                            "fields": {"symptom": "disk 80 %"}}, "token:cron")
    clock.advance(timedelta(minutes=10))
    late = write(a, card, "card.note", {"text": "still there"}, "token:cron")
    sync(a)
    assert refused(store, ok) is None
    assert "the token cron expired at" in str(refused(store, late))
    import pytest

    from app.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="the token cron expired at"):
        service.sign_in_token(secret)
