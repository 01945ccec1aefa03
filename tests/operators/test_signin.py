"""Signing in on a real journal with a fake clock: PIN checks, the lockout after five wrong
PINs (which survives a restart), a disabled account, and an admin's changes as entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import PermissionDenied, ValidationError
from app.models.entry import Entry, format_stamp
from app.models.journal import Journal
from app.protocol.catalogue import OPERATORS_CARD, SIGNINS_CARD
from app.roles import load_roles
from app.services.operators import (
    LOCK_AFTER,
    AddOperator,
    ChangeRoles,
    DisableOperator,
    EnableOperator,
    OperatorService,
    PinHasher,
    ResetPin,
    check_pin,
    sign_in,
)

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)
BOSS_PIN, KIM_PIN = "902113", "553120"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def journal(tmp_path: Path, clock: FakeClock) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "desk.sqlite", clock)
    yield opened
    opened.close()


@pytest.fixture
def service(journal: Journal, clock: FakeClock) -> OperatorService:
    ops = OperatorService(journal, clock, load_roles(), CHEAP)
    boss = ops.handle(AddOperator("boss", "B. Oss", ["admin"], BOSS_PIN), None)
    ops.handle(AddOperator("kim", "K. Im", ["dispatcher"], KIM_PIN), boss)
    return ops


def test_the_right_pin_signs_in_and_is_a_journal_fact(service: OperatorService,
                                                       journal: Journal) -> None:
    result = service.sign_in("  KIM ", KIM_PIN)
    assert result.ok and result.refusal is None and result.account is not None
    [fact] = journal.entries(SIGNINS_CARD)
    assert (fact.kind, fact.operator, fact.payload["id"]) == ("operator.signed_in", "kim", "kim")


def test_a_wrong_pin_and_an_unknown_login_say_the_same(service: OperatorService,
                                                       journal: Journal) -> None:
    wrong = service.sign_in("kim", "000111")
    nobody = service.sign_in("zed", KIM_PIN)
    assert wrong.refusal == "Not signed in: wrong login or PIN (4 more tries before a " \
                           "one-minute lock)"
    assert str(nobody.refusal).startswith("Not signed in: wrong login or PIN")
    facts = journal.entries(SIGNINS_CARD)
    assert [(f.operator, f.payload["login"], f.payload["reason"]) for f in facts] == [
        ("sign-in", "kim", "wrong_pin"), ("sign-in", "zed", "unknown_login")]


def test_five_wrong_pins_lock_the_login_for_a_minute_even_after_a_restart(
        service: OperatorService, journal: Journal, clock: FakeClock, tmp_path: Path) -> None:
    for _ in range(LOCK_AFTER - 1):
        assert not service.sign_in("kim", "000111").ok
        clock.advance(5)
    fifth = service.sign_in("kim", "000111")
    assert "kim is locked for a minute" in str(fifth.refusal)
    assert fifth.locked_until == clock.now() + timedelta(minutes=1)
    journal.close()  # the desk restarts: the lock is in the journal, not in memory
    reopened = Journal.open(tmp_path / "desk.sqlite", clock)
    again = OperatorService(reopened, clock, load_roles(), CHEAP)
    clock.advance(30)
    locked = again.sign_in("kim", KIM_PIN)  # even the right PIN waits
    assert not locked.ok and locked.entry is None
    assert locked.refusal == "Not signed in: 5 wrong PINs for kim; try again in 30 s"
    clock.advance(31)
    assert again.sign_in("kim", KIM_PIN).ok
    assert "kim" not in again.attempts()  # a right PIN ends the streak
    reopened.close()


def test_after_the_lock_each_wrong_pin_locks_again_and_others_are_free(
        service: OperatorService, clock: FakeClock) -> None:
    for _ in range(LOCK_AFTER):
        service.sign_in("kim", "000111")
    assert service.sign_in("boss", BOSS_PIN).ok  # the lock is per login
    clock.advance(61)
    assert "locked for a minute" in str(service.sign_in("kim", "000111").refusal)
    clock.advance(10)
    assert "try again in 50 s" in str(service.sign_in("kim", KIM_PIN).refusal)


def test_a_disabled_account_is_refused_naming_who_can_enable_it(
        service: OperatorService) -> None:
    boss = service.sign_in("boss", BOSS_PIN).account
    service.handle(DisableOperator("kim", "left"), boss)
    refused = service.sign_in("kim", KIM_PIN)
    assert refused.refusal == ("Not signed in: the account kim is disabled; an admin (B. Oss) "
                               "can enable it again (dispatch-desk operator enable kim)")
    assert service.attempts().get("kim") is None  # not a wrong PIN: no lockout from it
    service.handle(EnableOperator("kim"), boss)
    assert service.sign_in("kim", KIM_PIN).ok


def test_a_disable_pulled_from_the_store_is_honoured(service: OperatorService,
                                                     journal: Journal, clock: FakeClock) -> None:
    stamp = format_stamp(int(clock.now().timestamp() * 1000) + 1, 0, "store-s1")
    journal.apply_remote([Entry("00000000-0000-4000-8000-000000000001", OPERATORS_CARD,
                                "operator.disabled", {"id": "kim"}, stamp, "store-s1",
                                "store admin", server_seq=7)])
    clock.advance(1)
    assert "disabled" in str(service.sign_in("kim", KIM_PIN).refusal)


def test_changes_need_an_admin_and_carry_the_admins_id(service: OperatorService,
                                                       journal: Journal) -> None:
    kim = service.sign_in("kim", KIM_PIN).account
    with pytest.raises(PermissionDenied, match="managing operator accounts needs the right "
                                               "manage_operators \\(admin\\); you are signed "
                                               "in as dispatcher"):
        service.handle(AddOperator("eve", "Eve", ["admin"], "771903"), kim)
    with pytest.raises(PermissionDenied, match="sign in as an admin"):
        service.handle(ChangeRoles("kim", ["admin"]), None)
    boss = service.sign_in("boss", BOSS_PIN).account
    assert service.handle(ChangeRoles("kim", ["observer", "l1"]), boss).roles == ("observer",
                                                                                 "l1")
    assert [e.operator for e in journal.entries(OPERATORS_CARD)] == ["boss", "boss", "boss"]
    assert "771903" not in repr(AddOperator("x", "X", [], "771903"))


def test_a_person_resets_their_own_pin(service: OperatorService) -> None:
    kim = service.sign_in("kim", KIM_PIN).account
    service.handle(ResetPin("kim", "660192", "forgot it"), kim)
    assert not service.sign_in("kim", KIM_PIN).ok
    assert service.sign_in("kim", "660192").ok


def test_no_account_no_entry_for_an_empty_login(service: OperatorService) -> None:
    result = sign_in(service.accounts(), "  ", "x", {}, FakeClock().now(), hasher=CHEAP)
    assert result.refusal == "Not signed in: type your login, then your PIN"
    assert result.entry is None


@pytest.mark.parametrize(("pin", "message"), [
    ("12345", "6 to 128"), ("111111", "too easy"), ("123456", "too easy"),
    ("4172\n09", "control"), ("kimkim", "not be the login"),
])
def test_a_pin_must_be_hard_enough(pin: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check_pin(pin, "kimkim")


def test_the_hash_is_argon2id_and_records_its_parameters() -> None:
    hashed = PinHasher().hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PinHasher().verify(hashed, "correct horse")
    assert not PinHasher().verify(hashed, "correct horsE")
    assert not PinHasher().verify("$argon2id$broken", "x")
    assert CHEAP.verify(hashed, "correct horse")  # verified with the hash's own parameters
    assert CHEAP.needs_rehash(hashed) and not PinHasher().needs_rehash(hashed)
