"""The desk window with a real store on loopback: the strip tells the link's real state, a
card registered at the desk reaches the store, and a card from another desk appears."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import SystemClock
from app.config import Settings
from app.models.journal import Journal
from app.sync.enroll import enroll_desk
from app.ui.background import PAGING_OFF, DeskBackground
from app.ui.events import DeskEvents
from app.ui.main_window import DeskWindow
from tests.sync.cards import register
from tests.sync.conftest import enrolled_desk
from tests.sync.loopback import LoopbackStore


@pytest.fixture
def live_store(tmp_path: Path) -> Iterator[LoopbackStore]:
    running = LoopbackStore(tmp_path / "store.sqlite")  # the system clock, like the desk's
    yield running
    running.stop()


@pytest.fixture
def desk(tmp_path: Path, live_store: LoopbackStore) -> Iterator[Desk]:
    path = tmp_path / "desk.sqlite"
    journal = Journal.open(path, SystemClock())
    journal.set_desk_code("B")
    enroll_desk(journal, live_store.url, live_store.add_desk("front"), "front desk")
    journal.close()
    d = build_desk(Settings(journal=path, operator="A. Novak").validated())
    yield d
    d.close()


def test_window_syncs_both_ways(qtbot: Any, tmp_path: Path, desk: Desk,
                                live_store: LoopbackStore) -> None:
    events = DeskEvents(desk.clock)
    background = DeskBackground(desk, events)
    window = DeskWindow(desk, events, background=background,
                        settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    background.start()
    try:
        qtbot.waitUntil(lambda: window.strip.link.text().startswith("Online"), timeout=15000)
        assert window.strip.paging.text() == PAGING_OFF  # no Twilio credentials here
        card = desk.cards.register(
            {"category": "power", "site": "HQ", "symptom": "UPS alarm", "priority": "P2",
             "priority_reason": "r", "q_what": "a", "q_where": "b", "q_when": "c",
             "q_workaround": "d", "q_contact": "e"}, desk.operator)
        events.announce(frozenset({card.id}))
        qtbot.waitUntil(lambda: live_store.store.position().seq >= 1, timeout=15000)

        other = enrolled_desk(tmp_path / "c.sqlite", live_store.url, live_store.add_desk("c"),
                              "C", SystemClock())
        their_card = register(other.journal, "chiller fault")
        other.round(wait=0)
        other.client.close()
        qtbot.waitUntil(lambda: any(r.card_id == their_card
                                    for r in window.queue.model.all_rows), timeout=30000)
    finally:
        background.stop()
