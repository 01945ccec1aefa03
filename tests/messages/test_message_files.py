"""The messages file and the notification plan are checked like the other rule files: a
mistake is refused with the key's place and the fix, and the shipped files pass."""

from __future__ import annotations

import pytest

from app.config import _settings
from app.errors import ConfigError
from app.loaders import load_notification_plan, load_rules, load_templates
from app.services.messages.plan import parse_plan
from app.services.messages.templates import DEFAULT_MESSAGES, parse_templates

SHIPPED = DEFAULT_MESSAGES.read_text()


def test_shipped_files_pass() -> None:
    templates = load_templates(None)
    plan = load_notification_plan(None, load_rules(None))
    assert [line.who for line in plan.for_priority("P1")] == [
        "on-call engineer", "shift lead", "service owner", "security",
        "business representative"]
    assert {line.within.total_seconds() for line in plan.for_priority("P1")[:2]} == {300}
    assert templates.ttl_of("customer").total_seconds() == 900


@pytest.mark.parametrize(("edit", "where"), [
    (("{eta} minutes. Reference {number}.", "{eta} minutes. Ref {ticket}."),
     "messages.toml.customer.eta.default: unknown placeholder {ticket}"),
    (('[ttl]\nnotice = "30m"', '[ttl]\nnotice = "30 parsecs"'), "messages.toml.ttl.notice"),
    (("[throttle]", "[throttel]"), "messages.toml.throttel: unknown section"),
    (("ETA {eta} minutes. Reference", "ETA soon. Reference"), "must say {eta}"),
])
def test_a_broken_messages_file_names_the_key(edit: tuple[str, str], where: str) -> None:
    text = SHIPPED.replace(*edit, 1)
    assert text != SHIPPED
    with pytest.raises(ConfigError, match=where.replace("{", r"\{").replace("}", r"\}")):
        parse_templates(text, "messages.toml")


@pytest.mark.parametrize(("line", "where"), [
    ({"who": "lead", "within": "5m"}, "P1[0]: give exactly one of role, person, to"),
    ({"who": "lead", "role": "duty/backup"}, "P1[0].within: missing"),
    ({"who": "lead", "role": "Duty Backup", "within": "5m"}, "P1[0].role"),
    ({"who": "x", "to": "0301234", "within": "5m"}, "P1[0].to"),
    ({"who": "x", "role": "primary", "within": "5m", "when": {"categories": ["nope"]}},
     "P1[0].when.categories: unknown category 'nope'"),
])
def test_a_broken_plan_names_the_line(line: dict[str, object], where: str) -> None:
    categories = [c.key for c in load_rules(None).categories]
    with pytest.raises(ConfigError, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse_plan({"P1": [line]}, "policies.toml", categories)


def test_smtp_setting_block_is_checked() -> None:
    s = _settings({"smtp": {"host": "mail.example.org", "user": "desk",
                            "from": "Desk <desk@example.org>"}})
    assert (s.smtp.port, s.smtp.security) == (587, "starttls")
    with pytest.raises(ConfigError, match="smtp.security"):
        _settings({"smtp": {"host": "mail.example.org", "security": "none",
                            "from": "d@example.org"}})
    with pytest.raises(ConfigError, match="smtp.from"):
        _settings({"smtp": {"host": "mail.example.org"}})
