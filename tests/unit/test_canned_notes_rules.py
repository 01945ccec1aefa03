"""The `[canned_notes]` table of the policy file: typed, validated, optional."""

from __future__ import annotations

import pytest

from app.errors import ConfigError
from app.loaders import load_rules
from app.services.cards.rules import DEFAULT_RULES, CannedNote, parse_rules

SHIPPED = DEFAULT_RULES.read_text(encoding="utf-8")
WITHOUT = SHIPPED.split("[canned_notes]")[0]


def test_the_shipped_file_has_four_notes_in_key_order() -> None:
    notes = load_rules().canned_notes
    assert [n.key for n in notes] == ["F5", "F6", "F7", "F8"]
    assert all(n.text and "\n" not in n.text for n in notes)


def test_the_table_is_optional_and_sorted_by_key() -> None:
    assert parse_rules(WITHOUT).canned_notes == ()
    rules = parse_rules(WITHOUT + '[canned_notes]\nF8 = "  last  "\nF6 = "first"\n')
    assert rules.canned_notes == (CannedNote("F6", "first"), CannedNote("F8", "last"))


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('canned_notes = "F5"', "expected a table"),
        ('[canned_notes]\nF1 = "help"', "canned_notes.F1: use one of F5, F6, F7, F8"),
        ('[canned_notes]\nF5 = 3', "canned_notes.F5: expected one line of text"),
        ('[canned_notes]\nF5 = "   "', "expected one line of text"),
        ('[canned_notes]\nF5 = """two\nlines"""', "expected one line of text"),
    ],
)
def test_a_bad_table_names_the_key_and_the_fix(table: str, says: str) -> None:
    text = (table + "\n" + WITHOUT) if not table.startswith("[") else WITHOUT + table + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_rules(text)
    assert says in caught.value.message
