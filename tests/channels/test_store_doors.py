"""The store's monitoring doors over real HTTP: a real store (uvicorn on a loopback port, on
SQLite and on PostgreSQL), real desk journals that add integrations by push and pull the
intake items into their tray. Payloads are the generic shape (README) and Grafana's and
Alertmanager's webhook bodies as their documentation shows them."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from app.clock import FakeClock
from app.store.tables import entries, intake_open
from tests.channels.alertmanager import PullingDesk
from tests.store.conftest import pg_database
from tests.store.harness import ROOT, ThreadStore

# Grafana Alerting's webhook body as its documentation gives it (webhook notifier page).
GRAFANA_DOC: dict[str, Any] = {
    "receiver": "My Super Webhook", "status": "firing", "orgId": 1,
    "alerts": [
        {"status": "firing",
         "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
         "annotations": {"description": "The system has high memory usage",
                         "runbook_url": "https://myrunbook.com/runbook/1234",
                         "summary": "This alert was triggered for zone us-1"},
         "startsAt": "2021-10-12T09:51:03.157076+02:00", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
         "fingerprint": "c6eadffa33fcdf37",
         "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
                       "&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
         "dashboardURL": "", "panelURL": "", "values": {"B": 44.23943737541908, "C": 1}},
        {"status": "firing",
         "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
         "annotations": {"description": "The system has high CPU usage",
                         "runbook_url": "https://myrunbook.com/runbook/1234",
                         "summary": "This alert was triggered for zone eu-1"},
         "startsAt": "2021-10-12T09:56:03.157076+02:00", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
         "fingerprint": "bc97ff14869b13e3",
         "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
                       "&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
         "dashboardURL": "", "panelURL": "", "valueString": "[ metric='' labels={} "
                                                            "value=14151.331895396988 ]"},
    ],
    "groupLabels": {}, "commonLabels": {"team": "blue"},
    "commonAnnotations": {}, "externalURL": "https://play.grafana.org/", "version": "1",
    "groupKey": "{}:{}", "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)", "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n",
}


def am_body(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """An Alertmanager version 4 webhook body around `alerts` (fields as documented)."""
    return {"receiver": "dispatch-desk", "status": "firing", "alerts": alerts,
            "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://alertmanager.example.org:9093",
            "version": "4", "groupKey": '{}:{alertname="DiskFull"}', "truncatedAlerts": 0}


def am_alert(fingerprint: str, host: str, started: datetime,
             status: str = "firing") -> dict[str, Any]:
    return {"status": status,
            "labels": {"alertname": "DiskFull", "instance": host, "severity": "warning"},
            "annotations": {"summary": f"Disk full on {host}"},
            "startsAt": started.isoformat(), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.org:9090/graph",
            "fingerprint": fingerprint}


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, clock: FakeClock,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadStore]:
    if request.param == "sqlite":
        served = ThreadStore("sqlite:///" + str(tmp_path_factory.mktemp("doors") / "s.sqlite"),
                             clock)
        yield served
        served.close()
        return
    with pg_database() as url:
        served = ThreadStore(url, clock)
        yield served
        served.close()


@pytest.fixture
def desk(store: ThreadStore, tmp_path: Path, clock: FakeClock) -> Iterator[PullingDesk]:
    made = PullingDesk(store, tmp_path, clock)
    yield made
    made.close()


def post(store: ThreadStore, kind: str, body: Any, key: str | None = None, *,
         in_path: bool = False, raw: bytes | None = None) -> requests.Response:
    url = f"{store.url}/v1/intake/{kind}" + (f"/{key}" if in_path and key else "")
    headers = {"Content-Type": "application/json"}
    if key and not in_path:
        headers["Authorization"] = f"Bearer {key}"
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(url, data=data, headers=headers, timeout=30)


def head(store: ThreadStore) -> int:
    return store.store.position().seq


def refused(store: ThreadStore) -> dict[tuple[str, str], int]:
    from app.store.intake_routes import IntakeDoor

    rows = IntakeDoor(store.store).integrations()
    return {(r["name"], reason): n for r in rows for reason, n in r["refused"].items()}


def unique(name: str) -> str:
    return f"{name}-{datetime.now(UTC).strftime('%H%M%S%f')}"


def test_generic_webhook_reaches_the_desk_tray_and_a_replay_changes_nothing(
        store: ThreadStore, desk: PullingDesk) -> None:
    name = unique("zabbix")
    key = desk.add_integration("webhook", name, site="HQ", category="network")
    body = {"summary": "Core switch down", "details": "sw-core-1 stopped answering\nping lost",
            "source": "zabbix", "node": "sw-core-1", "metric": "icmpping", "severity": "high",
            "dedup_key": "sw-core-1/icmp", "links": ["https://zabbix.example.org/tr/42"],
            "labels": {"rack": "B4"}, "started_at": "2026-11-30T22:10:00Z"}
    reply = post(store, "webhook", body, key)
    assert reply.status_code == 200, reply.text
    assert reply.json()["created"] == 1 and reply.json()["repeated"] == 0
    [item] = desk.pending_after_pull(name, 1)
    assert (item.summary, item.node, item.site, item.category) == (
        "Core switch down", "sw-core-1", "HQ", "network")
    assert item.dedup_key == f"{name}:sw-core-1/icmp"
    assert item.links == ("https://zabbix.example.org/tr/42",)
    assert item.fields["started_at"] == "2026-11-30T22:10:00+00:00"

    before = head(store)
    again = post(store, "webhook", body, key)  # a retry after a lost reply
    assert again.json() | {"items": []} == {"accepted": 1, "created": 0, "repeated": 0,
                                            "replayed": 1, "items": [], "seq": 0}
    assert head(store) == before
    later = post(store, "webhook", {**body, "started_at": "2026-11-30T23:00:00Z"}, key,
                 in_path=True)  # the key in the path, for senders that cannot set headers
    assert later.json()["repeated"] == 1
    desk.engine.pull()
    [item] = desk.pending(name)
    assert item.count == 2


def test_grafana_documented_payload_makes_two_items_then_resolves_one(
        store: ThreadStore, desk: PullingDesk) -> None:
    name = unique("grafana")
    key = desk.add_integration("grafana", name, site="DC-West")
    reply = post(store, "grafana", GRAFANA_DOC, key)
    assert reply.status_code == 200, reply.text
    assert reply.json()["created"] == 2
    items = desk.pending_after_pull(name, 2)
    by_summary = {i.summary: i for i in items}
    memory = by_summary["This alert was triggered for zone us-1"]
    assert memory.metric == "High memory usage" and memory.site == "DC-West"
    assert memory.source == "grafana" and memory.details.startswith("The system has high")
    assert "https://myrunbook.com/runbook/1234" in memory.links
    assert "https://play.grafana.org/alerting/1afz29v7z/edit" in memory.links
    assert "value=14151" in by_summary["This alert was triggered for zone eu-1"].details

    resolved = copy.deepcopy(GRAFANA_DOC)
    resolved["status"], resolved["alerts"] = "resolved", resolved["alerts"][:1]
    resolved["alerts"][0].update(status="resolved", endsAt="2021-10-12T10:20:00+02:00")
    assert post(store, "grafana", resolved, key).json()["repeated"] == 1
    desk.engine.pull()
    memory = next(i for i in desk.pending(name) if i.id == memory.id)
    assert (memory.status, memory.count) == ("resolved", 2)


def test_a_burst_of_repeats_is_one_entry_per_item_and_every_alert_is_counted(
        store: ThreadStore, desk: PullingDesk, clock: FakeClock) -> None:
    name = unique("prom")
    key = desk.add_integration("alertmanager", name)
    t0 = clock.now() - timedelta(hours=1)
    alerts = [am_alert(f"fp{i % 5}", f"db{i % 5}", t0 + timedelta(seconds=i))
              for i in range(200)]
    before = head(store)
    reply = post(store, "alertmanager", am_body(alerts), key)
    assert reply.status_code == 200, reply.text
    assert (reply.json()["created"], reply.json()["repeated"]) == (5, 195)
    assert head(store) - before == 10  # 5 received + 5 coalesced repeats
    items = desk.pending_after_pull(name, 5)
    assert sorted(i.count for i in items) == [40] * 5
    assert sum(i.count for i in items) == 200


def test_a_dismissed_item_closes_its_key_and_the_next_alert_opens_a_new_one(
        store: ThreadStore, desk: PullingDesk, clock: FakeClock) -> None:
    name = unique("prom")
    key = desk.add_integration("alertmanager", name)
    t0 = clock.now() - timedelta(minutes=30)
    assert post(store, "alertmanager", am_body([am_alert("aa", "web1", t0)]),
                key).json()["created"] == 1
    [item] = desk.pending_after_pull(name, 1)
    desk.tray.dismiss(item.id, "known: disk being replaced", "op")
    desk.engine.push_outbox()
    with store.store.engine.connect() as conn:
        assert conn.execute(select(intake_open).where(intake_open.c.item_id == item.id)
                            ).first() is None
    reply = post(store, "alertmanager", am_body([am_alert("aa", "web1", t0 + timedelta(
        minutes=10))]), key)
    assert reply.json()["created"] == 1
    [fresh] = desk.pending_after_pull(name, 1)
    assert fresh.id != item.id and fresh.dedup_key == item.dedup_key


def test_bad_keys_are_refused_counted_and_store_nothing(
        store: ThreadStore, desk: PullingDesk) -> None:
    name = unique("grafana")
    key = desk.add_integration("grafana", name)
    before, counts = head(store), refused(store)
    unknown = post(store, "grafana", GRAFANA_DOC, "A" * 43)
    assert unknown.status_code == 401 and unknown.headers["WWW-Authenticate"] == "Bearer"
    assert post(store, "grafana", GRAFANA_DOC).status_code == 401  # no key at all
    wrong = post(store, "alertmanager", am_body([]), key)
    assert wrong.status_code == 403 and wrong.json()["field"] == "kind"
    assert "/v1/intake/grafana" in wrong.json()["message"]
    assert post(store, "sms", {}, key).status_code == 404
    desk.revoke_integration(name, "rotated")
    revoked = post(store, "grafana", GRAFANA_DOC, key, in_path=True)
    assert revoked.status_code == 403 and "revoked" in revoked.json()["message"]
    assert head(store) == before + 1  # the revocation, and nothing of the refused calls
    after = refused(store)
    assert after[("", "unknown_key")] == counts.get(("", "unknown_key"), 0) + 1
    assert after[("", "no_key")] == counts.get(("", "no_key"), 0) + 1
    assert after[(name, "wrong_kind")] == 1 and after[(name, "revoked")] == 1


@pytest.mark.parametrize(("kind", "body", "field"), [
    ("webhook", b"{not json", "body"),
    ("webhook", b"[1, 2]", "body"),
    ("webhook", {"details": "no summary"}, "summary"),
    ("webhook", {"summary": "x", "sevrity": "high"}, "sevrity"),
    ("webhook", {"summary": "x", "status": "burning"}, "status"),
    ("webhook", {"summary": "x" * 301}, "summary"),
    ("webhook", {"summary": "two\nlines"}, "summary"),
    ("webhook", {"summary": "x", "links": ["javascript:alert(1)"]}, "links[0]"),
    ("webhook", {"alerts": [{"summary": "ok"}, {"summary": 5}]}, "alerts[1].summary"),
    ("webhook", {"summary": "x", "started_at": "yesterday"}, "started_at"),
    ("alertmanager", {**am_body([]), "version": "3"}, "version"),
    ("alertmanager", am_body([]), "alerts"),
    ("alertmanager", am_body([{"status": "firing", "labels": {"a": 1}}]), "alerts[0].labels.a"),
    ("alertmanager", am_body([{"status": "gone"}]), "alerts[0].status"),
    ("alertmanager", am_body([{"status": "firing"}] * 1001), "alerts"),
    ("grafana", {"evalMatches": [], "ruleName": "legacy"}, "alerts"),
])
def test_malformed_bodies_get_422_naming_the_field_and_store_nothing(
        store: ThreadStore, desk: PullingDesk, kind: str, body: Any, field: str) -> None:
    key = desk.add_integration(kind, unique(kind))
    before = head(store)
    reply = post(store, kind, None if isinstance(body, bytes) else body, key,
                 raw=body if isinstance(body, bytes) else None)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field, reply.json()
    assert head(store) == before


def test_an_oversized_body_is_refused_before_it_is_read(
        store: ThreadStore, desk: PullingDesk) -> None:
    key = desk.add_integration("webhook", unique("big"))
    before = head(store)
    reply = post(store, "webhook", None, key, raw=b'{"summary": "' + b"x" * (1 << 20) + b'"}')
    assert reply.status_code == 413
    assert "/v1/intake/webhook" in reply.json()["message"]
    assert head(store) == before


def test_store_cli_integration_add_writes_the_same_table(
        store: ThreadStore, desk: PullingDesk) -> None:
    """`dispatch-desk server integration add` (another process, on the store's database)
    makes a key that the running store accepts, and desks learn the integration by pull."""
    name = unique("am")
    done = subprocess.run(
        [sys.executable, "-m", "app", "server", "integration", "add", "alertmanager", name,
         "--site", "HQ", "--db", str(store.store.url.render_as_string(hide_password=False))],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert "/v1/intake/alertmanager/KEY" in done.stderr
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    reply = post(store, "alertmanager", am_body([am_alert("cli", "h1", t0)]), key)
    assert reply.status_code == 200 and reply.json()["created"] == 1
    [item] = desk.pending_after_pull(name, 1)
    assert item.site == "HQ"
    assert name in {i.name for i in desk.setup.integrations()}
    with store.store.engine.connect() as conn:
        kinds = conn.execute(select(func.count()).select_from(entries).where(
            entries.c.kind == "integration.added")).scalar_one()
    assert kinds >= 2


def test_an_accepted_item_keeps_counting_until_its_card_is_closed(
        store: ThreadStore, desk: PullingDesk, clock: FakeClock) -> None:
    from app.services.cards.card import Operator

    name = unique("prom")
    key = desk.add_integration("alertmanager", name, site="HQ", category="network")
    t0 = clock.now() - timedelta(minutes=20)
    post(store, "alertmanager", am_body([am_alert("acc", "sw1", t0)]), key)
    [item] = desk.pending_after_pull(name, 1)
    card = desk.tray.accept(item.id, {"impact": "high", "urgency": "high",
                                      "q_workaround": "none", "q_contact": "J. Weber"}, "op")
    desk.engine.push_outbox()
    with store.store.engine.connect() as conn:
        row = conn.execute(select(intake_open).where(intake_open.c.item_id == item.id)).one()
    assert row.card_id == card.id
    again = post(store, "alertmanager", am_body([am_alert("acc", "sw1", t0 + timedelta(
        minutes=5))]), key)
    assert again.json()["created"] == 0 and again.json()["items"] == [item.id]

    lead = Operator("op", "shift_lead")
    for status in ("in_progress", "restored"):
        desk.cards.change_status(card.number, status, lead)
    desk.cards.change_status(card.number, "closed", lead, closure={
        "cause": "switch PSU", "workaround": "none", "fix": "PSU replaced",
        "lessons": "spare PSU on site"}, confirmed_by="J. Weber")
    desk.engine.push_outbox()
    after = post(store, "alertmanager", am_body([am_alert("acc", "sw1", t0 + timedelta(
        minutes=50))]), key)
    assert after.json()["created"] == 1 and after.json()["items"] != [item.id]


def test_an_item_a_desk_opened_at_its_own_door_takes_the_store_doors_repeats(
        store: ThreadStore, desk: PullingDesk, clock: FakeClock) -> None:
    """The desk's local door (the same normalizer, then IntakeService.receive) opens an item
    while the store is out of reach; once pushed, the store counts its repeats on it."""
    from app.protocol.intake_formats import Integration, parse

    name = unique("zabbix")
    key = desk.add_integration("webhook", name)
    body = {"summary": "UPS on battery", "node": "ups-2", "dedup_key": "ups-2/battery",
            "started_at": "2026-11-30T21:00:00Z"}
    [local] = parse("webhook", json.dumps(body).encode(), Integration(name, "webhook"),
                    clock.now())
    [outcome] = desk.tray.receive([local], "local door")
    desk.engine.push_outbox()
    reply = post(store, "webhook", {**body, "started_at": "2026-11-30T21:05:00Z"}, key)
    assert (reply.json()["created"], reply.json()["items"]) == (0, [outcome.item_id])
    desk.engine.pull()
    [item] = desk.pending(name)
    assert (item.id, item.count) == (outcome.item_id, 2)


# -- the normalizers alone (pure: the desk's local door uses them too) -----------------------

def test_foreign_text_is_fitted_not_refused_and_only_web_links_are_kept() -> None:
    from app.protocol.intake_formats import Integration, parse

    now = datetime.now(UTC)
    raw = am_alert("f1", "db9", now - timedelta(minutes=1))
    raw["annotations"] = {"summary": "Disk\nfull " + "x" * 500, "description": "y" * 9000,
                          "runbook_url": "javascript:alert(1)"}
    raw["labels"] |= {f"l{i:03d}": "v" for i in range(80)}
    raw["startsAt"] = "2026-11-30T10:00:00.123456789Z"  # Go's nanoseconds
    [got] = parse("alertmanager", am_body([raw]), Integration("p", "alertmanager"), now)
    assert got.summary.startswith("Disk full x") and len(got.summary) == 300
    assert len(got.details) == 4000 and got.details.endswith("\u2026")
    assert got.links == ("http://prometheus.example.org:9090/graph",
                         "http://alertmanager.example.org:9093")
    assert len(got.labels) == 64
    assert got.fields["started_at"] == "2026-11-30T10:00:00.123456+00:00"
    [same] = parse("alertmanager", am_body([raw]), Integration("p", "alertmanager"), now)
    assert same.dedup_key == got.dedup_key
    [other] = parse("alertmanager", am_body([raw]), Integration("q", "alertmanager"), now)
    assert other.dedup_key != got.dedup_key  # keys never cross integrations


def test_parse_refuses_a_key_of_another_kind_naming_kind() -> None:
    from app.errors import ValidationError
    from app.protocol.intake_formats import Integration, parse

    with pytest.raises(ValidationError) as refused_kind:
        parse("grafana", GRAFANA_DOC, Integration("p", "alertmanager"), datetime.now(UTC))
    assert refused_kind.value.field == "kind"


def test_a_store_upgraded_to_s0005_knows_the_keys_pushed_before(tmp_path: Path) -> None:
    """Integration entries a desk pushed before its store had the doors become keys when
    the store is upgraded (the migration folds them like the push path does)."""
    from sqlalchemy import insert, update

    from app.protocol.intake_formats import hash_key
    from app.store.database import make_store_engine, migrate, parse_db_url
    from app.store.intake_routes import IntakeDoor
    from app.store.storage import Store
    from app.store.tables import seq_counter

    url = "sqlite:///" + str(tmp_path / "old.sqlite")
    parsed = parse_db_url(url)
    engine = make_store_engine(parsed)
    migrate(engine, parsed, "s0004")
    payload = {"name": "old-prom", "kind": "alertmanager", "key_hash": hash_key("k" * 43)}
    with engine.begin() as conn:
        conn.execute(update(seq_counter).values(last_seq=1))  # s0001 made the counter
        conn.execute(insert(entries).values(
            seq=1, id="0190a1b2-0000-7000-8000-000000000001", card_id="integrations",
            kind="integration.added", payload=json.dumps(payload),
            hlc="001764590000000.00001.desk-1", desk_id="desk-1", operator="admin", schema=1,
            stored_at="2026-12-01T00:00:00.000000Z"))
    engine.dispose()
    store = Store(url)
    try:
        record = IntakeDoor(store).lookup("k" * 43)
        assert record is not None and record.state == "live"
        assert record.integration.name == "old-prom"
    finally:
        store.close()
