"""The queue's clock columns never scroll out of view: the symptom elides first, then
status, site and assignee shrink together; the clocks keep their width."""

from __future__ import annotations

import pytest

from app.ui.queue_model import CLOCK_COLUMNS
from app.ui.queue_view import fit_columns
from tests.ui.conftest import register

WANTED = [40, 80, 150, 130, 240, 120, 140, 140, 140]  # Pri .. Next update


def test_the_symptom_gives_way_first_then_the_text_columns_never_the_clocks() -> None:
    roomy = fit_columns(1400, WANTED, 60)
    assert roomy[4] == 1400 - (sum(WANTED) - 240)  # the symptom takes what is left
    tight = fit_columns(900, WANTED, 60)
    assert sum(tight) <= 900 and tight[4] == 60
    assert [tight[i] for i in CLOCK_COLUMNS] == [140, 140, 140]
    assert tight[2] < 150 and tight[3] < 130 and tight[5] < 120 and tight[0:2] == [40, 80]
    floor = fit_columns(500, WANTED, 60)  # narrower than the clocks: only then it scrolls
    assert [floor[i] for i in CLOCK_COLUMNS] == [140, 140, 140]
    assert floor[2] == floor[3] == floor[5] == 60


@pytest.mark.parametrize("width", [1100, 1340, 1600])
def test_at_every_width_the_clock_columns_are_in_view(qtbot, window, desk, width) -> None:
    register(desk, symptom="No network in building C " * 6)
    window.events.announce()
    window.resize(width, 800)
    window.side.setCurrentWidget(window.intake)  # the intake open beside the queue
    qtbot.wait(10)
    header = window.queue.table.horizontalHeader()
    last = max(CLOCK_COLUMNS)
    right = header.sectionPosition(last) + header.sectionSize(last)
    visible = window.queue.table.viewport().width()
    assert right <= visible, (width, right, visible)
