"""Accounts as a fold of their entries: order-free, first addition wins, the role held at any
moment; the catalogue's shapes; an admin's changes judged before they are written."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import NotFoundError, ValidationError
from app.models.entry import Entry, format_stamp
from app.protocol import accounts as acc
from app.protocol.catalogue import OPERATORS_CARD, SIGNINS_CARD, check_payload
from app.roles import load_roles
from app.services.operators import PinHasher

TABLE = load_roles()
HASH = PinHasher(time_cost=1, memory_kib=1024, parallelism=1).hash("417209")
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return format_stamp(int((T0 + timedelta(minutes=minutes)).timestamp() * 1000), 0, "d1")


def entry(minutes: float, kind: str, payload: dict[str, Any], by: str = "boss") -> Entry:
    n = int(minutes * 1000)
    return Entry(f"00000000-0000-4000-8000-{n:012d}", OPERATORS_CARD, kind, payload,
                 at(minutes), "d1", by)


def added(minutes: float, ident: str, *roles: str, login: str | None = None) -> Entry:
    return entry(minutes, "operator.added", {"id": ident, "login": login or ident,
                                             "name": ident.title(), "roles": list(roles),
                                             "pin_hash": HASH})


HISTORY = [
    added(0, "boss", "admin"),
    added(1, "kim", "dispatcher"),
    entry(10, "operator.roles", {"id": "kim", "roles": ["observer"], "reason": "moved"}),
    entry(20, "operator.disabled", {"id": "kim"}),
    entry(30, "operator.enabled", {"id": "kim"}),
    entry(31, "operator.pin_set", {"id": "kim", "pin_hash": HASH}),
]


def test_the_fold_is_the_same_in_any_order() -> None:
    expected = acc.accounts(HISTORY)
    for seed in range(20):
        shuffled = list(HISTORY)
        random.Random(seed).shuffle(shuffled)
        assert acc.accounts(shuffled) == expected
    kim = expected["kim"]
    assert kim.roles == ("observer",) and kim.enabled and len(kim.history) == 5


def test_the_role_held_at_each_moment() -> None:
    kim = acc.accounts(HISTORY)["kim"]
    assert acc.roles_at(kim, at(0.5)) == frozenset()  # not added yet
    assert acc.held_at(kim, at(0.5)) is None
    assert acc.roles_at(kim, at(5)) == {"dispatcher"}
    assert acc.roles_at(kim, at(10)) == {"observer"}  # the change's own stamp counts
    assert acc.roles_at(kim, T0 + timedelta(minutes=15)) == {"observer"}
    assert not acc.enabled_at(kim, at(25)) and acc.roles_at(kim, at(25)) == frozenset()
    assert acc.enabled_at(kim, at(35)) and acc.roles_at(kim, at(35)) == {"observer"}


def test_adding_again_never_takes_an_account_over() -> None:
    later = [added(40, "kim", "admin"), added(41, "eve", "admin", login="kim"),
             added(42, "sync", "admin"), entry(43, "operator.roles", {"id": "ghost",
                                                                     "roles": ["admin"]})]
    known = acc.accounts(HISTORY + later)
    assert set(known) == {"boss", "kim"}
    assert known["kim"].roles == ("observer",)


def test_sign_in_facts_are_not_account_changes() -> None:
    fact = Entry("00000000-0000-4000-8000-999999999999", SIGNINS_CARD, "operator.signed_in",
                 {"id": "kim"}, at(50), "d1", "kim")
    assert acc.accounts([*HISTORY, fact]) == acc.accounts(HISTORY)


@pytest.mark.parametrize(("kind", "payload", "field"), [
    ("operator.added", {"id": "Kim", "login": "kim", "name": "K", "roles": [], "pin_hash": HASH},
     "id"),
    ("operator.added", {"id": "kim", "login": "kim", "name": "K", "roles": [],
                        "pin_hash": "417209"}, "pin_hash"),
    ("operator.roles", {"id": "kim", "roles": ["Shift Lead"]}, "roles[0]"),
    ("operator.disabled", {"id": "kim", "extra": 1}, "payload"),
    ("operator.signin_failed", {"login": "kim", "reason": "bored"}, "reason"),
])
def test_the_catalogue_refuses_bad_account_entries(kind: str, payload: dict[str, Any],
                                                   field: str) -> None:
    home = SIGNINS_CARD if "signin" in kind else OPERATORS_CARD
    with pytest.raises(ValidationError) as info:
        check_payload(kind, home, payload, at(0))
    assert info.value.field == field


def test_account_entries_live_on_their_pseudo_cards() -> None:
    check_payload("operator.disabled", OPERATORS_CARD, {"id": "kim"}, at(0))
    check_payload("operator.signed_in", SIGNINS_CARD, {"id": "kim"}, at(0))
    with pytest.raises(ValidationError, match="belongs to card_id 'operators'"):
        check_payload("operator.disabled", "some-card", {"id": "kim"}, at(0))
    with pytest.raises(ValidationError, match="belongs to card_id 'signins'"):
        check_payload("operator.signed_in", OPERATORS_CARD, {"id": "kim"}, at(0))


def test_the_first_account_must_be_able_to_add_the_others() -> None:
    with pytest.raises(ValidationError, match="first account .* manage_operators") as info:
        acc.plan_add({}, TABLE, login="kim", name="Kim", roles=["dispatcher"], pin_hash=HASH)
    assert info.value.field == "roles"
    kind, payload = acc.plan_add({}, TABLE, login=" Boss ", name="  The  Boss ",
                                 roles=["admin", "Shift Lead"], pin_hash=HASH)
    assert kind == "operator.added"
    assert payload == {"id": "boss", "login": "boss", "name": "The Boss",
                       "roles": ["admin", "shift_lead"], "pin_hash": HASH}


@pytest.mark.parametrize(("change", "message"), [
    (lambda k: acc.plan_add(k, TABLE, login="kim", name="K", roles=["l1"], pin_hash=HASH),
     "an account 'kim' exists"),
    (lambda k: acc.plan_add(k, TABLE, login="ladder", name="L", roles=["l1"], pin_hash=HASH),
     "names the desk's own machinery"),
    (lambda k: acc.plan_add(k, TABLE, login="new one", name="N", roles=["l1"], pin_hash=HASH),
     "login: use 1 to 40"),
    (lambda k: acc.plan_add(k, TABLE, login="new", name=" ", roles=["l1"], pin_hash=HASH),
     "name: give"),
    (lambda k: acc.plan_add(k, TABLE, login="new", name="N", roles=["pilot"], pin_hash=HASH),
     "unknown role 'pilot'"),
    (lambda k: acc.plan_roles(k, TABLE, "boss", ["dispatcher"]), "no enabled account able"),
    (lambda k: acc.plan_roles(k, TABLE, "kim", ["observer"]), "already has observer"),
    (lambda k: acc.plan_disable(k, TABLE, "boss"), "last enabled account"),
    (lambda k: acc.plan_enable(k, "boss"), "already enabled"),
])
def test_an_admins_change_is_judged_before_it_is_written(change: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        change(acc.accounts(HISTORY))


def test_changes_find_the_account_by_login_or_id() -> None:
    known = acc.accounts(HISTORY)
    assert acc.plan_disable(known, TABLE, "KIM", "  left   early ") == (
        "operator.disabled", {"id": "kim", "reason": "left early"})
    assert acc.plan_pin(known, "kim", HASH) == ("operator.pin_set",
                                                {"id": "kim", "pin_hash": HASH})
    with pytest.raises(NotFoundError, match="no operator account 'zed'"):
        acc.plan_enable(known, "zed")
