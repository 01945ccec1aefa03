"""The site's dispatch rules, read from one TOML file: categories, the priority matrix,
notification deadlines and SLA policies. `app/defaults/policies.toml` is the shipped default
and documents every key.

A broken file is refused whole with a ConfigError that names the file and the key's place
(`policies.toml.category[2].label: ...`), never a traceback: the desk does not start on rules
it half understood. Names and notes are shown on screens and sheets, so they may not hold
control characters."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import ConfigError, ValidationError
from app.protocol.catalogue import KINDS_OF_WORK as KINDS_OF_WORK
from app.protocol.text import text_problem
from app.services.cards.calendar import OperatingHours, parse_duration

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "defaults" / "policies.toml"
PRIORITIES = ("P1", "P2", "P3", "P4")
LEVELS = ("high", "medium", "low")
CLOCK_STARTS = ("registration", "confirmation")

# Keys that carry canned timeline notes; the window binds them, other F-keys stay free.
CANNED_NOTE_KEYS = ("F5", "F6", "F7", "F8")
# A restored card watched for longer than a week is a typo for hours or days.
OBSERVATION_MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ClockSpec:
    """One SLA clock: how much operating time it allows, and when it runs."""

    duration: timedelta
    hours: OperatingHours


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    categories: frozenset[str]
    priorities: frozenset[str]
    reaction: ClockSpec | None  # None: no reaction clock (planned work is scheduled, not chased)
    recovery: ClockSpec
    updates: ClockSpec | None
    clock_start: str
    kinds: frozenset[str] = frozenset()  # kinds of work it applies to; empty matches all

    def matches(self, category: str, priority: str, kind: str = "") -> bool:
        return (
            (not self.categories or category in self.categories)
            and (not self.priorities or priority in self.priorities)
            and (not self.kinds or kind in self.kinds)
        )


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    domain: str


@dataclass(frozen=True)
class CannedNote:
    """A timeline note the dispatcher adds with one key (F5-F8)."""

    key: str
    text: str


@dataclass(frozen=True)
class DispatchRules:
    timezone: str
    observation: timedelta
    priority_roles: frozenset[str]
    matrix: Mapping[str, Mapping[str, str]]
    notify: Mapping[str, timedelta | None]
    categories: tuple[Category, ...]
    policies: tuple[SlaPolicy, ...]
    business_hours: OperatingHours
    canned_notes: tuple[CannedNote, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def priority_for(self, impact: str, urgency: str) -> str:
        if impact not in LEVELS:
            raise ValidationError(f"impact must be one of {', '.join(LEVELS)}", field="impact")
        if urgency not in LEVELS:
            raise ValidationError(f"urgency must be one of {', '.join(LEVELS)}", field="urgency")
        return self.matrix[impact][urgency]

    def category(self, key: str) -> Category:
        for cat in self.categories:
            if cat.key == key:
                return cat
        known = ", ".join(c.key for c in self.categories)
        raise ValidationError(f"unknown category {key!r}; use one of: {known}", field="category")

    def policy_for(self, category: str, priority: str, kind: str = "") -> SlaPolicy:
        """The first policy matching the card; `kind` is its kind of work (a caller that does
        not give one never gets a policy limited to kinds)."""
        for policy in self.policies:
            if policy.matches(category, priority, kind):
                return policy
        # load_rules guarantees a catch-all policy, so this is a programming error.
        raise ConfigError(f"no SLA policy matches {category}/{priority}")


def _get(data: Mapping[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table, got {data!r}", field=key)
    value = data.get(key, default)
    if value is None:
        raise ConfigError(f"{where}: missing key {key!r}", field=key)
    # TOML's true/false are Python ints too; a flag where a number belongs is a mistake.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {value!r}", field=key)
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ConfigError(f"{where}.{key}: {problem}", field=key)
    return value


def _names(data: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    """An optional list of names (`categories = ["network"]`), each one line of text."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of names in quotes, got {value!r}",
                          field=key)
    for name in value:
        if problem := text_problem(name):
            raise ConfigError(f"{where}.{key}: {name!r} {problem}", field=key)
    return frozenset(value)


def _observation(data: Mapping[str, Any], source: str) -> timedelta:
    value = data.get("observation_minutes", 30)
    if (isinstance(value, bool) or not isinstance(value, int)
            or not 0 <= value <= OBSERVATION_MAX_MINUTES):
        raise ConfigError(f"{source}.observation_minutes = {value!r}: use a whole number of "
                          f"minutes from 0 to {OBSERVATION_MAX_MINUTES} (a week)",
                          field="observation_minutes")
    return timedelta(minutes=value)


def _clock(
    data: Mapping[str, Any], key: str, where: str, hours: OperatingHours, business: OperatingHours
) -> ClockSpec | None:
    text = _get(data, key, str, where)
    if key == "updates" and text.strip().lower() in ("on request", "none"):
        return None
    if key == "reaction" and text.strip().lower() == "none":
        return None  # nobody has to react by a deadline (planned work)
    duration, in_business_days = parse_duration(text, where=f"{where}.{key}")
    if in_business_days:
        days = duration / timedelta(days=1)
        return ClockSpec(days * business.business_day_length(), business)
    return ClockSpec(duration, hours)


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table, got {value!r}; write it as [[...]]")
    return value


def _policy(data: Mapping[str, Any], where: str, business: OperatingHours) -> SlaPolicy:
    hours_name = data.get("hours", "24/7")
    if hours_name not in ("24/7", "business"):
        raise ConfigError(f"{where}.hours: use \"24/7\" or \"business\", not {hours_name!r}")
    hours = OperatingHours() if hours_name == "24/7" else business
    start = data.get("clock_start", "registration")
    if start not in CLOCK_STARTS:
        raise ConfigError(f"{where}.clock_start: use one of {', '.join(CLOCK_STARTS)}")
    priorities = _names(data, "priorities", where)
    if bad := priorities - set(PRIORITIES):
        raise ConfigError(f"{where}.priorities: unknown {sorted(bad)}; use P1..P4")
    kinds = _names(data, "kinds_of_work", where)
    if bad := kinds - set(KINDS_OF_WORK):
        raise ConfigError(f"{where}.kinds_of_work: unknown {sorted(bad)}; use "
                          f"{', '.join(KINDS_OF_WORK)}")
    reaction = _clock(data, "reaction", where, hours, business)
    recovery = _clock(data, "recovery", where, hours, business)
    if recovery is None:
        raise ConfigError(f"{where}: recovery needs a duration")
    return SlaPolicy(
        name=_get(data, "name", str, where),
        categories=_names(data, "categories", where),
        priorities=priorities,
        reaction=reaction,
        recovery=recovery,
        updates=_clock(data, "updates", where, hours, business),
        clock_start=start,
        kinds=kinds,
    )


def _kind_policies(
    data: Mapping[str, Any], source: str, business: OperatingHours
) -> tuple[SlaPolicy, ...]:
    """[kind_policy.planned] and the like: a policy for every card of that kind of work,
    looked at before the [[policy]] list, so that no category's emergency policy catches a
    planned job first."""
    table = data.get("kind_policy", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}.kind_policy: expected tables like [kind_policy.planned]")
    out = []
    for kind, raw in table.items():
        where = f"{source}.kind_policy.{kind}"
        if kind not in KINDS_OF_WORK:
            raise ConfigError(f"{where}: unknown kind of work; use {', '.join(KINDS_OF_WORK)}",
                              field=kind)
        out.append(replace(_policy(_table(raw, where), where, business),
                           kinds=frozenset({kind})))
    return tuple(out)


def _canned_notes(data: Mapping[str, Any], source: str) -> tuple[CannedNote, ...]:
    table = data.get("canned_notes", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}.canned_notes: expected a table of F-key = \"note\"")
    notes = []
    for key, note in table.items():
        where = f"{source}.canned_notes.{key}"
        if key not in CANNED_NOTE_KEYS:
            raise ConfigError(f"{where}: use one of {', '.join(CANNED_NOTE_KEYS)}", field=key)
        if not isinstance(note, str) or not note.strip() or "\n" in note.strip():
            raise ConfigError(f"{where}: expected one line of text", field=key)
        if problem := text_problem(note.strip()):
            raise ConfigError(f"{where}: the note {problem}", field=key)
        notes.append(CannedNote(key, note.strip()))
    return tuple(sorted(notes, key=lambda n: CANNED_NOTE_KEYS.index(n.key)))


def parse_rules(text: str, source: str = "policies") -> DispatchRules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    tz = _get(data, "timezone", str, source)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{source}.timezone: unknown time zone {tz!r}") from exc
    matrix = _get(data, "priority_matrix", dict, source)
    for impact in LEVELS:
        row = _get(matrix, impact, dict, f"{source}.priority_matrix")
        for urgency in LEVELS:
            value = _get(row, urgency, str, f"{source}.priority_matrix.{impact}")
            if value not in PRIORITIES:
                raise ConfigError(f"{source}.priority_matrix.{impact}.{urgency}: use P1..P4")
    notify: dict[str, timedelta | None] = {}
    for prio, value in _get(data, "notify", dict, source).items():
        if prio not in PRIORITIES:
            raise ConfigError(f"{source}.notify: unknown priority {prio!r}")
        notify[prio] = (
            None if value == "maintenance"
            else parse_duration(value, where=f"{source}.notify.{prio}")[0]
        )
    business = OperatingHours.from_mapping(
        _get(data, "business_hours", dict, source), where=f"{source}.business_hours"
    )
    categories = []
    for i, cat in enumerate(_get(data, "category", list, source)):
        where = f"{source}.category[{i}]"
        categories.append(
            Category(_get(cat, "key", str, where), _get(cat, "label", str, where),
                     _get(cat, "domain", str, where, default=""))
        )
    if len({c.key for c in categories}) != len(categories):
        raise ConfigError(f"{source}.category: two categories share a key")
    policies = tuple(
        _policy(_table(p, f"{source}.policy[{i}]"), f"{source}.policy[{i}]", business)
        for i, p in enumerate(_get(data, "policy", list, source))
    )
    last = policies[-1] if policies else None
    if last is None or last.categories or last.priorities or last.kinds:
        raise ConfigError(f"{source}: the last [[policy]] must match everything (no lists)")
    policies = _kind_policies(data, source, business) + policies
    return DispatchRules(
        timezone=tz,
        observation=_observation(data, source),
        priority_roles=_names({"priority_roles": _get(data, "priority_roles", list, source)},
                              "priority_roles", source),
        matrix=matrix,
        notify=notify,
        categories=tuple(categories),
        policies=policies,
        business_hours=business,
        canned_notes=_canned_notes(data, source),
    )
