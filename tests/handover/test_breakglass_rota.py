"""The break-glass packet carries the desk's own rota and contact tree, and the window says
when one is due (at shift start) until it has been printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.adapters.roster_store import DEFAULT_EXAMPLE, DeskRoster
from app.application import Desk
from app.cli import main
from app.ui.background import DeskBackground
from app.ui.events import DeskEvents
from tests.handover.conftest import pdf_text


def test_packet_lists_the_rota_with_numbers(qapp: Any, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # `qapp` first: the command line would otherwise make a QGuiApplication, and the widget
    # tests after this one in the same process need a QApplication.
    journal = tmp_path / "desk.sqlite"
    assert main(["--journal", str(journal), "demo"]) == 0
    roster = DeskRoster.for_journal(journal)
    roster.import_file(DEFAULT_EXAMPLE)
    someone = roster.roster.contacts[0]
    assert main(["--journal", str(journal), "breakglass", "--out", str(tmp_path / "bg.pdf")]) == 0
    text = pdf_text(tmp_path / "bg.pdf")
    assert someone.name in text
    assert someone.primary_phone in text.replace(" ", "")


def test_window_says_when_a_packet_is_due(qtbot: Any, desk: Desk) -> None:
    events = DeskEvents(desk.clock)
    background = DeskBackground(desk, events)
    with qtbot.waitSignal(events.info) as said:
        background.start()
    assert "Break-glass packet due (shift start" in said.args[0]
    background.packet_printed()
    with qtbot.assertNotEmitted(events.info):
        for _ in range(61):
            events.tick.emit()
    background.stop()
