"""The routing matrix is read live from the composition root's roster file: a route edited in
the middle of a shift routes the next page, without a restart."""

from __future__ import annotations

from pathlib import Path

from app.bootstrap import build_desk, build_escalation
from app.clock import FakeClock
from app.config import Settings
from app.services.roster_store import read_roster_file
from tests.escalation.conftest import T0
from tests.escalation.harness import DISPATCHER, intake, make_pager
from tests.twilio_standin import TwilioStandIn

ROSTER = Path(__file__).resolve().parents[2] / "app" / "defaults" / "roster.example.toml"


def test_a_route_edited_mid_shift_is_obeyed_by_the_next_page(tmp_path: Path,
                                                             twilio: TwilioStandIn) -> None:
    clock = FakeClock(T0)
    desk = build_desk(Settings(journal=tmp_path / "desk.sqlite").validated(), clock)
    loaded = read_roster_file(ROSTER)
    desk.roster.save(loaded.roster, loaded.routing)
    service = build_escalation(desk, make_pager(twilio.base_url, twilio.account_sid,
                                                twilio.auth_token))
    try:
        first = desk.cards.register(intake("P1", category="network"), DISPATCHER)
        service.run_due()
        paged = service.state(first.id).steps[0].who
        on_call = loaded.roster.on_call
        assert paged == on_call("network", "primary", clock.now()).name  # type: ignore[union-attr]

        edited = ROSTER.read_text().replace('category = "network"\ngroup = "network"',
                                            'category = "network"\ngroup = "power"')
        assert edited != ROSTER.read_text()
        desk.roster.path.write_text(edited)  # an admin edits the route during the shift
        second = desk.cards.register(intake("P1", category="network"), DISPATCHER)
        service.run_due()
        now_paged = service.state(second.id).steps[0].who
        assert now_paged == on_call("power", "primary", clock.now()).name  # type: ignore[union-attr]
        assert now_paged != paged
    finally:
        service.close()
        desk.close()
