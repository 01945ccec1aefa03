"""Tokens on a desk's journal (a real file, the fake clock): made by an admin only, only a
script's rights, a name used once, the secret never in an entry, revocation and expiry
honoured on the desk at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import PermissionDenied, ValidationError
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.protocol.catalogue import OPERATORS_CARD
from app.protocol.rights import Right
from app.protocol.tokens import token_problem, tokens
from app.roles import load_roles
from app.services.cards.commands import AddNote, SetStatus
from app.services.operators import (
    AddOperator,
    CreateToken,
    OperatorService,
    PinHasher,
    RevokeToken,
)
from app.services.operators.rights import authorise

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(tmp_path: Path, clock: FakeClock) -> Iterator[OperatorService]:
    journal = Journal.open(tmp_path / "desk.sqlite", clock)
    yield OperatorService(journal, clock, load_roles(), CHEAP)
    journal.close()


def test_only_an_admin_makes_a_token_and_only_with_a_scripts_rights(
        service: OperatorService) -> None:
    boss = service.handle(AddOperator("boss", "B. Oss", ["admin"], "902113"), None)
    kim = service.handle(AddOperator("kim", "K. Im", ["dispatcher"], "553120"), boss)
    with pytest.raises(PermissionDenied, match="manage_operators"):
        service.create_token(CreateToken("hook", ["write_cards"]), kim)
    for rights, words in ((["close_p1_p2"], "a signed-in person's"), (["fly"], "unknown right"),
                          ([], "at least one")):
        with pytest.raises(ValidationError, match=words):
            service.create_token(CreateToken("hook", rights), boss)
    with pytest.raises(ValidationError, match="has passed"):
        service.create_token(CreateToken("hook", ["write_cards"],
                                         service.clock.now() - timedelta(seconds=1)), boss)
    assert service.tokens() == {}
    token, secret = service.create_token(CreateToken("Hook", ["write_cards", "edit_roster"]),
                                         boss)
    assert (token.name, token.rights) == ("hook", {Right.WRITE_CARDS, Right.EDIT_ROSTER})
    assert all(secret not in str(e.payload) for e in service.journal.entries(OPERATORS_CARD))
    with pytest.raises(ValidationError, match="never reused; pick another, e.g. hook-2"):
        service.create_token(CreateToken("hook", ["write_cards"]), boss)


def test_a_revoked_or_expired_token_no_longer_signs_in(
        service: OperatorService, clock: FakeClock) -> None:
    boss = service.handle(AddOperator("boss", "B. Oss", ["admin"], "902113"), None)
    _, secret = service.create_token(CreateToken("hook", ["write_cards"]), boss)
    _, brief = service.create_token(
        CreateToken("brief", ["write_cards"], clock.now() + timedelta(hours=1)), boss)
    actor = service.sign_in_token(secret)
    assert actor.id == "token:hook" and actor.rights == {Right.WRITE_CARDS}
    authorise(actor, AddNote("B-0001", "x"), service.table)
    with pytest.raises(PermissionDenied, match="closing a card is a person's decision"):
        authorise(actor, SetStatus("B-0001", "closed"), service.table)
    with pytest.raises(PermissionDenied, match="not known at this desk"):
        service.sign_in_token("ddt_made-up")
    clock.advance(timedelta(hours=2))
    with pytest.raises(PermissionDenied, match="the token brief expired at"):
        service.sign_in_token(brief)
    service.revoke_token(RevokeToken("hook", "leaked in a log"), boss)
    with pytest.raises(PermissionDenied, match="revoked at .* \\(leaked in a log\\)"):
        service.sign_in_token(secret)
    with pytest.raises(ValidationError, match="already revoked"):
        service.revoke_token(RevokeToken("hook"), boss)


def test_a_second_creation_of_a_name_cannot_take_the_token_over(
        service: OperatorService) -> None:
    """A hostile desk's `operator.token_created` for a name in use changes nothing: the
    first one (by stamp) is the token, on every desk and at the store."""
    boss = service.handle(AddOperator("boss", "B. Oss", ["admin"], "902113"), None)
    token, _ = service.create_token(CreateToken("hook", ["write_cards"]), boss)
    service.journal.write([NewEntry(OPERATORS_CARD, "operator.token_created", {
        "name": "hook", "rights": ["edit_rules"], "token_hash": "sha256:" + "0" * 64})],
        "boss")
    assert tokens(service.journal.entries(OPERATORS_CARD))["hook"] == token
    needed = frozenset({Right.EDIT_RULES})
    assert "holds write_cards" in str(token_problem(token, "hook", "config.changed", {},
                                                    token.created + "~", needed))
    assert "did not exist yet" in str(token_problem(token, "hook", "card.note", {},
                                                    "000000000000001.00000.x", needed))
