"""The wallboard never shows another desk's old ladder state as current (issue 15).

A hand-built journal (a P1 whose ladder desk B took over, its first tier fired at 09:09) and a
fake clock: while desk B is in contact its next tier shows as a plan; a next-tier time that
has passed is said as past; once desk B has been silent past the 2-minute takeover limit the
line says "ladder on desk B — STALE, as of" its last contact, and no next tier at all. The
ladder lines come from the real journal through `DeskFacts` (the desk's own source of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QFontMetrics
from pytestqt.qtbot import QtBot

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.models.entry import NewEntry
from app.runtime.facts import DeskFacts
from app.services.cards.card import Card
from app.services.handover.facts import DeskLink, SyncFacts
from app.ui.events import DeskEvents
from app.ui.wallboard import WallboardWindow
from app.ui.wallboard_paint import FLOOR, BoardPainter
from app.ui.wallboard_view import LadderRow

REGISTERED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
TIER_1 = REGISTERED + timedelta(minutes=9)  # 09:09; the shipped ladder waits 4 min: 09:13
DESK_B = "0199aaaa-desk-b"
INTAKE = {
    "category": "network", "site": "HQ", "symptom": "Core switch down", "priority": "P1",
    "priority_reason": "whole site offline", "q_what": "no network", "q_where": "HQ",
    "q_when": "08:55", "q_workaround": "none", "q_contact": "J. Weber",
}


def at(hh_mm: str) -> datetime:
    """A Berlin wall-clock time on the test's day (UTC+1 in November)."""
    hours, minutes = (int(x) for x in hh_mm.split(":"))
    return REGISTERED.replace(hour=hours - 1, minute=minutes)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(REGISTERED)


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    d = build_desk(Settings(journal=tmp_path / "desk.sqlite", operator="M. Keller",
                            desk_code="A"), clock)
    yield d
    d.close()


def fire_tier_1(desk: Desk, clock: FakeClock, card: Card) -> None:
    clock.set(TIER_1)
    desk.journal.write([NewEntry(card.id, "ladder.step", {
        "tier": 1, "attempt": 1, "due": TIER_1.isoformat(), "who": "L. Fischer",
        "to": {"sms": "+4930111222", "voice": "+4930111222"}})], "ladder")


class Board:
    """The board with desk B's last contact under the test's hand."""

    def __init__(self, qtbot: QtBot, desk: Desk, clock: FakeClock) -> None:
        self.desk, self.clock = desk, clock
        self.b_seen: datetime | None = clock.now()
        self.events = DeskEvents(clock)
        self.widget = WallboardWindow(desk, self.events, sync=self.sync,
                                      escalations=DeskFacts(desk).escalations)
        qtbot.addWidget(self.widget)
        self.widget.resize(1280, 720)

    def sync(self) -> SyncFacts:
        now = self.clock.now()
        return SyncFacts(last_sync=now, desks=[
            DeskLink("A", now, self.desk.journal.desk_id), DeskLink("B", self.b_seen, DESK_B)])

    def at(self, hh_mm: str, *, b_in_contact: bool) -> LadderRow:
        self.clock.set(at(hh_mm))
        if b_in_contact:
            self.b_seen = self.clock.now()
        self.events.changed.emit(None)  # re-reads the ladders at once (not after 15 s)
        view = self.widget.view
        assert view is not None and view.escalations is not None
        assert len(view.escalations) == 1, view.escalations
        return view.escalations[0]


@pytest.fixture
def taken_over_by_b(desk: Desk, clock: FakeClock) -> Card:
    card = desk.cards.register(INTAKE, desk.operator)
    fire_tier_1(desk, clock, card)
    desk.journal.write([NewEntry(card.id, "ladder.taken_over",
                                 {"from": desk.journal.desk_id, "to": DESK_B})], "ladder")
    return card


def test_a_dark_desks_ladder_is_stale_with_its_as_of_time(
        qtbot: QtBot, desk: Desk, clock: FakeClock, taken_over_by_b: Card) -> None:
    board = Board(qtbot, desk, clock)
    number = taken_over_by_b.number
    line = board.at("09:10", b_in_contact=True)
    assert line == LadderRow(f"{number} tier 1/4: paged L. Fischer, next tier 09:13")

    assert board.at("09:11", b_in_contact=True).text.endswith("next tier 09:13")
    # Desk B goes dark after 09:11. 90 s later it is still within the takeover limit.
    assert not board.at("09:12", b_in_contact=False).stale

    line = board.at("09:14", b_in_contact=False)  # 3 min of silence
    assert line.stale
    assert line.text == (f"{number} tier 1/4: paged L. Fischer · ladder on desk B "
                         "— STALE, as of 09:11")
    assert "09:13" not in line.text  # its plan is not shown: that desk may be at tier 3

    # Desk B is back: what it did meanwhile arrives with it, and its ladder is current.
    assert not board.at("09:15", b_in_contact=True).stale


def test_a_next_tier_already_past_is_never_shown_as_a_plan(
        qtbot: QtBot, desk: Desk, clock: FakeClock, taken_over_by_b: Card) -> None:
    board = Board(qtbot, desk, clock)
    # Desk B is in contact but its tier 2 (due 09:13) has not arrived here yet.
    line = board.at("09:13", b_in_contact=True)
    assert line.text.endswith("next tier was due 09:13") and not line.stale
    assert "next tier 09:13" not in line.text


def test_this_desks_own_ladder_is_never_stale(qtbot: QtBot, desk: Desk,
                                              clock: FakeClock) -> None:
    card = desk.cards.register(INTAKE, desk.operator)
    fire_tier_1(desk, clock, card)
    board = Board(qtbot, desk, clock)
    line = board.at("09:20", b_in_contact=False)  # desk B silent 20 min: not this ladder's
    assert line == LadderRow(f"{card.number} tier 1/4: paged L. Fischer, "
                             "next tier was due 09:13")


def test_after_a_takeover_by_this_desk_the_ladder_is_current(
        qtbot: QtBot, desk: Desk, clock: FakeClock, taken_over_by_b: Card) -> None:
    board = Board(qtbot, desk, clock)
    assert board.at("09:14", b_in_contact=False).stale
    desk.journal.write([NewEntry(taken_over_by_b.id, "ladder.taken_over",
                                 {"from": DESK_B, "to": desk.journal.desk_id})], "ladder")
    assert not board.at("09:14", b_in_contact=False).stale


def test_a_desk_never_heard_from_and_the_stale_line_fits(
        qtbot: QtBot, desk: Desk, clock: FakeClock, taken_over_by_b: Card) -> None:
    board = Board(qtbot, desk, clock)
    board.b_seen = None
    line = board.at("09:10", b_in_contact=False)
    assert line.stale and line.text.endswith("ladder on desk B — STALE, never heard from")
    # Shrunk to the board's width rather than cut: "STALE" is at the end of the line.
    widget = board.widget
    width = int(widget.width() * 0.6) - 2 * int(widget._unit() * 0.6)
    size = BoardPainter.fitted(line.text, 1.05 * widget._unit(), True, width)
    assert size > 1.05 * widget._unit() * FLOOR  # shrunk, not elided
    assert QFontMetrics(BoardPainter.font(size, True)).horizontalAdvance(line.text) <= width
    widget.show()
    qtbot.waitExposed(widget)
    assert not widget.grab().toImage().isNull()


def test_without_a_store_there_is_no_other_desk_to_go_stale(
        qtbot: QtBot, desk: Desk, clock: FakeClock, taken_over_by_b: Card) -> None:
    events = DeskEvents(clock)
    board = WallboardWindow(desk, events, escalations=DeskFacts(desk).escalations)
    qtbot.addWidget(board)
    clock.set(at("09:14"))
    events.changed.emit(None)
    assert board.view is not None and board.view.escalations is not None
    assert [r.stale for r in board.view.escalations] == [False]
