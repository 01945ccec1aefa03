"""Writes by other processes reach the open window: a P1 registered by `dispatch-desk card new`
from another shell (a monitoring hook) appears in the queue without a restart."""

from __future__ import annotations

from typing import Any

from app.application import Desk
from tests.runtime.desk_procs import P1, cli


def test_a_card_written_by_another_process_appears_in_the_queue(qtbot: Any, desk: Desk,
                                                              window: Any) -> None:
    window.background.start()
    try:
        made = cli(desk.journal.path, *P1)
        assert made.returncode == 0, made.stderr
        number = made.stdout.split()[1] if made.stdout.startswith("registered") else None
        qtbot.waitUntil(lambda: window.queue.model.rowCount() == 1, timeout=3000)
        row = window.queue.model.all_rows[0]
        assert row.card.priority == "P1" and (number is None or row.card.number == number)
    finally:
        window.background.stop()


def test_the_windows_own_writes_are_not_announced_twice(qtbot: Any, desk: Desk,
                                                      window: Any) -> None:
    from tests.ui.conftest import register

    background = window.background
    background.start()
    background._watch_timer.stop()  # the test looks itself, deterministically
    announced: list[object] = []
    window.events.changed.connect(announced.append)
    try:
        window.events.run(lambda: register(desk))
        background._look()
        assert len(announced) == 1  # the action's own announcement, not the watch's
        made = cli(desk.journal.path, *P1)
        assert made.returncode == 0, made.stderr
        background._look()
        assert len(announced) == 2 and len(announced[-1]) == 1  # type: ignore[arg-type]
        background._look()
        assert len(announced) == 2
    finally:
        background.stop()
