"""The intake rules file: the shipped one loads against the shipped policies; every mistake
is refused naming its place; matching goes rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import ConfigError
from app.loaders import DEFAULT_INTAKE_RULES, load_intake_rules, load_rules, parse_intake_text
from tests.intake.helpers import alert

POLICIES = load_rules(None)
BERLIN = POLICIES.tz


def test_the_shipped_rules_load_and_say_what_the_issue_asks():
    rules = load_intake_rules(None, POLICIES)
    clock = FakeClock(datetime(2026, 11, 23, 2, 10, tzinfo=UTC))  # 03:10 in Berlin
    crit = alert(clock, labels={"severity": "critical", "service": "payments"})
    assert rules.classify(crit, BERLIN).register is True
    sms = alert(clock, channel="sms", integration="line", callback="+491701234567")
    night = rules.classify(sms, BERLIN)
    assert (night.rule, night.register, night.reply) == ("night emergency line", True, True)
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # 11:00: a person takes it
    day = rules.classify(alert(clock, channel="sms", integration="line"), BERLIN)
    assert (day.rule, day.register, day.reply) == ("emergency line", False, True)
    # The shipped rules name only categories the shipped policies have ...
    parse_intake_text(DEFAULT_INTAKE_RULES.read_text(encoding="utf-8"), "shipped", POLICIES)


def test_the_shipped_rules_do_not_stop_a_site_with_other_categories(tmp_path: Path):
    text = (Path(__file__).parents[2] / "app" / "defaults" / "policies.toml").read_text(
        encoding="utf-8").replace('key = "security"', 'key = "locksmith"')
    policies = tmp_path / "policies.toml"
    policies.write_text(text, encoding="utf-8")
    load_intake_rules(None, load_rules(policies))  # the shipped file: not held to them
    own = tmp_path / "intake_rules.toml"
    own.write_text(DEFAULT_INTAKE_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rule\[2\]\.set\.category: unknown category"):
        load_intake_rules(own, load_rules(policies))  # the site's own file: checked


@pytest.mark.parametrize(("text", "place"), [
    ("[[rule]]\nname='a'\nset={}\n[[rule]]\nname='b'\nset={}\n[[rule]]\nname='c'\n"
     "set={}\nmatch.labels='critical'\n", "t.toml.rule[2].match.labels: expected a table"),
    ("[[rule]]\nname='a'\nmatch.colour='red'\nset={}\n", "t.toml.rule[0].match.colour"),
    ("[[rule]]\nname='a'\nset.impact='huge'\n", "t.toml.rule[0].set.impact: use one of high"),
    ("[[rule]]\nname='a'\nset.category='plumbing'\n",
     "t.toml.rule[0].set.category: unknown category 'plumbing'"),
    ("[[rule]]\nname='a'\nset.register='yes'\n", "t.toml.rule[0].set.register: use true"),
    ("[[rule]]\nname='a'\nmatch.hours='night'\nset={}\n", "t.toml.rule[0].match.hours"),
    ("[[rule]]\nname='a'\nmatch.text='(unclosed'\nset={}\n",
     "t.toml.rule[0].match.text: '(unclosed' is not a regular expression"),
    ("[[rule]]\nname='a'\nmatch.channel='pigeon'\nset={}\n",
     "t.toml.rule[0].match.channel: unknown channel 'pigeon'"),
    ("[[rule]]\nname='a'\nset={}\n[[rule]]\nname='a'\nset={}\n", "t.toml.rule[1].name"),
    ("[[rule]]\nmatch.channel='sms'\nset={}\n", "t.toml.rule[0].name: is missing"),
    ("[[rule]]\nname='a'\n", "t.toml.rule[0].set: is missing"),
    ("[defaults]\nurgency='now'\n", "t.toml.defaults.urgency"),
    ("colour = 'red'\n", "t.toml.colour: unknown key"),
    ("rule = 'x'\n", "t.toml.rule: write each rule as [[rule]]"),
    ("[[rule\n", "t.toml: not valid TOML"),
])
def test_a_mistake_names_its_place(text: str, place: str):
    with pytest.raises(ConfigError) as err:
        parse_intake_text(text, "t.toml", POLICIES)
    assert place in str(err.value)


def test_a_missing_or_non_utf8_file_is_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read the intake rules file"):
        load_intake_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[[rule]]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_intake_rules(bad)


def test_first_matching_rule_wins_and_unsaid_values_come_from_below():
    rules = parse_intake_text("""
[defaults]
impact = "low"
urgency = "low"
site = "Main"
[[rule]]
name = "pay"
match.integration = ["am-prod", "grafana-prod"]
match.labels = { service = ["payments", "cards"] }
set.impact = "high"
[[rule]]
name = "mail from the bank"
match.sender = '@bank\\.example$'
match.subject = 'outage'
set.urgency = "high"
""", "t", POLICIES)
    clock = FakeClock()
    pay = rules.classify(alert(clock, labels={"service": "cards"}, site=""), BERLIN)
    assert (pay.rule, pay.impact, pay.urgency, pay.site) == ("pay", "high", "low", "Main")
    other = rules.classify(alert(clock, integration="x", labels={"service": "cards"}), BERLIN)
    assert other.rule == "" and other.site == "HQ"  # the alert's own site before defaults
    mail = alert(clock, channel="email", integration="mbox", callback="ops@bank.example",
                 summary="Card OUTAGE in region 3")
    assert rules.classify(mail, BERLIN).rule == "mail from the bank"
