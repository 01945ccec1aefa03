"""A handover accepted at one desk reaches the others: the store takes the handover entries,
and every desk then shows the same owner and no pending handover."""

from __future__ import annotations

from datetime import timedelta

from app.clock import FakeClock
from app.loaders import load_rules, load_shifts
from app.services.cards.card import Operator
from app.services.cards.service import CardService
from app.services.handover.service import HandoverService
from tests.sync.conftest import DeskFactory

LEAD = Operator("M. Keller", "shift_lead")
INTAKE = {"category": "power", "site": "HQ", "symptom": "UPS alarm", "priority": "P3",
          "priority_reason": "r", "q_what": "a", "q_where": "b", "q_when": "c",
          "q_workaround": "d", "q_contact": "e"}


def test_accepted_handover_reaches_the_other_desk(make_desk: DeskFactory,
                                                  clock: FakeClock) -> None:
    rules, plan = load_rules(), load_shifts()
    a, b = make_desk("A"), make_desk("B")
    CardService(a.journal, rules, clock).register(INTAKE, LEAD)
    shift = plan.shift_at(clock.now())
    clock.set(shift.end - timedelta(minutes=20))  # the handover window of this shift
    here = HandoverService(a.journal, rules, plan, clock)
    here.accept("S. Yilmaz", [], LEAD)
    for desk in (a, b, a, b):
        desk.round(wait=0)
    there = HandoverService(b.journal, rules, plan, clock)
    assert here.status(clock.now()).state == "accepted"
    seen = there.status(clock.now())
    assert seen.state == "accepted" and not seen.pending
    assert seen.acceptance is not None and seen.acceptance.incoming == "S. Yilmaz"
    assert b.journal.verify() == []
    assert a.status.refused is None and b.status.refused is None
