"""Issue 12, "routing is not obeyed": the ladder pages whom the routing matrix says, the way
it says, with the shipped ladder and the shipped example roster (the composition root, the
real Twilio client against the loopback stand-in, a fake clock)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.adapters.roster_store import read_roster_file
from app.application import Desk
from app.bootstrap import build_desk, build_escalation
from app.clock import FakeClock
from app.config import Settings
from app.services.escalation.service import EscalationService
from app.services.roster import Roster
from tests.escalation.conftest import T0
from tests.escalation.harness import DISPATCHER, intake, make_pager
from tests.escalation.test_ladder_flow import calls_to, sms_to
from tests.twilio_standin import TwilioStandIn

ROSTER = Path(__file__).resolve().parents[2] / "app" / "defaults" / "roster.example.toml"
EXAMPLE: Roster = read_roster_file(ROSTER).roster


@dataclass
class Site:
    desk: Desk
    service: EscalationService
    clock: FakeClock

    def register(self, **fields: str) -> str:
        return self.desk.cards.register(intake("P1", **fields), DISPATCHER).id

    def notes(self, card_id: str) -> list[str]:
        return [str(e.payload["text"]) for e in self.desk.journal.entries(card_id)
                if e.kind == "card.note"]


def _when(ok: object) -> datetime:
    """The first hour from T0 at which ``ok(at)`` holds (rotas turn over within days)."""
    at = T0
    while not ok(at):  # type: ignore[operator]
        at += timedelta(hours=1)
        assert at < T0 + timedelta(days=30)
    return at


def _site(tmp_path: Path, twilio: TwilioStandIn, at: datetime) -> Iterator[Site]:
    clock = FakeClock(at)
    twilio.clock = clock.now
    desk = build_desk(Settings(journal=tmp_path / "desk.sqlite").validated(), clock)
    loaded = read_roster_file(ROSTER)
    desk.roster.save(loaded.roster, loaded.routing)
    service = build_escalation(desk, make_pager(twilio.base_url, twilio.account_sid,
                                                twilio.auth_token))
    try:
        yield Site(desk, service, clock)
    finally:
        service.close()
        desk.close()


def _holder(group: str, role: str, at: datetime) -> str:
    person = EXAMPLE.on_call(group, role, at)
    assert person is not None
    return person.id


def _phone(contact_id: str) -> str:
    person = EXAMPLE.contact(contact_id)
    assert person is not None and person.primary_phone
    return person.primary_phone


@pytest.fixture
def gas_night(tmp_path: Path, twilio: TwilioStandIn) -> Iterator[Site]:
    """A night when the hvac primary is Frank Hartmann (no gas) and the backup Claudia Lange
    (gas)."""
    at = _when(lambda t: _holder("hvac", "primary", t) == "f.hartmann"
               and _holder("hvac", "backup", t) == "c.lange")
    yield from _site(tmp_path, twilio, at)


def test_a_gas_job_never_pages_the_on_call_person_without_gas(gas_night: Site,
                                                               twilio: TwilioStandIn) -> None:
    card_id = gas_night.register(category="hvac", site="Boiler-House",
                                 symptom="smell of gas in the boiler house")
    gas_night.service.run_due()
    step = gas_night.service.state(card_id).steps[0]
    assert step.who == "Claudia Lange" and step.contact_id == "c.lange"
    assert sms_to(twilio, _phone("f.hartmann")) == [] == calls_to(twilio, _phone("f.hartmann"))
    assert len(sms_to(twilio, _phone("c.lange"))) == 1
    [note] = gas_night.notes(card_id)
    assert "on call Frank Hartmann (hvac/primary) lacks gas" in note
    assert "paged Claudia Lange (hvac/backup)" in note


def test_the_same_category_elsewhere_needs_no_gas(gas_night: Site) -> None:
    card_id = gas_night.register(category="hvac", site="HQ", symptom="no heating")
    gas_night.service.run_due()
    assert gas_night.service.state(card_id).steps[0].contact_id == "f.hartmann"
    assert gas_night.notes(card_id) == []


def test_nobody_with_the_skill_on_call_goes_to_the_duty_coordinator(
        tmp_path: Path, twilio: TwilioStandIn) -> None:
    # Hartmann primary and Werner backup: nobody in hvac or facilities has gas.
    at = _when(lambda t: _holder("hvac", "primary", t) == "f.hartmann"
               and _holder("hvac", "backup", t) == "u.werner")
    for site in _site(tmp_path, twilio, at):
        card_id = site.register(category="hvac", site="Boiler-House", symptom="gas smell")
        site.service.run_due()
        step = site.service.state(card_id).steps[0]
        assert step.contact_id == _holder("duty", "primary", at)
        [note] = site.notes(card_id)
        assert "nobody with gas is on call in hvac or facilities" in note
        assert "fallback to the duty coordinator" in note


def test_a_route_with_method_sms_places_no_call(tmp_path: Path, twilio: TwilioStandIn) -> None:
    working = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
    for site in _site(tmp_path, twilio, working):
        card_id = site.register(category="workstation", symptom="PC will not boot")
        site.service.run_due()
        step = site.service.state(card_id).steps[0]
        assert step.contact_id == _holder("network", "primary", working)
        assert set(step.channels) == {"sms"}
        assert twilio.requests_to("POST", "/Calls.json") == []
        assert len(sms_to(twilio, _phone(str(step.contact_id)))) == 1
        assert any("method is sms only" in n for n in site.notes(card_id))


def test_an_unrouted_night_card_pages_the_duty_coordinator(tmp_path: Path,
                                                           twilio: TwilioStandIn) -> None:
    # business_system is routed in working hours only; 03:10 in Berlin is night.
    for site in _site(tmp_path, twilio, T0):
        card_id = site.register(category="business_system", symptom="MIS down")
        site.service.run_due()
        state = site.service.state(card_id)
        coordinator = _holder("duty", "primary", T0)
        assert [s.contact_id for s in state.steps] == [coordinator]
        assert state.steps[0].unreachable_at is None
        [note] = site.notes(card_id)
        assert "no routing rule matched: fallback to the duty coordinator" in note
        assert "must name an owner by 02:20 UTC" in note
        # The ladder does not skip ahead: the coordinator has 10 minutes to name an owner
        # (not the tier's 4), then tier 2 pages the shift lead.
        site.clock.advance(4 * 60)
        site.service.run_due()
        assert [s.contact_id for s in site.service.state(card_id).steps] == [coordinator]
        site.clock.advance(6 * 60)
        site.service.run_due()
        state = site.service.state(card_id)
        assert [s.contact_id for s in state.steps] == [coordinator,
                                                       _holder("duty", "backup", T0)]
        # The coordinator's acknowledgement makes them the card's owner.
        twilio.simulate_reply(_phone(coordinator), "1", at=site.clock.now())
        site.service.poll()
        card = site.desk.journal.card(card_id)
        assert card["assignee"] == EXAMPLE.contact(coordinator).name  # type: ignore[union-attr]
        assert card["status"] == "in_progress"
