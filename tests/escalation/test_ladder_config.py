"""Ladder files: the shipped default, waits in seconds, and every refusal naming its key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.loaders import load_ladder, load_rules
from app.services.escalation.ladder import parse_ladder

ONE_TIER = """
[[tier]]
person = "dora"
"""


def test_the_shipped_default_is_domains_four_tiers() -> None:
    ladder = load_ladder()
    assert [t.wait for t in ladder.tiers[:3]] == [timedelta(minutes=m) for m in (4, 4, 3)]
    assert [t.who for t in ladder.tiers] == ["on-call primary", "on-call backup",
                                             "on-call duty/backup", "duty-manager"]
    assert all(t.channels[:2] == ("sms", "voice") for t in ladder.tiers)
    assert "desk_alarm" in ladder.tiers[-1].channels
    assert ladder.start_delay("P1") == timedelta(0) and ladder.start_delay("P4") is None
    ladder.check_against(load_rules(None).notify)  # no start later than its deadline


def test_waits_in_seconds_minutes_or_bare_numbers() -> None:
    ladder = parse_ladder('[[tier]]\nrole = "primary"\nwait = "90s"\n'
                          '[[tier]]\nrole = "network/backup"\nwait = 45\n'
                          '[[tier]]\nperson = "dora"\nwait = "2 min"\nrepeat = 3\n')
    assert [t.wait for t in ladder.tiers] == [timedelta(seconds=s) for s in (90, 45, 120)]
    assert [(t.number, a) for t, a in ladder.steps()] == [(1, 1), (2, 1), (3, 1), (3, 2),
                                                          (3, 3)]
    assert ladder.tiers[1].role == "network/backup"


def test_a_last_tier_that_is_a_rota_role_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse_ladder('[[tier]]\nrole = "primary"\nwait = "4m"\n[[tier]]\nrole = "backup"\n'
                     'wait = "4m"\n')
    assert err.value.field == "person"
    assert "tier 2 is the last tier" in err.value.message
    assert "guaranteed human" in err.value.message


@pytest.mark.parametrize(("text", "field", "words"), [
    ("", "tier", "at least one tier"),
    ('[[tier]]\nrole = "primary"\n' + ONE_TIER, "wait", "wait is missing"),
    ('[[tier]]\nrole = "primary"\nperson = "x"\nwait = 5\n' + ONE_TIER, "role", "exactly one"),
    ('[[tier]]\nrole = "primary"\nwait = "0s"\n' + ONE_TIER, "test: tier 1.wait", "invalid"),
    ('[[tier]]\nrole = "primary"\nwait = "1 business day"\n' + ONE_TIER, "test: tier 1.wait",
     "wall-clock"),
    ('[[tier]]\nrole = "primary"\nwait = 5\nchannels = ["fax"]\n' + ONE_TIER, "channels",
     "distinct"),
    ('[[tier]]\nrole = "primary"\nwait = 5\nchannels = ["desk_alarm"]\n' + ONE_TIER,
     "channels", "pages nobody"),
    ('[[tier]]\nrole = "primary"\nwait = 5\nrepeat = 0\n' + ONE_TIER, "repeat", "1..10"),
    ('[[tier]]\nrole = "primary"\nwait = 5\nwho = "x"\n' + ONE_TIER, "who", "unknown key"),
    ('[start]\nP1 = "2m"\n' + ONE_TIER, "start.P1", "at once"),
    ('[start]\nP9 = "2m"\n' + ONE_TIER, "start.P9", "unknown priority"),
    ('[paging]\nsms_validity = "11h"\n' + ONE_TIER, "paging.sms_validity", "10 hours"),
    ("[[tier]\n", None, "not valid TOML"),
    ('[[tier]]\nrole = "primary"\nwait = -5\n' + ONE_TIER, "test: tier 1.wait",
     "more than 0 seconds"),
    ('[[tier]]\nrole = "primary"\nwait = nan\n' + ONE_TIER, "test: tier 1.wait",
     "not a number of seconds"),
    ('[[tier]]\nrole = "primary"\nwait = 1e300\n' + ONE_TIER, "test: tier 1.wait", "too long"),
    ('name = "night\\u001b]52;c;eA==\\u0007"\n' + ONE_TIER, "name",
     "holds the control character \\x1b"),
    ('[customer]\neta_template = "ETA {eta}\\nmin"\n' + ONE_TIER, "customer.eta_template",
     "one line"),
])
def test_bad_ladders_are_refused_naming_the_key(text: str, field: str | None,
                                                words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_ladder(text, "test")
    assert err.value.field == field
    assert words in err.value.message


def test_a_start_later_than_the_notification_deadline_is_refused() -> None:
    ladder = parse_ladder('[start]\nP2 = "20m"\n' + ONE_TIER)
    with pytest.raises(ConfigError) as err:
        ladder.check_against(load_rules(None).notify)
    assert err.value.field == "start.P2" and "15 min" in err.value.message


def test_a_binary_ladder_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "ladder.toml"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ConfigError) as err:
        load_ladder(bad)
    assert err.value.field == "ladder"
    assert f"cannot read the ladder file {bad}: it is not UTF-8 text" in err.value.message


def test_a_missing_ladder_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_ladder(tmp_path / "nope.toml")
    assert "nope.toml" in err.value.message
