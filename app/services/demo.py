"""A realistic demo shift: the drill from DOMAIN.md and a dozen other cards at different stages.

The shift is written with a fake clock that walks through the past few hours, so every entry
carries the time it would have had; the desk then opens on the real clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.clock import FakeClock
from app.models.journal import Journal
from app.services.cards.card import Operator
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.cards.sla import SlaWatch
from app.services.roster import Roster

LEAD = Operator("M. Keller", "shift_lead")
DISPATCHER = Operator("A. Novak", "dispatcher")


def _intake(category: str, site: str, symptom: str, **extra: str) -> dict[str, str]:
    base = {
        "kind_of_work": "emergency",
        "category": category,
        "site": site,
        "symptom": symptom,
        "source_channel": "phone",
        "q_what": symptom,
        "q_where": site,
        "q_when": "reported just now; no change known",
        "q_workaround": "none known",
        "q_contact": "site duty desk",
    }
    base.update(extra)
    return base


def fill_demo(journal: Journal, rules: DispatchRules, end: datetime,
              roster: Roster | None = None) -> int:
    """Write a shift that ends at `end` into `journal`; returns the number of cards. With the
    desk's `roster`, the people who acknowledge are the ones its rota had on call then."""
    clock = FakeClock(end - timedelta(hours=4))

    def on_call(group: str, fallback: str) -> str:
        person = roster.on_call(group, "primary", clock.now()) if roster else None
        return f"{person.name} ({group} on call)" if person else fallback
    cards = CardService(journal, rules, clock)
    # The journal stamps entries with its own clock; point it at the walking one for the demo.
    journal.use_clock(clock)

    watch = SlaWatch(journal, rules)

    def at(minutes_before_end: float) -> None:
        # Walk through every deadline on the way, as a running desk would have noticed it.
        target = end - timedelta(minutes=minutes_before_end)
        while (wake := watch.next_wake(clock.now())) is not None and wake <= target:
            clock.set(wake)
            watch.record_breaches(wake)
        clock.set(target)

    at(235)
    cards.register(_intake("workstation", "HQ", "Accounting PC will not boot",
                           impact="low", urgency="medium", kind_of_work="request",
                           priority_reason="one user, spare PC available",
                           room="3.14", reporter="J. Weber"), DISPATCHER)
    at(220)
    pr = cards.register(_intake("printing", "HQ", "Floor 2 printer jams on every job",
                                priority="P4", priority_reason="other printers on the floor",
                                kind_of_work="request"), DISPATCHER).number
    cards.update_fields(pr, {"floor": "2"}, DISPATCHER)
    at(200)
    hv = cards.register(_intake("hvac", "Clinic North", "Server room A/C alarm, 27 °C and rising",
                                priority="P2", priority_reason="server room at risk within 1 h",
                                room="B0.02", risk_signs="temperature rising"), DISPATCHER).number
    at(196)
    cards.acknowledge(hv, on_call("hvac", "T. Brandt (hvac on call)"), "phone", DISPATCHER)
    cards.change_status(hv, "in_progress", DISPATCHER)
    at(190)
    # The drill: a P1 at the start, then two P3s twenty minutes apart.
    p1 = cards.register(_intake("network", "Campus East", "Patient intake stopped: no network "
                                "in building C", impact="high", urgency="high",
                                priority_reason="patient intake stopped for a whole building",
                                building="C", affected_users="whole building (~120)",
                                reporter="Ward C reception"), DISPATCHER).number
    at(187)
    engineer = on_call("network", "L. Fischer (network on call)")
    cards.acknowledge(p1, engineer, "phone", DISPATCHER)
    cards.change_status(p1, "in_progress", DISPATCHER)
    cards.post_status_message(
        p1, "P1. No network in building C at Campus East. Assigned: "
        f"{engineer.split(' (')[0]}.",
        clock.now() + timedelta(minutes=15), DISPATCHER)
    at(170)
    p3a = cards.register(_intake("application", "Campus East", "Booking page slow for some users",
                                 priority="P3", priority_reason="workaround: phone booking"),
                         DISPATCHER).number
    at(150)
    cards.change_status(hv, "waiting_contractor", DISPATCHER, reason="compressor part ordered")
    cards.register(_intake("telephony", "Branch 7", "One phone line dead at the front desk",
                           priority="P3", priority_reason="other lines work"), DISPATCHER)
    at(140)
    cards.add_note(p3a, "Asked users to book by phone meanwhile.", DISPATCHER)
    at(120)
    pw = cards.register(_intake("power", "Depot West", "Floor 1 lost power", impact="high",
                                urgency="medium", priority_reason="depot dark, no safety risk",
                                floor="1"), DISPATCHER).number
    at(115)
    cards.acknowledge(pw, "E. Schulz (electrician)", "phone", DISPATCHER)
    cards.change_status(pw, "in_progress", DISPATCHER)
    at(95)
    sec = cards.register(_intake("security", "HQ", "Turnstiles will not open at main entrance",
                                 impact="high", urgency="high",
                                 priority_reason="staff cannot enter; fire exit risk",
                                 risk_signs="blocked access"), DISPATCHER).number
    at(94)
    cards.change_priority(sec, "P2", "side entrance opened with a guard", LEAD,
                          evidence="guard confirms side door staffed")
    at(80)
    cards.register(_intake("server", "Data centre", "Backup job failed twice on host db-02",
                           priority="P3", priority_reason="backups one day behind, no outage",
                           equipment="db-02", kind_of_work="request"), DISPATCHER)
    at(60)
    cards.change_status(pw, "restored", DISPATCHER, reason="breaker reset, monitoring")
    at(45)
    wa = cards.register(_intake("water", "Clinic North", "Leak under sink in staff kitchen",
                                priority="P3", priority_reason="contained with a bucket",
                                risk_signs="leak", room="1.07"), DISPATCHER).number
    cards.change_status(wa, "waiting_customer", DISPATCHER, reason="waiting for facility key")
    at(30)
    cards.register(_intake("business_system", "HQ", "Mail delivery delayed by 20 minutes",
                           impact="medium", urgency="medium",
                           priority_reason="delays only, no loss"), DISPATCHER)
    at(12)
    cards.register(_intake("network", "Branch 3", "Wi-Fi down in meeting rooms",
                           priority="P3", priority_reason="wired network works"), DISPATCHER)
    at(8)
    cards.post_status_message(
        p1, "P1. Building C switch stack replaced; links coming back. Next update 15 min.",
        clock.now() + timedelta(minutes=15), DISPATCHER)
    at(5)
    cards.register(_intake("workstation", "Branch 7", "Cash register PC frozen",
                           impact="medium", urgency="high",
                           priority_reason="one of three registers down"), DISPATCHER)
    closed = cards.register(_intake("printing", "HQ", "Toner empty on reception printer",
                                    priority="P4", priority_reason="spare printer available",
                                    kind_of_work="request"), DISPATCHER).number
    cards.change_status(closed, "in_progress", DISPATCHER)
    cards.change_status(closed, "restored", DISPATCHER)
    cards.change_status(closed, "closed", DISPATCHER, confirmed_by="reception",
                        closure={"cause": "toner empty", "workaround": "spare printer",
                                 "fix": "toner replaced", "lessons": "keep spare toner at HQ"})
    at(0)
    at(0)
    watch.record_breaches(clock.now())
    return journal.count_cards()
