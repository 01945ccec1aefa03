"""The wallboard's text fits at 1920x1080 and at 1280x720 (issue 15): on the demo shift, with
every tile in use (a stale desk, a maintenance window, a dark desk's ladder on two lines, the
whole rota), nothing that is meant to fit is cut off; lists end in "+ N more" instead. Only
free text (a symptom) may elide. The board records what it had to cut as it paints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.models.entry import NewEntry
from app.runtime.facts import DeskFacts
from app.services.handover.facts import DeskLink, SyncFacts
from app.ui.events import DeskEvents
from app.ui.launch import fill_if_empty
from app.ui.wallboard import WallboardWindow

SHOT = datetime(2026, 11, 24, 8, 40, tzinfo=UTC)  # the demo shift, as scripts/screenshots.py
DESK_C = "0199c0de-desk-c"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(SHOT)
    d = build_desk(Settings(journal=tmp_path / "demo.sqlite", desk_code="B",
                            operator="A. Novak").validated(), clock)
    fill_if_empty(d)
    maintenance = d.intake.setup.schedule_maintenance(
        "HQ core switch firmware", SHOT - timedelta(hours=1), SHOT + timedelta(hours=1),
        "A. Novak", site="HQ", category="network")
    assert maintenance is not None
    unacked = [c for c in d.cards.open_cards() if c.acknowledged_at is None][:3]
    steps = [NewEntry(c.id, "ladder.step", {
        "tier": 1, "attempt": 1, "due": (SHOT - timedelta(minutes=2)).isoformat(),
        "who": "Maximiliane Schwarzenberger-Oberhollenzer", "to": {"sms": "+447700900130"}})
        for c in unacked]
    d.journal.write([*steps, NewEntry(unacked[0].id, "ladder.taken_over",
                                      {"from": d.journal.desk_id, "to": DESK_C})], "ladder")
    yield d
    d.close()


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_nothing_meant_to_fit_is_cut_off(qtbot: QtBot, desk: Desk,
                                          size: tuple[int, int]) -> None:
    now = desk.clock.now()
    sync = SyncFacts(last_sync=now, desks=[
        DeskLink("A", now, "0199a0de-desk-a"), DeskLink("B", now, desk.journal.desk_id),
        DeskLink("C", now - timedelta(minutes=6), DESK_C)])
    facts = DeskFacts(desk)
    board = WallboardWindow(desk, DeskEvents(desk.clock), shifts=desk.shifts,
                            sync=lambda: sync, on_call=facts.on_call,
                            escalations=facts.escalations)
    qtbot.addWidget(board)
    board.resize(*size)
    board.refresh()
    assert not board.grab().isNull()
    view = board.view
    assert view is not None and view.escalations is not None
    assert [r.stale for r in view.escalations] == [True, False, False]
    assert view.maintenance and view.on_call_now and len(view.on_call_now) > 4
    assert board.cut == []
