"""The window's report view (app/ui/report_view.py): the figures it shows are the measures
package's for the same journal, counted off the GUI thread; the period is chosen by
keyboard; Esc closes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from app.application import Desk
from app.clock import FakeClock
from app.services.cards.card import Card
from app.services.measures import (
    build_report,
    card_facts,
    day_of,
    reviews_of,
    summary_lines,
    week_of,
)
from app.services.measures.pdf import headline
from app.services.measures.period import between
from app.ui.report_view import PERIOD_LABELS, ReportView, open_report_view

from .conftest import register

MIN = timedelta(minutes=1)


def hand_built(desk: Desk, clock: FakeClock) -> None:
    """02:00 Monday night: a P1 acknowledged in 4 min, one in 12 (breached), a P3 closed
    with no ack (its reaction is the closure), one left open and unattended."""
    quick = register(desk)
    late = register(desk, site="Campus West")
    clock.advance(4 * MIN)
    desk.cards.acknowledge(quick.number, "P. Braun", "phone", desk.operator)
    clock.advance(8 * MIN)
    desk.cards.acknowledge(late.number, "S. Yilmaz", "sms", desk.operator)
    closed = register(desk, priority="P3", category="printing", site="Depot")
    desk.cards.change_status(closed.number, "restored", desk.operator)
    desk.cards.change_status(closed.number, "closed", desk.operator, closure={
        "cause": "toner", "workaround": "none", "fix": "new toner", "lessons": "stock"},
        confirmed_by="ward C")
    register(desk, priority="P2", site="Depot")
    clock.advance(30 * MIN)


def expected(desk: Desk, period: Any) -> Any:
    """The measures package's report, from the whole timeline (not the view's reader)."""
    states = desk.journal.cards()
    cards = [Card.from_state(s) for s in states]
    facts = {c.id: card_facts(desk.journal.entries(c.id)) for c in cards}
    now = desk.clock.now()
    return build_report(cards, facts, desk.rules, period, now, reviews_of(states))


def shown(qtbot: Any, view: ReportView, action: Callable[[], object]) -> Any:
    """What the view shows once `action` has it count (the worker's result arrives through
    the event loop, so waiting starts before the action)."""
    with qtbot.waitSignal(view.shown, timeout=20_000) as blocker:
        action()
    return blocker.args[0]


def test_the_view_shows_the_measures_figures_for_today(qtbot: Any, desk: Desk,
                                                         clock: FakeClock) -> None:
    hand_built(desk, clock)
    parent = QWidget()
    qtbot.addWidget(parent)
    view = ReportView(parent, desk)
    got = shown(qtbot, view, view.open_on)
    want = expected(desk, day_of(clock.now(), desk.rules.tz))
    assert view.summary.toPlainText() == "\n".join(summary_lines(want))
    assert view.tile_texts() == headline(want)
    assert got.report.durations == want.durations
    assert (got.report.breaches, got.report.closed) == (want.breaches, want.closed)
    # the hand-built answers, so the comparison is not two empty reports
    assert "Reaction time: median 4 min, p90 12 min (3 acknowledged)" in summary_lines(want)
    assert "SLA reaction:" in view.summary.toPlainText()
    assert len([label for label in view.chart_labels if not label.pixmap().isNull()]) == 5
    assert not view.busy
    # Through the window's entry point: one view per parent, counted again when opened.
    again = shown(qtbot, view, lambda: open_report_view(parent, desk))
    assert parent.findChildren(ReportView) == [view]
    assert again.report.breaches == want.breaches


def test_periods_by_keyboard_and_esc_closes(qtbot: Any, desk: Desk, clock: FakeClock) -> None:
    hand_built(desk, clock)
    view = ReportView(None, desk)
    qtbot.addWidget(view)
    assert [view.buttons[k].text() for k in ("today", "shift", "week")] == [
        "&Today", "This &shift", "This &week"] == list(PERIOD_LABELS.values())
    shown(qtbot, view, view.open_on)
    assert QApplication.focusWidget() is view.buttons["today"]  # first focus: the choice

    week = shown(qtbot, view, lambda: qtbot.keyClick(view, Qt.Key.Key_W,
                                                     Qt.KeyboardModifier.AltModifier))
    assert week.key == "week" and view.buttons["week"].isChecked()
    assert week.period == week_of(clock.now(), desk.rules.tz)
    assert view.summary.toPlainText() == "\n".join(summary_lines(expected(desk, week.period)))

    shift = shown(qtbot, view, lambda: qtbot.keyClick(view, Qt.Key.Key_S,
                                                      Qt.KeyboardModifier.AltModifier))
    plan = desk.shifts.shift_at(clock.now())
    assert shift.key == "shift"
    assert shift.period == between(plan.start, plan.end, desk.rules.tz)
    assert shift.report.breaches == expected(desk, shift.period).breaches

    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not view.isVisible()
