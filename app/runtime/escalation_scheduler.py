"""Wakes the desk for the escalation ladder: one APScheduler job, always at the next deadline.

The ladder's deadlines are derived from the journal (``EscalationService.run_due`` returns the
next one), so the scheduler holds exactly one job, re-armed after every run for the earlier of
that deadline and the next poll for answers. Answers are read every 2 s while a ladder is
live on this desk (``poll_due``) and every 30 s when none is. Headless (``dispatch-desk
ladder run``) it is an APScheduler 3 ``BackgroundScheduler``; in the window,
``app/ui/ladder_scheduler.py`` passes a ``QtScheduler``. Either way the job runs on a worker
thread and reports only through the callbacks given here (the window turns them into Qt
signals).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from app.clock import Clock
from app.errors import DeskError
from app.services.escalation.answers import live
from app.services.escalation.service import EscalationService

log = logging.getLogger(__name__)

JOB_ID = "escalation-ladder"
POLL_JOB_ID = "escalation-answers"
#: With nothing pending the ladder still wakes this often (seconds): a card that arrived by
#: sync, or a clock that jumped, is picked up without a nudge.
IDLE_WAKE_S = 30.0
#: How long `stop` waits for a ladder run in flight (its sends have their own timeouts).
STOP_WAIT_S = 15.0
#: How often SMS replies and call results are fetched from the provider while a ladder is
#: live (a page is out, or a verification), in seconds; the `reply_poll_s` setting.
POLL_EVERY_S = 2.0
#: ... and with nothing live: a late reply or a verification code still gets read.
IDLE_POLL_S = 30.0


def _nothing(*_: object) -> None:
    return None


class EscalationScheduler:
    def __init__(
        self,
        service: EscalationService,
        clock: Clock,
        scheduler: BaseScheduler | None = None,
        *,
        poll_every_s: float = POLL_EVERY_S,
        idle_poll_s: float = IDLE_POLL_S,
        heartbeats: Callable[[], Mapping[str, datetime]] | None = None,
        on_change: Callable[[frozenset[str]], None] = _nothing,
        on_alarm: Callable[[str], None] = _nothing,
        on_error: Callable[[str], None] = _nothing,
    ) -> None:
        self.service, self.clock = service, clock
        self.scheduler = scheduler or BackgroundScheduler(timezone=UTC)
        self.poll_every = timedelta(seconds=poll_every_s)
        self.idle_poll = timedelta(seconds=max(idle_poll_s, poll_every_s))
        self._last_poll: datetime | None = None  # the ladder's clock
        self.polls = 0
        self._heartbeats = heartbeats or dict
        self._on_change, self._on_alarm, self._on_error = on_change, on_alarm, on_error
        self._busy = threading.Lock()
        self._nudged = threading.Event()
        self._stopping = threading.Event()
        # Re-arming after a run and a nudge must not interleave, or the run's later wake
        # could replace the nudge's "now" and the nudge would wait for the next deadline.
        self._arming = threading.Lock()
        self.runs = 0

    def start(self) -> None:
        """Run once now (whatever fell due while the desk was off fires at once), and read
        answers every ``poll_every`` in a job of its own, so a slow provider never holds up
        a step that falls due."""
        if not self.scheduler.running:
            self.scheduler.start()
        self.scheduler.add_job(self._poll, "interval", seconds=self.poll_every.total_seconds(),
                               id=POLL_JOB_ID, replace_existing=True, coalesce=True,
                               max_instances=1, misfire_grace_time=None)
        self._arm(0.0)

    def stop(self) -> None:
        # No job may re-arm once stopping: APScheduler's shutdown(wait=True) holds the
        # scheduler's lock while it joins the job threads, and a job blocked in add_job on
        # that lock never ends (a deadlock seen in the tests). So: refuse re-arming, shut
        # down without joining, then wait for a ladder run in flight to finish.
        with self._arming:
            self._stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._busy.acquire(timeout=STOP_WAIT_S):
            self._busy.release()

    def nudge(self) -> None:
        """Run now: a card was registered or changed priority, or an answer came in."""
        with self._arming:
            self._nudged.set()
            if not self._busy.locked():  # a run in progress sees the flag and runs again
                self._arm(0.0)

    def _arm(self, delay_s: float) -> None:
        if self._stopping.is_set():
            return
        # APScheduler counts in real time; the ladder's clock says how long to wait.
        when = datetime.now(UTC) + timedelta(seconds=max(0.0, delay_s))
        self.scheduler.add_job(self._run, "date", run_date=when, id=JOB_ID,
                               replace_existing=True, misfire_grace_time=None, coalesce=True)

    def run_once(self) -> datetime | None:
        """One wake-up: fire what is due; returns the next deadline (None: none pending)."""
        result = self.service.run_due(self._heartbeats())
        for alarm in result.alarms:
            self._on_alarm(alarm)
        if result.touched:
            self._on_change(frozenset(result.touched))
        self.runs += 1
        return result.next_wake

    def poll_due(self) -> bool:
        """Whether to read answers now: every ``poll_every`` while a ladder is live here,
        else every ``idle_poll``."""
        now = self.clock.now()
        if self._last_poll is None or now - self._last_poll >= self.idle_poll:
            return True
        return live(self.service, self._heartbeats(), now)

    def _poll(self) -> None:
        try:
            if not self.poll_due():
                return
            self._last_poll = self.clock.now()
            self.polls += 1
            touched = self.service.poll(self._heartbeats())
        except DeskError as exc:  # the provider is down: paging goes on; say so
            self._on_error(f"could not read answers from the pager: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - polling must keep going
            log.exception("reading answers failed")
            self._on_error(f"reading answers from the pager failed: {exc}")
            return
        if touched:
            self._on_change(frozenset(touched))
            self.nudge()  # an acknowledgement stops a ladder: its next wake changes

    def _run(self) -> None:
        if not self._busy.acquire(blocking=False):
            return  # a run is in progress; it sees the nudge and runs again
        delay = IDLE_WAKE_S
        try:
            while True:
                self._nudged.clear()
                wake = self.run_once()
                if not self._nudged.is_set():
                    break
            if wake is not None:
                delay = min(delay, (wake - self.clock.now()).total_seconds())
        except DeskError as exc:
            log.warning("ladder run refused: %s", exc)
            self._on_error(str(exc))
        except Exception as exc:  # noqa: BLE001 - the ladder must keep waking up
            log.exception("ladder run failed")
            self._on_error(f"the escalation ladder hit an unexpected error: {exc}")
        finally:
            self._busy.release()
        with self._arming:
            if self.scheduler.running:
                self._arm(0.0 if self._nudged.is_set() else delay)
