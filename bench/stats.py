"""What every benchmark shares: the percentile it quotes and the wait for a real thing to
happen (benchmarks time real threads and servers, so they poll; tests never do)."""

from __future__ import annotations

import time
from collections.abc import Callable


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest rank below: p99 of 100 values is the 100th."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, *,
             what: str = "the awaited event", every_s: float = 0.0005) -> None:
    """Poll `condition` until it holds; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every_s)
