"""The routing matrix: category x site x time band x priority gives one accountable person.

Rules are written by people, so matching is plain: the rule naming the most fields wins, and
the first listed breaks a tie, which lets a file read top-down from special cases to general
ones. Whatever the matrix cannot settle goes to the duty coordinator, who must name an owner
within 10 minutes: an unrouted card must never sit silently.

Time bands come from the site's operating hours (``app.services.cards.calendar.OperatingHours``,
the same ones the SLA clocks use): a holiday there is a holiday here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.errors import ValidationError
from app.services.cards.calendar import OperatingHours

from .contact import METHODS, Contact, as_utc, check_id, check_skill
from .model import Roster
from .rotation import ROLES

ANY = "*"
# The ladder channels each contact method allows ("call" is the ladder's "voice").
METHOD_CHANNELS: Mapping[str, tuple[str, ...]] = {
    "sms+call": ("sms", "voice"), "call": ("voice",), "sms": ("sms",)}
COORDINATOR_DEADLINE = timedelta(minutes=10)
# The roster group whose rotas hold the duty coordinator (primary) and the shift lead: where
# a card goes when the matrix has no answer (see app/defaults/roster.example.toml).
COORDINATOR_GROUP = "duty"
_PRIORITY = re.compile(r"P[1-4]")


class TimeBand(StrEnum):
    WORKING = "working"
    NIGHT = "night"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


def time_band(at: datetime, hours: OperatingHours) -> TimeBand:
    """The band of ``at`` in the site's local time, by its operating hours.

    A holiday beats a weekend, which beats night: a public holiday is staffed like a
    Sunday whatever the hour, and a Saturday afternoon is not "working hours". The days,
    start and end are read even for 24/7 hours: the desk runs round the clock, but the
    people it pages still have working days.
    """
    local = as_utc(at, "at").astimezone(ZoneInfo(hours.tz))
    if local.date() in hours.holidays:
        return TimeBand.HOLIDAY
    if local.weekday() not in hours.days:
        return TimeBand.WEEKEND
    if hours.start <= local.time().replace(tzinfo=None) < hours.end:
        return TimeBand.WORKING
    return TimeBand.NIGHT


@dataclass(frozen=True)
class Route:
    """Where a matched card goes: a group's on-call person, a backup group for when that
    group has nobody suitable, how to reach them, and the skills the job needs (a gas line
    needs a gas-qualified technician)."""

    group: str
    backup_group: str | None
    method: str
    skills: frozenset[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", frozenset(self.skills))
        if self.backup_group == "":
            object.__setattr__(self, "backup_group", None)
        check_id(self.group, "group")
        if self.backup_group is not None:
            check_id(self.backup_group, "backup_group")
            if self.backup_group == self.group:
                raise ValidationError("backup_group repeats group; name another group or "
                                      "leave it out", field="backup_group")
        if self.method not in METHODS:
            raise ValidationError(f"method {self.method!r} is unknown; use one of "
                                  f"{', '.join(METHODS)}", field="method")
        for skill in sorted(self.skills):
            check_skill(skill)


@dataclass(frozen=True)
class Rule:
    """One line of the matrix; ``"*"`` (or empty) in a field matches anything."""

    category: str
    site: str
    band: str
    priority: str
    route: Route

    def __post_init__(self) -> None:
        # Categories and sites are typed by hand in two places; compare them case-blind.
        object.__setattr__(self, "category", self.category.strip().casefold() or ANY)
        object.__setattr__(self, "site", self.site.strip().casefold() or ANY)
        object.__setattr__(self, "band", self.band.strip().lower() or ANY)
        object.__setattr__(self, "priority", self.priority.strip().upper() or ANY)
        if self.band != ANY and self.band not in {b.value for b in TimeBand}:
            raise ValidationError(f"band {self.band!r} is unknown; use one of "
                                  f"{', '.join(TimeBand)} or '*'", field="band")
        if self.priority != ANY and not _PRIORITY.fullmatch(self.priority):
            raise ValidationError(f"priority {self.priority!r} is unknown; use P1..P4 or '*'",
                                  field="priority")

    @property
    def specificity(self) -> int:
        return sum(v != ANY for v in (self.category, self.site, self.band, self.priority))

    def matches(self, category: str, site: str, band: TimeBand, priority: str) -> bool:
        return all(
            mine in (ANY, theirs)
            for mine, theirs in ((self.category, category.casefold()),
                                 (self.site, site.casefold()), (self.band, band.value),
                                 (self.priority, priority.upper()))
        )

    def describe(self) -> str:
        return f"{self.category}/{self.site}/{self.band}/{self.priority}"


@dataclass(frozen=True)
class RoutingDecision:
    """The outcome for one card, with a one-line ``reason`` for the card's timeline.

    Either ``contact`` is the one person to page (``rotation_role`` says which rotation of
    which group supplied them, as "group/role") and ``backup`` the next suitable person
    for the ladder, or ``to_coordinator`` is set and ``owner_deadline`` is when the duty
    coordinator must have named an owner. ``route`` is kept even then, so the coordinator
    sees what the matrix intended.
    """

    band: TimeBand
    route: Route | None
    rule_number: int | None
    contact: Contact | None
    rotation_role: str | None
    to_coordinator: bool
    owner_deadline: datetime | None
    reason: str
    backup: Contact | None = None
    group: str | None = None


@dataclass(frozen=True)
class RoutingMatrix:
    """The rules, in file order, and the operating hours of sites that differ from the
    desk's own (a branch in another time zone, with other holidays)."""

    rules: tuple[Rule, ...] = ()
    sites: Mapping[str, OperatingHours] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "sites", {k.casefold(): v for k, v in self.sites.items()})

    def hours_for(self, site: str, default: OperatingHours) -> OperatingHours:
        return self.sites.get(site.casefold(), default)

    def match(
        self, category: str, site: str, band: TimeBand, priority: str
    ) -> tuple[int, Rule] | None:
        """The winning rule and its 1-based number, or None when no rule matches."""
        best: tuple[int, Rule] | None = None
        for number, rule in enumerate(self.rules, 1):
            if rule.matches(category, site, band, priority) and (
                best is None or rule.specificity > best[1].specificity  # ">" keeps the first
            ):
                best = (number, rule)
        return best

    def route(
        self,
        category: str,
        site: str,
        at: datetime,
        priority: str,
        tz: str | None = None,
        holidays: frozenset[date] = frozenset(),
        *,
        roster: Roster,
        hours: OperatingHours | None = None,
        working_start: time = time(8),
        working_end: time = time(18),
    ) -> RoutingDecision:
        """Choose one accountable person for a card arriving at ``at`` (aware).

        The site's band comes from the matrix's ``[[site]]`` hours if it has them, else from
        ``hours`` (normally ``DispatchRules.business_hours``), else from ``tz``, ``holidays``
        and the working day given here. Page one person, not the group: the first of the
        group's primary, its backup, then the backup group's primary and backup, who is on
        call and has every skill the route needs; the next such person is the ``backup``.
        Nobody suitable: the duty coordinator decides, within ``COORDINATOR_DEADLINE``.
        """
        at = as_utc(at, "at")
        if hours is None:
            if tz is None:
                raise ValidationError("route needs the site's hours or tz; pass "
                                      "hours=rules.business_hours", field="tz")
            hours = OperatingHours(always=False, tz=tz, start=working_start, end=working_end,
                                   holidays=holidays)
        band = time_band(at, self.hours_for(site, hours))
        found = self.match(category, site, band, priority)
        if found is None:
            return _to_coordinator(at, band, None, None, f"no routing rule for category "
                                   f"{category!r}, site {site!r}, {band.value}, {priority}")
        number, rule = found
        route = rule.route
        lacking: list[str] = []
        passed_over: list[str] = []
        chosen: list[tuple[str, Contact]] = []
        for slot, person in _candidates(roster, route, at):
            if person is None:
                lacking.append(f"no {slot} on call")
            elif missing := sorted(route.skills - person.skills):
                lacking.append(f"{slot} {person.id!r} lacks {', '.join(missing)}")
            elif all(person != c for _, c in chosen):
                if not chosen:
                    passed_over = list(lacking)
                chosen.append((slot, person))
                if len(chosen) == 2:
                    break
        head = f"rule #{number} ({rule.describe()})"
        if not chosen:
            return _to_coordinator(at, band, route, number,
                                   f"{head} group {route.group!r}: {'; '.join(lacking)}")
        slot, person = chosen[0]
        why = f"{head}: {slot} on call {person.id!r}"
        if passed_over:  # say why the people before them were passed over
            why += f" ({'; '.join(passed_over)})"
        group, role = slot.split("/")
        return RoutingDecision(band, route, number, person, role, False, None, why,
                               backup=chosen[1][1] if len(chosen) > 1 else None, group=group)

    def problems(self, roster: Roster, categories: frozenset[str] = frozenset()) -> list[str]:
        """Rules that can never find a person (their group is not in the roster, or nobody
        on its rotas has the skills it needs), or that name a category the dispatch rules do
        not have (when ``categories`` is given)."""
        known = {g.name for g in roster.groups}
        out = [
            f"routing rule #{n} names group {name!r}, which the roster does not have; add "
            "the group or fix the name"
            for n, rule in enumerate(self.rules, 1)
            for name in (rule.route.group, rule.route.backup_group)
            if name is not None and name not in known
        ]
        out += self._skill_gaps(roster)
        wanted = {c.casefold() for c in categories}
        out += [
            f"routing rule #{n} names category {rule.category!r}, which the dispatch rules do "
            f"not have; use one of {', '.join(sorted(wanted))}"
            for n, rule in enumerate(self.rules, 1)
            if wanted and rule.category != ANY and rule.category not in wanted
        ]
        return out

    def _skill_gaps(self, roster: Roster) -> list[str]:
        """Rules whose skills nobody on the rotas of their group or backup group has: every
        such card would go to the duty coordinator, which is a roster to fix, not a plan."""
        out = []
        for n, rule in enumerate(self.rules, 1):
            route = rule.route
            if not route.skills:
                continue
            names = [g for g in (route.group, route.backup_group) if g is not None]
            members = {m for r in roster.rotations if r.group in names for m in r.members}
            people = [roster.contact(m) for m in sorted(members)]
            if not any(p is not None and route.skills <= p.skills for p in people):
                out.append(f"routing rule #{n} ({rule.describe()}) needs "
                           f"{', '.join(sorted(route.skills))}, which nobody on the "
                           f"{' or '.join(names)} rotas has: every such card goes to the duty "
                           "coordinator; add the skill to someone on those rotas")
        return out


def _candidates(
    roster: Roster, route: Route, at: datetime
) -> Iterator[tuple[str, Contact | None]]:
    for group in (route.group, route.backup_group):
        if group is not None:
            for role in ROLES:
                yield f"{group}/{role}", roster.on_call(group, role, at)


def _to_coordinator(
    at: datetime, band: TimeBand, route: Route | None, number: int | None, why: str
) -> RoutingDecision:
    deadline = at + COORDINATOR_DEADLINE
    reason = (f"{why}; to the duty coordinator, who must name an owner by "
              f"{deadline.strftime('%Y-%m-%d %H:%M UTC')}")
    return RoutingDecision(band, route, number, None, None, True, deadline, reason)
