"""Waiting on a condition held by another process or thread (a store, a ladder process, a
scheduler), which has no Qt signal to wait on: poll it, briefly, until it holds or a deadline
passes. The one such loop in the tests; never a fixed nap."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_S = 0.01


def holds_within(condition: Callable[[], bool], within: float) -> bool:
    """Whether `condition` came to hold within `within` seconds (False: it did not)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def wait_until(condition: Callable[[], bool], what: str = "", within: float = 20.0) -> None:
    if not holds_within(condition, within):
        raise AssertionError(f"timed out after {within} s waiting for {what or condition}")
