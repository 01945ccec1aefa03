"""The notification plan: who must be *informed* (told, not paged to act) of a card, by when,
per priority (DOMAIN.md, "Informing is not paging"). It is the policies file's
``[notification_plan]`` (the shipped `app/defaults/policies.toml` documents every key); a
policies file without the section uses the shipped plan.

Each line names one recipient: a rota role (``role = "primary"``: the on-call person of the
card's routed group; ``role = "duty/backup"``: that group's), a roster contact
(``person = "duty-manager"``), a fixed address (``to = "+4930..."`` or an e-mail address), or
the card's distribution list (``distribution = true``); ``fallback`` names the contact told
when a role has nobody on call; ``when`` limits a line to categories, to cards with risk
signs (either one suffices), or to kinds of work. ``within`` is its deadline after the card
is registered (or raised to that priority). Pure: the caller gives the roster and the time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.errors import ConfigError
from app.models.entry import Entry
from app.models.projection import CardState
from app.protocol.catalogue import KINDS_OF_WORK, MESSAGE_CHANNELS
from app.protocol.text import text_problem
from app.services.cards.calendar import parse_duration
from app.services.roster import Roster
from app.services.roster.contact import E164

PRIORITIES = ("P1", "P2", "P3", "P4")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_ROLE = re.compile(r"(?:[a-z0-9][a-z0-9_-]*/)?[a-z0-9][a-z0-9_-]*")
_KEYS = ("who", "within", "role", "person", "to", "distribution", "fallback", "when",
         "channels")
_TARGETS = ("role", "person", "to", "distribution")


@dataclass(frozen=True)
class Recipient:
    name: str
    to: str        # E.164 number or e-mail address
    channel: str   # sms | email


@dataclass(frozen=True)
class PlanLine:
    index: int
    who: str                     # how people call this line: "shift lead"
    within: timedelta
    role: str | None = None
    person: str | None = None
    to: str | None = None
    distribution: bool = False
    fallback: str | None = None
    categories: frozenset[str] = frozenset()
    risk_signs: bool = False
    kinds: frozenset[str] = frozenset()
    channels: tuple[str, ...] = ("sms",)

    def applies(self, card: CardState) -> bool:
        if self.kinds and str(card.get("kind_of_work") or "") not in self.kinds:
            return False
        if not (self.categories or self.risk_signs):
            return True
        signs = str(card.get("risk_signs") or "").strip().lower()
        has_signs = bool(signs) and signs not in ("none", "no", "-", "n/a")
        return (str(card.get("category") or "") in self.categories
                or (self.risk_signs and has_signs))


@dataclass(frozen=True)
class NotificationPlan:
    lines: Mapping[str, tuple[PlanLine, ...]]

    def for_priority(self, priority: str) -> tuple[PlanLine, ...]:
        return self.lines.get(priority, ())


def address_channel(address: str) -> str | None:
    """"sms" for an E.164 number, "email" for an e-mail address, else None."""
    if E164.fullmatch(address):
        return "sms"
    if EMAIL.fullmatch(address) and len(address) <= 254:
        return "email"
    return None


def _fail(where: str, problem: str) -> ConfigError:
    return ConfigError(f"{where}: {problem}", field=where)


def _line(n: int, raw: Any, where: str) -> PlanLine:
    if not isinstance(raw, dict):
        raise _fail(where, "each line must be a table like { who = \"shift lead\", role = "
                    "\"duty/backup\", within = \"5m\" }")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key; use {', '.join(_KEYS)}")
    who = raw.get("who")
    if not isinstance(who, str) or not who.strip() or len(who) > 80 or text_problem(who):
        raise _fail(f"{where}.who", "name the line in words, e.g. \"shift lead\" (one line)")
    if "within" not in raw:
        raise _fail(f"{where}.within", "missing; say by when, e.g. within = \"5m\"")
    within_raw = raw["within"]
    if not isinstance(within_raw, str):
        raise _fail(f"{where}.within", "expected a duration in quotes such as \"5m\"")
    within, business = parse_duration(within_raw, where=f"{where}.within")
    if business:
        raise _fail(f"{where}.within", "use minutes or hours, not business days")
    targets = [k for k in _TARGETS if raw.get(k) not in (None, False)]
    if len(targets) != 1:
        raise _fail(where, "give exactly one of role, person, to, distribution = true")
    role, person, to = raw.get("role"), raw.get("person"), raw.get("to")
    if role is not None and not (isinstance(role, str) and _ROLE.fullmatch(role)):
        raise _fail(f"{where}.role", f"{role!r} is not a rota role like \"primary\" or "
                    "\"duty/backup\"")
    for key, value in (("person", person), ("fallback", raw.get("fallback"))):
        if value is not None and not (isinstance(value, str)
                                      and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value)):
            raise _fail(f"{where}.{key}", f"{value!r} is not a contact id")
    if to is not None and not (isinstance(to, str) and address_channel(to)):
        raise _fail(f"{where}.to", f"{to!r} is neither an E.164 number (+4930123456) nor an "
                    "e-mail address")
    if "distribution" in raw and not isinstance(raw["distribution"], bool):
        raise _fail(f"{where}.distribution", "use true or false (no quotes)")
    if raw.get("fallback") is not None and role is None:
        raise _fail(f"{where}.fallback", "only a role line has a fallback")
    channels = raw.get("channels", ["sms"] if to is None else [address_channel(to)])
    if (not isinstance(channels, list) or not channels
            or any(c not in MESSAGE_CHANNELS for c in channels)
            or len(set(channels)) != len(channels)):
        raise _fail(f"{where}.channels", f"use a list of distinct {', '.join(MESSAGE_CHANNELS)}")
    when = raw.get("when", {})
    if not isinstance(when, dict) or set(when) - {"categories", "risk_signs", "kinds_of_work"}:
        raise _fail(f"{where}.when", "a table of categories = [...], risk_signs = true, "
                    "kinds_of_work = [...]")
    cats, kinds = when.get("categories", []), when.get("kinds_of_work", [])
    for key, value in (("categories", cats), ("kinds_of_work", kinds)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(f"{where}.when.{key}", "expected a list of names in quotes")
    if bad := sorted(set(kinds) - set(KINDS_OF_WORK)):
        raise _fail(f"{where}.when.kinds_of_work", f"unknown {bad[0]!r}; use "
                    f"{', '.join(KINDS_OF_WORK)}")
    signs = when.get("risk_signs", False)
    if not isinstance(signs, bool):
        raise _fail(f"{where}.when.risk_signs", "use true or false (no quotes)")
    return PlanLine(n, who.strip(), within, role, person, to, bool(raw.get("distribution")),
                    raw.get("fallback"), frozenset(cats), signs, frozenset(kinds),
                    tuple(channels))


def parse_plan(data: Mapping[str, Any], source: str = "policies.toml",
               categories: Iterable[str] | None = None) -> NotificationPlan:
    """`data` is the policies file's ``[notification_plan]`` table; `categories` (the
    policies' category keys) checks the `when.categories` names."""
    where = f"{source}.notification_plan"
    if not isinstance(data, dict):
        raise _fail(where, "expected a table [notification_plan] with P1 = [...] ...")
    lines: dict[str, tuple[PlanLine, ...]] = {}
    known = set(categories) if categories is not None else None
    for prio, raw in data.items():
        if prio not in PRIORITIES:
            raise _fail(f"{where}.{prio}", "unknown priority; use P1..P4")
        if not isinstance(raw, list):
            raise _fail(f"{where}.{prio}", "expected a list of lines [ { who = ... }, ... ]")
        parsed = tuple(_line(n, item, f"{where}.{prio}[{n}]") for n, item in enumerate(raw))
        for line in parsed:
            if known is not None and (bad := sorted(line.categories - known)):
                raise _fail(f"{where}.{prio}[{line.index}].when.categories",
                            f"unknown category {bad[0]!r}")
        lines[prio] = parsed
    return NotificationPlan(lines)


# -- who a line reaches -------------------------------------------------------------------

def distribution_list(entries: Iterable[Entry]) -> list[Recipient]:
    """The card's own distribution list (`card.distribution` adds and removes, in stamp
    order), in the order people were added."""
    found: dict[str, Recipient] = {}
    for e in sorted(entries, key=lambda e: (e.hlc, e.id)):
        if e.kind != "card.distribution":
            continue
        p = e.payload
        to = str(p["to"])
        if p["op"] == "remove":
            found.pop(to, None)
        else:
            channel = str(p.get("channel") or address_channel(to) or "sms")
            found[to] = Recipient(str(p.get("name") or to), to, channel)
    return list(found.values())


def resolve(line: PlanLine, card: CardState, at: datetime, roster: Roster,
            group_of: Callable[[CardState, datetime], str | None],
            distribution: Sequence[Recipient]) -> tuple[list[Recipient], str]:
    """The recipients of one line for `card` at `at`, or none and why."""
    if line.to is not None:
        channel = address_channel(line.to) or "sms"
        return [Recipient(line.who, line.to, channel)], ""
    if line.distribution:
        found = [r for r in distribution if r.channel in line.channels]
        return found, ("" if found else "the card's distribution list is empty; add the "
                       "contact (dispatch-desk outbox distribution NUMBER --add ...)")
    contact, reason = None, ""
    if line.person is not None:
        contact = roster.contact(line.person)
        reason = f"no contact {line.person!r} in the roster"
    elif line.role is not None:
        group, _, role = line.role.rpartition("/")
        group = group or (group_of(card, at) or "")
        contact = roster.on_call(group, role, at) if group else None
        reason = (f"nobody is on call as {role} in group {group!r}" if group
                  else f"the card routes to no group, so no {role} to tell")
        if contact is None and line.fallback is not None:
            contact = roster.contact(line.fallback)
            reason += f", and no fallback contact {line.fallback!r}" if contact is None else ""
    if contact is None:
        return [], reason
    if "sms" not in line.channels:
        return [], f"{contact.name} has no e-mail address in the roster; send by sms"
    if not contact.primary_phone:
        return [], f"{contact.name} has no phone number"
    return [Recipient(f"{contact.name} ({line.who})", contact.primary_phone, "sms")], ""
