"""Heartbeats: every authenticated call marks the desk as seen; each desk learns the others'
last heartbeat (for ladder takeover and the wallboard's link states)."""

from __future__ import annotations

from datetime import timedelta

import requests

from app.clock import FakeClock
from app.services.handover.facts import STALE_AFTER
from app.services.handover.sources import sync_facts
from app.sync import protocol as p
from tests.sync.conftest import DeskFactory
from tests.sync.loopback import LoopbackStore


def test_desks_see_each_others_heartbeats(make_desk: DeskFactory, store: LoopbackStore,
                                          clock: FakeClock) -> None:
    a, b = make_desk("A"), make_desk("B")
    a.round(wait=0)
    seen = {d.desk_code: d.last_seen for d in a.desks}
    assert seen == {"A": clock.now(), "B": None}  # B enrolled, not heard from since
    b.round(wait=0)
    b_seen = clock.now()
    clock.advance(timedelta(seconds=p.HEARTBEAT_EVERY_S + 1))
    a.round(wait=0)
    assert a.heartbeats()[b.journal.desk_id] == b_seen

    clock.advance(STALE_AFTER + timedelta(seconds=1))
    a.round(wait=0)
    facts = sync_facts(a.status, [], a.desks)
    assert facts is not None
    links = {link.desk: link.stale(clock.now()) for link in facts.desks}
    assert links == {"A": False, "B": True}  # B went dark; A just called


def test_the_desk_list_needs_a_desk_credential(store: LoopbackStore) -> None:
    answer = requests.get(store.url + p.PATH_DESKS, timeout=5,
                          headers={p.HEADER_PROTOCOL: str(p.PROTOCOL_VERSION)})
    assert answer.status_code == 401
