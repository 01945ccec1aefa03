"""The delivery worker as it runs: a thread of its own in the desk, and a real `dispatch-desk
run` killed in the middle of a delivery. Waits poll (tests/polling.py); nothing sleeps."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from app.adapters.secrets import SecretStore
from app.clock import SystemClock
from app.loaders import load_rules
from app.models.journal import Journal
from app.runtime.outbound_worker import OutboundWorker, Webhooks
from app.services.cards.service import CardService
from tests.domain.conftest import DISPATCHER, intake
from tests.file_keyring import child_env
from tests.outbound.receiver import Receiver
from tests.polling import wait_until
from tests.runtime.desk_procs import P1, cli, start_run


def test_the_thread_delivers_at_once_and_a_hung_receiver_never_holds_the_journal(
        tmp_path: Path) -> None:
    clock = SystemClock()
    journal = Journal.open(tmp_path / "desk.sqlite", clock)
    cards = CardService(journal, load_rules(), clock)
    hooks = Webhooks(journal, SecretStore(), clock)
    worker = OutboundWorker(journal, SecretStore(), clock)
    with Receiver().start() as receiver:
        receiver.secret = hooks.add(receiver.url, "registered", "psa", DISPATCHER.name)[1]
        worker.start()
        try:
            cards.register(intake(), DISPATCHER)
            worker.nudge()
            wait_until(lambda: len(receiver.received) == 1, "the first delivery", within=5)
            receiver.hold.set()  # the receiver hangs in the middle of the next one
            cards.register(intake(symptom="printer on fire"), DISPATCHER)
            worker.nudge()
            wait_until(lambda: len(receiver.received) == 2, "the second delivery in flight",
                       within=5)
            started = time.monotonic()
            cards.register(intake(symptom="door stuck"), DISPATCHER)  # the ladder would write
            assert time.monotonic() - started < 1.0  # no lock held while it waits
            worker.nudge()
            receiver.release.set()
            receiver.hold.clear()
            wait_until(lambda: len(receiver.received) == 3, "the third delivery", within=5)
            assert all(r.signed and r.fresh for r in receiver.received)
            assert len(receiver.unique()) == 3
        finally:
            worker.stop()
            hooks.close()
            journal.close()


def _list(journal: Path, settings: Path, env: dict[str, str]) -> dict[str, object]:
    shown = cli(journal, "webhook", "list", "--json", env=env, settings=settings)
    assert shown.returncode == 0, shown.stderr
    views: list[dict[str, object]] = json.loads(shown.stdout)
    return views[0]


def _delivered(journal: Path) -> int:
    """What the desk recorded (its delivery state), read as another process would."""
    with sqlite3.connect(journal) as db:
        row = db.execute("SELECT value FROM desk_meta WHERE key LIKE 'wh:%'").fetchone()
    return int(json.loads(row[0])["delivered"]) if row else 0


def _stop(desk: subprocess.Popen[str]) -> None:
    if desk.poll() is None:
        desk.kill()
        desk.wait()


@pytest.mark.slow  # three desk processes: about 4 s
def test_a_desk_killed_mid_delivery_delivers_again_after_restart_with_the_same_key(
        tmp_path: Path) -> None:
    """At least once: the receiver had the request but the desk died before the answer was
    recorded, so the restarted desk sends it again; the Idempotency-Key lets the receiver
    keep one."""
    journal, settings = tmp_path / "desk.sqlite", tmp_path / "settings.toml"
    settings.write_text('desk_code = "K"\n')
    env = child_env(tmp_path / "keyring.json")
    with Receiver().start() as receiver:
        added = cli(journal, "webhook", "add", receiver.url, "--events", "registered",
                    "--name", "psa", env=env, settings=settings)
        assert added.returncode == 0, added.stderr
        receiver.secret = next(line.rsplit(": ", 1)[1] for line in added.stdout.splitlines()
                               if line.startswith("secret"))
        assert cli(journal, *P1, env=env, settings=settings).returncode == 0
        receiver.hold.set()
        first = start_run(journal, settings, env)
        try:
            wait_until(lambda: len(receiver.received) == 1, "the delivery in flight")
            first.send_signal(signal.SIGKILL)  # mid-delivery: no answer was recorded
            first.wait(timeout=20)
        finally:
            _stop(first)
        assert _delivered(journal) == 0  # the cursor did not move
        receiver.hold.clear()
        receiver.release.set()
        second = start_run(journal, settings, env)
        try:
            wait_until(lambda: _delivered(journal) == 1,
                       "the restarted desk to record the delivery")
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=20) == 0
        finally:
            _stop(second)
        got = receiver.received
        assert len(got) == 2 and got[0].key == got[1].key and got[0].body == got[1].body
        assert all(r.signed for r in got)
        assert [(e, n) for e, n in receiver.events()] == [("registered", "K-0001")]
        view = _list(journal, settings, env)
        assert (view["delivered"], view["waiting"], view["state"]) == (1, 0, "ok")
