"""The routing matrix is read live from the composition root's roster file: a route edited in
the middle of a shift routes the next page, without a restart."""

from __future__ import annotations

from pathlib import Path

from tests.escalation.conftest import T0
from tests.escalation.test_routing_obeyed import EXAMPLE, ROSTER, _site
from tests.twilio_standin import TwilioStandIn


def test_a_route_edited_mid_shift_is_obeyed_by_the_next_page(tmp_path: Path,
                                                             twilio: TwilioStandIn) -> None:
    for site in _site(tmp_path, twilio, T0):
        service, clock = site.service, site.clock
        first = site.register(category="network")
        service.run_due()
        paged = service.state(first).steps[0].who
        assert paged == EXAMPLE.on_call("network", "primary", clock.now()).name  # type: ignore[union-attr]

        edited = ROSTER.read_text().replace('category = "network"\ngroup = "network"',
                                            'category = "network"\ngroup = "power"')
        assert edited != ROSTER.read_text()
        site.desk.roster.path.write_text(edited)  # an admin edits the route during the shift
        second = site.register(category="network")
        service.run_due()
        now_paged = service.state(second).steps[0].who
        assert now_paged == EXAMPLE.on_call("power", "primary", clock.now()).name  # type: ignore[union-attr]
        assert now_paged != paged
