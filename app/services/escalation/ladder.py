"""Escalation ladders as configuration: who to page, in which order, how, and for how long.

A ladder is a list of tiers. Each tier names who (a rota role such as ``primary``, whose group
comes from the card's routing, or ``group/role``, or one named ``person`` from the roster),
how long to wait for an acknowledgement before the next tier, the channels to page on, and how
many times to page that tier. The last tier must be a guaranteed human -- a named person, not a
rota slot that can be empty at 03:00 -- or the file is refused (DOMAIN.md: "the ladder always
ends at a guaranteed human").

``[start]`` says, by priority, how long after registration the ladder starts; it may also
name a kind of work (``planned = "never"`` or ``"priority"``). Planned work is never paged
unless the file says ``planned = "priority"`` (DOMAIN.md keeps planned work apart from
emergencies; its SLA is ``[kind_policy.planned]`` in policies.toml).

The shipped default is ``app/defaults/ladder.toml``: DOMAIN.md's four tiers, 4, 4 and 3 minutes.
A broken file is a ConfigError naming the file and the key, never a traceback.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.errors import ConfigError
from app.protocol.catalogue import KINDS_OF_WORK as KINDS_OF_WORK
from app.protocol.text import text_problem
from app.services.cards.calendar import parse_duration

DEFAULT_LADDER = Path(__file__).resolve().parents[2] / "defaults" / "ladder.toml"
# Channels a tier can page on. "desk_alarm" is the desk's own alarm and banner: the "one more"
# channel of DOMAIN.md's endpoint tier, and the only one that works with no internet at all.
CHANNELS = ("sms", "voice", "desk_alarm")
PRIORITIES = ("P1", "P2", "P3", "P4")

# Kinds of work the [start] table may also name. Planned work is scheduled, not an
# emergency: nobody is paged for it unless the file says "priority".
KIND_START_DEFAULT: Mapping[str, timedelta | None] = {"planned": None}
_ROLE = re.compile(r"^(?:[a-z0-9][a-z0-9_-]*/)?[a-z0-9][a-z0-9_-]*$")
_PERSON = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MAX_REPEAT = 10


@dataclass(frozen=True)
class Tier:
    """One rung. Exactly one of ``role`` and ``person`` is set."""

    number: int  # 1-based, as people say it ("tier 2")
    role: str | None
    person: str | None
    wait: timedelta  # between this tier's pages, and before the next tier
    channels: tuple[str, ...]
    repeat: int = 1

    @property
    def who(self) -> str:
        return self.person or f"on-call {self.role}"

    @property
    def pages_remotely(self) -> bool:
        return any(c in ("sms", "voice") for c in self.channels)


@dataclass(frozen=True)
class Ladder:
    name: str
    tiers: tuple[Tier, ...]
    #: How long after registration (or a priority raise) the ladder starts, by priority;
    #: None means no automatic paging (P4: per the maintenance schedule).
    start_after: Mapping[str, timedelta | None] = field(default_factory=dict)
    #: An SMS not delivered within this is dropped by the carrier: a stale page is noise.
    sms_validity: timedelta = timedelta(minutes=10)
    #: Least gap between two pages to one number; never applied to a card's first page.
    throttle: timedelta = timedelta(seconds=30)
    #: How often a failed send (timeout, 429, 5xx) is tried again within its tier, at most.
    max_tries: int = 4
    #: What the customer contact is told once an on-call person accepts ([customer]).
    eta_template: str = "A technician is on the way, ETA {eta} minutes."
    default_eta_minutes: int = 35
    #: Kinds of work that are never paged (None), whatever the priority; a kind not here
    #: starts by its priority (``[start] planned = "never" | "priority"``).
    kind_start: Mapping[str, timedelta | None] = field(
        default_factory=lambda: dict(KIND_START_DEFAULT))

    def steps(self) -> list[tuple[Tier, int]]:
        """Every page the ladder can make, in order: (tier, attempt 1..repeat)."""
        return [(tier, attempt) for tier in self.tiers for attempt in range(1, tier.repeat + 1)]

    def tier(self, number: int) -> Tier:
        return self.tiers[number - 1]

    def start_delay(self, priority: str, kind: str = "") -> timedelta | None:
        if kind in self.kind_start:
            return self.kind_start[kind]
        return self.start_after.get(priority)

    def check_against(self, notify: Mapping[str, timedelta | None]) -> None:
        """Refuse a start delay that would page later than the priority's notification
        deadline in the dispatch rules (P1 within 5 minutes, and so on)."""
        for prio, delay in self.start_after.items():
            deadline = notify.get(prio)
            if delay is not None and deadline is not None and delay > deadline:
                raise ConfigError(
                    f"ladder {self.name!r}: start.{prio} = {_fmt(delay)} is later than the "
                    f"{prio} notification deadline ({_fmt(deadline)}); lower it",
                    field=f"start.{prio}",
                )


def _fmt(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _duration(value: Any, where: str) -> timedelta:
    """'4m', '90s', '4 min' (the policy file's forms) or a bare number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration such as '4m' or '90s'", field=where)
    if isinstance(value, int | float):
        if not math.isfinite(value):  # TOML has nan and inf
            raise ConfigError(f"{where}: {value} is not a number of seconds; write e.g. 90 or "
                              "'4m'", field=where)
        if value <= 0:
            raise ConfigError(f"{where}: {value} must be more than 0 seconds", field=where)
        try:
            return timedelta(seconds=value)
        except OverflowError:
            raise ConfigError(f"{where}: {value} seconds is too long", field=where) from None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a duration such as '4m' or '90s'", field=where)
    delta, business = parse_duration(value, where=where)
    if business:
        raise ConfigError(f"{where}: a ladder waits in wall-clock time; use minutes or "
                          "seconds, not business days", field=where)
    return delta


def _tier(n: int, raw: Any, last: bool, source: str) -> Tier:
    where = f"{source}: tier {n}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each [[tier]] must be a table", field="tier")
    unknown = set(raw) - {"role", "person", "wait", "channels", "repeat"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; use role, person, "
                          "wait, channels, repeat", field=sorted(unknown)[0])
    role, person = raw.get("role"), raw.get("person")
    if (role is None) == (person is None):
        raise ConfigError(f"{where}: give exactly one of role = 'primary' (a rota role) or "
                          "person = 'contact-id' (a named person)", field="role")
    if role is not None and not (isinstance(role, str) and _ROLE.match(role)):
        raise ConfigError(f"{where}: role {role!r} is not a rota role like 'primary' or "
                          "'network/backup'", field="role")
    if person is not None and not (isinstance(person, str) and _PERSON.match(person)):
        raise ConfigError(f"{where}: person {person!r} is not a contact id", field="person")
    if last and person is None:
        raise ConfigError(
            f"{where} is the last tier and names a rota role ({role!r}), which can be empty; "
            "the ladder must end at a guaranteed human: set person = 'contact-id' (the owner "
            "or duty manager) on the last tier", field="person")
    channels = raw.get("channels", ["sms", "voice"])
    if (not isinstance(channels, list) or not channels
            or any(c not in CHANNELS for c in channels) or len(set(channels)) != len(channels)):
        raise ConfigError(f"{where}: channels {channels!r} must be a list of distinct "
                          f"{', '.join(CHANNELS)}", field="channels")
    if not any(c in ("sms", "voice") for c in channels):
        raise ConfigError(f"{where}: channels must include sms or voice; the desk alarm "
                          "alone pages nobody", field="channels")
    if last and "desk_alarm" not in channels:
        channels = [*channels, "desk_alarm"]  # the endpoint always also alarms the desk
    repeat = raw.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= _MAX_REPEAT:
        raise ConfigError(f"{where}: repeat {repeat!r} must be a whole number 1..{_MAX_REPEAT}",
                          field="repeat")
    if "wait" not in raw:
        if not last:
            raise ConfigError(f"{where}: wait is missing; say how long to wait for an "
                              "acknowledgement before the next tier, e.g. wait = '4m'",
                              field="wait")
        wait = timedelta(minutes=5)  # the endpoint: how long before the desk alarm sounds
    else:
        wait = _duration(raw["wait"], f"{where}.wait")
    return Tier(n, role, person, wait, tuple(channels), repeat)


def parse_ladder(text: str, source: str = "ladder TOML") -> Ladder:
    """Read and check a ladder file; every mistake is a ConfigError naming the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(data) - {"name", "tier", "start", "paging", "customer"}
    if unknown:
        raise ConfigError(f"{source}: unknown section {sorted(unknown)[0]!r}; use name, "
                          "[start], [paging], [customer], [[tier]]", field=sorted(unknown)[0])
    raw_tiers = data.get("tier")
    if not isinstance(raw_tiers, list) or not raw_tiers:
        raise ConfigError(f"{source}: no [[tier]] tables; a ladder needs at least one tier, "
                          "ending at a named person", field="tier")
    tiers = tuple(_tier(n, raw, n == len(raw_tiers), source)
                  for n, raw in enumerate(raw_tiers, 1))
    start: dict[str, timedelta | None] = {"P1": timedelta(0)}
    raw_start = data.get("start", {})
    if not isinstance(raw_start, dict):
        raise ConfigError(f"{source}: [start] must be a table like P2 = '5m'", field="start")
    kind_start = dict(KIND_START_DEFAULT)
    for prio, value in raw_start.items():
        if prio in KINDS_OF_WORK:
            # Only "never" or "priority": a kind's own delay could page later than the
            # priority's notification deadline, which check_against exists to refuse.
            if value not in ("never", "priority"):
                raise ConfigError(f"{source}: start.{prio} = {value!r}: use \"never\" or "
                                  "\"priority\" (start by the card's priority)",
                                  field=f"start.{prio}")
            if value == "never":
                kind_start[prio] = None
            else:
                kind_start.pop(prio, None)
            continue
        if prio not in PRIORITIES:
            raise ConfigError(f"{source}: start.{prio}: unknown priority; use P1..P4 (or "
                              f"a kind of work: {', '.join(KINDS_OF_WORK)})",
                              field=f"start.{prio}")
        if value in ("now", 0):
            start[prio] = timedelta(0)
        elif value == "never":
            start[prio] = None
        else:
            start[prio] = _duration(value, f"{source}: start.{prio}")
    if start.get("P1") != timedelta(0):
        raise ConfigError(f"{source}: start.P1 must be 'now': a P1 is paged at once",
                          field="start.P1")
    paging = data.get("paging", {})
    if not isinstance(paging, dict) or set(paging) - {"sms_validity", "throttle", "max_tries"}:
        raise ConfigError(f"{source}: [paging] takes sms_validity, throttle, max_tries",
                          field="paging")
    validity = _duration(paging.get("sms_validity", 600), f"{source}: paging.sms_validity")
    if validity > timedelta(hours=10):
        raise ConfigError(f"{source}: paging.sms_validity may be at most 10 hours (Twilio's "
                          "limit)", field="paging.sms_validity")
    throttle = _duration(paging.get("throttle", 30), f"{source}: paging.throttle")
    tries = paging.get("max_tries", 4)
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= 20:
        raise ConfigError(f"{source}: paging.max_tries must be 1..20", field="paging.max_tries")
    name = data.get("name", "default")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{source}: name must be text", field="name")
    if problem := text_problem(name.strip()):
        raise ConfigError(f"{source}: name {name.strip()[:40]!r} {problem}", field="name")
    template, eta = _customer(data.get("customer", {}), source)
    return Ladder(name.strip(), tiers, start, validity, throttle, tries, template, eta,
                  kind_start)


def _customer(raw: Any, source: str) -> tuple[str, int]:
    """[customer] eta_template (with {eta}) and default_eta_minutes."""
    if not isinstance(raw, dict) or set(raw) - {"eta_template", "default_eta_minutes"}:
        raise ConfigError(f"{source}: [customer] takes eta_template, default_eta_minutes",
                          field="customer")
    template = raw.get("eta_template", Ladder.eta_template)
    if (not isinstance(template, str) or "{eta}" not in template or len(template) > 300
            or text_problem(template.strip())):  # it is sent to the customer as one SMS line
        raise ConfigError(f"{source}: customer.eta_template must be one line of text with "
                          "{eta} where the minutes go", field="customer.eta_template")
    try:
        template.format(eta=1)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(f"{source}: customer.eta_template may only use {{eta}}; write other "
                          "braces as {{ and }}", field="customer.eta_template") from None
    eta = raw.get("default_eta_minutes", Ladder.default_eta_minutes)
    if isinstance(eta, bool) or not isinstance(eta, int) or not 1 <= eta <= 24 * 60:
        raise ConfigError(f"{source}: customer.default_eta_minutes must be whole minutes "
                          "1..1440", field="customer.default_eta_minutes")
    return template.strip(), eta
