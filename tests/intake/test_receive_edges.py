"""`receive` is one transaction and names the bad field; keys are kept only as hashes; a
script's `--dedup-key` meets an alert's item."""

from __future__ import annotations

import pytest

from app.application import Desk
from app.clock import FakeClock
from app.errors import ValidationError
from app.services.intake import by_key
from tests.intake.helpers import alert

FIELDS = {"category": "network", "site": "HQ", "symptom": "switch down", "impact": "high",
          "urgency": "medium", "priority_reason": "floor 2 offline", "q_what": "no network",
          "q_where": "HQ floor 2", "q_when": "09:50", "q_workaround": "none",
          "q_contact": "J. Weber"}


def test_a_bad_alert_in_a_batch_names_its_field_and_writes_nothing(desk: Desk,
                                                                   clock: FakeClock):
    before = len(list(desk.journal.all_entries()))
    with pytest.raises(ValidationError) as err:
        desk.intake.receive([alert(clock), alert(clock, key="x" * 400)], "door")
    assert err.value.field == "dedup_key"
    assert len(list(desk.journal.all_entries())) == before
    with pytest.raises(ValidationError) as err:
        desk.intake.receive([alert(clock, summary="two\nlines")], "door")
    assert err.value.field == "summary"


def test_the_same_alert_twice_in_one_batch_is_one_item(desk: Desk, clock: FakeClock):
    outcomes = desk.intake.receive([alert(clock), alert(clock)], "door")
    assert [o.action for o in outcomes] == ["new", "repeat"]
    (item,) = desk.intake.pending()
    assert item.count == 2


def test_a_key_is_found_by_its_hash_only(desk: Desk):
    found, key = desk.intake.setup.add_integration("webhook", "nagios", desk.operator,
                                                   site="HQ")
    assert found.key_hash != key and len(found.key_hash) == 64
    known = desk.intake.setup.integrations()
    assert by_key(known, key) == found and by_key(known, key + "x") is None
    desk.intake.setup.revoke_integration("nagios", "moved to Alertmanager", desk.operator)
    assert by_key(desk.intake.setup.integrations(), key).revoked  # type: ignore[union-attr]
    with pytest.raises(ValidationError) as err:
        desk.intake.setup.revoke_integration("nagios", "again", desk.operator)
    assert err.value.field == "name"
    with pytest.raises(ValidationError) as err:
        desk.intake.setup.add_integration("heartbeat", "cron", desk.operator)
    assert err.value.field == "every_min"


def test_integration_defaults_fill_what_the_alert_and_rules_leave(desk: Desk,
                                                                  clock: FakeClock):
    desk.intake.setup.add_integration("alertmanager", "am-plant", desk.operator,
                                      category="power", site="Plant 2")
    desk.intake.receive([alert(clock, integration="am-plant", site="", summary="UPS alarm")],
                        "door")
    (item,) = desk.intake.pending()
    assert (item.site, item.category) == ("Plant 2", "power")


def test_a_script_card_with_the_key_of_a_pending_alert_takes_that_item(desk: Desk,
                                                                       clock: FakeClock):
    desk.intake.receive([alert(clock, key="sw-2")], "door")
    card, repeat = desk.intake.register_card(FIELDS, desk.operator, "sw-2")
    assert not repeat and desk.intake.pending() == []
    assert desk.intake.items()[0].number == card.number
    again, repeat = desk.intake.register_card(FIELDS, desk.operator, "sw-2")
    assert repeat and again.id == card.id
    with pytest.raises(ValidationError) as err:
        desk.intake.register_card(FIELDS, desk.operator, "  ")
    assert err.value.field == "dedup_key"
