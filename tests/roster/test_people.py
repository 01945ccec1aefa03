"""Contacts in the one format (E.164 numbers), vacation overrides, and the setup warnings
(the two-contact rule, no working number, a role with nobody on call)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.errors import ValidationError
from app.services.roster import Contact, Group, Override, Roster

from .helpers import BERLIN, local, person, roster, rotation


@pytest.mark.parametrize("number", ["+4930123456", "+14155550123", "+2901234",
                                    "+123456789012345"])
def test_e164_numbers_are_accepted(number: str) -> None:
    assert Contact.create("a", "A", primary_phone=number).primary_phone == number


@pytest.mark.parametrize("number", ["004930123456", "+04930123456", "+49 30 123456x",
                                    "+1234567890123456", "+123456", "4930123456", "+49-"])
def test_numbers_that_are_not_e164_are_refused_naming_the_field(number: str) -> None:
    with pytest.raises(ValidationError) as err:
        Contact(id="a", name="A", role="", responsibilities="", primary_phone=number,
                backup_phone=None, messenger=None, availability="", vacation_replacement=None,
                skills=frozenset())
    assert err.value.field == "primary_phone"
    assert "E.164" in err.value.message and "+4930123456" in err.value.message


def test_typed_numbers_are_normalised_including_the_german_trunk_zero() -> None:
    c = Contact.create("a", " Anna ", primary_phone="+49 (0)30 123-456",
                       backup_phone="+1 (415) 555.0123", skills=[" Gas ", ""])
    assert (c.name, c.primary_phone, c.backup_phone) == ("Anna", "+4930123456", "+14155550123")
    assert c.skills == {"gas"}
    assert c.numbers == ("+4930123456", "+14155550123")


@pytest.mark.parametrize("values, field", [
    ({"id": "anna becker"}, "id"),
    ({"name": ""}, "name"),
    ({"name": "Anna\nBecker"}, "name"),
    ({"primary_phone": "", "backup_phone": "+4930123456"}, "primary_phone"),
    ({"backup_phone": "+4930111111"}, "backup_phone"),
    ({"vacation_replacement": "a"}, "vacation_replacement"),
    ({"skills": ["gas line"]}, "skills"),
])
def test_bad_contacts_are_refused_naming_the_field(values, field) -> None:
    kwargs = {"id": "a", "name": "Anna", "primary_phone": "+4930111111"} | values
    with pytest.raises(ValidationError) as err:
        Contact.create(**kwargs)
    assert err.value.field == field


def test_override_covers_a_vacation_mid_shift_and_hands_back() -> None:
    start, end = local(BERLIN, 2026, 7, 8, 12), local(BERLIN, 2026, 7, 10, 18)
    ros = roster([rotation("p", "power", "primary", "weekly", ["weber", "schulz"])],
                 [Override("weber", "fischer", start, end, "annual leave")])
    # weber holds the week from Monday 6 July 09:00 (week 27 of the anchor's cycle)
    assert ros.on_call("power", "primary", start - timedelta(seconds=1)).id == "weber"
    assert ros.on_call("power", "primary", start).id == "fischer"
    assert ros.on_call("power", "primary", end).id == "weber"
    now, nxt = ros.on_call_now_and_next("power", "primary", start + timedelta(hours=1))
    assert (now.contact.id, now.start, now.end) == ("fischer", start, end)
    assert (nxt.contact.id, nxt.start, nxt.end) == ("weber", end, local(BERLIN, 2026, 7, 13, 9))
    spans = ros.schedule("power", "primary", local(BERLIN, 2026, 7, 6), local(BERLIN, 2026, 7, 14))
    assert [s.contact.id for s in spans] == ["schulz", "weber", "fischer", "weber", "schulz"]


def test_override_without_replacement_uses_the_vacation_replacement() -> None:
    weber = person("weber", vacation_replacement="hoffmann")
    contacts = [weber, person("schulz"), person("hoffmann")]
    at = local(BERLIN, 2026, 7, 8, 12)
    ros = roster([rotation("p", "power", "primary", "weekly", ["weber", "schulz"])],
                 [Override("weber", None, at, at + timedelta(days=1))], contacts=contacts)
    assert ros.on_call("power", "primary", at).id == "hoffmann"


def test_override_without_anyone_to_cover_is_refused() -> None:
    at = local(BERLIN, 2026, 7, 8, 12)
    with pytest.raises(ValidationError) as err:
        roster([rotation("p", "power", "primary", "weekly", ["weber"])],
               [Override("weber", None, at, at + timedelta(days=1))])
    assert err.value.field == "replacement" and "override #1" in err.value.message


def test_chained_and_looping_overrides() -> None:
    at = local(BERLIN, 2026, 7, 8, 12)
    day = timedelta(days=1)
    chain = roster([rotation("p", "power", "primary", "weekly", ["weber"])],
                   [Override("weber", "schulz", at, at + day),
                    Override("schulz", "fischer", at, at + day)])
    assert chain.on_call("power", "primary", at).id == "fischer"
    loop = roster([rotation("p", "power", "primary", "weekly", ["weber"])],
                  [Override("weber", "schulz", at, at + day),
                   Override("schulz", "weber", at, at + day)])
    assert loop.on_call("power", "primary", at) is None
    assert any("nobody on call as primary" in w for w in loop.warnings(at - day))


@pytest.mark.parametrize("values, field", [
    ({"end": datetime(2026, 7, 1, tzinfo=UTC)}, "end"),
    ({"start": datetime(2026, 7, 1)}, "start"),
    ({"replacement_id": "weber"}, "replacement"),
])
def test_bad_overrides_are_refused(values, field) -> None:
    kwargs = {"person_id": "weber", "replacement_id": "schulz",
              "start": datetime(2026, 7, 2, tzinfo=UTC), "end": datetime(2026, 7, 3, tzinfo=UTC)}
    with pytest.raises(ValidationError) as err:
        Override(**(kwargs | values))
    assert err.value.field == field


def test_references_are_checked_naming_the_row() -> None:
    with pytest.raises(ValidationError) as err:
        Roster((person("a"),), (Group("power", "Power"),),
               (rotation("p", "power", "primary", "weekly", ["a", "ghost"]),))
    assert "rotation #1 ('p') members" in err.value.message and "'ghost'" in err.value.message
    with pytest.raises(ValidationError) as err:
        Roster((person("a"), person("a")))
    assert "contact #2" in err.value.message
    with pytest.raises(ValidationError) as err:
        roster([rotation("p", "power", "primary", "weekly", ["a"]),
                rotation("q", "power", "primary", "daily", ["a"])])
    assert err.value.field == "role"


def test_warnings_name_each_setup_problem() -> None:
    now = local(BERLIN, 2026, 7, 6, 12)
    contacts = [person("weber"), person("schulz"), person("fischer", phone=""),
                person("koch"), person("richter")]
    vacation = Override("schulz", "weber", local(BERLIN, 2026, 7, 8, 0),
                        local(BERLIN, 2026, 7, 9, 0))
    ros = roster(
        [rotation("pp", "power", "primary", "weekly", ["weber"]),
         rotation("pb", "power", "backup", "weekly", ["schulz"]),
         rotation("sp", "security", "primary", "daily", ["koch"],
                  anchor=date(2026, 7, 9), handoff=time(7, 30)),
         rotation("fp", "facilities", "primary", "weekly", ["fischer"])],
        [vacation], contacts=contacts, extra_groups=["network"])
    warnings = ros.warnings(now)
    text = "\n".join(warnings)
    assert "contact 'fischer' (Fischer) has no working number" in text
    assert "group 'security' has no backup rotation" in text
    assert "group 'facilities' has no backup rotation" in text
    assert "group 'network' has no primary rotation" in text
    assert "group 'network' has no backup rotation" in text
    # security's first shift starts Thursday 07:30: a gap exactly until then, in local time
    assert ("group 'security' has nobody on call as primary from Mon 2026-07-06 12:00 CEST "
            "to Thu 2026-07-09 07:30 CEST") in text
    # Weber covers backup Schulz's day off while already primary: the two-contact rule
    assert ("group 'power': 'weber' is both primary and backup from Wed 2026-07-08 00:00 CEST "
            "to Thu 2026-07-09 00:00 CEST") in text
    assert "group 'power' has nobody" not in text
    assert len(warnings) == 7


def test_a_half_hour_hole_is_found_not_sampled_away() -> None:
    now = local(BERLIN, 2026, 7, 6, 12)
    hole = Override("weber", "schulz", local(BERLIN, 2026, 7, 7, 10, 15),
                    local(BERLIN, 2026, 7, 7, 10, 45))
    ros = roster([rotation("pp", "power", "primary", "weekly", ["weber"]),
                  rotation("pb", "power", "backup", "weekly", ["koch"])],
                 [hole, Override("schulz", "weber", hole.start, hole.end)])
    gaps = [w for w in ros.warnings(now) if "nobody" in w]
    assert gaps == ["group 'power' has nobody on call as primary from Tue 2026-07-07 10:15 CEST "
                    "to Tue 2026-07-07 10:45 CEST; extend the rotation or fix the overrides"]


def test_a_clean_roster_has_no_warnings() -> None:
    ros = roster([rotation("pp", "power", "primary", "weekly", ["weber", "schulz"]),
                  rotation("pb", "power", "backup", "2/2", ["koch", "richter"])])
    assert ros.warnings(local(BERLIN, 2026, 3, 25)) == []
