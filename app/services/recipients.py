"""Who a ladder tier pages, and what the page says.

``Recipients`` turns a tier ("primary", "network/backup", or a named person) into one contact
for a card at a moment, using the roster and the routing matrix; the texts are the SMS (with
the reply code) and the words read out in the voice call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from app.models.projection import CardState
from app.services.calendar import OperatingHours
from app.services.ladder import Tier
from app.services.roster import Contact, Roster, RoutingMatrix, time_band


class Recipients:
    """Who a tier pages for a card at a moment: a named person, or a rota role's holder.

    A bare role ("primary") takes its group from the card's routing (the matrix rule that
    matches the card's category, site, time band and priority), else ``default_group``;
    "group/role" names the group itself.
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

    def group(self, card: CardState, at: datetime) -> str | None:
        if self._group_for is not None:
            return self._group_for(card, at)
        if self._routing is not None and self._hours is not None:
            routing = self._routing()
            site = str(card.get("site") or "")
            band = time_band(at, routing.hours_for(site, self._hours))
            found = routing.match(str(card.get("category") or ""), site, band,
                                        str(card["priority"]))
            if found is not None:
                return found[1].route.group
        return self._default

    @property
    def roster(self) -> Roster:
        return self._roster()

    def resolve(self, card: CardState, tier: Tier, at: datetime) -> tuple[Contact | None, str]:
        """(the person, "") or (None, why nobody can be paged)."""
        roster = self.roster
        if tier.person is not None:
            person = roster.contact(tier.person)
            return (person, "") if person else (None, f"contact {tier.person!r} is not in "
                                                "the roster")
        role = str(tier.role)
        group, _, name = role.rpartition("/")
        group = group or self.group(card, at) or ""
        if not group:
            return None, f"no group for the {role} rota (no routing rule matched)"
        person = roster.on_call(group, name, at)
        return (person, "") if person else (None, f"nobody on call as {group}/{name}")


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
