"""Issue 12: an unrouted card goes to the duty coordinator as its assignee, with a 10-minute
"name the owner" clock that escalates to the shift lead when it runs out and stops when an
owner is named. The shipped ladder and example roster, the composition root, the Twilio
stand-in and a fake clock (`test_routing_obeyed._site`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.services.cards.commands import Assign
from app.services.escalation.firing import step_entries
from app.services.escalation.paging_view import ladder_summary
from app.services.escalation.runner import Fire
from app.services.escalation.state import step_id
from tests.escalation.conftest import T0
from tests.escalation.test_ladder_flow import calls_to, sms_to
from tests.escalation.test_routing_obeyed import EXAMPLE, _holder, _phone, _site
from tests.twilio_standin import TwilioStandIn

COORDINATOR = _holder("duty", "primary", T0)
SHIFT_LEAD = _holder("duty", "backup", T0)


def _name(contact_id: str) -> str:
    person = EXAMPLE.contact(contact_id)
    assert person is not None
    return person.name


def test_the_coordinator_gets_the_card_and_ten_minutes_then_the_shift_lead(
        tmp_path: Path, twilio: TwilioStandIn) -> None:
    for site in _site(tmp_path, twilio, T0):  # 03:10 in Berlin: business_system is unrouted
        card_id = site.register(category="business_system", symptom="MIS down")
        site.service.run_due()
        card = site.desk.journal.card(card_id)
        assert card["assignee"] == _name(COORDINATOR)
        owner = [e for e in site.desk.journal.entries(card_id) if e.kind == "card.fields"]
        assert [e.id for e in owner] == [step_id(card_id, 1, 1, "owner")]
        state = site.service.state(card_id)
        assert state.steps[0].owner_by == T0 + timedelta(minutes=10)
        where, nxt = ladder_summary(state, site.service.ladder, site.clock.now(), UTC)
        assert f"{_name(COORDINATOR)} (duty coordinator) must name an owner by" in where
        assert where.endswith("02:20 UTC") and nxt.startswith("tier 2 at ")
        assert nxt.endswith("02:20 UTC")

        site.clock.advance(timedelta(minutes=9, seconds=59))
        site.service.run_due()
        assert sms_to(twilio, _phone(SHIFT_LEAD)) == []
        site.clock.advance(1)
        site.service.run_due()
        state = site.service.state(card_id)
        assert [s.contact_id for s in state.steps] == [COORDINATOR, SHIFT_LEAD]
        assert not state.steps[1].late
        assert len(sms_to(twilio, _phone(SHIFT_LEAD))) == 1
        assert len(calls_to(twilio, _phone(SHIFT_LEAD))) == 1
        assert any(f"{_name(COORDINATOR)} (duty coordinator) named no owner by 02:20 UTC" in n
                   for n in site.notes(card_id))
        # The shift lead is not handed the card: the coordinator keeps it until an owner is
        # named, so nobody's name is overwritten by the ladder.
        assert site.desk.journal.card(card_id)["assignee"] == _name(COORDINATOR)


def test_naming_an_owner_stops_the_clock_and_the_ladder(tmp_path: Path,
                                                        twilio: TwilioStandIn) -> None:
    for site in _site(tmp_path, twilio, T0):
        card_id = site.register(category="business_system", symptom="MIS down")
        site.service.run_due()
        number = site.desk.journal.card(card_id)["number"]
        site.clock.advance(120)
        # Assigning the coordinator themselves is not naming an owner.
        site.desk.handle(Assign(number, _name(COORDINATOR)))
        assert site.service.state(card_id).stopped is None
        site.desk.handle(Assign(number, "Jonas Weber"))
        state = site.service.state(card_id)
        assert state.stopped == "owner named"
        assert state.owner_named == ("Jonas Weber", site.clock.now())
        site.clock.advance(timedelta(minutes=30))
        site.service.run_due()
        assert sms_to(twilio, _phone(SHIFT_LEAD)) == []
        where, nxt = ladder_summary(state, site.service.ladder, site.clock.now(), UTC)
        assert where.startswith("owner named: Jonas Weber") and nxt == ""


def test_the_assignment_is_the_same_fact_on_every_desk(tmp_path: Path,
                                                       twilio: TwilioStandIn) -> None:
    for site in _site(tmp_path, twilio, T0):
        card_id = site.register(category="business_system", symptom="MIS down")
        card = site.desk.journal.card(card_id)
        fire = Fire(card_id, 1, 1, T0)
        # Two desks firing the same step, one a second later: the same assignment entry.
        one = step_entries(fire, card, None, site.service.ladder, site.service.recipients,
                           frozenset(), T0)
        two = step_entries(fire, card, None, site.service.ladder, site.service.recipients,
                           frozenset(), T0 + timedelta(seconds=1))
        assert [(e.id, e.kind) for e in one.entries] == [(e.id, e.kind) for e in two.entries]
        mine = [(e.id, e.payload) for e in one.entries if e.kind in ("card.fields", "card.note")]
        assert mine == [(e.id, e.payload) for e in two.entries
                        if e.kind in ("card.fields", "card.note")]
        step = one.entries[0].payload
        assert step["owner_by"] == two.entries[0].payload["owner_by"] == "2026-11-23T02:20:00+00:00"


def test_a_card_that_already_has_an_owner_gets_no_clock(tmp_path: Path,
                                                        twilio: TwilioStandIn) -> None:
    for site in _site(tmp_path, twilio, T0):
        card_id = site.register(category="business_system", symptom="MIS down",
                                assignee="Eva Zimmermann")
        site.service.run_due()
        state = site.service.state(card_id)
        assert state.steps[0].contact_id == COORDINATOR and state.steps[0].owner_by is None
        assert site.desk.journal.card(card_id)["assignee"] == "Eva Zimmermann"
        site.clock.advance(4 * 60)  # the tier's own wait
        site.service.run_due()
        assert len(site.service.state(card_id).steps) == 2


def test_a_missing_skill_gives_the_card_to_the_coordinator_with_the_clock(
        tmp_path: Path, twilio: TwilioStandIn) -> None:
    from tests.escalation.test_routing_obeyed import _when

    at = _when(lambda t: _holder("hvac", "primary", t) == "f.hartmann"
               and _holder("hvac", "backup", t) == "u.werner")
    for site in _site(tmp_path, twilio, at):
        card_id = site.register(category="hvac", site="Boiler-House", symptom="gas smell")
        site.service.run_due()
        state = site.service.state(card_id)
        coordinator = _holder("duty", "primary", at)
        assert state.steps[0].contact_id == coordinator
        assert state.steps[0].owner_by == at + timedelta(minutes=10)
        assert site.desk.journal.card(card_id)["assignee"] == _name(coordinator)


def test_time_bands_route_by_the_sites_hours(tmp_path: Path, twilio: TwilioStandIn) -> None:
    # business_system is routed to the network group in working hours only.
    monday_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    saturday_10 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    christmas_10 = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)  # a Friday, a holiday
    for at, expected in ((monday_10, _holder("network", "primary", monday_10)),
                         (saturday_10, _holder("duty", "primary", saturday_10)),
                         (christmas_10, _holder("duty", "primary", christmas_10))):
        folder = tmp_path / at.strftime("%m%d")
        folder.mkdir()
        for site in _site(folder, twilio, at):
            card_id = site.register(category="business_system", symptom="MIS down")
            site.service.run_due()
            step = site.service.state(card_id).steps[0]
            assert step.contact_id == expected, at
            assert (step.owner_by is not None) == (at != monday_10), at
