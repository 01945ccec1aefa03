"""The real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) for the tests.

It runs as a plain process on a loopback port with no cluster port, its one receiver a
webhook at the store's intake door with the integration key, and takes alerts through its
own v2 API (`POST /api/v2/alerts`), so what reaches the store is the grouped webhook that
Alertmanager itself builds and sends. Grouping waits are one second, so a notification
arrives a few seconds after the alert goes in. Stopped by its PID.
"""

from __future__ import annotations

import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.polling import wait_until

BINARY = Path("/usr/bin/prometheus-alertmanager")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(url: str, key: str | None, *, max_alerts: int = 0) -> str:
    """An alertmanager.yml whose one receiver posts to `url`, with `key` as a Bearer
    credential (None: the key is already in the URL's path). The README shows the same."""
    auth = ("        http_config:\n          authorization:\n            type: Bearer\n"
            f"            credentials: {key}\n") if key else ""
    return (
        "route:\n  receiver: dispatch-desk\n  group_by: [alertname]\n  group_wait: 1s\n"
        "  group_interval: 1s\n  repeat_interval: 4h\n"
        "receivers:\n  - name: dispatch-desk\n    webhook_configs:\n"
        f"      - url: {url}\n        send_resolved: true\n        max_alerts: {max_alerts}\n"
        + auth
    )


class Alertmanager:
    """One Alertmanager process; `post` puts alerts in through its API."""

    def __init__(self, folder: Path, receiver_url: str, key: str | None) -> None:
        if not BINARY.exists():
            pytest.fail(f"{BINARY} is missing: these tests run the real Alertmanager; install "
                        "it with `apt-get install prometheus-alertmanager` (scripts/run-tests.sh "
                        "lists it in EXTRA_DEBS)", pytrace=False)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "am.yml").write_text(config(receiver_url, key))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = (folder / "alertmanager.log").open("w")
        self.proc = subprocess.Popen(
            [str(BINARY), f"--config.file={folder / 'am.yml'}",
             f"--storage.path={folder / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}",
             "--cluster.listen-address=", "--log.level=debug"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._ready, what="Alertmanager to answer /-/ready", within=30)

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"Alertmanager exited with {self.proc.returncode}; see "
                                 f"{self.log.name}")
        try:
            return requests.get(self.url + "/-/ready", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def post(self, alerts: list[dict[str, Any]]) -> None:
        reply = requests.post(self.url + "/api/v2/alerts", json=alerts, timeout=10)
        assert reply.status_code == 200, reply.text

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def alert(name: str, instance: str, *, summary: str = "", severity: str = "critical",
          starts: datetime | None = None, resolved: bool = False) -> dict[str, Any]:
    """An alert as Prometheus posts it to Alertmanager's v2 API; `resolved` ends it now."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "labels": {"alertname": name, "instance": instance, "severity": severity,
                   "job": "node"},
        "annotations": {"summary": summary or f"{name} on {instance}",
                        "description": f"{instance} reports {name}.\nSecond line.",
                        "runbook_url": "https://runbooks.example.org/" + name},
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=up",
        "startsAt": (starts or now - timedelta(minutes=1)).isoformat(),
    }
    if resolved:
        body["endsAt"] = now.isoformat()
    return body


# -- the rest of the chain: a store door, and a desk that pulls from it ---------------------

class PullingDesk:
    """A real desk journal enrolled with the store, its real sync engine and its tray."""

    def __init__(self, store: Any, folder: Path, clock: Any) -> None:
        from app.loaders import load_intake_rules, load_rules
        from app.services.cards.service import CardService
        from app.services.intake import IntakeService
        from app.services.intake.setup import IntakeSetup
        from app.sync.client import StoreClient
        from app.sync.engine import SyncEngine
        from tests.store.harness import new_desk

        self.desk = new_desk(store, folder, clock)
        self.journal = self.desk.journal
        self.client = StoreClient(store.url, (self.desk.desk_id, self.desk.secret), clock=clock)
        self.engine = SyncEngine(self.journal, self.client, clock)
        rules = load_rules(None)
        self.cards = CardService(self.journal, rules, clock)
        self.tray = IntakeService(self.journal, rules, load_intake_rules(None, rules), clock,
                                  self.cards, auto_register=False)
        self.setup = IntakeSetup(self.journal, rules)

    def add_integration(self, kind: str, name: str, **options: Any) -> str:
        """`dispatch-desk integration add` on this desk, pushed to the store; the key."""
        _, key = self.setup.add_integration(kind, name, "admin", **options)
        self.engine.push_outbox()
        return key

    def revoke_integration(self, name: str, reason: str) -> None:
        self.setup.revoke_integration(name, reason, "admin")
        self.engine.push_outbox()

    def pending(self, integration: str) -> list[Any]:
        """The tray's pending items from one integration (a store holds other tests' too)."""
        return [i for i in self.tray.pending() if i.integration == integration]

    def pending_after_pull(self, integration: str, count: int, within: float = 30.0,
                           check: Any = None) -> list[Any]:
        """Pull until the tray holds `count` pending items of `integration` (and `check` of
        them holds); those items."""
        def enough() -> bool:
            self.engine.pull()
            items = self.pending(integration)
            return len(items) >= count and (check is None or bool(check(items)))

        wait_until(enough, what=f"{count} pending items of {integration} on the desk",
                   within=within)
        return self.pending(integration)

    def close(self) -> None:
        self.client.close()
        self.journal.close()
