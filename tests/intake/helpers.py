"""A desk for intake tests: the real journal file, the shipped policies, a fake clock, and
intake rules written for the test (or the shipped ones)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import Clock, FakeClock
from app.config import Settings
from app.models.entry import NewEntry
from app.protocol.intake import Alert
from app.services.intake import IntakeService
from app.services.intake.rules import IntakeRules

# Monday 23 November 2026, 02:10 UTC (03:10 in Berlin): night at the desk.
T0 = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)

RULES = """
[defaults]
impact = "medium"
urgency = "medium"
kind_of_work = "emergency"

[[rule]]
name = "payments critical"
[rule.match]
labels = { severity = "critical", service = "payments" }
[rule.set]
category = "business_system"
site = "HQ"
impact = "high"
urgency = "high"
register = true
restore_on_resolved = true

[[rule]]
name = "disk"
[rule.match]
text = "disk"
[rule.set]
category = "server"
impact = "medium"
urgency = "high"
"""


def desk_at(path: Path, clock: FakeClock, rules_text: str = RULES, *,
            auto_register: bool = True) -> Desk:
    rules_file = path.parent / "intake_rules.toml"
    rules_file.write_text(rules_text, encoding="utf-8")
    settings = Settings(journal=path, intake_rules=rules_file, auto_register=auto_register,
                        operator="A. Novak").validated()
    return build_desk(settings, clock)


def alert(clock: Clock, key: str = "k1", summary: str = "Disk full on db-02",
          **kw: Any) -> Alert:
    base: dict[str, Any] = {"integration": "am-prod", "channel": "alertmanager",
                            "dedup_key": key, "summary": summary, "received_at": clock.now(),
                            "node": "db-02", "site": "HQ"}
    base.update(kw)
    return Alert(**base)


def payments(clock: Clock, **kw: Any) -> Alert:
    return alert(clock, "pay-1", "Payments API down",
                 labels={"severity": "critical", "service": "payments"}, **kw)


def door_entry(item_id: str, an_alert: Alert) -> NewEntry:
    """What a store-side door (or the local door on another desk) writes: the received entry
    alone, judged by no rules."""
    return NewEntry(item_id, "intake.received", an_alert.received_payload())


def service_with(desk: Desk, rules: IntakeRules, **kw: Any) -> IntakeService:
    return IntakeService(desk.journal, desk.rules, rules, desk.clock, desk.cards, **kw)


__all__ = ["T0", "alert", "desk_at", "door_entry", "payments", "replace", "service_with"]
