"""The desk enforces rights once it knows accounts: `Desk.handle` refuses a command the
signed-in operator has no right to, in one line naming the right, and writes nothing; entries
carry the account's id, never a typed name. A real journal in tmp_path and the fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.errors import PermissionDenied
from app.services.cards.commands import AddNote, ChangePriority, RegisterCard
from app.services.operators.commands import AddOperator, DisableOperator
from app.services.operators.pins import PinHasher

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)  # the real Argon2id, small
INTAKE = {"category": "network", "site": "Campus East", "symptom": "No network in C",
          "q_what": "no network", "q_where": "building C", "q_when": "01:55",
          "q_workaround": "none", "q_contact": "ward C", "priority": "P2",
          "priority_reason": "one ward down"}


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    d = build_desk(Settings(journal=tmp_path / "desk.sqlite", desk_code="B",
                            operator="typed name").validated(), clock)
    assert d.operators is not None
    d.operators.hasher = CHEAP
    yield d
    d.close()


def _people(desk: Desk) -> None:
    desk.handle(AddOperator("admin", "A. Admin", ["admin", "dispatcher"], "admin-pin-1"))
    desk.sign_in("admin", "admin-pin-1")
    desk.handle(AddOperator("novak", "A. Novak", ["dispatcher"], "novak-pin-1"))
    desk.handle(AddOperator("watch", "W. Watcher", ["observer"], "watch-pin-1"))
    desk.sign_out()


def test_a_desk_without_accounts_works_as_before(desk: Desk) -> None:
    assert not desk.needs_sign_in
    card = desk.handle(RegisterCard(INTAKE))
    assert desk.journal.entries(card.id)[0].operator == "typed name"


def test_nobody_signed_in_writes_nothing(desk: Desk) -> None:
    _people(desk)
    with pytest.raises(PermissionDenied, match="sign in first"):
        desk.handle(RegisterCard(INTAKE))
    assert desk.cards.all_cards() == []


def test_an_observer_is_refused_naming_the_right_and_who_holds_it(desk: Desk) -> None:
    _people(desk)
    desk.sign_in("novak", "novak-pin-1")
    card = desk.handle(RegisterCard(INTAKE))
    desk.sign_in("watch", "watch-pin-1")
    with pytest.raises(PermissionDenied) as refused:
        desk.handle(AddNote(card.number, "looks fine"))
    assert "write_cards" in str(refused.value) and "observer" in str(refused.value)
    with pytest.raises(PermissionDenied, match="change_priority"):
        desk.handle(ChangePriority(card.number, "P1", "whole building"))
    assert [e.kind for e in desk.journal.entries(card.id)] == ["card.registered"]


def test_entries_carry_the_account_id_not_a_typed_name(desk: Desk) -> None:
    _people(desk)
    account = desk.sign_in("novak", "novak-pin-1")
    card = desk.handle(RegisterCard(INTAKE))
    desk.handle(ChangePriority(card.number, "P1", "whole building"))
    assert {e.operator for e in desk.journal.entries(card.id)} == {account.id}
    assert account.id != "typed name"


def test_five_wrong_pins_lock_the_login_for_a_minute(desk: Desk) -> None:
    _people(desk)
    for _ in range(5):
        with pytest.raises(PermissionDenied):
            desk.sign_in("novak", "wrong-pin-0")
    with pytest.raises(PermissionDenied, match="5 wrong PINs for novak; try again in 60 s"):
        desk.sign_in("novak", "novak-pin-1")  # the right PIN, but locked
    assert isinstance(desk.clock, FakeClock)
    desk.clock.advance(timedelta(seconds=61))
    assert desk.sign_in("novak", "novak-pin-1").login == "novak"


def test_a_disabled_account_is_refused_from_then_on(desk: Desk) -> None:
    _people(desk)
    desk.sign_in("admin", "admin-pin-1")
    desk.handle(DisableOperator("novak", "left the company"))
    with pytest.raises(PermissionDenied, match="(?i)disabled"):
        desk.sign_in("novak", "novak-pin-1")
