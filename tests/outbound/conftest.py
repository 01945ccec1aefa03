"""A desk on a real journal file with a fake clock, the webhook admin and a delivery worker
that the tests step by hand (no thread, no sleeps), and loopback receivers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.adapters.secrets import SecretStore
from app.clock import FakeClock
from app.loaders import load_rules
from app.models.journal import Journal
from app.runtime.outbound_worker import HttpPoster, OutboundWorker, Webhooks
from app.services.cards.service import CardService
from tests.domain.conftest import DISPATCHER, MONDAY_10, intake
from tests.outbound.receiver import Receiver


@dataclass
class Desk:
    clock: FakeClock
    journal: Journal
    cards: CardService
    hooks: Webhooks
    worker: OutboundWorker

    def receiver(self, port: int = 0) -> Receiver:
        """A receiver whose clock is the desk's (it checks the timestamp's freshness)."""
        return Receiver(port=port, now=lambda: self.clock.now().timestamp())

    def subscribe(self, receiver: Receiver, events: str = "all", name: str | None = None,
                  url: str | None = None) -> str:
        """Subscribe `receiver` (its secret set); returns the subscription's name."""
        sub, secret = self.hooks.add(url or receiver.url, events, name, DISPATCHER.name)
        receiver.secret = secret
        return sub.name

    def register(self, symptom: str = "Core switch down") -> str:
        return self.cards.register(intake(symptom=symptom, urgency="medium"), DISPATCHER).number

    def view(self, name: str) -> dict[str, object]:
        return next(v.to_json() for v in self.hooks.views() if v.sub.name == name)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(MONDAY_10)
    journal = Journal.open(tmp_path / "desk.sqlite", clock)
    cards = CardService(journal, load_rules(), clock)
    hooks = Webhooks(journal, SecretStore(), clock)
    # Short timeouts: the hung-receiver test waits on them (a real socket, not a fake).
    worker = OutboundWorker(journal, SecretStore(), clock, poster=HttpPoster((1.0, 0.5)))
    yield Desk(clock, journal, cards, hooks, worker)
    worker.stop()
    hooks.close()
    journal.close()

