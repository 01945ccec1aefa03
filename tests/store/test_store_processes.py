"""The store as real `python -m app server` processes: the command line, SQLite, and two
processes on one PostgreSQL database waking each other and never showing a gap in seq."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app.clock import SystemClock
from app.models.entry import Entry
from app.sync import protocol as p
from tests.polling import wait_until
from tests.store.conftest import PG_ADMIN, pg_database
from tests.store.harness import ROOT, Desk, ProcessStore, health, new_desk
from tests.sync.store_facts import store_facts, without_store_facts


@pytest.fixture
def pg_pair(pg_url: str) -> Iterator[tuple[ProcessStore, ProcessStore]]:
    first = ProcessStore(pg_url)
    second = ProcessStore(pg_url)
    yield first, second
    first.close()
    second.close()


def _poll_in_thread(desk: Desk, cursor: str, result: dict[str, Any]) -> threading.Thread:
    def poll() -> None:
        result["page"] = desk.pull(after=cursor, wait=20)

    thread = threading.Thread(target=poll)
    thread.start()
    return thread


def _cursor(url: str) -> str:
    h = health(url)
    return f"{h.store_id}.{h.epoch}.{h.head}"


@pytest.mark.slow  # seconds of real processes or real waiting: outside the quick loop
def test_the_command_line_store_on_sqlite(tmp_path: Path) -> None:
    store = ProcessStore("sqlite:///" + str(tmp_path / "store.sqlite"), admin_cli=True)
    try:
        desk = new_desk(store, tmp_path, SystemClock())
        other = new_desk(store, tmp_path, SystemClock())
        result: dict[str, Any] = {}
        poller = _poll_in_thread(other, _cursor(store.url), result)
        wait_until(lambda: health(store.url).polls_waiting == 1, what="the poll to wait")
        made = desk.register(2)
        assert [r.status for r in desk.push(made).results] == ["stored", "stored"]
        poller.join(timeout=5)
        assert not poller.is_alive(), "the long-poll was not woken by the push"
        assert [e.id for e in result["page"].entries] == [e.id for e in made]
        # After a restore, `new-epoch` makes every cursor foreign.
        old = result["page"].cursor
        assert store.new_epoch() == 2
        assert other.pull_raw(after=old).json()["error"] == p.ERR_CURSOR_FOREIGN
        # An admin revokes a desk; an unknown desk id is an error that names it.
        assert "revoked" in store.cli("revoke-desk", other.desk_id)
        refused = other.pull_raw()  # signed right, so the desk is told why: 403 revoked
        assert refused.status_code == 403 and refused.json()["error"] == p.ERR_REVOKED
        assert refused.json()["message"].startswith(f"desk {other.desk_id} revoked at ")
        assert "enrol it again with a new code" in refused.json()["message"]
        unknown = subprocess.run(
            [sys.executable, "-m", "app", "server", "revoke-desk", "dnobody", "--db", store.db_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert unknown.returncode == 1 and "no desk dnobody" in unknown.stderr
    finally:
        store.close()


def test_a_push_on_one_process_wakes_a_poll_on_the_other(
    pg_pair: tuple[ProcessStore, ProcessStore], tmp_path: Path
) -> None:
    first, second = pg_pair
    writer = new_desk(first, tmp_path, SystemClock())
    reader = new_desk(first, tmp_path, SystemClock())
    reader.url = second.url  # one enrolment, either process: they share the database
    result: dict[str, Any] = {}
    poller = _poll_in_thread(reader, _cursor(second.url), result)
    wait_until(lambda: health(second.url).polls_waiting == 1, what="the poll on process 2")
    made = writer.register(1)
    writer.push(made)
    poller.join(timeout=5)
    assert not poller.is_alive(), "process 2's long-poll was not woken by process 1's push"
    assert [e.id for e in result["page"].entries] == [made[0].id]


def test_concurrent_pushes_to_two_processes_never_show_a_gap(
    pg_pair: tuple[ProcessStore, ProcessStore], tmp_path: Path
) -> None:
    stores = pg_pair
    start = p.parse_cursor(_cursor(stores[0].url))
    assert start is not None
    writers = [new_desk(stores[i % 2], tmp_path, SystemClock()) for i in range(4)]
    for i, desk in enumerate(writers):
        desk.url = stores[i % 2].url
    batches = [[w.register(5) for _ in range(12)] for w in writers]
    reader = new_desk(stores[0], tmp_path, SystemClock())
    done = threading.Event()
    failures: list[str] = []
    seen: list[int] = []
    ids: list[str] = []
    facts: list[Entry] = []  # the store's own: one enrolment per desk, made after `start`
    enrolled = [desk.desk_id for desk in (*writers, reader)]

    def write(desk: Desk, work: list[Any]) -> None:
        try:
            for batch in work:
                assert all(r.status == "stored" for r in desk.push(batch).results)
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            failures.append(f"{desk.desk_id}: {exc!r}")

    def read() -> None:
        cursor, turn = p.format_cursor(start), 0
        while not (done.is_set() and len(seen) >= expected + len(enrolled)):
            reader.url = stores[turn % 2].url
            turn += 1
            page = reader.pull(after=cursor, limit=7, wait=0.2)
            got = [int(e.server_seq or 0) for e in page.entries]
            first = p.parse_cursor(cursor).seq + 1  # type: ignore[union-attr]
            if got != list(range(first, first + len(got))):
                failures.append(f"gap: after {cursor} came {got}")
                return
            seen.extend(got)
            ids.extend(e.id for e in without_store_facts(page.entries))
            facts.extend(store_facts(page.entries))
            cursor = page.cursor

    expected = sum(len(b) for work in batches for b in work)
    threads = [
        threading.Thread(target=write, args=(w, b)) for w, b in zip(writers, batches, strict=True)
    ]
    reading = threading.Thread(target=read)
    reading.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    reading.join(timeout=60)
    assert not failures, failures
    # Every seq after `start` seen once and in order: the pushes and the five enrolment facts.
    assert len(seen) == expected + len(enrolled) and len(set(seen)) == len(seen)
    assert len(ids) == expected and len(set(ids)) == expected
    assert [(e.kind, e.payload["desk_id"]) for e in facts] == [
        ("store.desk_enrolled", desk_id) for desk_id in enrolled]
    pushed = {e.id for work in batches for b in work for e in b}
    assert set(ids) == pushed


@pytest.mark.slow  # seconds of real processes or real waiting: outside the quick loop
def test_two_processes_starting_on_an_empty_database_both_serve() -> None:
    with pg_database() as url:
        # Both start before either has created a table: one migrates, the other waits for it.
        pair = [ProcessStore(url, start=False), ProcessStore(url, start=False)]
        try:
            urls = [store.started() for store in pair]
            heads = [health(u) for u in urls]
            assert heads[0].store_id == heads[1].store_id and heads[0].head == 0
        finally:
            for store in pair:
                store.close()


def test_the_listening_socket_is_tcp_so_replies_are_not_delayed() -> None:
    # A listener made with proto 0 leaves Nagle on for every accepted connection, and each
    # keep-alive request of a desk's session then waits ~40 ms for a delayed ACK.
    from app.cli.server import _listen

    sock = _listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_cut_database_connections_are_survived(
    pg_pair: tuple[ProcessStore, ProcessStore], pg_url: str, tmp_path: Path
) -> None:
    first, second = pg_pair
    writer = new_desk(first, tmp_path, SystemClock())
    reader = new_desk(first, tmp_path, SystemClock())
    reader.url = second.url
    for url in (first.url, second.url):
        health(url)  # both now hold pooled connections, besides their listeners
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        ).fetchone()
    assert cut is not None and cut[0] >= 2  # at least the two listeners
    # Requests find fresh connections (pool pre-ping), and process 2's listener comes back:
    # a push on process 1 still wakes a poll on process 2.
    result: dict[str, Any] = {}
    poller = _poll_in_thread(reader, _cursor(second.url), result)
    wait_until(lambda: health(second.url).polls_waiting == 1, what="the poll on process 2")
    made = writer.register(1)
    writer.push(made)
    poller.join(timeout=10)
    assert not poller.is_alive(), "process 2 did not wake after its connections were cut"
    assert [e.id for e in result["page"].entries] == [made[0].id]
