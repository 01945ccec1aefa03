"""The real store for tests: in a uvicorn thread (fast, with a clock the test moves) or as a
real `python -m app server` process; a desk's side of the wire spoken with `requests`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import uvicorn

from app.clock import Clock
from app.models.entry import Entry, NewEntry
from app.models.journal import Journal
from app.store import create_app
from app.store.storage import Store
from app.sync import protocol as p
from app.sync.client import DeskAuth
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = (3.05, 40)  # connect, read: a read must outlast the longest long-poll


class ThreadStore:
    """`create_app` served by uvicorn on a loopback port in a thread of the test process."""

    def __init__(self, db_url: str, clock: Clock | None = None, **app_args: Any) -> None:
        self.app = create_app(db_url, clock=clock, **app_args)
        self.store: Store = self.app.state.store
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(256)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        wait_until(lambda: self.server.started, what="the store thread to start")

    def add_desk_code(self, name: str, desk_id: str | None = None) -> str:
        return self.store.add_desk_code(name, desk_id)

    def new_epoch(self) -> int:
        return self.store.new_epoch()

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ProcessStore:
    """`python -m app server --port 0` as a real process; the port comes from its first line."""

    def __init__(
        self,
        db_url: str,
        *,
        admin_cli: bool = False,
        start: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.admin_cli = admin_cli
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "server",
                "--db",
                db_url,
                "--port",
                "0",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.url = ""
        if start:
            self.started()

    def started(self) -> str:
        """Wait for the first line, which names the address; the store's URL."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            raise AssertionError(f"store did not start: {line!r} {self.proc.stderr.read()!r}")
        self.url = line.split()[3]
        return self.url

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app", "server", *args, "--db", self.db_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def add_desk_code(self, name: str, desk_id: str | None = None) -> str:
        """Through the admin command when `admin_cli` is set; else through the storage layer
        in this process (the same code, without a second ~1.5 s interpreter start per desk)."""
        if self.admin_cli:
            return self.cli("add-desk", name, *(["--desk-id", desk_id] if desk_id else []))
        admin = Store(self.db_url)
        try:
            return admin.add_desk_code(name, desk_id)
        finally:
            admin.close()

    def new_epoch(self) -> int:
        return int(self.cli("new-epoch").split()[4].rstrip(";"))

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Desk:
    """One enrolled desk: its real journal, its credential, and the calls it makes."""

    url: str
    journal: Journal
    secret: str
    clock: Clock

    @property
    def desk_id(self) -> str:
        return self.journal.desk_id

    def headers(self, version: str = "1") -> dict[str, str]:
        """The protocol header; the signature comes from `auth()`, per request."""
        return {p.HEADER_PROTOCOL: version}

    def auth(self, secret: str | None = None) -> DeskAuth:
        """Signs each request as this desk would (`secret`: sign with a wrong one)."""
        return DeskAuth(self.desk_id, secret or self.secret, self.clock)

    def register(self, count: int = 1) -> list[Entry]:
        """`count` new cards written to the journal (numbered by the journal), as entries."""
        made: list[Entry] = []
        for i in range(count):
            card_id = f"card-{os.urandom(8).hex()}"
            payload = {"priority": "P3", "priority_reason": "one user", "fields": {"site": f"S{i}"}}
            made += self.journal.write([NewEntry(card_id, "card.registered", payload)], "op")
        return made

    def note(self, card_id: str, text: str) -> Entry:
        return self.journal.write([NewEntry(card_id, "card.note", {"text": text})], "op")[0]

    def push_raw(
        self, entries: list[Any], *, offset_s: float = 0.0, **kw: Any
    ) -> requests.Response:
        from datetime import timedelta

        body = {
            "desk_time": p.format_time(self.clock.now() + timedelta(seconds=offset_s)),
            "entries": entries,
        }
        headers = kw.pop("headers", None) or self.headers()
        auth = kw.pop("auth", None) or self.auth()
        return requests.post(self.url + p.PATH_PUSH, json=body, headers=headers, auth=auth,
                             timeout=TIMEOUT)

    def push(self, entries: list[Entry]) -> p.PushReply:
        response = self.push_raw([e.to_wire() for e in entries])
        assert response.status_code == 200, response.text
        return p.PushReply.from_json(response.json())

    def pull_raw(
        self, after: str = "", limit: int | None = None, wait: float = 0
    ) -> requests.Response:
        params: dict[str, Any] = {"after": after, "wait": wait}
        if limit is not None:
            params["limit"] = limit
        return requests.get(self.url + p.PATH_PULL, params=params, headers=self.headers(),
                            auth=self.auth(), timeout=TIMEOUT)

    def pull(self, after: str = "", limit: int | None = None, wait: float = 0) -> p.PullPage:
        response = self.pull_raw(after, limit, wait)
        assert response.status_code == 200, response.text
        return p.PullPage.from_json(response.json())


def health(url: str) -> p.Health:
    response = requests.get(url + p.PATH_HEALTH, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return p.Health.from_json(response.json())


def enrol(url: str, code: str, journal: Journal, desk_code: str) -> requests.Response:
    body = {"code": code, "desk_code": desk_code, "name": "desk", "desk_id": journal.desk_id}
    return requests.post(
        url + p.PATH_ENROLL, json=body, headers={p.HEADER_PROTOCOL: "1"}, timeout=TIMEOUT
    )


def new_desk(store: ThreadStore | ProcessStore, folder: Path, clock: Clock) -> Desk:
    """A fresh journal with its own desk code (unique per store, so tests sharing a store
    never share card numbers), enrolled with a one-time code."""
    code = store.add_desk_code("test desk")
    desk_code = "".join(chr(65 + b % 26) for b in os.urandom(3))
    journal = Journal.open(folder / f"{desk_code}-{os.urandom(3).hex()}.sqlite", clock)
    journal.set_desk_code(desk_code)
    response = enrol(store.url, code, journal, desk_code)
    assert response.status_code == 200, response.text
    enrolment = p.Enrollment.from_json(response.json())
    assert enrolment.desk_id == journal.desk_id
    return Desk(store.url, journal, enrolment.secret, clock)
