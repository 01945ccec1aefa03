"""A rule that registers at once makes a P1 card that the real ladder pages (the escalation
tests' desk: real journal, real twilio client, the loopback stand-in); an alert inside a
maintenance window is collected and pages nobody."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.clock import FakeClock
from app.loaders import parse_intake_text
from app.services.intake import IntakeService
from app.services.intake.setup import IntakeSetup
from tests.escalation.harness import ALICE, LadderDesk
from tests.escalation.test_ladder_flow import calls_to, paged, sms_to
from tests.intake.helpers import RULES, T0, alert, door_entry, payments


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)




def intake_for(desk: LadderDesk, clock: FakeClock, *, auto: bool = True) -> IntakeService:
    rules = parse_intake_text(RULES, "test rules", desk.cards.rules)
    return IntakeService(desk.journal, desk.cards.rules, rules, clock, desk.cards,
                         auto_register=auto)


def test_a_critical_payments_alert_is_a_p1_that_pages_at_once(ladder_desk, clock, twilio):
    intake = intake_for(ladder_desk, clock)
    (outcome,) = intake.receive([payments(clock)], "store door")
    assert outcome.action == "registered" and outcome.number
    card = ladder_desk.cards.get(outcome.number)
    assert card.priority == "P1" and card.category == "business_system"
    assert card.fields["q_workaround"].startswith("not asked")
    item = intake.item(outcome.item_id)
    assert (item.state, item.auto, item.number) == ("accepted", True, card.number)
    assert intake.pending() == []

    ladder_desk.service.run_due()
    assert len(sms_to(twilio, ALICE)) == 1 and len(calls_to(twilio, ALICE)) == 1


def test_items_pulled_from_the_store_are_registered_once_after_the_pull(ladder_desk, clock,
                                                                       twilio):
    # The store's door judged no rules: the item arrives pending; the desk registers it.
    item_id = str(uuid.uuid4())
    ladder_desk.journal.write([door_entry(item_id, payments(clock))], "store door")
    off = intake_for(ladder_desk, clock, auto=False)
    assert off.auto_register_pending() == [] and len(off.pending()) == 1
    on = intake_for(ladder_desk, clock)
    (card,) = on.auto_register_pending()
    assert card.priority == "P1"
    # A second process (the window beside the headless desk) doing the same writes nothing.
    assert intake_for(ladder_desk, clock).auto_register_pending() == []
    assert len(ladder_desk.cards.open_cards()) == 1
    ladder_desk.service.run_due()
    assert sorted(paged(twilio)) == [ALICE, ALICE]


def test_a_maintenance_window_collects_alerts_and_never_pages(ladder_desk, clock, twilio):
    intake = intake_for(ladder_desk, clock)
    setup = IntakeSetup(ladder_desk.journal, ladder_desk.cards.rules)
    window = setup.schedule_maintenance("payments upgrade", clock.now() - timedelta(minutes=5),
                                        clock.now() + timedelta(hours=1), "A. Novak",
                                        site="HQ")
    outcomes = []
    for n in range(3):
        outcomes += intake.receive([payments(clock, dedup_key=f"pay-{n}"),
                                    alert(clock, key=f"disk-{n}")], "door")
        clock.advance(60)
    assert {o.action for o in outcomes} == {"new", "repeat"}
    assert all(o.maintenance == "payments upgrade" for o in outcomes)
    (item,) = intake.pending()
    assert item.count == 6 and item.maintenance == "payments upgrade" and not item.auto
    assert item.dedup_key.startswith(f"maintenance:{window.id}:")
    assert ladder_desk.cards.open_cards() == []
    assert intake.auto_register_pending() == []  # collected items are never registered
    ladder_desk.service.run_due()
    assert paged(twilio) == []

    # After the window, the same alert is itself again: registered, paged.
    clock.advance(timedelta(hours=1))
    (after,) = intake.receive([payments(clock)], "door")
    assert after.action == "registered" and after.maintenance == ""
    ladder_desk.service.run_due()
    assert sorted(paged(twilio)) == [ALICE, ALICE]


def test_a_cancelled_window_collects_nothing(ladder_desk, clock):
    intake = intake_for(ladder_desk, clock)
    setup = IntakeSetup(ladder_desk.journal, ladder_desk.cards.rules)
    window = setup.schedule_maintenance("patch", clock.now(), clock.now() + timedelta(hours=1),
                                        "A. Novak")
    setup.cancel_maintenance(window.id[:6], "postponed", "A. Novak")
    (outcome,) = intake.receive([alert(clock)], "door")
    assert outcome.maintenance == "" and intake.pending()[0].dedup_key == "k1"
