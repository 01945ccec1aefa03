"""The command bar's language: parsing, errors that name the wrong part, completion, and
execution against a real journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.errors import NotFoundError, TransitionError, ValidationError
from app.services.cards.command_bar import (
    Acknowledge,
    AddNote,
    Assign,
    ChangePriority,
    OpenCard,
    SetStatus,
    card_number,
    complete,
    describe,
    execute,
    parse,
    perform,
)
from app.services.cards.service import parse_status


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


# -- issue 15: the bar refuses what it would have to guess, and answers in words ----------


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("s B-0042 waiting", "'waiting'"),
        ("/s B-0042 waiting vendor has the part", "'waiting'"),
        ("s B-0042 wait", "'wait'"),
        ("s B-0042 waiting for parts", "'waiting for'"),
    ],
)
def test_a_word_naming_two_statuses_is_refused_with_both_exact_words(
    line: str, phrase: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(line, "B")
    message = caught.value.message
    assert caught.value.field == "status"
    assert f"{phrase} could be" in message
    assert "waiting_customer (Waiting for customer)" in message
    assert "waiting_contractor (Waiting for contractor)" in message
    assert "type it as: s B-0042 STATUS" in message


def test_other_ambiguous_starts_list_their_choices_too() -> None:
    with pytest.raises(ValidationError) as caught:
        parse("s B-0042 re", "B")
    assert "registered (Registered) or restored (Restored (monitoring))" in caught.value.message


@pytest.mark.parametrize(
    ("line", "status", "reason"),
    [
        ("s B-0042 waiting_customer", "waiting_customer", ""),
        ("s B-0042 waiting_contractor part ordered", "waiting_contractor", "part ordered"),
        ("s B-0042 waiting for contractor part ordered", "waiting_contractor", "part ordered"),
        ("s B-0042 waiting customer logs asked", "waiting_customer", "logs asked"),
        ("s B-0042 waiting-contractor", "waiting_contractor", ""),
    ],
)
def test_the_exact_waiting_words_still_go_through(line: str, status: str, reason: str) -> None:
    assert parse(line, "B") == SetStatus("B-0042", status, reason)


def test_parse_status_refuses_waiting_for_the_cli_too() -> None:
    # `dispatch-desk card status B-0001 waiting` goes through parse_status: same guess.
    with pytest.raises(ValidationError) as caught:
        parse_status("waiting")
    assert caught.value.field == "status"
    assert "waiting_customer or waiting_contractor" in caught.value.message
    assert parse_status("waiting customer") == "waiting_customer"
    assert parse_status("progress") == "in_progress"
    assert parse_status("monitoring") == "restored"


@pytest.mark.parametrize("typed", ["16", "a16", "A16", "a-16", "A-16", "A-0016", "a0016", "016"])
def test_short_numbers_are_this_desks_card(typed: str) -> None:
    assert card_number(typed, "A") == "A-0016"


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("s 16 in progress", SetStatus("A-0016", "in_progress")),
        ("p a16 P1 whole floor", ChangePriority("A-0016", "P1", "whole floor")),
        ("n A16 called back", AddNote("A-0016", "called back")),
        ("a a-16 Ivanov", Assign("A-0016", "Ivanov")),
        ("ack 16 M. Kranz", Acknowledge("A-0016", "M. Kranz", "phone")),
        ("o 16", OpenCard("A-0016")),
    ],
)
def test_every_command_takes_a_short_number(line: str, command: object) -> None:
    assert parse(line, "A") == command


def test_short_numbers_keep_another_desks_code_and_long_counters() -> None:
    assert card_number("b16", "A") == "B-0016"
    assert card_number("12345", "A") == "A-12345"
    assert card_number("ab-7", "A") == "AB-0007"


@pytest.mark.parametrize("typed", ["16x", "A-12345678", "ABCD16", "-16", "A--16"])
def test_what_is_not_a_number_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as caught:
        card_number(typed, "A")
    assert "card numbers look like B-0042" in caught.value.message


def test_a_bare_number_without_a_desk_code_is_not_guessed() -> None:
    with pytest.raises(ValidationError):
        card_number("16")


def test_completion_takes_short_numbers() -> None:
    assert complete("s b42", OPEN) == ["s B-0042 "]
    assert complete("o c7", OPEN) == ["o C-0007 "]
    assert complete("o c-7", OPEN) == ["o C-0007 "]
    assert complete("o x42", OPEN) == []


def test_every_result_is_said_in_words(desk: Desk) -> None:
    number = _register(desk)  # B-0001, P2, registered
    short = number.split("-")[1].lstrip("0")

    def said(line: str) -> str:
        return perform(parse(line, "B"), desk.cards, desk.operator).text

    assert said(f"s {short} in progress") == f"{number} → In progress"
    assert said(f"s {short} waiting_customer logs asked") == (
        f"{number} → Waiting for customer; recovery clock paused (reason: logs asked)"
    )
    assert said(f"s {short} waiting for contractor") == (
        f"{number} → Waiting for contractor; recovery clock stays paused"
    )
    assert said(f"s {short} in progress") == f"{number} → In progress; recovery clock running again"
    assert said(f"p {short} P1 second floor down") == (
        f"{number}: priority P1 (was P2; reason: second floor down)"
    )
    assert said(f"n {short} switch rebooted") == f"{number}: note added"
    assert said(f"a {short} Ivanov") == f"{number}: assigned to Ivanov"
    assert said(f"ack {short} M. Kranz") == (
        f"{number}: acknowledged by M. Kranz (phone); reaction clock stopped"
    )
    assert said(f"ack {short} M. Kranz in person") == (
        f"{number}: acknowledged by M. Kranz (in person)"
    )
    assert said(f"s {short} restored") == (
        f"{number} → Restored (monitoring); recovery clock stopped (monitoring)"
    )
    assert said(f"s {short} in progress") == (
        f"{number} → In progress; relapse: recovery clock running again"
    )
    assert said(f"o {short}") == f"{number}: shown (In progress, P1)"


def test_the_outcome_names_its_card_and_describe_is_pure(desk: Desk) -> None:
    number = _register(desk)
    outcome = perform(parse(f"n {number} hello"), desk.cards, desk.operator)
    assert outcome.id == outcome.card.id == desk.cards.get(number).id
    # describe needs no journal: the card after the change (and, optionally, before it).
    after = desk.cards.change_status(number, "waiting_customer", desk.operator)
    assert describe(SetStatus(number, "waiting_customer"), after) == (
        f"{number} → Waiting for customer; recovery clock paused"
    )


def test_an_unknown_short_number_says_which_card_is_missing(desk: Desk) -> None:
    _register(desk)
    with pytest.raises(NotFoundError) as caught:
        perform(parse("n 99 hello", "B"), desk.cards, desk.operator)
    assert "no card B-0099" in str(caught.value)


def test_the_service_refuses_waiting_and_writes_nothing(desk: Desk) -> None:
    number = _register(desk)
    before = len(desk.cards.timeline(number))
    with pytest.raises(ValidationError, match="waiting_customer or waiting_contractor"):
        desk.cards.change_status(number, "waiting", desk.operator)
    assert len(desk.cards.timeline(number)) == before
    assert desk.cards.get(number).status == "registered"
