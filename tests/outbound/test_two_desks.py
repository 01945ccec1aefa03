"""Through the real store: a subscription is a journal fact every desk sees, the store accepts
it like any entry, and only the desk that added it (and holds its secret) delivers -- every
card event it learns, its own and those pulled from other desks."""

from __future__ import annotations

from pathlib import Path

from app.adapters.secrets import SecretStore
from app.clock import FakeClock
from app.loaders import load_rules
from app.runtime.outbound_worker import OutboundWorker, Webhooks
from app.services.cards.service import CardService
from tests.domain.conftest import DISPATCHER, MONDAY_10, intake
from tests.outbound.receiver import Receiver
from tests.sync.conftest import enrolled_desk
from tests.sync.loopback import LoopbackStore


def test_only_the_subscribing_desk_delivers_and_it_delivers_other_desks_events(
        tmp_path: Path) -> None:
    clock = FakeClock(MONDAY_10)
    store = LoopbackStore(tmp_path / "store.sqlite", clock)
    a = enrolled_desk(tmp_path / "a.sqlite", store.url, store.add_desk("A"), "A", clock)
    b = enrolled_desk(tmp_path / "b.sqlite", store.url, store.add_desk("B"), "B", clock)
    hooks_a, hooks_b = (Webhooks(d.journal, SecretStore(), clock) for d in (a, b))
    workers = [OutboundWorker(d.journal, SecretStore(), clock) for d in (a, b)]
    try:
        with Receiver(now=lambda: clock.now().timestamp()).start() as receiver:
            sub, receiver.secret = hooks_a.add(receiver.url, "registered", "psa",
                                               DISPATCHER.name)
            assert a.round().pushed == 1 and a.status.last_error is None  # the store took it
            b.round()
            (seen,) = hooks_b.views()
            assert (seen.sub.id, seen.here) == (sub.id, False)
            assert seen.state == f"delivered by desk {a.journal.desk_id}"
            made = CardService(b.journal, load_rules(), clock).register(intake(), DISPATCHER)
            b.round()
            a.round()
            assert workers[1].step() is None and receiver.received == []  # B never sends it
            assert workers[0].step() is None
            (got,) = receiver.received
            assert got.signed and got.json["number"] == made.number == "B-0001"
            assert got.json["desk"] == b.journal.desk_id  # where it happened
            assert hooks_a.views()[0].delivery.delivered == 1
    finally:
        for worker in workers:
            worker.stop()
        for hooks in (hooks_a, hooks_b):
            hooks.close()
        for desk in (a, b):
            desk.client.close()
            desk.journal.close()
        store.stop()
