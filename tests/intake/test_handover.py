"""The handover sheet lists the untriaged items and the shift's maintenance windows."""

from __future__ import annotations

from datetime import timedelta

from app.application import Desk
from app.clock import FakeClock
from app.services.handover.service import HandoverService
from tests.intake.helpers import alert


def test_the_sheet_lists_untriaged_items_and_this_shifts_windows(desk: Desk, clock: FakeClock):
    desk.intake.receive([alert(clock, key="a"), alert(clock, key="b", summary="UPS on battery",
                                                       site="Plant 2")], "door")
    desk.intake.dismiss(desk.intake.pending()[0].id, "duplicate of a call", desk.operator)
    desk.intake.setup.schedule_maintenance("SAN firmware", clock.now() + timedelta(hours=1),
                                           clock.now() + timedelta(hours=2), desk.operator,
                                           category="server")
    sheet = desk.handover.draft()  # the CLI's and the window's: the same service
    assert len(sheet.untriaged) == 1 and "Plant 2: UPS on battery" in sheet.untriaged[0]
    assert "Untriaged in the tray: 1 (oldest first):" in sheet.hazards
    (window,) = sheet.maintenance
    assert window.startswith("04:10-05:10 SAN firmware (server)")  # Berlin time
    assert "SAN firmware" in dict(sheet.questions)[
        "Which cards have strict clocks or maintenance windows?"]
    # A service built without the tray (the wallboard's) drafts the sheet as before.
    bare = HandoverService(desk.journal, desk.rules, desk.shifts, desk.clock)
    assert bare.draft().untriaged == () and "Untriaged" not in " ".join(bare.draft().hazards)
