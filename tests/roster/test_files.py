"""CSV and TOML round trips, and bad files refused whole, naming the place and the field,
with the desk's roster file left exactly as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.adapters.roster_store import DEFAULT_EXAMPLE, DeskRoster, roster_path_for
from app.cli import main
from app.errors import ConfigError, DeskError, ValidationError
from app.services.roster import (
    Contact,
    dump_contacts_csv,
    dump_roster_toml,
    load_contacts_csv,
    load_roster_toml,
)

EXAMPLE = DEFAULT_EXAMPLE.read_text(encoding="utf-8")


def test_toml_round_trip_of_the_example_keeps_everything() -> None:
    first = load_roster_toml(EXAMPLE)
    again = load_roster_toml(dump_roster_toml(first.roster, first.routing))
    assert again == first
    assert len(first.roster.contacts) >= 20 and len(first.routing.rules) >= 10
    assert {r.pattern for r in first.roster.rotations} >= {"weekly", "2/2", "1-in-3"}
    assert {g.name for g in first.roster.groups} >= {"power", "network", "hvac", "security",
                                                     "facilities"}
    assert first.roster.overrides and first.routing.sites


def test_toml_round_trip_keeps_awkward_text() -> None:
    odd = Contact.create("x", 'Zoë "Z" O\'Brien \\ Ünal', responsibilities="line one\nline two",
                         primary_phone="+4930123456", skills=["a.b", "c-d"])
    base = load_roster_toml(EXAMPLE)
    roster = type(base.roster)(base.roster.contacts + (odd,), base.roster.groups,
                               base.roster.rotations, base.roster.overrides)
    assert load_roster_toml(dump_roster_toml(roster, base.routing)).roster == roster


def test_csv_round_trip_of_the_example_contacts() -> None:
    contacts = list(load_roster_toml(EXAMPLE).roster.contacts)
    text = dump_contacts_csv(contacts)
    assert load_contacts_csv(text) == contacts
    assert load_contacts_csv("\ufeff" + text + "\n,,,,,,,,,\n") == contacts  # Excel's BOM


TOML_MISTAKES = [
    ('primary_phone = "+447700900100"', 'primary_phone = "0170 1234567"',
     "line 36, [[contact]] #1: primary_phone '01701234567' is not an E.164 number",
     "primary_phone"),
    ('pattern = "1-in-3"', 'pattern = "1-in-4"', "[[rotation]] #3: pattern '1-in-4' is unknown",
     "pattern"),
    ('members = ["l.klein", "d.wolf", "k.neumann"]', 'members = ["l.klein", "d.wolf", "nobody"]',
     "[[rotation]] #3: rotation #3 ('network-primary') members: unknown contact id 'nobody'",
     "members"),
    ('anchor = 2026-01-01\nhandoff = 08:00:00', 'anchor = "first of January"\nhandoff = 08:00:00',
     "[[rotation]] #3: key 'anchor' value 'first of January' cannot be read", "anchor"),
    ('reason = "annual leave"', 'reason = "annual leave"\nreplacment = "d.wolf"',
     "[[override]] #1: unknown key 'replacment'", "replacment"),
    ('start = 2026-12-21T08:00:00+01:00', 'start = 2026-12-21T08:00:00',
     "[[override]] #1: start 2026-12-21T08:00:00 has no time zone", "start"),
    ('band = "working"\ngroup = "network"\nmethod = "sms"',
     'band = "lunch"\ngroup = "network"\nmethod = "sms"',
     "[[route]] #9: band 'lunch' is unknown", "band"),
    ('start = "06:00"', 'start = "6 am"', "[[site]] #1: start = '6 am' is invalid", "start"),
    ('[[group]]\nname = "duty"', '[[grup]]\nname = "duty"', "unknown section 'grup'", "grup"),
    # Names are printed on sheets, terminals and pages: no escape sequences, one line.
    ('name = "Jonas Weber"', 'name = "Jonas\\u001b[2J Weber"',
     "line 36, [[contact]] #1: key 'name' holds the control character \\x1b; remove it", "name"),
    ('name = "Jonas Weber"', 'name = "Jonas\\nWeber"',
     "[[contact]] #1: key 'name' must be one line", "name"),
    ('members = ["l.klein", "d.wolf", "k.neumann"]',
     'members = ["l.klein", "d.wolf\\r", "k.neumann"]',
     "[[rotation]] #3: key 'members' holds the control character \\x0d", "members"),
]


@pytest.mark.parametrize("old, new, message, field", TOML_MISTAKES)
def test_bad_toml_is_refused_naming_line_section_and_field(tmp_path: Path, old, new, message,
                                                          field) -> None:
    desk = DeskRoster(tmp_path / "desk.roster.toml")
    desk.import_file(DEFAULT_EXAMPLE)
    before = desk.path.read_bytes()
    assert old in EXAMPLE
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DeskError) as err:
        desk.import_file(bad)
    assert str(bad) in err.value.message
    assert message in err.value.message
    assert err.value.field == field
    assert desk.path.read_bytes() == before  # nothing changed on disk
    assert desk.roster == load_roster_toml(EXAMPLE).roster  # nor in memory


def test_line_numbers_point_at_the_section(tmp_path: Path) -> None:
    lines = EXAMPLE.splitlines()
    bad = EXAMPLE.replace('pattern = "2/2"', 'pattern = "3/3"', 1)
    with pytest.raises(ValidationError) as err:
        load_roster_toml(bad, source="r.toml")
    line = int(err.value.message.split(" line ")[1].split(",")[0])
    assert lines[line - 1] == "[[rotation]]"
    assert lines[line + 1] == 'group = "hvac"'


def test_broken_toml_syntax_is_refused_with_its_line() -> None:
    with pytest.raises(ConfigError) as err:
        load_roster_toml('[[contact]]\nid = "a"\nname = "A\n', source="r.toml")
    assert "r.toml: not valid TOML" in err.value.message and "line 3" in err.value.message


CSV_HEADER = ("id,name,role,responsibilities,primary_phone,backup_phone,messenger,"
              "availability,vacation_replacement,skills\n")


@pytest.mark.parametrize("body, message, field", [
    ("a,Anna,,,+4930123456,,,,,\nb,Ben,,,+49 30 12,,,,,\n",
     "row 3: primary_phone '+493012' is not an E.164 number", "primary_phone"),
    ("a,Anna,,,+4930123456,,,,,\na,Anne,,,+4930654321,,,,,\n",
     "row 3: id 'a' repeats row 2", "id"),
    ("a,Anna,,,+4930123456,,,,\n", "row 2: has 9 cells but the header has 10", None),
    ("a,,,,+4930123456,,,,,\n", "row 2: name is empty", "name"),
    ("a,Anna,,,+4930123456,,,,,gas line\n", "row 2: skills tag 'gas line' is not valid",
     "skills"),
])
def test_bad_csv_is_refused_naming_the_row_and_field(tmp_path: Path, body, message,
                                                    field) -> None:
    desk = DeskRoster(tmp_path / "desk.roster.toml")
    desk.import_file(DEFAULT_EXAMPLE)
    before = desk.path.read_bytes()
    bad = tmp_path / "people.csv"
    bad.write_text(CSV_HEADER + body, encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        desk.import_file(bad)
    assert f"{bad} {message}" in err.value.message
    assert err.value.field == field
    assert desk.path.read_bytes() == before


def test_csv_with_a_wrong_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_contacts_csv("id,name,phone\n", source="p.csv")
    assert err.value.message.startswith("p.csv row 1: header must be id,name,role")
    assert "missing role" in err.value.message and "unknown phone" in err.value.message


def test_csv_import_updates_and_adds_but_refuses_removing_someone_on_a_rota(
        tmp_path: Path) -> None:
    desk = DeskRoster(tmp_path / "desk.roster.toml")
    desk.import_file(DEFAULT_EXAMPLE)
    people = tmp_path / "people.csv"
    people.write_text(CSV_HEADER + "j.weber,Jonas Weber,L3 electrician,,+4930999999,,,,,hv\n"
                      "z.new,Zoe New,L1,,+4930888888,,,,,\n", encoding="utf-8")
    assert desk.import_file(people).endswith("1 contacts updated, 1 added")
    assert desk.roster.contact("j.weber").role == "L3 electrician"
    assert desk.roster.contact("z.new") is not None
    assert DeskRoster(desk.path).roster == desk.roster  # it is on disk
    before = desk.path.read_bytes()
    with pytest.raises(ValidationError) as err:
        desk.import_file(people, replace_contacts=True)  # would drop everyone else
    assert "do not fit the roster" in err.value.message and "unknown contact id" in str(err.value)
    assert desk.path.read_bytes() == before


def test_store_sits_next_to_the_journal_and_a_missing_file_is_an_empty_roster(
        tmp_path: Path) -> None:
    path = roster_path_for(tmp_path / "journal.sqlite")
    assert path == tmp_path / "journal.roster.toml"
    desk = DeskRoster(path)
    assert desk.roster.contacts == () and not desk.exists
    assert desk.warnings(datetime(2026, 11, 23, tzinfo=UTC))[0].startswith("no roster at")


def test_refresh_picks_up_an_edit_and_keeps_the_last_good_roster_on_a_bad_one(
        tmp_path: Path) -> None:
    desk = DeskRoster(tmp_path / "desk.roster.toml")
    desk.import_file(DEFAULT_EXAMPLE)
    assert desk.refresh() is False
    desk.path.write_text(EXAMPLE.replace("Jonas Weber", "Jonas Weber-Lang"), encoding="utf-8")
    assert desk.refresh() is True and desk.roster.contact("j.weber").name == "Jonas Weber-Lang"
    good = desk.roster
    desk.path.write_text(EXAMPLE.replace('tz = "Europe/Berlin"', 'tz = "Berlin"', 1),
                         encoding="utf-8")
    with pytest.raises(ValidationError):
        desk.refresh()
    assert desk.roster is good


def test_a_binary_roster_file_is_refused_naming_it(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "photo.toml"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    with pytest.raises(ConfigError, match="photo.toml: is not UTF-8 text"):
        DeskRoster(tmp_path / "desk.roster.toml").import_file(bad)
    code, _, err = run(tmp_path, capsys, "import", str(bad))
    assert code == 1 and err.startswith("dispatch-desk: error: ") and err.count("\n") == 1
    assert "photo.toml: is not UTF-8 text; save it as UTF-8" in err


def test_unknown_file_types_are_refused(tmp_path: Path) -> None:
    desk = DeskRoster(tmp_path / "desk.roster.toml")
    (tmp_path / "r.xlsx").write_bytes(b"PK")
    with pytest.raises(ValidationError, match="unknown file type '.xlsx'"):
        desk.import_file(tmp_path / "r.xlsx")
    with pytest.raises(ValidationError, match="unknown file type"):
        desk.export_file(tmp_path / "r.json")
    assert not desk.exists


def run(tmp_path: Path, capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--journal", str(tmp_path / "journal.sqlite"), "roster", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_show_check_export(tmp_path: Path, capsys) -> None:
    code, out, _ = run(tmp_path, capsys, "import", str(DEFAULT_EXAMPLE))
    assert code == 0 and "28 contacts, 6 groups, 12 rotations, 2 overrides" in out
    assert (tmp_path / "journal.roster.toml").exists()
    code, out, _ = run(tmp_path, capsys, "show", "--at", "2026-03-29T09:30+02:00")
    assert code == 0
    assert "power primary       now: Tobias Fischer +447700900104 until Mon 30.03 09:00" in out
    assert "next: Jonas Weber +447700900100 from Mon 30.03 09:00" in out
    code, out, _ = run(tmp_path, capsys, "show", "--json", "--at", "2026-12-22T12:00Z")
    assert code == 0
    import json

    rows = {(r["group"], r["role"]): r for r in json.loads(out)["on_call"]}
    network = rows[("network", "primary")]
    assert network["now"]["id"] == "d.wolf"  # covering Lena Klein's Christmas leave
    assert network["now"]["until"] == "2026-12-23T08:00:00+01:00"
    code, out, _ = run(tmp_path, capsys, "check", "--at", "2026-11-23T09:00Z")
    assert code == 0 and "no problems" in out
    code, out, _ = run(tmp_path, capsys, "export", str(tmp_path / "out.csv"))
    assert code == 0
    assert load_contacts_csv((tmp_path / "out.csv").read_text()) == list(
        load_roster_toml(EXAMPLE).roster.contacts)
    code, out, _ = run(tmp_path, capsys, "export", str(tmp_path / "out.toml"))
    assert load_roster_toml((tmp_path / "out.toml").read_text()) == load_roster_toml(EXAMPLE)


def test_cli_check_reports_warnings_with_exit_status_one(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "thin.toml"
    bad.write_text(EXAMPLE.replace('role = "backup"', 'role = "lead"', 1)
                   .replace('primary_phone = "+447700900104"\n', ""), encoding="utf-8")
    assert run(tmp_path, capsys, "import", str(bad))[0] == 0
    code, out, _ = run(tmp_path, capsys, "check", "--at", "2026-11-23T09:00Z")
    assert code == 1
    assert "warning: group 'power' has no backup rotation" in out
    assert "warning: contact 't.fischer' (Tobias Fischer) has no working number" in out


def test_cli_refuses_bad_input_in_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run(tmp_path, capsys, "show", "--at", "tomorrow")
    assert code == 1 and err.startswith("dispatch-desk: error: --at 'tomorrow' is not an ISO")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[contact]]\nid = 'a'\n", encoding="utf-8")
    code, _, err = run(tmp_path, capsys, "import", str(bad))
    assert code == 1 and "[[contact]] #1: missing key 'name'" in err
    assert not (tmp_path / "journal.roster.toml").exists()
