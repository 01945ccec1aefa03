"""The routing matrix: category x site x time band x priority -> one person, skills narrow
the choice, and whatever it cannot settle goes to the duty coordinator with 10 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from app.errors import ValidationError
from app.loaders import load_rules
from app.services.cards.calendar import OperatingHours
from app.services.roster import (
    COORDINATOR_DEADLINE,
    Route,
    RoutingMatrix,
    Rule,
    TimeBand,
    load_roster_toml,
    time_band,
)

from .helpers import BERLIN, NEW_YORK, local, person, roster, rotation

HOURS = load_rules().business_hours  # the shipped policies: Mon-Fri 08-18 Berlin, holidays


def rule(group: str, category: str = "*", site: str = "*", band: str = "*",
         priority: str = "*", *, skills: tuple[str, ...] = (), backup: str | None = None,
         method: str = "sms+call") -> Rule:
    return Rule(category, site, band, priority, Route(group, backup, method, frozenset(skills)))


def test_bands_follow_the_policies_operating_hours_and_holidays() -> None:
    assert time_band(local(BERLIN, 2026, 11, 23, 10), HOURS) is TimeBand.WORKING
    assert time_band(local(BERLIN, 2026, 11, 23, 7, 59), HOURS) is TimeBand.NIGHT
    assert time_band(local(BERLIN, 2026, 11, 23, 18), HOURS) is TimeBand.NIGHT
    assert time_band(local(BERLIN, 2026, 11, 28, 10), HOURS) is TimeBand.WEEKEND
    assert time_band(local(BERLIN, 2026, 12, 24, 10), HOURS) is TimeBand.HOLIDAY  # Thursday
    assert time_band(local(BERLIN, 2026, 12, 26, 3), HOURS) is TimeBand.HOLIDAY  # Saturday
    # 06:30 UTC is 08:30 in Berlin after the spring change (working), 07:30 before (night)
    assert time_band(datetime(2026, 3, 30, 6, 30, tzinfo=UTC), HOURS) is TimeBand.WORKING
    assert time_band(datetime(2026, 3, 23, 6, 30, tzinfo=UTC), HOURS) is TimeBand.NIGHT


@pytest.fixture
def desk_roster():
    contacts = [person("weber", skills=["hv"]), person("schulz"), person("koch", skills=["gas"]),
                person("lange", skills=["gas", "bms"]), person("braun", skills=["plumbing"]),
                person("vogel"), person("novak")]
    return roster([rotation("pp", "power", "primary", "weekly", ["weber"]),
                   rotation("pb", "power", "backup", "weekly", ["schulz"]),
                   rotation("hp", "hvac", "primary", "weekly", ["koch"]),
                   rotation("hb", "hvac", "backup", "weekly", ["vogel"]),
                   rotation("fp", "facilities", "primary", "weekly", ["braun"]),
                   rotation("fb", "facilities", "backup", "weekly", ["lange"])],
                  contacts=contacts)


MATRIX = RoutingMatrix((
    rule("power", "power"),
    rule("facilities", "power", band="night", priority="P4", method="sms"),
    rule("hvac", "hvac", backup="facilities"),
    rule("hvac", "hvac", site="Boiler-House", skills=("gas",), backup="facilities"),
    rule("facilities", "water", skills=("plumbing", "gas")),
    rule("hvac", "security", band="holiday"),
))


def test_category_site_band_and_priority_pick_the_most_specific_rule(desk_roster) -> None:
    monday = local(BERLIN, 2026, 11, 23, 10)
    night = local(BERLIN, 2026, 11, 23, 23)
    d = MATRIX.route("power", "HQ", monday, "P1", roster=desk_roster, hours=HOURS)
    assert (d.contact.id, d.rotation_role, d.group, d.band) == ("weber", "primary", "power",
                                                                TimeBand.WORKING)
    assert d.backup.id == "schulz" and d.route.method == "sms+call" and not d.to_coordinator
    assert d.rule_number == 1 and "rule #1" in d.reason
    d = MATRIX.route("power", "HQ", night, "P4", roster=desk_roster, hours=HOURS)
    assert (d.contact.id, d.route.method, d.rule_number) == ("braun", "sms", 2)
    d = MATRIX.route("POWER", "hq", night, "p3", roster=desk_roster, hours=HOURS)
    assert d.rule_number == 1  # case-blind, and P3 is not the P4 night rule
    d = MATRIX.route("hvac", "boiler-house", monday, "P2", roster=desk_roster, hours=HOURS)
    assert d.rule_number == 4


def test_skill_tags_narrow_the_choice_to_a_qualified_person(desk_roster) -> None:
    at = local(BERLIN, 2026, 11, 23, 10)
    d = MATRIX.route("hvac", "Boiler-House", at, "P1", roster=desk_roster, hours=HOURS)
    assert d.contact.id == "koch" and d.backup.id == "lange"  # vogel lacks gas: skipped
    assert "hvac/backup 'vogel' lacks gas" not in d.reason  # koch was first: nothing skipped
    off = roster([rotation("hp", "hvac", "primary", "weekly", ["vogel"]),
                  rotation("hb", "hvac", "backup", "weekly", ["novak"]),
                  rotation("fp", "facilities", "primary", "weekly", ["lange"]),
                  rotation("fb", "facilities", "backup", "weekly", ["braun"])],
                 contacts=[person("vogel"), person("novak"), person("lange", skills=["gas"]),
                           person("braun")])
    d = MATRIX.route("hvac", "Boiler-House", at, "P1", roster=off, hours=HOURS)
    assert (d.contact.id, d.group, d.rotation_role) == ("lange", "facilities", "primary")
    assert d.backup is None
    assert "hvac/primary 'vogel' lacks gas; hvac/backup 'novak' lacks gas" in d.reason


def test_nobody_qualified_goes_to_the_duty_coordinator_with_ten_minutes(desk_roster) -> None:
    at = local(BERLIN, 2026, 11, 23, 10)
    d = MATRIX.route("water", "HQ", at, "P1", roster=desk_roster, hours=HOURS)
    assert d.to_coordinator and d.contact is None and d.backup is None
    assert d.owner_deadline == at + timedelta(minutes=10) == at + COORDINATOR_DEADLINE
    assert "'braun' lacks gas" in d.reason and "duty coordinator" in d.reason
    assert d.route is not None and d.route.group == "facilities"  # what the matrix intended


def test_no_matching_rule_goes_to_the_duty_coordinator(desk_roster) -> None:
    weekday = local(BERLIN, 2026, 11, 23, 10)
    d = MATRIX.route("security", "HQ", weekday, "P1", roster=desk_roster, hours=HOURS)
    assert d.to_coordinator and d.route is None and d.rule_number is None
    assert d.owner_deadline == weekday + COORDINATOR_DEADLINE
    assert "no routing rule for category 'security', site 'HQ', working, P1" in d.reason
    christmas = local(BERLIN, 2026, 12, 25, 10)
    d = MATRIX.route("security", "HQ", christmas, "P1", roster=desk_roster, hours=HOURS)
    assert d.band is TimeBand.HOLIDAY and d.contact.id == "koch"


def test_a_group_with_nobody_on_call_goes_to_the_coordinator() -> None:
    empty = roster([rotation("pp", "power", "primary", "weekly", ["weber"],
                             anchor=datetime(2027, 1, 4).date())])
    at = local(BERLIN, 2026, 11, 23, 10)
    d = MATRIX.route("power", "HQ", at, "P1", roster=empty, hours=HOURS)
    assert d.to_coordinator and "no power/primary on call; no power/backup on call" in d.reason


def test_site_hours_in_the_matrix_beat_the_desk_hours(desk_roster) -> None:
    ny = OperatingHours(always=False, tz="America/New_York")
    matrix = RoutingMatrix((rule("power", "power", band="working"),
                            rule("facilities", "power", band="night")), {"NYC": ny})
    at = local(NEW_YORK, 2026, 11, 23, 7)  # 13:00 in Berlin, 07:00 in New York
    assert matrix.route("power", "HQ", at, "P2", roster=desk_roster, hours=HOURS).group == "power"
    d = matrix.route("power", "nyc", at, "P2", roster=desk_roster, hours=HOURS)
    assert (d.band, d.group) == (TimeBand.NIGHT, "facilities")


def test_the_tz_and_holidays_form_still_routes(desk_roster) -> None:
    at = local(BERLIN, 2026, 12, 24, 10)
    d = MATRIX.route("security", "HQ", at, "P1", "Europe/Berlin",
                     frozenset({at.date()}), roster=desk_roster, working_start=time(7))
    assert d.band is TimeBand.HOLIDAY and d.contact.id == "koch"
    with pytest.raises(ValidationError):
        MATRIX.route("power", "HQ", at, "P1", roster=desk_roster)


@pytest.mark.parametrize("make, field", [
    (lambda: rule("power", band="evening"), "band"),
    (lambda: rule("power", priority="P5"), "priority"),
    (lambda: rule("power", method="pigeon"), "method"),
    (lambda: rule("power", skills=("gas line",)), "skills"),
    (lambda: rule("power", backup="power"), "backup_group"),
    (lambda: rule("po wer"), "group"),
])
def test_bad_rules_are_refused_naming_the_field(make, field) -> None:
    with pytest.raises(ValidationError) as err:
        make()
    assert err.value.field == field


def test_problems_name_unknown_groups_and_categories(desk_roster) -> None:
    matrix = RoutingMatrix((rule("power", "power"), rule("plumbing", "water"),
                            rule("power", "telepathy")))
    problems = matrix.problems(desk_roster, frozenset({"power", "water"}))
    assert problems == [
        "routing rule #2 names group 'plumbing', which the roster does not have; add the "
        "group or fix the name",
        "routing rule #3 names category 'telepathy', which the dispatch rules do not have; "
        "use one of power, water",
    ]


def test_the_example_roster_routes_a_boiler_house_gas_job_and_an_unowned_night_card() -> None:
    from app.adapters.roster_store import DEFAULT_EXAMPLE

    example = load_roster_toml(DEFAULT_EXAMPLE.read_text(encoding="utf-8"))
    at = local(BERLIN, 2026, 11, 24, 2)  # Tuesday night
    d = example.routing.route("hvac", "Boiler-House", at, "P1", roster=example.roster,
                              hours=HOURS)
    assert d.contact is not None and "gas" in d.contact.skills
    d = example.routing.route("business_system", "HQ", at, "P2", roster=example.roster,
                              hours=HOURS)
    assert d.to_coordinator and d.owner_deadline == at + timedelta(minutes=10)
    categories = frozenset(c.key for c in load_rules().categories)
    assert example.routing.problems(example.roster, categories) == []
