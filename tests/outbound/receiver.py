"""A real webhook receiver on a loopback port (stdlib http.server on a thread of its own), as
a PSA would run one: it checks the signature itself (its own HMAC, not the desk's code),
answers what the test scripts, can hold a request (a slow or hung receiver) and de-duplicates
deliveries by their Idempotency-Key, as a receiver of an at-least-once sender must."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool          # the signature matched the secret, over "{timestamp}.{body}"
    fresh: bool           # the timestamp lies within 5 minutes of the receiver's clock

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")


class Receiver:
    def __init__(self, secret: str = "", *, port: int = 0,
                 now: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.port = port
        self.now = now
        #: Statuses to answer, one per request, then `default`; (status, headers) or status.
        self.script: list[int | tuple[int, dict[str, str]]] = []
        self.default = 204
        self.hold = threading.Event()     # set: requests wait for `release` before answering
        self.release = threading.Event()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/dispatch"

    def unique(self) -> list[Received]:
        """What the receiver acts on: the first delivery of each Idempotency-Key."""
        seen: dict[str, Received] = {}
        for r in self.received:
            seen.setdefault(r.key, r)
        return list(seen.values())

    def events(self) -> list[tuple[str, str]]:
        return [(r.json["event"], r.json["number"]) for r in self.unique()]

    def _check(self, headers: dict[str, str], body: bytes) -> tuple[bool, bool]:
        stamp = headers.get("x-dispatch-timestamp", "")
        given = headers.get("x-dispatch-signature", "")
        want = "sha256=" + hmac.new(self.secret.encode(), stamp.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        fresh = stamp.isdigit() and abs(self.now() - int(stamp)) <= 300
        return hmac.compare_digest(given, want), fresh

    def _answer(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            step = self.script.pop(0) if self.script else self.default
        return step if isinstance(step, tuple) else (step, {})

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                signed, fresh = outer._check(headers, body)
                with outer._lock:
                    outer.received.append(Received(self.path, headers, body, signed, fresh))
                if outer.hold.is_set():
                    outer.release.wait(30)
                status, extra = outer._answer()
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    text = b"" if status == 204 else f"answer {status}".encode()
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:
                    pass  # the sender went away (killed mid-delivery)

            def log_message(self, *_: Any) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def free_port() -> int:
    """A loopback port nobody listens on (yet): a receiver that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

