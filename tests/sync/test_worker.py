"""The window's sync worker: pushes when an action writes, long-polls for other desks' entries,
and reaches the GUI only through signals."""

from __future__ import annotations

import time

from pytestqt.qtbot import QtBot

from app.clock import FakeClock
from app.protocol.catalogue import DESKS_CARD
from app.sync.status import SyncStatus
from app.ui.events import DeskEvents
from app.ui.sync_worker import SyncWorker
from tests.sync.cards import register
from tests.sync.conftest import DeskFactory
from tests.sync.loopback import LoopbackStore
from tests.sync.store_facts import desk_entries_seq


def test_worker_pushes_on_change_and_announces_pulled_cards(
    qtbot: QtBot, make_desk: DeskFactory, store: LoopbackStore, clock: FakeClock
) -> None:
    a, b = make_desk("A"), make_desk("B")
    # A takes the store's facts about the two enrolments first, so its long-poll below wakes
    # for B's card alone.
    assert a.pull() == (2, frozenset({DESKS_CARD}))
    events = DeskEvents(clock)
    worker = SyncWorker(a, events, poll_wait=2.0, idle_push=30.0)
    statuses: list[SyncStatus] = []
    worker.status_changed.connect(statuses.append)
    worker.start()
    try:
        # Another desk writes: A's long-poll wakes and the window hears which card changed.
        card_b = register(b.journal)
        with qtbot.waitSignal(events.changed, timeout=5000) as changed:
            b.round()
        assert changed.args == [frozenset({card_b})]
        assert a.journal.card(card_b)["number"] == "B-0001"

        # An action on A writes to the journal and announces it: the worker pushes at once.
        card_a = register(a.journal)
        started = time.perf_counter()
        events.announce(frozenset({card_a}))
        worker.sync_now()
        assert time.perf_counter() - started < 0.05  # the GUI thread never waits on the network
        qtbot.waitUntil(lambda: desk_entries_seq(store.store) == 2, timeout=5000)
        qtbot.waitUntil(lambda: bool(statuses) and statuses[-1].waiting == 0, timeout=5000)
        assert statuses[-1].online and statuses[-1].last_error is None
        assert worker.status.online
    finally:
        worker.stop()
    assert not any(t.is_alive() for t in worker.loops._threads if t.name == "sync-push")
