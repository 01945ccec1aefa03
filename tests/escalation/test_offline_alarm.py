"""No internet at all: the desk alarm with the person's numbers, cancelling and expiring the
pages queued while offline, and the customer's ETA message once someone accepts."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import ConfigError, ValidationError
from app.services.cards.customer_message import eta_message
from app.services.cards.timeline import describe
from app.services.escalation.ladder import parse_ladder
from app.services.escalation.offline_alarm import CANCELLED, EXPIRED, OfflinePaging
from app.services.roster import Roster
from tests.escalation.harness import (
    ALICE,
    BOB,
    DISPATCHER,
    LADDER_TOML,
    LadderDesk,
    build,
    ladder,
    make_pager,
    roster,
)
from tests.escalation.test_ladder_flow import calls_to, sms_to
from tests.twilio_standin import TwilioStandIn

ALICE_BACKUP = "+15551239001"


def closed_port_url() -> str:
    """A loopback address nothing listens on: every connection is refused, as with no link."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def alice_with_backup() -> Roster:
    base = roster()
    people = tuple(dataclasses.replace(c, backup_phone=ALICE_BACKUP) if c.id == "alice" else c
                   for c in base.contacts)
    return dataclasses.replace(base, contacts=people)


@pytest.fixture
def offline(tmp_path: Path, clock: FakeClock, twilio: TwilioStandIn,
            request: pytest.FixtureRequest) -> Iterator[tuple[LadderDesk, OfflinePaging]]:
    text = getattr(request, "param", LADDER_TOML)
    people = alice_with_backup()
    desk = build(tmp_path / "offline.sqlite", clock, closed_port_url(), twilio.account_sid,
                 twilio.auth_token, the_roster=people, the_ladder=ladder(text))
    yield desk, OfflinePaging(desk.journal, desk.service.ladder, lambda: people, clock)
    desk.close()


def link_returns(desk: LadderDesk, twilio: TwilioStandIn) -> None:
    desk.service.pager = make_pager(twilio.base_url, twilio.account_sid, twilio.auth_token)


def test_no_internet_raises_an_alarm_with_the_persons_numbers(offline, clock):
    desk, paging = offline
    card_id = desk.register("P1")
    assert paging.alarms() == []  # nothing tried yet: no reason to alarm
    desk.service.run_due()
    (alarm,) = paging.alarms()
    number = desk.journal.card(card_id)["number"]
    assert (alarm.card_id, alarm.number, alarm.tier) == (card_id, number, 1)
    assert (alarm.who, alarm.primary_phone, alarm.backup_phone) == (
        "Alice Primary", ALICE, ALICE_BACKUP)
    assert alarm.since == clock.now()
    assert ALICE in alarm.text() and ALICE_BACKUP in alarm.text()
    queued = paging.queued()
    assert sorted(p.channel for p in queued) == ["sms", "voice"]
    assert {p.to for p in queued} == {ALICE}


def test_alarm_moves_to_the_next_tier_keeping_since_and_clears_when_acknowledged(offline,
                                                                                 clock):
    desk, paging = offline
    card_id = desk.register("P1")
    start = clock.now()
    for _ in range(12):  # retries give up within tier 1's 40 s; tier 2 fires at once
        desk.service.run_due()
        clock.advance(5)
    (alarm,) = paging.alarms()
    assert alarm.tier >= 2 and alarm.primary_phone != ALICE
    assert alarm.since == start  # the link was lost for this card at its first page
    desk.cards.acknowledge(alarm.number, "Bob Backup", "phone", DISPATCHER)
    assert paging.alarms() == [] and paging.queued() == []
    assert desk.service.state(card_id).stopped == "acknowledged"


def test_an_http_error_is_not_no_internet(desk, twilio):
    twilio.fail_next(2, 500)
    desk.register("P1")
    desk.service.run_due()
    paging = OfflinePaging(desk.journal, desk.service.ladder, roster, desk.service.clock)
    assert paging.alarms() == []  # Twilio answered: the link is up, the ladder retries


def test_cancelled_pages_are_not_sent_when_the_link_returns(offline, twilio, clock):
    desk, paging = offline
    card_id = desk.register("P1")
    desk.service.run_due()
    number = desk.journal.card(card_id)["number"]
    assert paging.cancel(number, DISPATCHER.name) == 2
    assert paging.queued() == [] and paging.cancel(number, DISPATCHER.name) == 0
    link_returns(desk, twilio)
    clock.advance(5)  # the retry would have been due now
    desk.service.run_due()
    assert sms_to(twilio, ALICE) == [] and calls_to(twilio, ALICE) == []
    lines = [describe(e).title for e in desk.journal.entries(card_id)
             if e.kind == "ladder.page_cancelled"]
    assert len(lines) == 2 and all("cancelled, not sent" in line for line in lines)
    reasons = {e.payload["reason"] for e in desk.journal.entries(card_id)
               if e.kind == "ladder.page_cancelled"}
    assert reasons == {CANCELLED}
    # Cancelled is not acknowledged: the ladder moves on to the backup, who is reachable.
    assert len(sms_to(twilio, BOB)) == 1


def test_cancel_an_unknown_card_names_the_number(offline):
    _, paging = offline
    with pytest.raises(Exception, match="no card") as info:
        paging.cancel("Z-999", DISPATCHER.name)
    assert getattr(info.value, "field", None) == "number"


LONG_TIER = LADDER_TOML.replace('sms_validity = "5m"', 'sms_validity = "20s"').replace(
    'role = "primary"\nwait = "40s"', 'role = "primary"\nwait = "5m"')


@pytest.mark.parametrize("offline", [LONG_TIER], indirect=True)
def test_pages_older_than_the_validity_expire_instead_of_going_out_late(offline, twilio, clock):
    desk, paging = offline
    card_id = desk.register("P1")
    desk.service.run_due()
    clock.advance(15)
    assert paging.expire() == 0  # still valid
    desk.service.run_due()  # a retry, still offline
    clock.advance(6)  # 21 s after the page was written: past the 20 s validity
    assert paging.expire() == 2
    link_returns(desk, twilio)
    desk.service.run_due()
    assert sms_to(twilio, ALICE) == [] and calls_to(twilio, ALICE) == []
    reasons = {e.payload["reason"] for e in desk.journal.entries(card_id)
               if e.kind == "ladder.page_cancelled"}
    assert reasons == {EXPIRED}


def test_eta_message_needs_an_on_call_acceptance_and_uses_the_template(desk):
    card_id = desk.register("P1")
    number = desk.journal.card(card_id)["number"]
    the_ladder = desk.service.ladder
    with pytest.raises(ValidationError) as info:
        eta_message(desk.journal.entries(card_id), the_ladder)
    assert info.value.field == "acknowledged_by"
    desk.cards.acknowledge(number, "Alice Primary", "sms", DISPATCHER)
    assert eta_message(desk.journal.entries(card_id), the_ladder) == \
        "A technician is on the way, ETA 35 minutes."
    custom = parse_ladder(LADDER_TOML + '\n[customer]\neta_template = "On the way: {eta} min"'
                          '\ndefault_eta_minutes = 20\n')
    assert eta_message(desk.journal.entries(card_id), custom) == "On the way: 20 min"
    assert eta_message(desk.journal.entries(card_id), custom, 50) == "On the way: 50 min"
    with pytest.raises(ValidationError):
        eta_message(desk.journal.entries(card_id), custom, 0)


def test_an_acknowledgement_in_person_is_no_technician_on_the_way(desk):
    card_id = desk.register("P1")
    desk.cards.acknowledge(desk.journal.card(card_id)["number"], "Site guard", "in_person",
                           DISPATCHER)
    with pytest.raises(ValidationError):
        eta_message(desk.journal.entries(card_id), desk.service.ladder)


@pytest.mark.parametrize("section, field", [
    ('eta_template = "no placeholder"', "customer.eta_template"),
    ('eta_template = "ETA {minutes}"', "customer.eta_template"),
    ("default_eta_minutes = 0", "customer.default_eta_minutes"),
    ('colour = "red"', "customer"),
])
def test_a_bad_customer_section_is_refused_naming_the_key(section, field):
    with pytest.raises(ConfigError) as info:
        parse_ladder(LADDER_TOML + f"\n[customer]\n{section}\n")
    assert info.value.field == field


def test_the_shipped_ladder_has_the_domains_eta():
    from app.loaders import load_ladder

    shipped = load_ladder()
    assert shipped.eta_template.format(eta=shipped.default_eta_minutes) == \
        "A technician is on the way, ETA 35 minutes."


def test_a_desk_without_a_pager_alarms_for_every_running_ladder(offline, clock):
    desk, paging = offline
    desk.register("P1")
    desk.service.run_due()
    (alarm,) = paging.alarms(pager_missing=True)
    assert "no pager" in alarm.reason
