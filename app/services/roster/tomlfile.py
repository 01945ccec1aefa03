"""The roster file: contacts, groups, rotations, overrides and the routing matrix in TOML.

Files are edited by hand, so every rejection names the file, the line and number of the
``[[section]]``, the key, and how to fix it. A file is accepted whole or not at all: a
half-loaded roster pages the wrong people.

Shape problems (not TOML, missing or unknown keys, wrong types, a control character in a
name) raise ``ConfigError``; bad values (a phone that is not E.164, an unknown contact id)
raise ``ValidationError``. Names and numbers are printed on sheets, terminals and pages: a
control character in them (an escape sequence, a line break) is refused with its key.
TOML is written by hand because the standard library only reads it; the writer emits just
the few value types a roster holds.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from app.errors import ConfigError, ValidationError
from app.protocol.text import text_problem
from app.services.cards.calendar import OperatingHours

from .contact import Contact
from .model import Group, Roster
from .rotation import Override, Rotation
from .routing import ANY, Route, RoutingMatrix, Rule

SECTIONS = ("contact", "group", "rotation", "override", "site", "route")
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ROW_REF = re.compile(r"(contact|group|rotation|override) #(\d+) ")
# Keys whose text may run over several lines (a note); every other text is one line.
_MULTILINE_KEYS = frozenset({"responsibilities", "availability", "reason"})


@dataclass(frozen=True)
class RosterFile:
    """What one roster file holds: the people and rotas, and the routing matrix."""

    roster: Roster = field(default_factory=Roster)
    routing: RoutingMatrix = field(default_factory=RoutingMatrix)


class _Places:
    """Line numbers of each ``[[section]]`` header, so errors point into the file."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines: dict[str, list[int]] = {}
        header = re.compile(r"\s*\[\[\s*([A-Za-z_]+)\s*\]\]")
        for number, line in enumerate(text.splitlines(), 1):
            if match := header.match(line):
                self.lines.setdefault(match[1], []).append(number)

    def where(self, section: str, n: int) -> str:
        found = self.lines.get(section, [])
        line = f" line {found[n - 1]}," if n <= len(found) else ""
        return f"{self.source}:{line} [[{section}]] #{n}"


class _Row:
    """One ``[[section]]`` table, read key by key so errors can name the key."""

    def __init__(self, where: str, section: str, table: Any) -> None:
        self.where = where
        if not isinstance(table, dict):
            raise ConfigError(f"{where} is not a table; write it as [[{section}]]")
        self.table: dict[str, Any] = table
        self.used: set[str] = set()

    def _get(self, key: str, kinds: tuple[type, ...], label: str, required: bool) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required:
                raise ConfigError(f"{self.where}: missing key {key!r}; add {key} = <{label}>",
                                  field=key)
            return None
        value = self.table[key]
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise ConfigError(f"{self.where}: key {key!r} must be {label}, got {value!r}",
                              field=key)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and (
                    problem := text_problem(text, multiline=key in _MULTILINE_KEYS)):
                raise ConfigError(f"{self.where}: key {key!r} {problem}", field=key)
        return value

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        value = self._get(key, (str,), "a quoted string", required)
        return default if value is None else str(value)

    def optional(self, key: str) -> str | None:
        value = self._get(key, (str,), "a quoted string", False)
        return None if value is None else str(value)

    def texts(self, key: str, required: bool = True) -> list[str]:
        value = self._get(key, (list,), 'a list of strings, e.g. ["a", "b"]', required) or []
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.where}: key {key!r} must list only quoted strings",
                              field=key)
        return [str(v) for v in value]

    def day(self, key: str) -> date:
        value = self._get(key, (date, str), "a date such as 2026-01-05", True)
        if isinstance(value, datetime):
            raise ConfigError(f"{self.where}: key {key!r} must be a date such as 2026-01-05, "
                              "not a date-time", field=key)
        return value if isinstance(value, date) else self._parse(key, date.fromisoformat, value)

    def clock(self, key: str) -> time:
        value = self._get(key, (time, str), "a local time such as 09:00:00", True)
        return value if isinstance(value, time) else self._parse(key, time.fromisoformat, value)

    def instant(self, key: str) -> datetime:
        value = self._get(key, (datetime, str), "a date-time with offset such as "
                          "2026-07-01T07:00:00+02:00", True)
        if isinstance(value, datetime):
            return value
        parsed: datetime = self._parse(key, datetime.fromisoformat, value)
        return parsed

    def _parse(self, key: str, parse: Callable[[str], Any], value: str) -> Any:
        try:
            return parse(value)
        except ValueError:
            raise ConfigError(f"{self.where}: key {key!r} value {value!r} cannot be read; "
                              "write it like 2026-01-05, 09:00:00 or 2026-07-01T07:00:00Z",
                              field=key) from None

    def rest(self, *known: str) -> dict[str, Any]:
        """Hand the keys not read here on to another parser (site hours)."""
        self.used.update(known)
        return {k: v for k, v in self.table.items() if k not in known}

    def build(self, factory: Callable[..., Any], **kwargs: Any) -> Any:
        """Refuse unknown keys, then call the constructor, prefixing its complaint with
        this row's place."""
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise ConfigError(f"{self.where}: unknown key {unknown[0]!r}; check the spelling "
                              f"(known keys: {', '.join(sorted(self.used))})", field=unknown[0])
        try:
            return factory(**kwargs)
        except ValidationError as exc:
            raise ValidationError(f"{self.where}: {exc.message}", field=exc.field) from None


def _contact(row: _Row) -> Contact:
    return row.build(  # type: ignore[no-any-return]
        Contact.create, id=row.text("id"), name=row.text("name"),
        role=row.text("role", required=False),
        responsibilities=row.text("responsibilities", required=False),
        primary_phone=row.text("primary_phone", required=False),
        backup_phone=row.optional("backup_phone"), messenger=row.optional("messenger"),
        availability=row.text("availability", required=False),
        vacation_replacement=row.optional("vacation_replacement"),
        skills=row.texts("skills", required=False),
        method=row.text("method", required=False),
    )


def _group(row: _Row) -> Group:
    return row.build(Group, name=row.text("name"),  # type: ignore[no-any-return]
                     domain=row.text("domain"))


def _rotation(row: _Row) -> Rotation:
    return row.build(  # type: ignore[no-any-return]
        Rotation, id=row.text("id"), group=row.text("group"), role=row.text("role"),
        pattern=row.text("pattern"), members=tuple(row.texts("members")),
        anchor=row.day("anchor"), handoff=row.clock("handoff"), tz=row.text("tz"),
    )


def _override(row: _Row) -> Override:
    return row.build(  # type: ignore[no-any-return]
        Override, person_id=row.text("person"), replacement_id=row.optional("replacement"),
        start=row.instant("start"), end=row.instant("end"),
        reason=row.text("reason", required=False),
    )


def _rule(row: _Row) -> Rule:
    def make() -> Rule:
        route = Route(row.text("group"), row.optional("backup_group"),
                      row.text("method", required=False, default="sms+call"),
                      frozenset(s.strip().lower() for s in row.texts("skills", required=False)))
        return Rule(row.text("category", False, ANY), row.text("site", False, ANY),
                    row.text("band", False, ANY), row.text("priority", False, ANY), route)

    for key in ("group", "backup_group", "method", "skills", "category", "site", "band",
                "priority"):
        row.used.add(key)  # read inside make(), so that unknown keys are refused first
    return row.build(make)  # type: ignore[no-any-return]


def _site(row: _Row) -> tuple[str, OperatingHours]:
    name = row.text("name").strip()
    if not name:
        raise ConfigError(f"{row.where}: key 'name' is empty; write the site as cards name "
                          "it, e.g. \"HQ\"", field="name")
    # The same keys as the policies' [business_hours], read by the same parser.
    return name, OperatingHours.from_mapping(row.rest("name"), where=row.where)


def load_roster_toml(text: str, source: str = "roster TOML") -> RosterFile:
    """Parse a whole roster file; raise ConfigError/ValidationError naming where."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}; fix the syntax there") from None
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{source}: unknown section {unknown[0]!r}; use "
                          + ", ".join(f"[[{s}]]" for s in SECTIONS), field=unknown[0])
    places = _Places(text, source)

    def rows(section: str) -> list[_Row]:
        tables = data.get(section, [])
        if not isinstance(tables, list):
            raise ConfigError(f"{source}: {section!r} must be an array of tables; write "
                              f"each entry as [[{section}]]", field=section)
        return [_Row(places.where(section, n), section, t) for n, t in enumerate(tables, 1)]

    contacts = [_contact(r) for r in rows("contact")]
    groups = [_group(r) for r in rows("group")]
    rotations = [_rotation(r) for r in rows("rotation")]
    overrides = [_override(r) for r in rows("override")]
    sites = dict(_site(r) for r in rows("site"))
    rules = [_rule(r) for r in rows("route")]
    try:
        roster = Roster(tuple(contacts), tuple(groups), tuple(rotations), tuple(overrides))
    except ValidationError as exc:  # the model names "<section> #n"; add the line
        match = _ROW_REF.match(exc.message)
        where = places.where(match[1], int(match[2])) if match else source
        raise ValidationError(f"{where}: {exc.message}", field=exc.field) from None
    return RosterFile(roster, RoutingMatrix(tuple(rules), sites))


def _toml_str(value: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
               "\f": "\\f", "\r": "\\r"}
    out = []
    for ch in value:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value: str | Iterable[str] | date | time | datetime) -> str:
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()  # time.isoformat() keeps seconds, which TOML 1.0 requires
    return "[" + ", ".join(_toml_str(v) for v in value) + "]"


def _table(section: str, pairs: list[tuple[str, Any]]) -> str:
    lines = [f"[[{section}]]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in pairs if value is not None]
    return "\n".join(lines) + "\n"


def _site_pairs(name: str, hours: OperatingHours) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [("name", name), ("hours", "24/7" if hours.always
                                                     else "business"), ("tz", hours.tz)]
    if not hours.always:
        pairs += [("days", [_DAY_NAMES[d] for d in sorted(hours.days)]),
                  ("start", f"{hours.start:%H:%M}"), ("end", f"{hours.end:%H:%M}"),
                  ("holidays", [d.isoformat() for d in sorted(hours.holidays)])]
    return pairs


def dump_roster_toml(roster: Roster, routing: RoutingMatrix | None = None) -> str:
    """Write a roster file that ``load_roster_toml`` reads back to an equal one."""
    blocks = ["# Dispatch Desk roster: contacts, groups, rotations, vacation overrides,\n"
              "# site hours and the routing matrix. Instants are UTC; handoffs are local.\n"]
    for c in roster.contacts:
        blocks.append(_table("contact", [
            ("id", c.id), ("name", c.name), ("role", c.role),
            ("responsibilities", c.responsibilities), ("primary_phone", c.primary_phone),
            ("backup_phone", c.backup_phone), ("messenger", c.messenger),
            ("availability", c.availability), ("vacation_replacement", c.vacation_replacement),
            ("skills", sorted(c.skills)),
            ("method", c.method if c.method != "sms+call" else None),
        ]))
    for g in roster.groups:
        blocks.append(_table("group", [("name", g.name), ("domain", g.domain)]))
    for r in roster.rotations:
        blocks.append(_table("rotation", [
            ("id", r.id), ("group", r.group), ("role", r.role), ("pattern", r.pattern),
            ("members", list(r.members)), ("anchor", r.anchor), ("handoff", r.handoff),
            ("tz", r.tz),
        ]))
    for o in roster.overrides:
        blocks.append(_table("override", [
            ("person", o.person_id), ("replacement", o.replacement_id), ("start", o.start),
            ("end", o.end), ("reason", o.reason),
        ]))
    routing = routing or RoutingMatrix()
    for name, hours in routing.sites.items():
        blocks.append(_table("site", _site_pairs(name, hours)))
    for rule in routing.rules:
        blocks.append(_table("route", [
            (key, value) for key, value in (
                ("category", rule.category), ("site", rule.site), ("band", rule.band),
                ("priority", rule.priority)) if value != ANY
        ] + [("group", rule.route.group), ("backup_group", rule.route.backup_group),
             ("method", rule.route.method), ("skills", sorted(rule.route.skills))]))
    return "\n".join(blocks)
