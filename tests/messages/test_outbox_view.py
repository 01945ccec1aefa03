"""The outbox view, keyboard-first: Del cancels the selected message (after asking),
Enter confirms a stale one, pages from the ladder are shown read only, Esc closes."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.clock import FakeClock
from app.models.entry import NewEntry
from app.services.messages.outbox import CANCELLED, QUEUED, STALE
from app.ui.outbox_view import OutboxView, open_outbox_view
from tests.messages.harness import ALICE, MessageDesk


def _row(view: OutboxView, pick) -> int:  # type: ignore[no-untyped-def]
    for row in range(view.model.rowCount()):
        m = view.model.message(row)
        if m is not None and pick(m):
            return row
    raise AssertionError("no such row")


def test_outbox_view_cancel_confirm_and_read_only_pages(qtbot, qtmodeltester, md: MessageDesk,
                                                        clock: FakeClock, monkeypatch) -> None:
    number = md.register("P1")
    card = md.desk.cards.get(number)
    md.worker._queue_new()  # queued, not sent: the view shows them waiting
    md.desk.journal.write([NewEntry(card.id, "ladder.step", {
        "tier": 1, "attempt": 1, "due": card.registered_at.isoformat(), "who": "Alice",
        "to": {"sms": ALICE}, "code": "K7"})], "ladder")
    view = open_outbox_view(None, md.desk)
    qtbot.addWidget(view)
    qtmodeltester.check(view.model)
    asked = []
    monkeypatch.setattr(OutboxView, "ask_cancel",
                        classmethod(lambda cls, parent, m: asked.append(m.to) or "test"))
    # A page: Del is refused (it belongs to the ladder), nothing asked.
    view.table.selectRow(_row(view, lambda m: m.read_only))
    qtbot.keyClick(view.table, Qt.Key.Key_Delete)
    assert asked == [] and "ladder" in view.note.text()
    # A waiting notice: Del asks, then cancels.
    row = _row(view, lambda m: m.type == "notice" and m.state(clock.now()) == QUEUED)
    target = view.model.message(row)
    view.table.selectRow(row)
    qtbot.keyClick(view.table, Qt.Key.Key_Delete)
    assert asked == [target.to]
    assert {m.id: m for m in md.worker.outbox()}[target.id].state(clock.now()) == CANCELLED
    # Everything else goes stale (the desk was off for an hour): Enter confirms one.
    clock.advance(3600)
    view.refresh()
    row = _row(view, lambda m: m.state(clock.now()) == STALE)
    stale = view.model.message(row)
    view.table.selectRow(row)
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert view.isVisible()  # Enter confirms, it does not close the view
    again = {m.id: m for m in md.worker.outbox()}[stale.id]
    assert again.state(clock.now()) == QUEUED and again.confirmed_at == clock.now()
    qtbot.keyClick(view.table, Qt.Key.Key_Escape)
    assert not view.isVisible()
