"""Who a ladder tier pages, and what the page says.

``Recipients`` turns a tier ("primary", "network/backup", or a named person) into one contact
for a card at a moment, using the roster and the routing matrix (the route's group, its
required skills and its contact method); the texts are the SMS (with the reply code) and the
words read out in the voice call. ``tier_problems`` is what ``ladder check`` and the ladder's
start refuse: a tier that can never page anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.models.projection import CardState
from app.services.cards.calendar import OperatingHours
from app.services.escalation.ladder import Ladder, Tier
from app.services.roster import COORDINATOR_DEADLINE, Contact, Roster, RoutingMatrix, time_band
from app.services.roster.routing import COORDINATOR_GROUP, METHOD_CHANNELS, Route


@dataclass(frozen=True)
class Pick:
    """Whom a tier pages: ``contact``, or None and ``reason`` (why nobody can be paged).

    ``note`` says why this person and not the obvious one (a missing skill, the duty
    coordinator fallback) and goes on the card's timeline; ``channels`` is what the route's
    method allows (None: whatever the tier pages on)."""

    contact: Contact | None
    reason: str = ""
    note: str = ""
    channels: tuple[str, ...] | None = None
    method: str | None = None


class Recipients:
    """Who a tier pages for a card at a moment: a named person, or a rota role's holder.

    A bare role ("primary") takes its group from the card's routing (the matrix rule that
    matches the card's category, site, time band and priority), else ``default_group``, else
    the duty coordinator's group (``duty``); "group/role" names the group itself.
    """

    def __init__(self, roster: Roster | Callable[[], Roster], *,
                 routing: RoutingMatrix | Callable[[], RoutingMatrix] | None = None,
                 hours: OperatingHours | None = None,
                 default_group: str | None = None,
                 group_for: Callable[[CardState, datetime], str | None] | None = None) -> None:
        # A callable is asked at every step, so a rota edited during the shift is used.
        self._roster = roster if callable(roster) else (lambda: roster)
        # The routing matrix the same way: one edited mid-shift routes the next page.
        self._routing: Callable[[], RoutingMatrix] | None = (
            None if routing is None else routing if callable(routing) else (lambda: routing))
        self._hours, self._default = hours, default_group
        self._group_for = group_for

    def route(self, card: CardState, at: datetime) -> Route | None:
        """The route of the matrix rule that matches the card, or None."""
        if self._routing is None or self._hours is None:
            return None
        routing = self._routing()
        site = str(card.get("site") or "")
        band = time_band(at, routing.hours_for(site, self._hours))
        found = routing.match(str(card.get("category") or ""), site, band,
                              str(card["priority"]))
        return found[1].route if found is not None else None

    def group(self, card: CardState, at: datetime) -> str | None:
        if self._group_for is not None:
            return self._group_for(card, at)
        route = self.route(card, at)
        return route.group if route is not None else self._default

    @property
    def roster(self) -> Roster:
        return self._roster()

    @property
    def routing(self) -> RoutingMatrix | None:
        return self._routing() if self._routing is not None else None

    @property
    def default_group(self) -> str | None:
        return self._default

    def resolve(self, card: CardState, tier: Tier, at: datetime, *,
                paged: Collection[str] = ()) -> Pick:
        """Whom ``tier`` pages for ``card`` at ``at``; ``paged`` are the contact ids the
        card's ladder already paged (a stand-in for a missing skill is someone new)."""
        roster = self.roster
        if tier.person is not None:
            person = roster.contact(tier.person)
            return Pick(person) if person else Pick(
                None, f"contact {tier.person!r} is not in the roster")
        role = str(tier.role)
        group, _, name = role.rpartition("/")
        if group:
            return _holder(roster, group, name, at)
        route = None if self._group_for is not None else self.route(card, at)
        group = (self._group_for(card, at) if self._group_for is not None
                 else route.group if route is not None else self._default) or ""
        if not group:
            return self._coordinator(roster, name, at, "no routing rule matched")
        pick = _holder(roster, group, name, at)
        if route is None:
            return pick
        channels, method = METHOD_CHANNELS[route.method], route.method
        if route.skills and not (pick.contact and route.skills <= pick.contact.skills):
            return self._stand_in(roster, route, name, at, pick, paged)
        return Pick(pick.contact, pick.reason, channels=channels, method=method)

    def _stand_in(self, roster: Roster, route: Route, role: str, at: datetime, first: Pick,
                  paged: Collection[str]) -> Pick:
        """The on-call person lacks a skill the route needs: the next on-call person of the
        group (then of the backup group) who has it, else the duty coordinator."""
        needed = ", ".join(sorted(route.skills))
        if first.contact is not None:
            missing = ", ".join(sorted(route.skills - first.contact.skills))
            why = f"on call {first.contact.name} ({route.group}/{role}) lacks {missing}"
        else:
            why = first.reason
        groups = [g for g in (route.group, route.backup_group) if g is not None]
        for group in groups:
            roles = [r for g, r in roster.slots() if g == group]
            for other in ([role] if group != route.group else []) + [r for r in roles
                                                                      if r != role]:
                person = roster.on_call(group, other, at)
                if (person is None or person == first.contact or person.id in paged
                        or not route.skills <= person.skills):
                    continue
                return Pick(person, note=f"{why}; paged {person.name} ({group}/{other}), "
                            f"who has {needed}", channels=METHOD_CHANNELS[route.method],
                            method=route.method)
        return self._coordinator(roster, role, at, f"{why}; nobody with {needed} is on call "
                                 f"in {' or '.join(groups)}")

    def _coordinator(self, roster: Roster, role: str, at: datetime, why: str) -> Pick:
        """DOMAIN: what the matrix cannot settle goes to the duty coordinator (the ``duty``
        group's rota), who must name an owner within 10 minutes."""
        if roster.rotation_for(COORDINATOR_GROUP, role) is None:
            return Pick(None, f"{why}, and the roster has no {COORDINATOR_GROUP}/{role} rota "
                        "(the duty coordinator) to fall back on")
        pick = _holder(roster, COORDINATOR_GROUP, role, at)
        if pick.contact is None:
            return Pick(None, f"{why}; fallback: {pick.reason}")
        by = (at + COORDINATOR_DEADLINE).strftime("%H:%M UTC")
        return Pick(pick.contact, note=f"{why}: fallback to the duty coordinator "
                    f"{pick.contact.name} ({COORDINATOR_GROUP}/{role}), who must name an owner "
                    f"by {by}")


def _holder(roster: Roster, group: str, role: str, at: datetime) -> Pick:
    if roster.rotation_for(group, role) is None:
        return Pick(None, f"group {group!r} has no {role} rotation in the roster")
    person = roster.on_call(group, role, at)
    return Pick(person) if person else Pick(None, f"nobody on call as {group}/{role}")


def tier_problems(ladder: Ladder, roster: Roster, routing: RoutingMatrix | None = None, *,
                  default_group: str | None = None) -> list[str]:
    """Tiers that can never page anyone with this roster: a named person who is not in it
    (or has no phone), or a rota role some group the card may be routed to has no rotation
    for (the routed groups, the default group and the duty coordinator's)."""
    out: list[str] = []
    groups = {r.route.group for r in routing.rules} if routing is not None else set()
    groups |= {default_group or COORDINATOR_GROUP}
    for tier in ladder.tiers:
        where = f"tier {tier.number} ({tier.who})"
        if tier.person is not None:
            person = roster.contact(tier.person)
            if person is None or not person.primary_phone:
                out.append(f"{where}: contact {tier.person!r} is not in the roster with a "
                           "phone number; add them or change the ladder")
            continue
        group, _, role = str(tier.role).rpartition("/")
        for name in sorted({group} if group else groups):
            if roster.rotation_for(name, role) is None:
                out.append(f"{where}: group {name!r} has no {role!r} rotation in the roster, "
                           "so this tier would page nobody; add the rotation or change the "
                           "tier's role")
    return out


def sms_text(card: CardState, step: Mapping[str, Any], tiers: int) -> str:
    where = card.get("site") or "?"
    what = card.get("symptom") or card.get("category") or "see the desk"
    return (f"{card['priority']} {card['number']} {where}: {what}. Reply 1 or "
            f"{step['code']} to accept. (tier {step['tier']}/{tiers})")[:320]


def voice_text(card: CardState) -> str:
    number = " ".join(str(card["number"]).replace("-", " "))
    what = card.get("symptom") or card.get("category") or "an incident"
    return (f"Dispatch desk. Priority {str(card['priority'])[1:]} card {number} at "
            f"{card.get('site') or 'an unknown site'}: {what}.")[:600]
