"""SIGKILL around firing a step, restart 20 minutes later: each due step fires once, late."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from app.clock import FakeClock
from app.models.journal import Journal
from tests.escalation.harness import ALICE, BOB, CAROL, DORA, build
from tests.escalation.test_ladder_flow import calls_to, sms_to
from tests.polling import wait_until
from tests.twilio_standin import TwilioStandIn

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def ladder_process(journal: Path, twilio: TwilioStandIn, start) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.escalation.ladder_proc", str(journal), twilio.base_url,
         twilio.account_sid, twilio.auth_token, start.isoformat()],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if line.strip() != "ready":
            proc.kill()
            raise AssertionError(f"ladder process did not start: {proc.stderr.read()}")
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def kinds(path: Path, card_id: str) -> list[str]:
    journal = Journal.open(path, FakeClock())
    try:
        return [e.kind for e in journal.entries(card_id)]
    finally:
        journal.close()


def register(path: Path, clock: FakeClock, twilio: TwilioStandIn, priority: str) -> str:
    desk = build(path, clock, twilio.base_url, twilio.account_sid, twilio.auth_token)
    try:
        return desk.register(priority)
    finally:
        desk.close()


def check_after_restart(path: Path, clock: FakeClock, twilio: TwilioStandIn, card_id: str):
    desk = build(path, clock, twilio.base_url, twilio.account_sid, twilio.auth_token)
    try:
        state = desk.service.state(card_id)
        assert desk.journal.verify() == []
    finally:
        desk.close()
    for number in (ALICE, BOB, CAROL, DORA):  # never twice, none missing
        assert len(sms_to(twilio, number)) == 1, number
        assert len(calls_to(twilio, number)) == 1, number
    assert [(s.tier, s.attempt) for s in state.steps] == [(1, 1), (2, 1), (3, 1), (4, 1)]
    return state


def test_killed_while_sending_a_step_it_is_not_sent_again(tmp_path, clock, twilio) -> None:
    path = tmp_path / "journal.sqlite"
    card_id = register(path, clock, twilio, "P1")
    twilio.delay_next(2, 30)  # the SMS and the call hang at the provider: kill mid-send
    with ladder_process(path, twilio, clock.now()):
        wait_until(lambda: len(twilio.requests) >= 2, "the first page to reach the stand-in")
        assert "ladder.step" in kinds(path, card_id)  # written before it was sent
    assert "ladder.page" not in kinds(path, card_id)

    with ladder_process(path, twilio, clock.now() + timedelta(minutes=20)):
        wait_until(lambda: "ladder.exhausted" in kinds(path, card_id), "the ladder to finish")
    state = check_after_restart(path, clock, twilio, card_id)
    first = state.steps[0]
    assert not first.late and all(s.late for s in state.steps[1:])
    assert {c.last_error for c in first.channels.values()} == {
        "the desk stopped while sending; not sent again to avoid a double page, so it may or "
        "may not have gone out"}


def test_killed_before_a_step_fell_due_it_fires_once_late(tmp_path, clock, twilio) -> None:
    path = tmp_path / "journal.sqlite"
    card_id = register(path, clock, twilio, "P2")  # the ladder starts 60 s after registration
    with ladder_process(path, twilio, clock.now()):
        pass  # killed after its first run, long before anything was due
    assert twilio.requests == []
    with ladder_process(path, twilio, clock.now() + timedelta(minutes=20)):
        wait_until(lambda: "ladder.exhausted" in kinds(path, card_id), "the ladder to finish")
        # Two more reads of Twilio for answers: the scheduler kept running after the end.
        polled = len(twilio.requests_to("GET", ".json"))
        wait_until(lambda: len(twilio.requests_to("GET", ".json")) >= polled + 2,
                   "two more polls for answers")
    state = check_after_restart(path, clock, twilio, card_id)
    assert all(s.late for s in state.steps)
    assert state.steps[0].fired_at - state.steps[0].due > timedelta(minutes=18)
    # Due times keep the ladder's own rhythm, not the restart's.
    assert [s.due - state.steps[0].due for s in state.steps] == [
        timedelta(0), timedelta(seconds=40), timedelta(seconds=80), timedelta(seconds=110)]
