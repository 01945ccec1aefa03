"""The command bar's language: parsing, errors that name the wrong part, completion, and
execution against a real journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bootstrap import Desk, build_desk
from app.clock import FakeClock
from app.config import Settings
from app.errors import TransitionError, ValidationError
from app.services.commands import (
    Acknowledge,
    AddNote,
    Assign,
    ChangePriority,
    OpenCard,
    SetStatus,
    complete,
    execute,
    parse,
)


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("/s B-0042 restored", SetStatus("B-0042", "restored")),
        ("s b-0042 in progress engineer on site", SetStatus("B-0042", "in_progress",
                                                           "engineer on site")),
        ("s B-0042 waiting for customer logs asked", SetStatus("B-0042", "waiting_customer",
                                                              "logs asked")),
        ("status B-0042 monitoring", SetStatus("B-0042", "restored")),
        ("p B-0042 p1 whole branch cannot take payments",
         ChangePriority("B-0042", "P1", "whole branch cannot take payments")),
        ("n B-0042 called site duty, no answer", AddNote("B-0042", "called site duty, no answer")),
        ("a B-0042 Ivanov", Assign("B-0042", "Ivanov")),
        ("ack B-0042 J. Weber in person", Acknowledge("B-0042", "J. Weber", "in_person")),
        ("ack B-0042 J. Weber sms", Acknowledge("B-0042", "J. Weber", "sms")),
        ("ack B-0042 Weber", Acknowledge("B-0042", "Weber", "phone")),
        ("  /o   B-0042  ", OpenCard("B-0042")),
    ],
)
def test_parse_understands_each_command(line: str, command: object) -> None:
    assert parse(line) == command


@pytest.mark.parametrize(
    ("line", "field", "says"),
    [
        ("", "command", "type a command"),
        ("/", "command", "type a command"),
        ("x B-0042", "command", "unknown command 'x'"),
        ("s", "number", "s B-0042 STATUS"),
        ("s 42 restored", "number", "card numbers look like B-0042"),
        ("s B-0042", "status", "which status"),
        ("s B-0042 fixed", "status", "unknown status 'fixed'"),
        ("p B-0042", "priority", "P1, P2, P3 or P4, not nothing"),
        ("p B-0042 P5 because", "priority", "not 'P5'"),
        ("p B-0042 P1", "reason", "needs a one-line reason"),
        ("n B-0042", "text", "no text"),
        ("a B-0042", "assignee", "assign to whom"),
        ("ack B-0042 phone", "who", "who acknowledged"),
        ("o B-0042 now", "command", "only a card number"),
    ],
)
def test_parse_refuses_naming_the_part_and_the_form(line: str, field: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(line)
    assert caught.value.field == field
    assert says in caught.value.message
    if field != "command":
        assert "type it as:" in caught.value.message


OPEN = ["B-0041", "B-0042", "B-0140", "C-0007"]


def test_complete_verbs_numbers_statuses_priorities_and_methods() -> None:
    assert complete("", OPEN) == ["s ", "p ", "n ", "a ", "ack ", "o "]
    assert complete("/a", OPEN) == ["/a ", "/ack "]
    assert complete("s B-00", OPEN) == ["s B-0041 ", "s B-0042 "]
    assert complete("s b-01", OPEN) == ["s B-0140 "]
    # A number read aloud without its desk code and zeros still finds the card.
    assert complete("/o 42", OPEN) == ["/o B-0042 "]
    assert complete("o 7", OPEN) == ["o C-0007 "]
    assert complete("s B-0042 re", OPEN) == ["s B-0042 registered ", "s B-0042 restored "]
    assert complete("s B-0042 w", OPEN, ["restored", "waiting_customer"]) == [
        "s B-0042 waiting_customer "
    ]
    assert complete("p B-0042 ", OPEN) == [f"p B-0042 {p} " for p in ("P1", "P2", "P3", "P4")]
    assert complete("ack B-0042 J. Weber in", OPEN) == ["ack B-0042 J. Weber in_person"]
    assert complete("zz B-0042", OPEN) == []
    assert complete("n B-0042 some te", OPEN) == []


def test_complete_caps_a_long_list() -> None:
    many = [f"B-{i:04d}" for i in range(1, 2001)]
    shown = complete("s B-", many)
    assert len(shown) == 50
    assert shown[0] == "s B-0001 "


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = build_desk(Settings(journal=tmp_path / "journal.sqlite", desk_code="B"), FakeClock())
    yield d
    d.close()


def _register(desk: Desk) -> str:
    intake = {
        "category": "network", "site": "HQ", "symptom": "Floor 2 has no network",
        "q_what": "no network, whole floor 2", "q_where": "HQ floor 2",
        "q_when": "since 02:10, no change known", "q_workaround": "none, urgent",
        "q_contact": "J. Weber, ext 214", "priority": "P2", "priority_reason": "one floor down",
    }
    return desk.cards.register(intake, desk.operator).number


def test_execute_writes_through_the_card_service(desk: Desk) -> None:
    number = _register(desk)
    assert execute(parse(f"s {number} in progress"), desk.cards, desk.operator).status == (
        "in_progress"
    )
    card = execute(parse(f"p {number} P1 second floor also down"), desk.cards, desk.operator)
    assert (card.priority, card.priority_reason) == ("P1", "second floor also down")
    assert execute(parse(f"a {number} Ivanov"), desk.cards, desk.operator).assignee == "Ivanov"
    card = execute(parse(f"ack {number} Ivanov phone"), desk.cards, desk.operator)
    assert card.acknowledged_by == "Ivanov"
    execute(parse(f"n {number} switch rebooted"), desk.cards, desk.operator)
    kinds = [e.kind for e in desk.cards.timeline(number)]
    assert kinds == ["card.registered", "card.status", "card.priority", "card.fields",
                     "card.ack", "card.note"]
    assert execute(parse(f"o {number}"), desk.cards, desk.operator).number == number


def test_execute_refusal_writes_nothing(desk: Desk) -> None:
    number = _register(desk)
    before = len(desk.cards.timeline(number))
    with pytest.raises(TransitionError):
        execute(parse(f"s {number} closed"), desk.cards, desk.operator)
    assert len(desk.cards.timeline(number)) == before
