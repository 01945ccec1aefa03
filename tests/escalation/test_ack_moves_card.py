"""Issue 12, "an acknowledgement does not move the card": the paged person who acknowledges
(SMS reply, key press, or the dispatcher recording it) becomes the assignee and the card
goes In progress, written as the usual entries with ids derived from the acknowledgement."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError
from app.models.projection import fold
from app.protocol.catalogue import check_payload
from app.services.escalation.inbound import entries_for_ack
from tests.escalation.harness import ALICE, DISPATCHER, LadderDesk, build, roster
from tests.twilio_standin import TwilioStandIn


def _card(desk: LadderDesk, card_id: str) -> dict:
    return desk.journal.card(card_id)


def _followups(desk: LadderDesk, card_id: str) -> list[tuple[str, dict]]:
    return [(e.kind, e.payload) for e in desk.journal.entries(card_id)
            if e.kind in ("card.fields", "card.status")]


def test_an_sms_acknowledgement_assigns_the_person_and_starts_work(
        desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    code = desk.service.state(card_id).steps[0].code
    twilio.simulate_reply(ALICE, f"{code}")
    desk.service.poll()
    card = _card(desk, card_id)
    assert card["acknowledged_by"] == "Alice Primary"
    assert card["assignee"] == "Alice Primary"
    assert card["status"] == "in_progress"
    assert card["in_progress_at"] == card["acknowledged_at"]
    # A second poll, a restart or another desk writes nothing more.
    desk.service.poll()
    desk.service.run_due()
    assert len(_followups(desk, card_id)) == 2


def test_a_key_press_acknowledgement_moves_the_card(desk: LadderDesk,
                                                    twilio: TwilioStandIn) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    call_sid = desk.service.state(card_id).steps[0].channels["voice"].sid
    twilio.simulate_call_result(str(call_sid), "completed-pressed-1")
    desk.service.poll()
    card = _card(desk, card_id)
    assert (card["assignee"], card["status"]) == ("Alice Primary", "in_progress")


def test_an_acknowledgement_recorded_by_the_dispatcher_moves_the_card(
        desk: LadderDesk, twilio: TwilioStandIn, clock) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    clock.advance(41)  # tier 2: Bob is paged
    desk.service.run_due()
    number = _card(desk, card_id)["number"]
    desk.cards.acknowledge(number, "Bob Backup", "phone", DISPATCHER)
    desk.service.run_due()
    card = _card(desk, card_id)
    assert (card["assignee"], card["status"]) == ("Bob Backup", "in_progress")
    assert len(twilio.requests_to("POST", "/Messages.json")) == 2  # the ladder stopped


def test_an_ack_for_someone_the_ladder_never_paged_leaves_the_owner_to_the_dispatcher(
        desk: LadderDesk) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    desk.cards.acknowledge(_card(desk, card_id)["number"], "Somebody Else", "phone",
                           DISPATCHER)
    desk.service.run_due()
    card = _card(desk, card_id)
    assert card["assignee"] is None and card["status"] == "registered"


def test_a_later_manual_assignee_is_not_overwritten(desk: LadderDesk,
                                                    twilio: TwilioStandIn) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    twilio.simulate_reply(ALICE, "1")
    desk.service.poll()
    number = _card(desk, card_id)["number"]
    desk.cards.update_fields(number, {"assignee": "Contractor Ltd"}, DISPATCHER)
    desk.service.poll()
    desk.service.run_due()
    assert _card(desk, card_id)["assignee"] == "Contractor Ltd"


def test_the_followups_are_deterministic_and_pass_the_catalogue(
        desk: LadderDesk, twilio: TwilioStandIn) -> None:
    card_id = desk.register("P1")
    desk.service.run_due()
    twilio.simulate_reply(ALICE, "1")
    desk.service.poll()  # the assignee and In progress are written next to the ack
    entries = desk.journal.entries(card_id)
    written = [(e.id, e.kind, e.payload) for e in entries
               if e.kind in ("card.fields", "card.status") and e.operator == "ladder"]
    assert [k for _, k, _ in written] == ["card.fields", "card.status"]
    # A desk that saw only the ack (another desk, a restart) settles the very same facts.
    before = [e for e in entries if e.id not in {i for i, _, _ in written}]
    first, second = entries_for_ack(fold(before), before), entries_for_ack(fold(before), before)
    assert [(e.id, e.kind, e.payload) for e in first] == written
    assert [(e.id, e.kind, e.payload) for e in second] == written
    for e in first:
        check_payload(e.kind, e.card_id, e.payload, entries[-1].hlc)
    desk.journal.write(first, "ladder")
    desk.journal.write(second, "ladder")
    assert len(_followups(desk, card_id)) == 2


def test_a_ladder_tier_without_a_rotation_refuses_to_start(tmp_path: Path, clock,
                                                           twilio: TwilioStandIn) -> None:
    with pytest.raises(ConfigError) as err:
        build(tmp_path / "j.sqlite", clock, twilio.base_url, twilio.account_sid,
              twilio.auth_token, the_roster=roster(lead=False))
    assert "group 'network' has no 'lead' rotation" in err.value.message
