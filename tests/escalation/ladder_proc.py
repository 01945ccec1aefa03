"""A desk process running the ladder with the real scheduler, for the crash test.

    python -m tests.escalation.ladder_proc JOURNAL BASE_URL ACCOUNT_SID TOKEN START_ISO

Its clock runs in real time from START_ISO, so the test can say "restarted 20 minutes later".
It prints "ready" once its scheduler has started and then runs until it is killed.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from app.runtime.escalation_scheduler import EscalationScheduler
from tests.escalation.harness import build


class RunningClock:
    def __init__(self, start: datetime) -> None:
        self._start, self._t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


def main(argv: list[str]) -> int:
    journal, base_url, sid, token, start = argv
    clock = RunningClock(datetime.fromisoformat(start))
    desk = build(Path(journal), clock, base_url, sid, token, timeout=(1, 60))
    runner = EscalationScheduler(desk.service, clock, poll_every_s=0.2)
    runner.start()
    print("ready", flush=True)
    threading.Event().wait()  # run until the test kills this process
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
