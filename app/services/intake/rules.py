"""The intake rules: what an alert from each door becomes (category, site, kind of work,
impact and urgency, whether to register a card at once).

The rules live in a TOML file beside the policies (`app/defaults/intake_rules.toml` documents
every key); `app.loaders` reads the file, `parse_intake_rules` here judges the parsed
table. A broken rule is refused whole with a ConfigError naming the key's place
(`intake_rules.toml.rule[2].match.labels: ...`): a desk must not half-understand which alerts
page people at night.

Matching: rules are tried in order and the first whose every condition holds decides; within
a condition, a list means "any of". Values a rule does not set come from the alert itself,
then the integration's defaults, then `[defaults]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from app.errors import ConfigError
from app.protocol.catalogue import INTAKE_CHANNELS, KINDS_OF_WORK
from app.protocol.intake import Alert
from app.protocol.text import text_problem
from app.services.cards.rules import LEVELS

_MATCH_KEYS = ("integration", "channel", "labels", "severity", "sender", "subject", "text",
               "hours")
_TEXT_SETS = ("category", "site", "kind_of_work", "impact", "urgency")
_FLAG_SETS = ("register", "restore_on_resolved", "reply")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_PATTERN_MAX = 500


@dataclass(frozen=True)
class Classification:
    """What a rule (or the defaults) says an alert is. Empty text: not said."""

    category: str = ""
    site: str = ""
    kind_of_work: str = ""
    impact: str = ""
    urgency: str = ""
    register: bool | None = None  # register a card at once, without a person
    restore_on_resolved: bool | None = None  # a `resolved` moves the card to Restored
    reply: bool | None = None  # tell the sender "we got your emergency request" at once
    rule: str = ""  # the deciding rule's name ("" for the defaults)

    def over(self, base: Classification) -> Classification:
        """This classification, with `base` filling what it leaves unsaid."""
        merged = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            merged[f.name] = mine if mine not in ("", None) else getattr(base, f.name)
        return Classification(**merged)


@dataclass(frozen=True)
class Match:
    integrations: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    labels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    severities: frozenset[str] = frozenset()
    sender: re.Pattern[str] | None = None
    subject: re.Pattern[str] | None = None
    text: re.Pattern[str] | None = None
    hours: tuple[time, time] | None = None  # local [from, to); from > to spans midnight

    def holds(self, alert: Alert, tz: ZoneInfo) -> bool:
        if self.integrations and alert.integration not in self.integrations:
            return False
        if self.channels and alert.channel not in self.channels:
            return False
        for name, allowed in self.labels.items():
            if alert.labels.get(name) not in allowed:
                return False
        if self.severities and alert.severity.lower() not in self.severities:
            return False
        sender = alert.callback or alert.source
        if self.sender is not None and not self.sender.search(sender):
            return False
        if self.subject is not None and not self.subject.search(alert.summary):
            return False
        if self.text is not None and not self.text.search(f"{alert.summary}\n{alert.details}"):
            return False
        return self.hours is None or _within(self.hours, alert.received_at, tz)


def _within(hours: tuple[time, time], when: datetime, tz: ZoneInfo) -> bool:
    start, end = hours
    local = when.astimezone(tz).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # 20:00-08:00: the night


@dataclass(frozen=True)
class IntakeRule:
    name: str
    match: Match
    sets: Classification


@dataclass(frozen=True)
class IntakeRules:
    defaults: Classification = Classification()
    rules: tuple[IntakeRule, ...] = ()

    def classify(self, alert: Alert, tz: ZoneInfo,
                 integration: Classification | None = None) -> Classification:
        """The first matching rule's classification, filled from the alert, the
        integration's defaults and `[defaults]` in that order."""
        own = Classification(category=alert.category, site=alert.site,
                             kind_of_work=alert.kind_of_work)
        base = own.over(integration or Classification()).over(self.defaults)
        for rule in self.rules:
            if rule.match.holds(alert, tz):
                return replace(rule.sets, rule=rule.name).over(base)
        return base


# -- parsing --------------------------------------------------------------------------------

def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}", field=where.rsplit(".", 1)[-1])


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected a table, got {value!r}")
    return value


def _line(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, f"expected text in quotes, got {value!r}")
    if problem := text_problem(value):
        raise _fail(where, problem)
    return value.strip()


def _names(value: Any, where: str) -> frozenset[str]:
    """One name or a list of names."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _fail(where, f"expected a name or a list of names in quotes, got {value!r}")
    return frozenset(_line(v, f"{where}[{i}]") for i, v in enumerate(items))


def _pattern(value: Any, where: str) -> re.Pattern[str]:
    text = _line(value, where)
    if not text or len(text) > _PATTERN_MAX:
        raise _fail(where, f"expected a pattern of 1 to {_PATTERN_MAX} characters")
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise _fail(where, f"{text!r} is not a regular expression ({exc})") from None


def _hours(value: Any, where: str) -> tuple[time, time]:
    text = _line(value, where)
    parts = text.split("-")
    found = [_HHMM.match(p.strip()) for p in parts] if len(parts) == 2 else []
    if len(found) != 2 or not all(found):
        raise _fail(where, f"{text!r}: write local hours as \"HH:MM-HH:MM\", for example "
                    "\"20:00-08:00\" for the night")
    start, end = (time(int(m.group(1)), int(m.group(2))) for m in found if m)
    if start == end:
        raise _fail(where, f"{text!r} is empty; give two different times")
    return start, end


def _match(data: Any, where: str) -> Match:
    table = _table(data, where)
    if unknown := sorted(set(table) - set(_MATCH_KEYS)):
        raise _fail(f"{where}.{unknown[0]}", f"unknown condition; use {', '.join(_MATCH_KEYS)}")
    kw: dict[str, Any] = {}
    if "integration" in table:
        kw["integrations"] = _names(table["integration"], f"{where}.integration")
    if "channel" in table:
        channels = _names(table["channel"], f"{where}.channel")
        if bad := sorted(channels - set(INTAKE_CHANNELS)):
            raise _fail(f"{where}.channel", f"unknown channel {bad[0]!r}; use "
                        f"{', '.join(INTAKE_CHANNELS)}")
        kw["channels"] = channels
    if "labels" in table:
        labels = _table(table["labels"], f"{where}.labels")
        if not labels:
            raise _fail(f"{where}.labels", "is empty; name at least one label")
        kw["labels"] = {_line(k, f"{where}.labels"): _names(v, f"{where}.labels.{k}")
                        for k, v in labels.items()}
    if "severity" in table:
        kw["severities"] = frozenset(s.lower() for s in
                                     _names(table["severity"], f"{where}.severity"))
    for key in ("sender", "subject", "text"):
        if key in table:
            kw[key] = _pattern(table[key], f"{where}.{key}")
    if "hours" in table:
        kw["hours"] = _hours(table["hours"], f"{where}.hours")
    return Match(**kw)


def _classification(data: Any, where: str, categories: Sequence[str] | None) -> Classification:
    table = _table(data, where)
    known = (*_TEXT_SETS, *_FLAG_SETS)
    if unknown := sorted(set(table) - set(known)):
        raise _fail(f"{where}.{unknown[0]}", f"unknown key; use {', '.join(known)}")
    kw: dict[str, Any] = {}
    for key in _TEXT_SETS:
        if key in table:
            kw[key] = _line(table[key], f"{where}.{key}")
    for key in _FLAG_SETS:
        if key in table:
            if not isinstance(table[key], bool):
                raise _fail(f"{where}.{key}", "use true or false (no quotes)")
            kw[key] = table[key]
    for key in ("impact", "urgency"):
        if key in kw and kw[key] not in LEVELS:
            raise _fail(f"{where}.{key}", f"use one of {', '.join(LEVELS)}")
    if "kind_of_work" in kw and kw["kind_of_work"] not in KINDS_OF_WORK:
        raise _fail(f"{where}.kind_of_work", f"use one of {', '.join(KINDS_OF_WORK)}")
    if categories is not None and kw.get("category") and kw["category"] not in categories:
        raise _fail(f"{where}.category", f"unknown category {kw['category']!r}; the policies "
                    f"have {', '.join(categories)}")
    return Classification(**kw)


def parse_intake_rules(data: Mapping[str, Any], source: str = "intake_rules",
                       categories: Sequence[str] | None = None) -> IntakeRules:
    """Intake rules from a parsed TOML table; `categories` (the policies' category keys), when
    given, are the only categories a rule may set."""
    if unknown := sorted(set(data) - {"defaults", "rule"}):
        raise _fail(f"{source}.{unknown[0]}", "unknown key; use [defaults] and [[rule]]")
    defaults = _classification(data.get("defaults", {}), f"{source}.defaults", categories)
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise _fail(f"{source}.rule", "write each rule as [[rule]]")
    rules, names = [], set()
    for i, raw in enumerate(raw_rules):
        where = f"{source}.rule[{i}]"
        table = _table(raw, where)
        if unknown := sorted(set(table) - {"name", "match", "set"}):
            raise _fail(f"{where}.{unknown[0]}", "unknown key; a rule has name, match and set")
        if "name" not in table:
            raise _fail(f"{where}.name", "is missing; give the rule a name")
        name = _line(table["name"], f"{where}.name")
        if not name or name in names:
            raise _fail(f"{where}.name", f"{name!r} is empty or used by another rule")
        names.add(name)
        if "set" not in table:
            raise _fail(f"{where}.set", "is missing; say what the matching alerts become")
        rules.append(IntakeRule(name, _match(table.get("match", {}), f"{where}.match"),
                                _classification(table["set"], f"{where}.set", categories)))
    return IntakeRules(defaults, tuple(rules))
