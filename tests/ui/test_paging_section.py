"""The card's paging section: the group's on-call people now, and the ladder as the real
ladder (the Twilio stand-in behind it) left it; the acknowledgement dialog offers the
primary's name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.adapters.roster_store import DEFAULT_EXAMPLE
from app.bootstrap import build_escalation, twilio_pager_from
from app.services.cards.commands import Acknowledge
from app.ui.dialogs import AckDialog
from tests.twilio_standin import TwilioStandIn
from tests.ui.conftest import register


class Secrets:
    def __init__(self, twilio: TwilioStandIn) -> None:
        self.values = {"twilio_account_sid": twilio.account_sid,
                       "twilio_auth_token": twilio.auth_token,
                       "twilio_from_number": twilio.number}

    def get(self, name: str) -> str | None:
        return self.values.get(name)


@pytest.fixture
def twilio() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as standin:
        yield standin


def test_the_card_shows_who_is_on_call_and_what_the_ladder_did(
        qtbot, window, desk, twilio, monkeypatch) -> None:
    desk.roster.import_file(DEFAULT_EXAMPLE)
    card = register(desk)  # P1 network
    window.events.announce()
    window.show_number(card.number)
    section = window.card.paging
    view = section.view
    assert view is not None and view.group
    primary = view.on_call[0]
    assert primary.role == "primary" and primary.phone.startswith("+")
    assert primary.name in section.on_call.text()
    assert view.steps == () and section.steps.text() == "none yet"

    ladder = build_escalation(desk, twilio_pager_from(Secrets(twilio), twilio.base_url))
    try:
        ladder.run_due()
    finally:
        ladder.close()
    window.events.announce(frozenset({card.id}))
    view = section.view
    assert view is not None and view.ladder.startswith("tier 1 of ")
    (step,) = view.steps
    assert "sms to +" in step and "voice to +" in step  # both channels, with the times
    assert section.next_tier.text().startswith("tier 2 at ")

    offered: list[Any] = []
    monkeypatch.setattr(AckDialog, "ask", classmethod(
        lambda cls, parent, c, previous=None: offered.append(previous)))
    window.card.acknowledge()
    assert offered == [Acknowledge(card.number, view.first_on_call)]


def test_the_on_call_tab_follows_the_card_in_view(qtbot, window, desk) -> None:
    desk.roster.import_file(DEFAULT_EXAMPLE)
    window.on_call.refresh()
    every = window.on_call.table.rowCount()
    card = register(desk)  # P1 network
    window.events.announce()
    window.queue.select_number(card.number)  # the card chosen in the queue
    group = window.card.paging.view.group
    rows = window.on_call.table.rowCount()
    assert 0 < rows < every
    assert {window.on_call.table.item(r, 0).text() for r in range(rows)} == {group}
    assert group in window.on_call.title.text()
    window.on_call.show_group(None)
    assert window.on_call.table.rowCount() == every
