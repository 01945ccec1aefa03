"""One worker thread that runs `step()` until stopped: the outbound webhooks and the outbox.

`step` returns the seconds until something is due again (None: nothing scheduled; 0: more
is waiting now). The thread sleeps until then, never longer than `idle_s`, and wakes early
on `nudge` (a write). A DeskError is said once per distinct text (a bad secret would
otherwise be said at every pass); any other error is logged and the loop goes on, because
a bug must not stop delivery silently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.errors import DeskError

log = logging.getLogger(__name__)


class StepLoop:
    def __init__(self, name: str, idle_s: float, on_error: Callable[[str], None]) -> None:
        self.idle_s = idle_s
        self._name = name
        self._on_error = on_error
        self._said: set[str] = set()        # problems already reported, said once
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> float | None:  # pragma: no cover - each worker has its own
        raise NotImplementedError

    def _say_once(self, key: str, text: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self._on_error(text)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Something was written: look now rather than at the idle wake."""
        self._wake.set()

    def _join(self, timeout_s: float) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            wait: float | None = self.idle_s
            try:
                wait = self.step()
            except DeskError as exc:
                self._say_once(f"error:{exc}", str(exc))
            except Exception:  # noqa: BLE001 - a bug must not stop delivery silently
                log.exception("%s pass failed", self._name)
            if self._stopping.is_set():
                break
            if wait == 0.0:
                continue
            self._wake.wait(self.idle_s if wait is None else min(max(wait, 0.0), self.idle_s))
            self._wake.clear()
