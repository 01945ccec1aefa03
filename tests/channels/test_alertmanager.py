"""End to end with the real parts: Prometheus Alertmanager (Debian's binary) sends its own
grouped webhooks to the store's door on loopback; a desk pulls with the real sync engine and
finds the items in its triage tray. Real time throughout (Alertmanager keeps its own), so the
store and the desk run on the system clock; every wait polls a condition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.clock import SystemClock
from app.store.tables import intake_open, intake_refusals
from tests.channels.alertmanager import Alertmanager, PullingDesk, alert
from tests.store.harness import ThreadStore

# Not marked slow: with one-second grouping each test takes about a second here.


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ThreadStore]:
    served = ThreadStore("sqlite:///" + str(tmp_path / "store.sqlite"), SystemClock())
    yield served
    served.close()


@pytest.fixture
def desk(store: ThreadStore, tmp_path: Path) -> Iterator[PullingDesk]:
    made = PullingDesk(store, tmp_path / "desk", SystemClock())
    yield made
    made.close()


def test_alertmanager_groups_reach_the_tray_and_a_resolve_lands_on_its_item(
        store: ThreadStore, desk: PullingDesk, tmp_path: Path) -> None:
    key = desk.add_integration("alertmanager", "prometheus-dc1", site="DC1",
                               category="server")
    am = Alertmanager(tmp_path / "am", f"{store.url}/v1/intake/alertmanager", key)
    try:
        am.post([alert("DiskFull", "db1:9100", summary="Disk full on db1"),
                 alert("DiskFull", "db2:9100", summary="Disk full on db2"),
                 alert("HighLoad", "web1:9100", severity="warning")])
        items = desk.pending_after_pull("prometheus-dc1", 3)
        by_node = {i.node: i for i in items}
        assert set(by_node) == {"db1:9100", "db2:9100", "web1:9100"}
        db1 = by_node["db1:9100"]
        assert (db1.summary, db1.metric, db1.severity, db1.site, db1.category, db1.source) == (
            "Disk full on db1", "DiskFull", "critical", "DC1", "server", "alertmanager")
        assert db1.status == "firing" and db1.count == 1
        assert "Second line." in db1.details
        assert "https://runbooks.example.org/DiskFull" in db1.links
        assert "http://prometheus.example.org:9090/graph?g0.expr=up" in db1.links
        assert by_node["web1:9100"].summary == "HighLoad on web1:9100"
        assert db1.fields["started_at"]

        # The same alert, ended: Alertmanager sends the group again with it resolved.
        am.post([alert("DiskFull", "db1:9100", summary="Disk full on db1", resolved=True,
                       starts=None)])
        items = desk.pending_after_pull(
            "prometheus-dc1", 3,
            check=lambda found: any(i.node == "db1:9100" and i.status == "resolved"
                                    for i in found))
        db1 = next(i for i in items if i.node == "db1:9100")
        assert db1.count == 2 and len(items) == 3
    finally:
        am.close()
    with store.store.engine.connect() as conn:
        assert len(conn.execute(select(intake_open)).all()) == 3
        assert conn.execute(select(intake_refusals)).all() == []


def test_a_key_in_the_path_and_a_group_sent_again_is_not_counted_twice(
        store: ThreadStore, desk: PullingDesk, tmp_path: Path) -> None:
    key = desk.add_integration("alertmanager", "prometheus-lab")
    # A sender without headers: the key in the URL (Alertmanager could set a header; this
    # checks the path form with the real sender).
    am = Alertmanager(tmp_path / "am", f"{store.url}/v1/intake/alertmanager/{key}", None)
    try:
        first = alert("PsuFailed", "rack4:9100")
        am.post([first])
        [psu] = desk.pending_after_pull("prometheus-lab", 1)
        # A second alert of the same group: Alertmanager sends the whole group, PsuFailed
        # again with it; the store knows that occurrence and counts only the new one.
        am.post([alert("PsuFailed", "rack5:9100")])
        items = desk.pending_after_pull("prometheus-lab", 2)
        assert {i.node for i in items} == {"rack4:9100", "rack5:9100"}
        assert all(i.count == 1 for i in items), [(i.node, i.count) for i in items]
        assert psu.id in {i.id for i in items}
    finally:
        am.close()
