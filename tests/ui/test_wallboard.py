"""The wallboard with a fake clock: a card crossing into "breaching soon", a desk going
stale, and no repaint when nothing visible changed. Fixtures live here on purpose (this
folder's conftest belongs to the desk window)."""

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
from app.loaders import load_shifts
from app.services.handover.facts import DeskLink, SyncFacts
from app.ui.events import DeskEvents
from app.ui.wallboard import BG, RED, WallboardWindow

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
INTAKE = {
    "category": "network", "site": "HQ", "symptom": "Core switch down", "priority": "P1",
    "priority_reason": "whole site offline", "q_what": "no network", "q_where": "HQ",
    "q_when": "09:55", "q_workaround": "none", "q_contact": "J. Weber",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_10)


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    d = build_desk(Settings(journal=tmp_path / "desk.sqlite", operator="A. Novak"), clock)
    yield d
    d.close()


@pytest.fixture
def events(clock: FakeClock) -> DeskEvents:
    return DeskEvents(clock)  # never started: the test emits each tick itself


def _row(board: WallboardWindow, number: str) -> str:
    assert board.view is not None
    return next((r.state for r in board.view.rows if r.number == number), "")


def test_card_crosses_into_breaching_soon(qtbot: QtBot, desk: Desk, events: DeskEvents,
                                          clock: FakeClock) -> None:
    board = WallboardWindow(desk, events, shifts=load_shifts())
    qtbot.addWidget(board)
    board.resize(1280, 720)
    card = events.run(lambda: desk.cards.register(INTAKE, desk.operator))
    assert card is not None
    qtbot.waitUntil(lambda: _row(board, card.number) == "unacknowledged")
    assert board.view is not None and board.view.counts[0] == ("P1", 1)
    assert board.view.handover == "next handover 20:00"

    clock.advance(timedelta(minutes=7))  # 70 % of the 10-minute reaction clock
    events.tick.emit()
    assert _row(board, card.number) == "unacknowledged"
    repaints = board.repaints
    events.tick.emit()  # nothing visible changed: no repaint
    assert board.repaints == repaints

    clock.advance(timedelta(minutes=1))  # 80 %: breaching soon, relative to its own SLA
    events.tick.emit()
    qtbot.waitUntil(lambda: _row(board, card.number) == "soon")
    assert board.view is not None and "reaction due in 2 min (80%)" in board.view.rows[0].text
    assert board.repaints == repaints + 1

    clock.advance(timedelta(minutes=3))
    events.tick.emit()
    assert _row(board, card.number) == "breached"
    events.run(lambda: desk.cards.acknowledge(card.number, "L. Fischer", "phone",
                                              desk.operator), cards=frozenset({card.id}))
    # Acknowledged (late, and the breach is on its timeline), recovery within its SLA: it
    # leaves "needs action" as soon as `changed` names it.
    assert _row(board, card.number) == ""
    assert board.view is not None and board.view.reaction == "median 11 min · p90 11 min"


def test_desk_going_stale_is_marked_within_seconds(qtbot: QtBot, desk: Desk,
                                                   events: DeskEvents, clock: FakeClock) -> None:
    link = {"up_to": clock.now()}  # the store and desk B answer until the link drops

    def sync() -> SyncFacts:
        now = clock.now()
        return SyncFacts(last_sync=link["up_to"],
                         desks=[DeskLink("A", now), DeskLink("B", link["up_to"])])

    board = WallboardWindow(desk, events, sync=sync)
    qtbot.addWidget(board)
    board.resize(960, 540)
    board.show()
    qtbot.waitExposed(board)
    assert board.view is not None and not board.view.stale
    calm = board.grab().toImage()
    edge = (int(board.height() / 34 * 0.2), board.height() // 2)
    assert calm.pixelColor(*edge) == BG

    for _ in range(30):  # the link drops: 30 s of ticks, still within the grace period
        clock.advance(1)
        events.tick.emit()
    assert not board.view.stale and not board.view.desks[1].stale

    clock.advance(31)
    events.tick.emit()
    qtbot.waitUntil(lambda: board.view is not None and board.view.stale)
    assert [d.stale for d in board.view.desks] == [False, True]
    assert board.view.desks[1].text == "STALE 1m"
    assert board.view.as_of == link["up_to"].astimezone(desk.rules.tz).strftime("%H:%M:%S")
    stale = board.grab().toImage()
    assert stale.pixelColor(*edge) == RED  # the red frame: a stale board never looks calm

    link["up_to"] = clock.now()  # the link comes back
    events.tick.emit()
    assert not board.view.stale
