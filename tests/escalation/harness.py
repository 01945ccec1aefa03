"""A desk wired for ladder tests: a real journal file, the real Twilio client against the
loopback stand-in, a roster with one person per rota role, and a ladder that waits seconds.
Shared by the tests, the crash subprocess and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from app.adapters.twilio_pager import LoopbackHttpClient, TwilioPager
from app.clock import Clock
from app.loaders import load_rules
from app.models.journal import Journal
from app.services.cards.card import Operator
from app.services.cards.service import CardService
from app.services.escalation.ladder import Ladder, parse_ladder
from app.services.escalation.recipients import Recipients
from app.services.escalation.service import EscalationService
from app.services.roster import Contact, Group, Roster, Rotation

DESK_NUMBER = "+15005550006"
ALICE, BOB, CAROL, DORA = "+15551230001", "+15551230002", "+15551230003", "+15551230004"
DISPATCHER = Operator("A. Novak", "dispatcher")

LADDER_TOML = """
name = "test"
[start]
P1 = "now"
P2 = "60s"
P3 = "30m"
P4 = "never"
[paging]
sms_validity = "5m"
throttle = "20s"
max_tries = 4
[[tier]]
role = "primary"
wait = "40s"
[[tier]]
role = "backup"
wait = 40
[[tier]]
role = "lead"
wait = "30s"
[[tier]]
person = "dora"
wait = "60s"
channels = ["sms", "voice", "desk_alarm"]
"""


def roster(*, lead: bool = True) -> Roster:
    people = [Contact.create("alice", "Alice Primary", primary_phone=ALICE),
              Contact.create("bob", "Bob Backup", primary_phone=BOB),
              Contact.create("carol", "Carol Lead", primary_phone=CAROL),
              Contact.create("dora", "Dora Manager", primary_phone=DORA)]
    slots = [("primary", "alice"), ("backup", "bob")] + ([("lead", "carol")] if lead else [])
    rotations = [Rotation(f"net-{role}", "network", role, "weekly", (who,), date(2026, 11, 2),
                          time(8), "Europe/Berlin") for role, who in slots]
    return Roster(tuple(people), (Group("network", "IT network"),), tuple(rotations))


def ladder(text: str = LADDER_TOML) -> Ladder:
    return parse_ladder(text, "test ladder")


# (impact, urgency) giving each priority in the shipped policies' matrix.
LEVELS = {"P1": ("high", "high"), "P2": ("high", "medium"), "P3": ("medium", "medium"),
          "P4": ("low", "low")}


def intake(priority: str = "P1", **extra: Any) -> dict[str, Any]:
    impact, urgency = LEVELS[priority]
    base = {"category": "network", "site": "HQ", "symptom": "Core switch down",
            "impact": impact, "urgency": urgency,
            "priority_reason": "whole site offline", "q_what": "no network",
            "q_where": "HQ server room", "q_when": "since 09:55", "q_workaround": "none",
            "q_contact": "J. Weber"}
    base.update(extra)
    return base


@dataclass
class LadderDesk:
    journal: Journal
    cards: CardService
    service: EscalationService
    pager: TwilioPager

    def register(self, priority: str = "P1") -> str:
        card = self.cards.register(intake(priority), DISPATCHER)
        assert card.priority == priority
        return card.id

    def close(self) -> None:
        self.service.close()
        self.journal.close()


def make_pager(base_url: str, account_sid: str, token: str, **kw: Any) -> TwilioPager:
    return TwilioPager(account_sid, token, DESK_NUMBER,
                       http_client=LoopbackHttpClient(base_url), **kw)


def build(path: Path, clock: Clock, base_url: str, account_sid: str, token: str, *,
          the_roster: Roster | None = None, the_ladder: Ladder | None = None,
          timeout: float | tuple[float, float] = 5) -> LadderDesk:
    journal = Journal.open(path, clock)
    pager = make_pager(base_url, account_sid, token, timeout=timeout)
    recipients = Recipients(the_roster or roster(), default_group="network")
    service = EscalationService(journal, the_ladder or ladder(), pager, recipients, clock)
    return LadderDesk(journal, CardService(journal, load_rules(None), clock), service, pager)
