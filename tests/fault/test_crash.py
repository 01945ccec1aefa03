"""Power-cut test: a writer killed with SIGKILL at random moments never loses a saved change.

Four journals are hammered in parallel; each writer is killed after a random number of saved
changes (so the kill lands anywhere inside the next transaction), then the journal is opened
again: SQLite's integrity check passes, the projection matches the entries, and every change
the writer reported as saved is there. CRASH_KILLS sets the total (default 200).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.clock import SystemClock
from app.models.journal import Journal

KILLS = int(os.environ.get("CRASH_KILLS", "200"))
LANES = 4
WRITER = [sys.executable, "-m", "tests.fault.crash_writer"]
ROOT = Path(__file__).resolve().parents[2]


def one_life(path: Path, rng: random.Random) -> list[str]:
    """Start a writer, let it save a random number of changes, kill it; return its lines."""
    proc = subprocess.Popen([*WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    lines = []
    first = proc.stdout.readline()
    assert first == "ready\n", f"writer did not start: {first!r}"
    for _ in range(rng.randint(0, 25)):
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
    proc.send_signal(signal.SIGKILL)
    # What the writer printed before it died was committed before it was printed.
    lines += [line.strip() for line in proc.stdout.read().splitlines()]
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"writer exited by itself: {proc.returncode}"
    return lines


def check(path: Path, saved: list[str]) -> None:
    journal = Journal.open(path, SystemClock())
    try:
        assert journal.integrity_check() == "ok"
        assert journal.verify() == []
        states = {c["number"]: c for c in journal.cards()}
        texts = {e.payload.get("text") for e in journal.all_entries() if e.kind == "card.note"}
        for line in saved:
            kind, number, *rest = line.split(" ", 2)
            assert number in states, f"{number} was reported saved and is missing"
            if kind == "note":
                assert rest[0] in texts, f"note {rest[0]!r} on {number} is missing"
            if kind == "status":
                assert states[number]["status"] in ("in_progress",), number
    finally:
        journal.close()


def lane(path: Path, kills: int, seed: int) -> int:
    rng = random.Random(seed)
    saved: list[str] = []
    for _ in range(kills):
        saved += one_life(path, rng)
        check(path, saved)
    return len(saved)


@pytest.mark.slow  # about 30 s: left out of the quick loop (-m "not slow")
def test_sigkill_never_loses_a_saved_change(tmp_path: Path) -> None:
    per_lane = -(-KILLS // LANES)
    seed = random.randrange(1 << 30)
    with ThreadPoolExecutor(LANES) as pool:
        futures = [pool.submit(lane, tmp_path / f"lane{i}.sqlite", per_lane, seed + i)
                   for i in range(LANES)]
        saved = [f.result() for f in futures]
    print(f"{per_lane * LANES} kills, {sum(saved)} saved changes checked, seed {seed}")
    assert sum(saved) > per_lane * LANES  # the writers really wrote between the kills
