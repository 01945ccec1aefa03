"""The contact method ("sms+call", "call", "sms") in the roster's two file formats: kept by
a round trip, optional in CSV (older exports have no column), refused naming the field."""

from __future__ import annotations

import pytest

from app.errors import ValidationError
from app.services.roster import dump_contacts_csv, load_contacts_csv, load_roster_toml
from tests.roster.helpers import person

OLD_HEADER = ("id,name,role,responsibilities,primary_phone,backup_phone,messenger,availability,"
              "vacation_replacement,skills\n")


def test_a_csv_without_the_method_column_still_loads() -> None:
    [contact] = load_contacts_csv(OLD_HEADER + "a.b,A B,,,+4930123456,,,,,gas\n")
    assert contact.method == "sms+call"


def test_the_csv_keeps_the_method() -> None:
    people = [person("a.b", method="sms"), person("c.d", method="call"), person("e.f")]
    assert load_contacts_csv(dump_contacts_csv(people)) == people


def test_an_unknown_method_is_refused_naming_the_row_and_field() -> None:
    text = OLD_HEADER.replace("skills\n", "skills,method\n") + \
        "a.b,A B,,,+4930123456,,,,,,pager\n"
    with pytest.raises(ValidationError, match=r"row 2: method 'pager' is unknown; use one of "
                       r"sms\+call, call, sms") as info:
        load_contacts_csv(text)
    assert info.value.field == "method"


def test_the_roster_file_reads_the_method() -> None:
    loaded = load_roster_toml('[[contact]]\nid = "a.b"\nname = "A B"\n'
                              'primary_phone = "+4930123456"\nmethod = "SMS"\n')
    assert loaded.roster.contacts[0].method == "sms"
    with pytest.raises(ValidationError, match=r"\[\[contact\]\] #1: method 'fax' is unknown"):
        load_roster_toml('[[contact]]\nid = "a.b"\nname = "A B"\nmethod = "fax"\n')
