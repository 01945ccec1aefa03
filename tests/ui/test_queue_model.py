"""The queue model over immutable rows: Qt's model checks, ranking, filters, the tick."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt

from app.services.cards.queue import QueueFilter, filtered, queue_rows, ranked, rerank
from app.ui.queue_model import CLOCK_COLUMNS, QueueModel
from tests.ui.conftest import register


def fill(desk) -> None:  # type: ignore[no-untyped-def]
    register(desk, priority="P3", priority_reason="wired works", site="Branch 3",
             symptom="Wi-Fi down in meeting rooms")
    register(desk)  # P1 network, Campus East
    register(desk, category="server", priority="P2", site="Data centre",
             symptom="Backup job failed on db-02", priority_reason="backups behind")
    register(desk, category="hvac", priority="P2", site="Clinic North",
             symptom="Server room A/C alarm", priority_reason="27 °C and rising")


def test_model_passes_qt_checks_through_reset_filter_and_tick(qtmodeltester, desk, clock) -> None:
    fill(desk)
    model = QueueModel(clock.now())
    qtmodeltester.check(model)
    model.set_rows(queue_rows(desk.cards.open_cards(), desk.rules, clock.now()), clock.now())
    qtmodeltester.check(model)
    model.set_filter(QueueFilter(priority="P2"))
    qtmodeltester.check(model)
    clock.advance(timedelta(seconds=1))
    model.tick(clock.now())
    qtmodeltester.check(model)
    model.set_filter(QueueFilter(text="no such words"))
    assert model.rowCount() == 0
    qtmodeltester.check(model)


def test_rows_are_ranked_by_priority_then_nearest_breach(desk, clock) -> None:
    fill(desk)
    model = QueueModel(clock.now())
    model.set_rows(queue_rows(desk.cards.open_cards(), desk.rules, clock.now()), clock.now())
    pri = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert pri == ["P1", "P2", "P2", "P3"]
    # Both P2s: the server policy's 15-min reaction and the default P2's 15 min tie; the
    # older registration comes first.
    sites = [model.index(r, 3).data() for r in range(model.rowCount())]
    assert sites[1:3] == ["Data centre", "Clinic North"]


def test_filters_by_status_priority_category_site_and_words(desk, clock) -> None:
    fill(desk)
    desk.cards.change_status("B-0003", "in_progress", desk.operator)
    rows = queue_rows(desk.cards.open_cards(), desk.rules, clock.now())
    model = QueueModel(clock.now())
    model.set_rows(rows, clock.now())

    def shown(**spec: str) -> list[str]:
        model.set_filter(QueueFilter(**spec))
        return sorted(model.index(r, 1).data() for r in range(model.rowCount()))

    assert shown(status="in_progress") == ["B-0003"]
    assert shown(priority="P2") == ["B-0003", "B-0004"]
    assert shown(category="hvac") == ["B-0004"]
    assert shown(site="Branch 3") == ["B-0001"]
    assert shown(text="db-02 backup") == ["B-0003"]  # every word, any order, any field
    assert shown(text="BUILDING c") == ["B-0002"]
    assert shown(priority="P2", text="alarm") == ["B-0004"]
    assert shown() == ["B-0001", "B-0002", "B-0003", "B-0004"]
    assert model.total == 4


def test_tick_announces_only_countdown_cells_that_changed(desk, clock) -> None:
    fill(desk)
    model = QueueModel(clock.now())
    model.set_rows(queue_rows(desk.cards.open_cards(), desk.rules, clock.now()), clock.now())
    model.tick(clock.now())
    seen: list[tuple[int, int]] = []

    def record(top_left, bottom_right, roles) -> None:  # type: ignore[no-untyped-def]
        # One cell at a time: a range would make the view repaint all of itself.
        assert (top_left.row(), top_left.column()) == (bottom_right.row(), bottom_right.column())
        seen.append((top_left.row(), top_left.column()))

    model.dataChanged.connect(record)
    before = {(r, c): model.index(r, c).data() for r in range(4) for c in CLOCK_COLUMNS}
    clock.advance(timedelta(seconds=30))
    model.tick(clock.now())
    after = {(r, c): model.index(r, c).data() for r in range(4) for c in CLOCK_COLUMNS}
    assert sorted(seen) == sorted(k for k in before if before[k] != after[k])
    assert all(c in CLOCK_COLUMNS for _, c in seen)
    assert model.index(0, 6).data(Qt.ItemDataRole.DisplayRole) == "9m 30s"
    assert after[(0, 8)] == "29m"  # minutes only while the deadline is far: no per-second churn

    seen.clear()
    clock.advance(timedelta(seconds=31))  # the P1's seconds and the P2s' minutes move
    model.tick(clock.now(), 1, 2)  # only rows 1-2 (the P2s) are on screen
    assert seen and {r for r, _ in seen} == {1, 2}
    assert model.index(0, 6).data() == "8m 59s"  # row 0 is worked out when it is shown


def test_an_empty_queue_never_reads_as_all_clear(qtbot, window, desk) -> None:
    assert window.queue.empty.isVisible()
    text = window.queue.empty.text()
    assert "not an all-clear" in text and "local only" in text
    assert "LOCAL ONLY" in window.strip.link.text()

    register(desk)
    window.events.announce()
    qtbot.waitUntil(lambda: not window.queue.empty.isVisible())
    window.queue.text.setText("nothing matches this")
    assert window.queue.empty.isVisible()
    assert "1 open cards are hidden" in window.queue.empty.text()
    window.queue.clear_filters()
    assert window.queue.model.rowCount() == 1


def test_a_change_rereads_only_its_cards_and_ranks_as_a_full_read(qtbot, window, desk,
                                                                  clock) -> None:
    fill(desk)
    window.events.announce()
    p3 = desk.cards.get("B-0001")
    # Raise the P3 to P1 and close nothing else: only B-0001 is named in the change.
    desk.cards.change_priority(p3.number, "P1", "whole floor now", desk.operator)
    clock.advance(timedelta(minutes=2))
    window.events.announce(frozenset({p3.id}))
    # A card registered elsewhere and not announced is not picked up by a partial read...
    hidden = register(desk, site="Depot West", priority="P4", priority_reason="x")
    window.events.announce(frozenset({p3.id}))
    numbers = [r.number for r in window.queue.model.all_rows]
    assert hidden.number not in numbers
    # ...and the announced cards end up exactly where a full read would put them.
    full = [r.number for r in queue_rows(desk.cards.open_cards(), desk.rules, clock.now())
            if r.number != hidden.number]
    assert numbers == full
    assert numbers[:2] == ["B-0001", "B-0002"]  # both P1 with equal clocks: by number
    # Closing through the service removes the row on the partial read.
    for status in ("restored", "closed"):
        desk.cards.change_status(p3.number, status, desk.operator, confirmed_by="ward", closure={
            "cause": "x", "workaround": "x", "fix": "x", "lessons": "x"})
    window.events.announce(frozenset({p3.id}))
    assert p3.number not in [r.number for r in window.queue.model.all_rows]


def test_rank_without_now_orders_as_time_to_deadline_at_any_now(desk, clock) -> None:
    fill(desk)
    register(desk, category="printing", priority="P4", priority_reason="spare printer",
             site="HQ")  # business-hours clocks: not running at night
    desk.cards.change_status("B-0004", "waiting_customer", desk.operator)  # recovery paused
    cards = desk.cards.open_cards()
    for minutes in (0, 7, 30, 600):
        now = clock.now() + timedelta(minutes=minutes)
        by_time = [i.card.number for i in ranked(cards, desk.rules, now)]
        by_rank = [r.number for r in rerank(queue_rows(cards, desk.rules, clock.now()))]
        assert by_rank == by_time


def test_the_fast_filter_agrees_with_the_one_row_test(desk, clock) -> None:
    fill(desk)
    desk.cards.change_status("B-0003", "in_progress", desk.operator)
    rows = queue_rows(desk.cards.open_cards(), desk.rules, clock.now())
    specs = [QueueFilter(), QueueFilter(priority="P2", text="alarm"), QueueFilter(text="c east"),
             QueueFilter(status="in_progress"), QueueFilter(site="HQ"),
             QueueFilter(category="network", text="  WI-FI  rooms ")]
    for spec in specs:
        assert filtered(rows, spec) == [r for r in rows if spec.matches(r)], spec
