"""Network and crash faults between a desk and the real store, through a loopback proxy the
test controls. Whatever breaks, retrying gives every entry to the store exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.clock import SystemClock
from app.models.entry import Entry
from app.models.journal import Journal
from app.store.storage import Store
from app.sync import protocol as p
from app.sync.client import StoreUnreachable
from app.sync.engine import SyncEngine
from app.sync.status import CURSOR_KEY
from tests.sync.cards import edit, register
from tests.sync.conftest import enrolled_desk
from tests.sync.proxy import HOLD, HOOK, RESET, Fault, FaultProxy
from tests.sync.store_facts import ENROLLED, desk_entries_seq, store_facts, without_store_facts

ROOT = Path(__file__).resolve().parents[2]


class StoreProcess:
    """The store as a real subprocess on a fixed loopback port, so it can be SIGKILLed and
    started again on the same database and address."""

    def __init__(self, db: Path, desks: tuple[str, ...] = ("A", "B")) -> None:
        self.db_url = f"sqlite:///{db}"
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        # Enrolment codes are made before the process runs: two processes writing one SQLite
        # file at once is not what this test is about.
        self.codes = {name: self._add_desk(name) for name in desks}
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.store_process", self.db_url, str(self.port)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the store process did not start: {line!r}")
        self.port = int(line)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def head(self) -> int:
        """The head less the seq numbers of the store's own facts (enrolments)."""
        store = Store(self.db_url)
        try:
            return desk_entries_seq(store)
        finally:
            store.close()

    def _add_desk(self, name: str) -> str:
        store = Store(self.db_url)
        try:
            return store.add_desk_code(name)
        finally:
            store.close()


@pytest.fixture
def store_process(tmp_path: Path) -> Iterator[StoreProcess]:
    running = StoreProcess(tmp_path / "store.sqlite")
    yield running
    running.stop()


@pytest.fixture
def proxy(store_process: StoreProcess) -> Iterator[FaultProxy]:
    running = FaultProxy(store_process.port)
    yield running
    running.close()


def _desk(tmp_path: Path, store: StoreProcess, proxy: FaultProxy, code: str,
          **engine_args: object) -> SyncEngine:
    engine = enrolled_desk(tmp_path / f"desk-{code}.sqlite", proxy.url, store.codes[code],
                           code, SystemClock(), **engine_args)
    engine.client.timeout = (1.0, 2.0)
    return engine


def _all_pulled(engine: SyncEngine) -> list[str]:
    """The ids of every entry desks wrote, pulled from the start; the store's own facts are
    checked to be exactly its enrolment of A (the one desk these tests enrol)."""
    pulled: list[Entry] = []
    cursor = ""
    while True:
        page = engine.client.pull(cursor, limit=p.PULL_LIMIT_MAX)
        pulled += page.entries
        cursor = page.cursor
        if not page.more:
            break
    facts = store_facts(pulled)
    assert [(e.kind, e.payload["desk_id"]) for e in facts] == [
        (ENROLLED, engine.journal.desk_id)]
    return [e.id for e in without_store_facts(pulled)]


def _close(*engines: SyncEngine) -> None:
    for engine in engines:
        engine.client.close()
        engine.journal.close()


def _write_some(journal: Journal, cards: int = 3) -> set[str]:
    ids = []
    for n in range(cards):
        card = register(journal, f"outage {n}")
        edit(journal, card, site=f"site {n}")
        ids.append(card)
    return {e.id for c in ids for e in journal.entries(c)}


def test_connection_reset_mid_response(tmp_path: Path, store_process: StoreProcess,
                                       proxy: FaultProxy) -> None:
    a = _desk(tmp_path, store_process, proxy, "A")
    written = _write_some(a.journal)
    proxy.arm(Fault(p.PATH_PUSH, RESET))
    with pytest.raises(StoreUnreachable):
        a.round()
    assert proxy.fired and not a.status.online
    assert a.journal.outbox_size() == len(written)  # no reply, so nothing counted as sent
    assert store_process.head() == len(written)  # ... but the store did commit
    a.round()
    assert a.journal.outbox_size() == 0
    pulled = _all_pulled(a)
    assert sorted(pulled) == sorted(written)  # each exactly once
    assert store_process.head() == len(written)
    _close(a)


def test_a_reply_that_never_comes_times_out_and_is_retried(
    tmp_path: Path, store_process: StoreProcess, proxy: FaultProxy
) -> None:
    a = _desk(tmp_path, store_process, proxy, "A")
    written = _write_some(a.journal)
    proxy.arm(Fault(p.PATH_PUSH, HOLD))
    with pytest.raises(StoreUnreachable, match="did not answer in time"):
        a.round()
    assert "did not answer" in (a.status.last_error or "")
    a.round()
    assert a.journal.outbox_size() == 0
    assert sorted(_all_pulled(a)) == sorted(written)
    _close(a)


def test_store_killed_between_commit_and_reply(
    tmp_path: Path, store_process: StoreProcess, proxy: FaultProxy
) -> None:
    a = _desk(tmp_path, store_process, proxy, "A")
    written = _write_some(a.journal)
    # The response starting means the push committed; the store dies before the desk hears.
    proxy.arm(Fault(p.PATH_PUSH, HOOK, hook=store_process.kill))
    with pytest.raises(StoreUnreachable):
        a.round()
    assert store_process.proc is not None and store_process.proc.returncode == -signal.SIGKILL
    with pytest.raises(StoreUnreachable):
        a.round()  # the store is down: the desk keeps its outbox
    assert a.journal.outbox_size() == len(written)
    store_process.start()
    a.round()
    assert a.journal.outbox_size() == 0
    assert sorted(_all_pulled(a)) == sorted(written)
    assert store_process.head() == len(written)
    _close(a)


def test_store_restarted_mid_pull(tmp_path: Path, store_process: StoreProcess,
                                  proxy: FaultProxy) -> None:
    a = _desk(tmp_path, store_process, proxy, "A")
    b = _desk(tmp_path, store_process, proxy, "B", page=7)
    written = _write_some(a.journal, cards=20)
    a.round()
    proxy.arm(Fault(p.PATH_PULL, HOOK, hook=store_process.kill, skip=2))
    with pytest.raises(StoreUnreachable):
        b.round()
    got = {e.id for c in b.journal.cards() for e in b.journal.entries(c["id"])}
    assert 0 < len(got) < len(written)  # two pages applied, then the store died
    before = p.parse_cursor(b.journal.get_meta(CURSOR_KEY))
    store_process.start()
    b.round()
    after = p.parse_cursor(b.journal.get_meta(CURSOR_KEY))
    assert before is not None and after is not None and after.seq >= before.seq
    got = [e.id for c in b.journal.cards() for e in b.journal.entries(c["id"])]
    assert sorted(got) == sorted(written)
    assert b.journal.verify() == []
    _close(a, b)
