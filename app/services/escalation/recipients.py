"""Who a ladder tier pages, and what the page says.

``Recipients`` turns a tier ("primary", "network/backup", or a named person) into one contact
for a card at a moment, using the roster and the routing matrix (the route's group, its
required skills and its contact method); the texts are the SMS (with the reply code) and the
words read out in the voice call. ``tier_problems`` is what ``ladder check`` and the ladder's
start refuse: a tier that can never page anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.models.projection import CardState
from app.services.cards.calendar import OperatingHours
from app.services.escalation.ladder import Ladder, Tier
from app.services.roster import Contact, Roster, RoutingMatrix, time_band
from app.services.roster.routing import COORDINATOR_GROUP, METHOD_CHANNELS, Route


@dataclass(frozen=True)
class Pick:
    """Whom a tier pages: ``contact``, or None and ``reason`` (why nobody can be paged).

    ``note`` says why this person and not the obvious one (a missing skill, the duty
    coordinator fallback) and goes on the card's timeline; ``channels`` is what the route's
    and the person's contact methods allow together (None: whatever the tier pages on), and
    ``method`` names the narrowing. ``to_coordinator``: the matrix could not settle the card
    and this is the duty coordinator's rota (app/services/escalation/firing.py gives the card
    to them, with the deadline to name an owner)."""

    contact: Contact | None
    reason: str = ""
    note: str = ""
    channels: tuple[str, ...] | None = None
    method: str | None = None
    to_coordinator: bool = False


def _narrowed(pick: Pick, route: Route | None) -> Pick:
    """``pick`` with the channels the route's method and the person's own method allow."""
    person = pick.contact
    if person is None:
        return pick
    methods = [m for m in ((route.method if route else None), person.method)
               if m not in (None, "sms+call")]
    if not methods:
        return pick
    allowed = [c for c in ("sms", "voice")
               if all(c in METHOD_CHANNELS[str(m)] for m in methods)]
    if not allowed:
        return replace(pick, contact=None, reason=(
            f"{person.name} takes {METHOD_WORDS[person.method]} only and the route pages by "
            f"{METHOD_WORDS[str(route.method if route else '')]} only; change the person's or "
            "the route's method"))
    which = "the route's" if route is not None and route.method != "sms+call" else \
        f"{person.name}'s"
    return replace(pick, channels=tuple(allowed), method=f"{which} method is "
                   f"{'sms' if allowed == ['sms'] else 'call'} only")


METHOD_WORDS = {"sms+call": "SMS and call", "sms": "SMS", "call": "call", "": "?"}


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
        card's ladder already paged (a stand-in for a missing skill is someone new).

        The card's route applies to every tier, not only to its group's: its method ("sms"
        never rings anyone) narrows the shift lead's and the endpoint's pages too, and each
        person's own method narrows further."""
        route = None if self._group_for is not None else self.route(card, at)
        return _narrowed(self._pick(card, tier, at, route, paged), route)

    def _pick(self, card: CardState, tier: Tier, at: datetime, route: Route | None,
              paged: Collection[str]) -> Pick:
        roster = self.roster
        if tier.person is not None:
            person = roster.contact(tier.person)
            return Pick(person) if person else Pick(
                None, f"contact {tier.person!r} is not in the roster")
        role = str(tier.role)
        group, _, name = role.rpartition("/")
        if group:
            return _holder(roster, group, name, at)
        group = (self._group_for(card, at) if self._group_for is not None
                 else route.group if route is not None else self._default) or ""
        if not group:
            return self._coordinator(roster, name, at, "no routing rule matched")
        pick = _holder(roster, group, name, at)
        if route is not None and route.skills and not (
                pick.contact and route.skills <= pick.contact.skills):
            return self._stand_in(roster, route, name, at, pick, paged)
        return pick

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
                            f"who has {needed}")
        return self._coordinator(roster, role, at, f"{why}; nobody with {needed} is on call "
                                 f"in {' or '.join(groups)}")

    def _coordinator(self, roster: Roster, role: str, at: datetime, why: str) -> Pick:
        """DOMAIN: what the matrix cannot settle goes to the duty coordinator (the ``duty``
        group's rota: its primary is the coordinator, its backup the shift lead), who must
        name an owner within 10 minutes."""
        if roster.rotation_for(COORDINATOR_GROUP, role) is None:
            return Pick(None, f"{why}, and the roster has no {COORDINATOR_GROUP}/{role} rota "
                        "(the duty coordinator) to fall back on")
        pick = _holder(roster, COORDINATOR_GROUP, role, at)
        if pick.contact is None:
            return Pick(None, f"{why}; fallback: {pick.reason}")
        title = COORDINATOR_TITLES.get(role, f"the {role} of the duty desk")
        return Pick(pick.contact, note=f"{why}: fallback to {title} {pick.contact.name} "
                    f"({COORDINATOR_GROUP}/{role})", to_coordinator=True)


# What the duty group's rotas are called where a card reaches them (roster.example.toml).
COORDINATOR_TITLES = {"primary": "the duty coordinator", "backup": "the shift lead"}


def _holder(roster: Roster, group: str, role: str, at: datetime) -> Pick:
    if roster.rotation_for(group, role) is None:
        return Pick(None, f"group {group!r} has no {role} rotation in the roster")
    person = roster.on_call(group, role, at)
    return Pick(person) if person else Pick(None, f"nobody on call as {group}/{role}")


def tier_problems(ladder: Ladder, roster: Roster, routing: RoutingMatrix | None = None, *,
                  default_group: str | None = None, shifts: bool = True) -> list[str]:
    """Tiers that cannot page anyone with this roster (what ``ladder check`` and ``roster
    check`` refuse): a named person who is not in it or has no phone; a rota role that a
    group the card may be routed to has no rotation for (the routed groups, the default
    group and the duty coordinator's); channels that no route's or person's contact method
    allows (a call-only tier on an SMS-only route pages nobody for those cards); and, with
    ``shifts``, rota members whose shifts the tier cannot page (no phone, a method the tier
    does not page on). The ladder's start refuses all but those: one member's missing number
    must not stop the paging of everyone else (it is logged, and the step says so)."""
    out: list[str] = []
    rules = routing.rules if routing is not None else ()
    groups = {r.route.group for r in rules} | {default_group or COORDINATOR_GROUP}
    for tier in ladder.tiers:
        where = f"tier {tier.number} ({tier.who})"
        remote = [c for c in tier.channels if c in ("sms", "voice")]
        for n, rule in enumerate(rules, 1):
            if not any(c in METHOD_CHANNELS[rule.route.method] for c in remote):
                out.append(f"{where}: pages by {' + '.join(remote)} only, but routing rule #{n} "
                           f"({rule.describe()}) allows {METHOD_WORDS[rule.route.method]} only, "
                           "so this tier pages nobody for those cards; add the channel to the "
                           "tier or change the route's method")
        if tier.person is not None:
            person = roster.contact(tier.person)
            if person is None or not person.primary_phone:
                out.append(f"{where}: contact {tier.person!r} is not in the roster with a "
                           "phone number; add them or change the ladder")
            elif not any(c in METHOD_CHANNELS[person.method] for c in remote):
                out.append(f"{where}: {person.name} takes {METHOD_WORDS[person.method]} only, "
                           f"which this tier does not page on; change the tier's channels or "
                           "the person's method")
            continue
        group, _, role = str(tier.role).rpartition("/")
        for name in sorted({group} if group else groups):
            rotation = roster.rotation_for(name, role)
            if rotation is None:
                out.append(f"{where}: group {name!r} has no {role!r} rotation in the roster, "
                           "so this tier would page nobody; add the rotation or change the "
                           "tier's role")
                continue
            for member in rotation.members if shifts else ():
                person = roster.contact(member)
                if person is None:
                    continue
                if not person.primary_phone:
                    out.append(f"{where}: {person.name} ({name}/{role}) has no phone number, "
                               "so the tier pages nobody on their shifts; set primary_phone")
                elif not any(c in METHOD_CHANNELS[person.method] for c in remote):
                    out.append(f"{where}: {person.name} ({name}/{role}) takes "
                               f"{METHOD_WORDS[person.method]} only, which this tier does not "
                               "page on; change the tier's channels or the person's method")
    return out


def sms_text(card: CardState, step: Mapping[str, Any], tiers: int) -> str:
    where = card.get("site") or "?"
    what = card.get("symptom") or card.get("category") or "see the desk"
    # The reply codes (app/services/escalation/reply_codes.py), as the technician reads them.
    return (f"{card['priority']} {card['number']} {where}: {what}. Reply {step['code']} a "
            f"to acknowledge, a 35 = on the way ETA 35 min, e escalate, d decline. "
            f"(tier {step['tier']}/{tiers})")[:320]


def voice_text(card: CardState) -> str:
    number = " ".join(str(card["number"]).replace("-", " "))
    what = card.get("symptom") or card.get("category") or "an incident"
    return (f"Dispatch desk. Priority {str(card['priority'])[1:]} card {number} at "
            f"{card.get('site') or 'an unknown site'}: {what}.")[:600]
