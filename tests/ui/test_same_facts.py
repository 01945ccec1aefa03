"""Every front end reports the same facts: the handover the command line prints is the sheet
the window shows, rota, ladders, link outages and entries set aside included."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.adapters.roster_store import read_roster_file
from app.cli.handover import draft
from app.models.entry import NewEntry
from app.services.handover.sources import OUTAGES_KEY, load_outages
from app.ui.handover_dialog import HandoverDialog
from tests.ui.conftest import register

ROSTER = Path(__file__).resolve().parents[2] / "app" / "defaults" / "roster.example.toml"


def test_the_cli_handover_is_the_windows_sheet(qtbot: Any, desk: Any, events: Any,
                                               window: Any) -> None:
    loaded = read_roster_file(ROSTER)
    desk.roster.save(loaded.roster, loaded.routing)
    card = register(desk)
    now = desk.clock.now()
    desk.journal.write([NewEntry(card.id, "ladder.step", {
        "tier": 1, "attempt": 1, "due": now.isoformat(), "who": "L. Fischer",
        "to": {"sms": "+4915100000001"}})], "ladder")
    start = (now - timedelta(minutes=30)).isoformat()
    desk.journal.set_meta(OUTAGES_KEY, f'[["{start}", "{now.isoformat()}"]]')
    # The window reads the log as a new process would.
    window.background.outages.outages = load_outages(desk.journal)

    from_cli = draft(desk, argparse.Namespace(shifts=None, outgoing=""))
    b = window.background
    dialog = HandoverDialog(desk, events, desk.handover, on_call=lambda: b.on_call(
        desk.clock.now()), sync=b.sync, escalations=b.escalations)
    qtbot.addWidget(dialog)
    from_window = dialog.sheet
    assert from_window is not None
    assert from_cli == from_window
    assert from_cli.on_call_now, "the rota reached the sheet"
    assert any("L. Fischer" in b.escalation for b in from_cli.cards if b.escalation)
