"""The desk's own intake door over real HTTP on loopback: `dispatch-desk intake serve` as a
real process with the store stopped, the door inside `dispatch-desk run`, refusals that store
nothing, replays, and the same alert through the desk's door and the store's door folding into
one item after a real sync. Real journals, the real store (uvicorn on a loopback port)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.errors import ValidationError
from app.protocol.intake_formats import MAX_BODY_BYTES
from app.runtime.intake_door import IntakeDoor, parse_listen
from app.sync.client import StoreClient
from app.sync.engine import SyncEngine
from tests.channels.alertmanager import PullingDesk, free_port
from tests.channels.test_store_doors import GRAFANA_DOC, am_alert, am_body
from tests.file_keyring import child_env
from tests.polling import wait_until
from tests.runtime.desk_procs import start_run
from tests.store.harness import ROOT, ThreadStore

T0 = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


def post(url: str, kind: str, body: Any, key: str | None = None, *, in_path: bool = False,
         raw: bytes | None = None) -> requests.Response:
    target = f"{url}/v1/intake/{kind}" + (f"/{key}" if in_path and key else "")
    headers = {"Content-Type": "application/json"}
    if key and not in_path:
        headers["Authorization"] = f"Bearer {key}"
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(target, data=data, headers=headers, timeout=10)


def raw_request(url: str, head: str) -> str:
    """A request written by hand (headers that `requests` would correct); the reply's text."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


@pytest.fixture
def door(desk: Desk) -> Iterator[IntakeDoor]:
    served = IntakeDoor(desk.intake)
    served.start("127.0.0.1:0")
    yield served
    served.stop()


def intake_entries(desk: Desk) -> list[Any]:
    return [e for e in desk.journal.all_entries() if e.kind.startswith("intake.")]


def test_the_door_takes_alerts_with_the_store_stopped_and_they_sync_when_it_returns(
        tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    db = "sqlite:///" + str(tmp_path / "store.sqlite")
    store = ThreadStore(db, clock)
    desk = PullingDesk(store, tmp_path, clock)
    key = desk.add_integration("alertmanager", "lan-prom", site="HQ")
    hook = desk.add_integration("webhook", "lan-ups")
    store.close()  # the WAN and the store are gone from here on
    with pytest.raises(requests.ConnectionError):
        requests.get(store.url + "/v1/health", timeout=2)

    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--journal", str(desk.journal.path), "intake", "serve",
         "--listen", "127.0.0.1:0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=child_env(tmp_path / "keyring.json"))
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert "intake door listening on http://127.0.0.1:" in first, first + proc.stderr.read()
        url = first.split()[4]
        group = am_body([am_alert("fp-a", "db1", T0), am_alert("fp-b", "db2", T0)])
        reply = post(url, "alertmanager", group, key)
        assert reply.status_code == 200, reply.text
        assert (reply.json()["created"], reply.json()["accepted"]) == (2, 2)
        ups = post(url, "webhook", {"summary": "UPS on battery", "node": "ups-1"}, hook,
                   in_path=True)
        assert ups.json()["created"] == 1, ups.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read()
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    items = desk.pending("lan-prom")
    assert sorted(i.summary for i in items) == ["Disk full on db1", "Disk full on db2"]
    assert {i.site for i in items} == {"HQ"}
    assert [i.summary for i in desk.pending("lan-ups")] == ["UPS on battery"]

    # The store comes back (same database, a new port): the door's items reach it by push.
    back = ThreadStore(db, clock)
    try:
        client = StoreClient(back.url, (desk.desk.desk_id, desk.desk.secret))
        SyncEngine(desk.journal, client, clock).push_outbox()
        client.close()
        other = PullingDesk(back, tmp_path / "other", clock)
        try:
            other.engine.pull()
            assert sorted(i.summary for i in other.pending("lan-prom")) == [
                "Disk full on db1", "Disk full on db2"]
        finally:
            other.close()
    finally:
        back.close()
        desk.close()


def test_bad_keys_and_bodies_are_refused_naming_why_and_store_nothing(
        desk: Desk, door: IntakeDoor) -> None:
    _, key = desk.intake.setup.add_integration("webhook", "mon", "admin")
    _, graf = desk.intake.setup.add_integration("grafana", "graf", "admin")
    _, old = desk.intake.setup.add_integration("alertmanager", "old-prom", "admin")
    desk.intake.setup.revoke_integration("old-prom", "moved to the store", "admin")
    before = list(desk.journal.all_entries())
    url = door.url

    missing = post(url, "webhook", {"summary": "x"})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert post(url, "webhook", {"summary": "x"}, "A" * 43).status_code == 401
    assert post(url, "webhook", {"summary": "x"}, "not a key", in_path=True).status_code == 401
    revoked = post(url, "alertmanager", am_body([am_alert("f", "h", T0)]), old)
    assert revoked.status_code == 403 and "revoked" in revoked.json()["message"]
    wrong = post(url, "alertmanager", am_body([am_alert("f", "h", T0)]), graf)
    assert wrong.status_code == 403 and wrong.json()["field"] == "kind"
    nowhere = post(url, "nagios", {"summary": "x"}, key)
    assert nowhere.status_code == 404 and nowhere.json()["field"] == "kind"

    cases = [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"details": "no summary"}).encode(), "summary"),
        (json.dumps({"summary": "x", "colour": "red"}).encode(), "colour"),
        (json.dumps({"summary": "x", "status": "on fire"}).encode(), "status"),
        (json.dumps({"summary": "x", "links": ["javascript:alert(1)"]}).encode(), "links[0]"),
        (json.dumps({"summary": "x" * 301}).encode(), "summary"),
    ]
    for raw, field in cases:
        reply = post(url, "webhook", None, key, raw=raw)
        assert reply.status_code == 422, (raw, reply.text)
        assert reply.json()["field"] == field, (raw, reply.json())
    grafana = post(url, "grafana", {**GRAFANA_DOC, "version": "0"}, graf)
    assert grafana.status_code == 422 and grafana.json()["field"] == "version"
    broken = {**GRAFANA_DOC, "alerts": [{**GRAFANA_DOC["alerts"][0], "labels": "x"}]}
    assert post(url, "grafana", broken, graf).json()["field"] == "alerts[0].labels"

    port = url.rsplit(":", 1)[1]
    too_big = raw_request(url, f"POST /v1/intake/webhook/{key} HTTP/1.1\r\nHost: x:{port}\r\n"
                               f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n")
    assert too_big.startswith("HTTP/1.0 413") or too_big.startswith("HTTP/1.1 413"), too_big
    assert '"field":"body"' in too_big
    chunked = raw_request(url, f"POST /v1/intake/webhook/{key} HTTP/1.1\r\nHost: x\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert " 411 " in chunked.split("\r\n", 1)[0], chunked
    unauth_big = raw_request(url, "POST /v1/intake/webhook HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 999999999\r\n\r\n")
    assert " 401 " in unauth_big.split("\r\n", 1)[0]  # the key first: a big body is not read

    assert list(desk.journal.all_entries()) == before  # nothing stored by any of them
    assert desk.intake.items() == []
    assert door.refusals[("", "unknown_key")] == 2 and door.refusals[("", "no_key")] == 2
    assert door.refusals[("old-prom", "revoked")] == 1
    assert door.refusals[("mon", "invalid")] == len(cases)


def test_a_replay_changes_nothing_and_the_resolved_alert_counts(
        desk: Desk, door: IntakeDoor) -> None:
    _, key = desk.intake.setup.add_integration("alertmanager", "prom", "admin",
                                               category="server")
    firing = am_body([am_alert("fp1", "db1", T0)])
    first = post(door.url, "alertmanager", firing, key)
    assert first.json() | {"items": []} == {"accepted": 1, "created": 1, "repeated": 0,
                                            "replayed": 0, "items": []}
    written = len(intake_entries(desk))
    again = post(door.url, "alertmanager", firing, key, in_path=True)  # retry, key in path
    assert again.json()["replayed"] == 1 and again.json()["created"] == 0
    assert len(intake_entries(desk)) == written  # nothing written for a replay

    resolved = am_body([am_alert("fp1", "db1", T0, status="resolved")])
    assert post(door.url, "alertmanager", resolved, key).json()["repeated"] == 1
    [item] = desk.intake.pending()
    assert (item.count, item.status, item.channel, item.category) == (
        2, "resolved", "alertmanager", "server")
    assert item.summary == "Disk full on db1" and item.node == "db1"

    grafana_key = desk.intake.setup.add_integration("grafana", "graf", "admin")[1]
    reply = requests.put(f"{door.url}/v1/intake/grafana/{grafana_key}", json=GRAFANA_DOC,
                         timeout=10)  # Grafana may be set to PUT
    assert reply.status_code == 200 and reply.json()["created"] == 2
    assert requests.get(door.url + "/v1/health", timeout=5).json() == {"status": "ok",
                                                                        "door": "desk"}


def test_the_same_alert_through_both_doors_is_one_item_after_sync(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    store = ThreadStore("sqlite:///" + str(tmp_path / "store.sqlite"), clock)
    desk = PullingDesk(store, tmp_path / "a", clock)
    other = PullingDesk(store, tmp_path / "b", clock)
    door = IntakeDoor(desk.tray)
    try:
        door.start("127.0.0.1:0")
        key = desk.add_integration("alertmanager", "both-ways")  # pushed: the store knows it
        body = am_body([am_alert("fp-core", "sw-core-1", clock.now() - timedelta(minutes=2))])
        assert post(door.url, "alertmanager", body, key).json()["created"] == 1
        assert post(store.url, "alertmanager", body, key).json()["created"] == 1
        assert len(desk.pending("both-ways")) == 1  # before sync: the local item only

        desk.engine.push_outbox()  # a real sync round, both ways
        desk.engine.pull()
        other.engine.pull()
        for seen in (desk, other):
            [item] = seen.pending("both-ways")
            assert item.count == 2 and len(item.merged) == 1
            assert item.summary == "Disk full on sw-core-1"
        # Both desks fold the same entries to the same item, whichever door's came first.
        assert desk.pending("both-ways")[0].id == other.pending("both-ways")[0].id

        started = clock.now() - timedelta(minutes=2)
        clock.advance(60)  # the source resolves a minute later
        resolved = am_body([am_alert("fp-core", "sw-core-1", started, status="resolved")])
        assert post(store.url, "alertmanager", resolved, key).json()["repeated"] == 1
        desk.engine.pull()
        [item] = desk.pending("both-ways")
        assert (item.count, item.status) == (3, "resolved")
    finally:
        door.stop()
        desk.close()
        other.close()
        store.close()


def test_the_headless_desk_serves_the_door_when_intake_listen_is_set(tmp_path: Path) -> None:
    journal = tmp_path / "desk.sqlite"
    port = free_port()
    settings = tmp_path / "settings.toml"
    settings.write_text(f'intake_listen = "127.0.0.1:{port}"\n')
    desk = build_desk(Settings(journal=journal).validated())
    _, key = desk.intake.setup.add_integration("webhook", "cron", "admin")
    desk.close()
    proc = start_run(journal, settings, child_env(tmp_path / "keyring.json"), "--no-sync")
    try:
        assert proc.stderr is not None
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return requests.get(url + "/v1/health", timeout=1).ok
            except requests.ConnectionError:
                return proc.poll() is not None  # a crash ends the wait; asserted below
        wait_until(up, "the headless desk's intake door", within=30)
        assert proc.poll() is None, proc.stderr.read()
        reply = post(url, "webhook", {"summary": "backup failed", "node": "nas"}, key)
        assert reply.status_code == 200 and reply.json()["created"] == 1, reply.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert f"intake door on http://127.0.0.1:{port}" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with_door = build_desk(Settings(journal=journal).validated())
    try:
        assert [i.summary for i in with_door.intake.pending()] == ["backup failed"]
    finally:
        with_door.close()


def test_the_door_listens_on_loopback_unless_an_ip_address_is_given() -> None:
    assert parse_listen("127.0.0.1:8771") == ("127.0.0.1", 8771)
    assert parse_listen("localhost:8771") == ("127.0.0.1", 8771)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen("192.0.2.10:8771") == ("192.0.2.10", 8771)  # explicit: allowed
    assert parse_listen("0.0.0.0:8771") == ("0.0.0.0", 8771)
    for bad in ("desk-pc.lan:8771", ":8771", "8771", "127.0.0.1:99999", "127.0.0.1:http"):
        with pytest.raises(ValidationError) as caught:
            parse_listen(bad)
        assert caught.value.field == "intake_listen"


def test_a_busy_port_is_refused_naming_the_setting(desk: Desk, door: IntakeDoor) -> None:
    second = IntakeDoor(desk.intake)
    with pytest.raises(ValidationError, match="cannot listen there") as caught:
        second.start(f"127.0.0.1:{door.address[1]}")
    assert caught.value.field == "intake_listen"
