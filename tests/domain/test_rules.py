"""The policy file: the shipped default parses; every mistake names its place and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError, ValidationError
from app.loaders import load_rules
from app.services.cards.rules import DEFAULT_RULES, parse_rules

TEXT = DEFAULT_RULES.read_text(encoding="utf-8")


def test_the_shipped_matrix_is_domain_md() -> None:
    rules = load_rules()
    table = {(i, u): rules.priority_for(i, u) for i in ("high", "medium", "low")
             for u in ("high", "medium", "low")}
    assert table[("high", "high")] == "P1"
    assert table[("high", "medium")] == table[("medium", "high")] == "P2"
    assert table[("low", "low")] == "P4"
    with pytest.raises(ValidationError):
        rules.priority_for("huge", "high")


def test_policy_choice_by_category_and_priority() -> None:
    rules = load_rules()
    assert rules.policy_for("business_system", "P1").name == "Business system, P1"
    assert rules.policy_for("business_system", "P3").name == "Business system"
    assert rules.policy_for("water", "P1").name == "Default P1"
    assert rules.policy_for("water", "P4").name == "Default"


def test_a_configured_matrix_is_used() -> None:
    text = TEXT.replace('low    = { high = "P3", medium = "P4", low = "P4" }',
                        'low    = { high = "P2", medium = "P4", low = "P4" }')
    assert parse_rules(text).priority_for("low", "high") == "P2"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"', "timezone: unknown time zone"),
        ('high   = { high = "P1"', 'high   = { high = "P9"', "priority_matrix.high.high: use P1"),
        ('reaction = "10m"', 'reaction = "soon"', "reaction"),
        ('hours = "24/7"', 'hours = "sometimes"', 'use "24/7" or "business"'),
        ('P1 = "5m"', 'P0 = "5m"', "notify: unknown priority"),
        ('start = "08:00"', 'start = "8 o\'clock"', "business_hours"),
        ('timezone = "Europe/Berlin"', 'timezone = ', "not valid TOML"),
        ("observation_minutes = 30", "observation_minutes = -5",
         "site.toml.observation_minutes = -5: use a whole number of minutes from 0 to 10080"),
        ("observation_minutes = 30", "observation_minutes = true", "observation_minutes = True"),
        ("observation_minutes = 30", "observation_minutes = 99999999999999999",
         "observation_minutes = 99999999999999999"),
        ('reaction = "10m"', 'reaction = "-10m"', "policy[0].reaction: duration '-10m'"),
        ('reaction = "10m"', 'reaction = "0m"', "policy[0].reaction: duration '0m'"),
        ('P1 = "5m"', 'P1 = "-5m"', "site.toml.notify.P1: duration '-5m'"),
        ('label = "Network"', 'label = "Net\\u001b[2Jwork"',
         "category[0].label: holds the control character \\x1b; remove it"),
        ('name = "Default P2"', 'name = "Default\\nP2"', "policy[7].name: must be one line"),
        ('categories = ["server"]', 'categories = "server"',
         "policy[1].categories: expected a list of names"),
        ('categories = ["server"]', 'categories = [{ a = 1 }]',
         "policy[1].categories: expected a list of names"),
        ('F5 = "Called', 'F5 = "\\u001b]52;c;eA==\\u0007Called',
         "canned_notes.F5: the note holds the control character \\x1b"),
    ],
)
def test_mistakes_name_the_key(old: str, new: str, expected: str) -> None:
    assert old in TEXT
    with pytest.raises(ConfigError) as err:
        parse_rules(TEXT.replace(old, new, 1), source="site.toml")
    assert expected in str(err.value)
    assert "site.toml" in str(err.value)


def test_the_last_policy_must_catch_everything() -> None:
    head, _, _ = TEXT.rpartition("[[policy]]")
    with pytest.raises(ConfigError, match="last \\[\\[policy\\]\\] must match everything"):
        parse_rules(head)


def test_a_category_that_is_not_a_table_is_named() -> None:
    text = "category = [1]\n" + TEXT.replace("[[category]]", "[[unused]]")
    with pytest.raises(ConfigError, match=r"site.toml.category\[0\]: expected a table"):
        parse_rules(text, source="site.toml")


def test_a_binary_policy_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "policies.toml"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    with pytest.raises(ConfigError) as err:
        load_rules(bad)
    assert err.value.message == (f"cannot read the policy file {bad}: it is not UTF-8 text; "
                                 "save it as UTF-8, or give the right file with --policies")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the policy file .*nope.toml"):
        load_rules(tmp_path / "nope.toml")
