"""Heartbeat monitors on a fake clock, at both doors over real HTTP: the desk's own door (a
real journal) and the store (uvicorn on loopback, SQLite and PostgreSQL, a second store
process on the same database racing the check). A missed beat is one item, raised once by the
door the monitor beats at; the next beat is "alive again"."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from app.application import Desk
from app.clock import FakeClock
from app.runtime.heartbeats import Beats, Monitor, dedup_key
from app.runtime.intake_door import IntakeDoor
from app.store.heartbeat_routes import StoreBeats
from app.store.storage import Store
from app.store.tables import entries, heartbeats
from tests.channels.alertmanager import PullingDesk
from tests.intake.helpers import desk_at
from tests.store.conftest import pg_database
from tests.store.harness import ThreadStore

EVERY = timedelta(minutes=5)


def beat(url: str, key: str, *, in_path: bool = True) -> requests.Response:
    if in_path:
        return requests.post(f"{url}/v1/intake/heartbeat/{key}", timeout=10)
    return requests.post(f"{url}/v1/intake/heartbeat", timeout=10,
                         headers={"Authorization": f"Bearer {key}"})


def at_once(*checks: Callable[[], list[str]]) -> list[str]:
    """The checks run together on threads (a door's loop and another checker); what they
    raised, all together."""
    with ThreadPoolExecutor(len(checks)) as pool:
        return sorted(itertools.chain.from_iterable(pool.map(lambda c: c(), checks)))


@pytest.fixture
def door(desk: Desk) -> Iterator[IntakeDoor]:
    served = IntakeDoor(desk.intake)
    served.start("127.0.0.1:0", check_every_s=3600)  # the test calls the check itself
    yield served
    served.stop()


def intake_count(desk: Desk) -> int:
    return sum(1 for e in desk.journal.all_entries() if e.kind.startswith("intake."))


def test_the_rule_of_a_miss() -> None:
    monitor = Monitor("backup", 5)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert not Beats().overdue(monitor, t0 + timedelta(days=1))  # never beaten: not armed
    assert not Beats(t0).overdue(monitor, t0 + EVERY)  # exactly on time is on time
    assert Beats(t0).overdue(monitor, t0 + EVERY + timedelta(seconds=1))
    assert not Beats(t0, t0).overdue(monitor, t0 + timedelta(hours=3))  # raised already
    assert Beats(t0, t0).missing and not Beats(t0 + EVERY, t0).missing


def test_a_missed_beat_at_the_desk_door_is_one_item_then_alive_again(
        desk: Desk, door: IntakeDoor, clock: FakeClock) -> None:
    _, key = desk.intake.setup.add_integration("heartbeat", "nightly-backup", "admin",
                                               every_min=5, site="HQ", category="server")
    clock.advance(timedelta(hours=1))
    assert door.check_heartbeats() == []  # not armed until its first beat here

    first = beat(door.url, key)
    assert first.status_code == 200 and first.json()["alive_again"] is False, first.text
    clock.advance(EVERY)
    assert door.check_heartbeats() == []
    clock.advance(timedelta(seconds=1))
    assert at_once(door.check_heartbeats, door.check_heartbeats,
                   door.check_heartbeats) == ["nightly-backup"]  # one raise, three checkers
    assert door.check_heartbeats() == []
    [item] = desk.intake.pending()
    assert (item.channel, item.integration, item.status, item.count) == (
        "heartbeat", "nightly-backup", "firing", 1)
    assert (item.site, item.category, item.dedup_key) == ("HQ", "server",
                                                          dedup_key("nightly-backup"))
    assert item.summary.startswith("nightly-backup: no heartbeat since 2026-12-01 10:00 UTC")

    # A desk restarted mid-miss (a new door on the same journal) does not raise it again.
    again = IntakeDoor(desk.intake)
    assert again.check_heartbeats() == []

    clock.advance(timedelta(minutes=7))
    alive = beat(door.url, key, in_path=False)  # the Bearer header works too
    assert alive.json()["alive_again"] is True
    [item] = desk.intake.pending()
    assert (item.status, item.count) == ("resolved", 2)
    written = intake_count(desk)
    assert beat(door.url, key).json()["alive_again"] is False  # on time: nothing to say
    assert intake_count(desk) == written

    clock.advance(EVERY + timedelta(minutes=1))  # silent again: counted on the open item
    assert door.check_heartbeats() == ["nightly-backup"]
    [item] = desk.intake.pending()
    assert (item.status, item.count) == ("firing", 3)


SILENT_IS_P1 = """
[defaults]
impact = "medium"
urgency = "medium"
kind_of_work = "emergency"

[[rule]]
name = "silent backup"
[rule.match]
channel = "heartbeat"
[rule.set]
category = "server"
site = "HQ"
impact = "high"
urgency = "high"
register = true
restore_on_resolved = true
"""


def test_a_rule_makes_a_missed_beat_a_card_at_once_and_alive_again_restores_it(
        tmp_path: Path, clock: FakeClock) -> None:
    desk = desk_at(tmp_path / "ruled.sqlite", clock, SILENT_IS_P1)
    door = IntakeDoor(desk.intake)
    try:
        door.start("127.0.0.1:0", check_every_s=3600)
        _, key = desk.intake.setup.add_integration("heartbeat", "backup", "admin", every_min=5)
        assert beat(door.url, key).status_code == 200
        clock.advance(EVERY + timedelta(seconds=30))
        assert door.check_heartbeats() == ["backup"]
        [item] = desk.intake.items()
        assert item.auto and item.state == "accepted"
        card = desk.cards.get(item.number)
        assert (card.priority, card.status, card.site) == ("P1", "registered", "HQ")
        clock.advance(timedelta(minutes=2))
        assert beat(door.url, key).json()["alive_again"] is True
        assert desk.cards.get(item.number).status == "restored"
    finally:
        door.stop()
        desk.close()


def test_the_heartbeat_door_refuses_keys_it_should_and_stores_nothing(
        desk: Desk, door: IntakeDoor) -> None:
    _, hook = desk.intake.setup.add_integration("webhook", "mon", "admin")
    _, old = desk.intake.setup.add_integration("heartbeat", "old-cron", "admin", every_min=60)
    desk.intake.setup.revoke_integration("old-cron", "host retired", "admin")
    _, live = desk.intake.setup.add_integration("heartbeat", "cron", "admin", every_min=60)
    before = list(desk.journal.all_entries())
    assert beat(door.url, "B" * 43).status_code == 401
    assert requests.post(door.url + "/v1/intake/heartbeat", timeout=10).status_code == 401
    assert beat(door.url, old).status_code == 403
    wrong = beat(door.url, hook)
    assert wrong.status_code == 403 and wrong.json()["field"] == "kind"
    misplaced = requests.post(f"{door.url}/v1/intake/webhook/{live}", json={"summary": "x"},
                              timeout=10)
    assert misplaced.status_code == 403 and misplaced.json()["field"] == "kind"
    assert list(desk.journal.all_entries()) == before
    assert door.beats.state("cron") == Beats()  # and no beat recorded


# -- at the store ---------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "store.sqlite")
        return
    with pg_database() as url:
        yield url


@pytest.fixture
def live_clock() -> FakeClock:
    # Desks and the store refuse stamps far from their clocks: start at the real now.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def store(db_url: str, live_clock: FakeClock) -> Iterator[ThreadStore]:
    served = ThreadStore(db_url, live_clock, heartbeat_check_s=3600)  # the test checks
    yield served
    served.close()


@pytest.fixture
def pulling(store: ThreadStore, tmp_path: Path, live_clock: FakeClock) -> Iterator[PullingDesk]:
    made = PullingDesk(store, tmp_path / "desk", live_clock)
    yield made
    made.close()


def heartbeat_items(store: ThreadStore) -> int:
    with store.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(entries).where(
            entries.c.kind == "intake.received",
            entries.c.payload.like('%"channel":"heartbeat"%'))).scalar_one())


def test_a_missed_beat_at_the_store_is_raised_once_and_reaches_the_desk(
        store: ThreadStore, pulling: PullingDesk, live_clock: FakeClock, db_url: str) -> None:
    key = pulling.add_integration("heartbeat", "ups-daemon", every_min=10, site="DC")
    beats: StoreBeats = store.app.state.heartbeats
    first = beat(store.url, key, in_path=False)
    assert first.status_code == 200 and first.json()["alive_again"] is False, first.text
    live_clock.advance(timedelta(minutes=10))
    assert beats.check() == []
    live_clock.advance(timedelta(seconds=1))

    twin_store = Store(db_url, live_clock)  # a second store process on the same database
    try:
        twin = StoreBeats(twin_store)
        raised = at_once(beats.check, twin.check, beats.check, twin.check)
    finally:
        twin_store.close()
    assert raised == ["ups-daemon"]
    assert beats.check() == [] and heartbeat_items(store) == 1

    [item] = pulling.pending_after_pull("ups-daemon", 1)
    assert (item.channel, item.status, item.site, item.count) == ("heartbeat", "firing", "DC", 1)
    assert "no heartbeat since" in item.summary

    live_clock.advance(timedelta(minutes=3))
    assert beat(store.url, key).json()["alive_again"] is True
    assert beat(store.url, key).json()["alive_again"] is False
    pulling.engine.pull()
    [item] = pulling.pending("ups-daemon")
    assert (item.status, item.count) == ("resolved", 2)
    assert heartbeat_items(store) == 1


def test_a_monitor_beating_at_the_store_is_never_missed_by_a_desk_door(
        store: ThreadStore, pulling: PullingDesk, live_clock: FakeClock) -> None:
    key = pulling.add_integration("heartbeat", "san-check", every_min=5)
    door = IntakeDoor(pulling.tray)  # the desk knows the monitor, and serves its own door
    door.start("127.0.0.1:0", check_every_s=3600)
    try:
        assert beat(store.url, key).status_code == 200
        live_clock.advance(timedelta(minutes=6))
        assert door.check_heartbeats() == []  # never beaten here: the store's to raise
        assert store.app.state.heartbeats.check() == ["san-check"]
        pulling.engine.pull()
        assert len(pulling.pending("san-check")) == 1
    finally:
        door.stop()


def test_the_store_heartbeat_door_refuses_bad_keys_and_stores_nothing(
        store: ThreadStore, pulling: PullingDesk) -> None:
    hook = pulling.add_integration("webhook", "mon")
    old = pulling.add_integration("heartbeat", "old-cron", every_min=60)
    pulling.revoke_integration("old-cron", "host retired")
    head = store.store.position().seq
    replies: dict[str, Any] = {
        "unknown": beat(store.url, "C" * 43), "none": requests.post(
            store.url + "/v1/intake/heartbeat", timeout=10),
        "revoked": beat(store.url, old), "wrong": beat(store.url, hook, in_path=False)}
    assert {k: r.status_code for k, r in replies.items()} == {
        "unknown": 401, "none": 401, "revoked": 403, "wrong": 403}
    assert replies["wrong"].json()["field"] == "kind"
    assert store.store.position().seq == head
    with store.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(heartbeats)).scalar_one() == 0
