"""Issue 12: the contact method, per route and per contact, is obeyed on every tier, and
`ladder check` / `roster check` catch every tier that cannot page anyone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.adapters.roster_store import read_roster_file
from app.cli import main
from app.clock import FakeClock
from app.loaders import load_ladder, load_rules
from app.models.journal import Journal
from app.services.cards.service import CardService
from app.services.escalation.ladder import parse_ladder
from app.services.escalation.recipients import Recipients, tier_problems
from app.services.escalation.service import EscalationService
from app.services.roster import Contact, Roster, Route, RoutingMatrix, Rule
from tests.escalation.harness import (
    ALICE,
    BOB,
    LadderDesk,
    ladder,
    make_pager,
    roster,
)
from tests.escalation.test_ladder_fits_roster import LEAD_LADDER
from tests.escalation.test_ladder_flow import calls_to, sms_to
from tests.escalation.test_routing_obeyed import ROSTER, _holder, _phone, _site
from tests.twilio_standin import TwilioStandIn


def _with_methods(base: Roster, **methods: str) -> Roster:
    people = tuple(replace(c, method=methods.get(c.id, c.method)) for c in base.contacts)
    return Roster(people, base.groups, base.rotations, base.overrides)


def _desk(tmp_path: Path, clock: FakeClock, twilio: TwilioStandIn, the_roster: Roster,
          routing: RoutingMatrix | None = None) -> LadderDesk:
    journal = Journal.open(tmp_path / "j.sqlite", clock)
    rules = load_rules(None)
    recipients = Recipients(the_roster, routing=routing, hours=rules.business_hours,
                            default_group="network")
    service = EscalationService(journal, ladder(), make_pager(
        twilio.base_url, twilio.account_sid, twilio.auth_token), recipients, clock)
    return LadderDesk(journal, CardService(journal, rules, clock), service,
                      service.pager)  # type: ignore[arg-type]


def test_an_sms_route_never_rings_anyone_on_any_tier(tmp_path: Path,
                                                     twilio: TwilioStandIn) -> None:
    working = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
    for site in _site(tmp_path, twilio, working):
        card_id = site.register(category="workstation", symptom="PC will not boot")
        for minutes in (0, 4, 4, 3):  # the shipped ladder's waits: every tier fires
            site.clock.advance(timedelta(minutes=minutes))
            site.service.run_due()
        state = site.service.state(card_id)
        assert [s.contact_id for s in state.steps] == [
            _holder("network", "primary", working), _holder("network", "backup", working),
            _holder("duty", "backup", working), "duty-manager"]
        assert all(set(s.channels) == {"sms"} for s in state.steps)
        assert twilio.requests_to("POST", "/Calls.json") == []
        assert len(sms_to(twilio, _phone("duty-manager"))) == 1


def test_each_persons_own_method_is_obeyed(tmp_path: Path, clock: FakeClock,
                                           twilio: TwilioStandIn) -> None:
    desk = _desk(tmp_path, clock, twilio, _with_methods(roster(), alice="sms", bob="call"))
    try:
        card_id = desk.register("P1")
        desk.service.run_due()
        clock.advance(40)
        desk.service.run_due()
        assert len(sms_to(twilio, ALICE)) == 1 and calls_to(twilio, ALICE) == []
        assert sms_to(twilio, BOB) == [] and len(calls_to(twilio, BOB)) == 1
        notes = [e.payload["text"] for e in desk.journal.entries(card_id)
                 if e.kind == "card.note"]
        assert notes == ["Tier 1: Alice Primary's method is sms only.",
                         "Tier 2: Bob Backup's method is call only."]
    finally:
        desk.close()


def test_a_call_only_person_on_an_sms_route_is_skipped_at_once(
        tmp_path: Path, clock: FakeClock, twilio: TwilioStandIn) -> None:
    routing = RoutingMatrix((Rule("network", "*", "*", "*",
                                  Route("network", None, "sms", frozenset())),))
    desk = _desk(tmp_path, clock, twilio, _with_methods(roster(), alice="call"), routing)
    try:
        card_id = desk.register("P1")
        desk.service.run_due()
        state = desk.service.state(card_id)
        assert state.steps[0].contact_id is None
        assert "takes call only and the route pages by SMS only" in str(
            state.steps[0].unreachable_reason)
        assert state.steps[1].contact_id == "bob" and set(state.steps[1].channels) == {"sms"}
        assert twilio.requests_to("POST", "/Calls.json") == []
    finally:
        desk.close()


def test_tier_problems_name_every_tier_that_cannot_page() -> None:
    loaded = read_roster_file(ROSTER)
    voice_only = parse_ladder(LEAD_LADDER.replace('role = "lead"', 'role = "duty/backup"')
                              .replace('role = "primary"\nwait = "4m"',
                                       'role = "primary"\nwait = "4m"\nchannels = ["voice"]'))
    problems = tier_problems(voice_only, loaded.roster, loaded.routing)
    assert len(problems) == 2 and all(
        p.startswith("tier 1 (on-call primary): pages by voice only, but routing rule #")
        for p in problems)
    assert "routing rule #9 (workstation/*/working/*) allows SMS only" in problems[0]

    no_phone = tuple(replace(c, primary_phone="", backup_phone=None) if c.id == "m.keller"
                     else replace(c, method="sms") if c.id == "duty-manager" else c
                     for c in loaded.roster.contacts)
    broken = Roster(no_phone, loaded.roster.groups, loaded.roster.rotations,
                    loaded.roster.overrides)
    sms_less = parse_ladder(LEAD_LADDER.replace('role = "lead"', 'role = "duty/backup"')
                            + 'channels = ["voice"]\n')
    problems = tier_problems(sms_less, broken, loaded.routing)
    assert any(p.startswith("tier 3 (on-call duty/backup): Maria Keller (duty/backup) has no "
                            "phone number") for p in problems)
    assert any(p.startswith("tier 4 (duty-manager): Duty manager takes SMS only") for p in
               problems)


def test_a_route_whose_skill_nobody_has_is_a_roster_warning() -> None:
    loaded = read_roster_file(ROSTER)
    gasless = tuple(replace(c, skills=c.skills - {"gas"}) for c in loaded.roster.contacts)
    without = Roster(gasless, loaded.roster.groups, loaded.roster.rotations,
                     loaded.roster.overrides)
    assert loaded.routing.problems(loaded.roster) == []
    [problem] = loaded.routing.problems(without)
    assert problem.startswith("routing rule #2 (hvac/boiler-house/*/*) needs gas, which nobody "
                              "on the hvac or facilities rotas has")


def test_roster_check_catches_a_tier_that_cannot_page(tmp_path: Path, capsys) -> None:
    journal = str(tmp_path / "j.sqlite")
    assert main(["--journal", journal, "roster", "import", str(ROSTER)]) == 0
    capsys.readouterr()
    # The shipped ladder and the shipped example roster pass together.
    assert main(["--journal", journal, "roster", "check", "--at",
                 "2026-11-23T03:00+01:00"]) == 0
    assert "no problems" in capsys.readouterr().out
    bad = tmp_path / "lead.toml"
    bad.write_text(LEAD_LADDER, encoding="utf-8")
    config = tmp_path / "settings.toml"
    config.write_text(f'ladder = "{bad.as_posix()}"\n', encoding="utf-8")
    assert main(["--journal", journal, "--config", str(config), "roster", "check", "--at",
                 "2026-11-23T03:00+01:00"]) == 1
    out = capsys.readouterr().out
    assert "tier 3 (on-call lead): group 'duty' has no 'lead' rotation" in out


def test_the_shipped_ladder_pages_every_tier_for_every_route() -> None:
    loaded = read_roster_file(ROSTER)
    assert tier_problems(load_ladder(), loaded.roster, loaded.routing) == []


@pytest.mark.parametrize("method", ["sms", "call", "sms+call"])
def test_a_contact_method_is_kept_by_the_roster_file(method: str) -> None:
    from app.services.roster import dump_roster_toml, load_roster_toml

    person = Contact.create("x.y", "X Y", primary_phone="+4930123456", method=method)
    base = roster()
    again = load_roster_toml(dump_roster_toml(Roster((*base.contacts, person), base.groups,
                                                     base.rotations)))
    assert again.roster.contact("x.y") == person


def test_the_ladder_starts_despite_one_member_without_a_number(
        tmp_path: Path, clock: FakeClock, twilio: TwilioStandIn,
        caplog: pytest.LogCaptureFixture) -> None:
    base = roster()
    people = tuple(replace(c, primary_phone="") if c.id == "alice" else c
                   for c in base.contacts)
    with caplog.at_level("WARNING", logger="app.services.escalation.service"):
        desk = _desk(tmp_path, clock, twilio, Roster(people, base.groups, base.rotations))
    try:
        assert "Alice Primary (network/primary) has no phone number" in caplog.text
        card_id = desk.register("P1")
        desk.service.run_due()
        steps = desk.service.state(card_id).steps
        assert steps[0].unreachable_reason == "Alice Primary has no phone number"
        assert steps[1].contact_id == "bob"  # the next tier at once
        assert len(sms_to(twilio, BOB)) == 1
    finally:
        desk.close()
