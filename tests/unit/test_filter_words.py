"""The queue filter's words: case, accents and hyphens do not matter; numbers are whole words."""

from __future__ import annotations

import pytest

from app.services.cards.queue import search_text, search_words


def finds(typed: str, *row: str, number: str = "") -> bool:
    hay = search_text(*row, number=number)
    return all(word in hay for word in search_words(typed))


@pytest.mark.parametrize("typed", ["wifi", "WIFI", "wi-fi", "Wi Fi", "wi‐fi"])
def test_wifi_finds_wi_fi_however_it_is_typed(typed: str) -> None:
    assert finds(typed, "No Wi-Fi on ward 3")


def test_wi_fi_typed_finds_wifi_written() -> None:
    assert finds("wi-fi", "WiFi down")


def test_accents_and_case_are_folded() -> None:
    assert finds("cafe", "Café Nord")
    assert finds("CAFÉ", "cafe nord")
    assert finds("strasse", "Hauptstraße 4")


@pytest.mark.parametrize(("typed", "found"), [
    ("branch 3", True), ("branch 7", False), ("3", True), ("30", False), ("branch 30", False),
])
def test_numbers_are_whole_words(typed: str, found: bool) -> None:
    assert finds(typed, "Printer jam", "Branch 3", number="A-0013") is found


def test_a_number_does_not_match_inside_a_card_number() -> None:
    assert not finds("3", "Branch 7", number="A-0030")
    assert not finds("branch 3", "Branch 7", "floor 30", number="A-0013")


@pytest.mark.parametrize("typed", ["a16", "A16", "a-16", "A-0016", "a0016", "0016"])
def test_short_card_numbers_find_their_card(typed: str) -> None:
    assert finds(typed, "A-0016", "Core switch", number="A-0016")
    assert not finds(typed, "A-0116", "Core switch", number="A-0116")


def test_parts_of_words_still_match() -> None:
    assert finds("c east", "building C", "Campus East")
    assert finds("2.14", "room 2.14")


def test_empty_and_punctuation_only_filters_match_everything() -> None:
    assert search_words("  ") == [] and search_words(" - ") == []
