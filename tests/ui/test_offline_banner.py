"""No internet: the red banner shows whom to phone, beeps every 30 s, and "Reached by phone"
acknowledges the card so the ladder stops; "Cancel queued pages" keeps them from going out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.application import Desk
from app.clock import FakeClock
from app.services.escalation.recipients import Recipients
from app.services.escalation.service import EscalationService
from app.ui.events import DeskEvents
from app.ui.offline_banner import BEEP_EVERY_TICKS
from tests.escalation.harness import ALICE, ladder, make_pager, roster
from tests.escalation.test_offline_alarm import closed_port_url
from tests.twilio_standin import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.ui.conftest import register


@pytest.fixture
def offline_ladder(desk: Desk, clock: FakeClock) -> Iterator[EscalationService]:
    """The desk's ladder with a pager whose every connection is refused: no internet."""
    pager = make_pager(closed_port_url(), DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
    service = EscalationService(desk.journal, ladder(), pager,
                                Recipients(roster(), default_group="network"), clock)
    yield service
    service.close()


def _offline_card(window: Any, events: DeskEvents, desk: Desk,
                  service: EscalationService, qtbot: Any) -> str:
    window.background.watch_offline(service)
    card = register(desk)
    events.announce(None)
    assert not window.offline_banner.isVisible()  # registered, nothing failed yet
    service.run_due()
    events.announce(frozenset({card.id}))  # as the ladder scheduler does after writing
    qtbot.waitUntil(window.offline_banner.isVisible)
    return card.id


def test_banner_shows_numbers_beeps_and_reached_by_phone_stops_the_ladder(
        qtbot: Any, desk: Desk, events: DeskEvents, window: Any, clock: FakeClock,
        offline_ladder: EscalationService, tmp_path: Path) -> None:
    banner = window.offline_banner
    card_id = _offline_card(window, events, desk, offline_ladder, qtbot)
    assert "Alice Primary" in banner.title.text() and ALICE in banner.phones.text()
    assert "Queued while offline" in banner.detail.text()
    # On top of everything, above the command bar, once the layout has made room.
    qtbot.waitUntil(lambda: banner.geometry().bottom() < window.command_bar.y())
    assert banner.beeps == 1
    for _ in range(BEEP_EVERY_TICKS - 1):
        events.tick.emit()
    assert banner.beeps == 1
    events.tick.emit()
    assert banner.beeps == 2
    shot = os.environ.get("OFFLINE_BANNER_SHOT") or str(tmp_path / "offline_banner.png")
    window.grab().save(shot)

    qtbot.mouseClick(banner.reached, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not banner.isVisible())
    card = desk.journal.card(card_id)
    assert card["acknowledged_by"] == "Alice Primary"
    ack = [e.payload for e in desk.journal.entries(card_id) if e.kind == "card.ack"]
    assert ack == [{"who": "Alice Primary", "how": "phone"}]
    steps_before = len(offline_ladder.state(card_id).steps)
    clock.advance(300)  # every tier's wait is over; a running ladder would have fired
    offline_ladder.run_due()
    assert len(offline_ladder.state(card_id).steps) == steps_before
    for _ in range(BEEP_EVERY_TICKS):
        events.tick.emit()
    assert banner.beeps == 2  # the alarm is gone: no more beeping


def test_cancel_queued_pages_button_writes_cancellations(
        qtbot: Any, desk: Desk, events: DeskEvents, window: Any,
        offline_ladder: EscalationService) -> None:
    banner = window.offline_banner
    card_id = _offline_card(window, events, desk, offline_ladder, qtbot)
    assert banner.cancel.isEnabled()
    qtbot.mouseClick(banner.cancel, Qt.MouseButton.LeftButton)
    cancelled = [e.payload["channel"] for e in desk.journal.entries(card_id)
                 if e.kind == "ladder.page_cancelled"]
    assert sorted(cancelled) == ["sms", "voice"]
    qtbot.waitUntil(lambda: not banner.cancel.isEnabled())
    assert banner.isVisible()  # Alice is still not reached: keep phoning


def test_send_eta_posts_the_template_once_someone_on_call_accepted(
        qtbot: Any, desk: Desk, events: DeskEvents, window: Any) -> None:
    card = register(desk, q_contact="ward C reception +15557770001")
    window.show_number(card.number)
    errors: list[str] = []
    events.error.connect(errors.append)
    qtbot.mouseClick(window.card.buttons["eta"], Qt.MouseButton.LeftButton)
    assert errors and "nobody on call has accepted" in errors[0]
    desk.cards.acknowledge(card.number, "Alice Primary", "phone", desk.operator)
    events.announce(frozenset({card.id}))
    qtbot.mouseClick(window.card.buttons["eta"], Qt.MouseButton.LeftButton)
    # Queued in the outbox as a customer text to the card's number (tests/messages sends).
    posted = [(e.payload["to"], e.payload["body"]) for e in desk.journal.entries(card.id)
              if e.kind == "message.queued" and e.payload["type"] == "customer"]
    assert posted == [("+15557770001",
                       f"A technician is on the way, ETA 35 minutes. Reference {card.number}.")]
