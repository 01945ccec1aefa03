"""The desk's own intake door: the store's webhook formats, straight into the local journal.

    POST /v1/intake/{kind}          Authorization: Bearer KEY
    POST /v1/intake/{kind}/{key}    for a sender that cannot set a header (PUT too)
    GET  /v1/health                 {"status": "ok", "door": "desk"}

`kind` is ``webhook``, ``alertmanager``, ``grafana`` (parsed by `app.protocol.intake_formats`,
the store's own normalizers) or ``heartbeat`` (`app.runtime.heartbeats`). So LAN monitoring
keeps reaching the desk when the WAN and the store are gone; what the door writes syncs to the
store like any entry, and the tray folds an alert that came through both doors into one item
(`app.services.intake.tray`, by dedup key).

**Why the standard library's `ThreadingHTTPServer`**: the desk's base install has no web
framework (FastAPI and uvicorn are the store's `server` extra), and this door serves a few
senders on loopback or a LAN, one short request each. A thread per request, a read timeout on
every socket (a slow sender cannot hold a thread for long), Content-Length required and capped
before a byte of the body is read: that is all it needs, with nothing to install.

**Refusals, cheapest first**, nothing read or stored on any of them: 404 for an unknown door;
401 without a key or with one nobody knows here; 403 for a revoked key or a key of another
door (naming ``kind``); 411 without Content-Length; 413 over `MAX_BODY_BYTES`; 422 for a body
the format refuses, naming the JSON path. Each is counted (`refusals`) and logged.

**Replays**: the door remembers, per dedup key, the last occurrence it recorded (the journal's
local meta; `intake_formats.occurrence_key`), so a sender retrying after a lost reply, or
Alertmanager re-sending a group that is still firing, records nothing the second time. (The
store remembers every occurrence for a week; a desk door remembering the last per alert is
bounded by the alerts it knows and catches what senders actually repeat.)

**Where it listens**: loopback unless told otherwise. A non-loopback address must be given
as an IP address (``192.0.2.10:8771``, or ``0.0.0.0:8771`` for every interface): a host name
or an empty host is refused, so the door never opens to a network by a name that resolves
somewhere unexpected. Keys are required whatever the address.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.errors import ValidationError
from app.protocol.intake import Alert
from app.protocol.intake_formats import (
    FORMAT_KINDS,
    MAX_BODY_BYTES,
    Integration,
    key_shape_ok,
    occurrence_key,
    parse,
)
from app.runtime.heartbeats import (
    CHECK_EVERY_S,
    HEARTBEAT,
    DeskBeats,
    Monitor,
    monitor_of,
    monitors_from,
)
from app.services.intake import IntakeService, by_key
from app.services.intake import Integration as DeskIntegration
from app.sync.protocol import ERR_INVALID, ERR_TOO_LARGE, ERR_UNAUTHORIZED, error_body

PREFIX = "/v1/intake/"
HEALTH = "/v1/health"
DOOR_KINDS = (*FORMAT_KINDS, HEARTBEAT)
DEFAULT_LISTEN = "127.0.0.1:8771"
#: The author of what the door writes (the store's doors write as the same name).
OPERATOR = "intake door"
#: Seconds a sender may take to send its request line, headers or body.
READ_TIMEOUT_S = 10.0
_SEEN_META = "intake_door.last:"
_LOOPBACK_NAMES = ("localhost",)

log = logging.getLogger(__name__)


def parse_listen(text: str, field: str = "intake_listen") -> tuple[str, int]:
    """(host, port) from HOST:PORT ([::1]:PORT for IPv6); see the module docstring."""
    value = text.strip()
    host, sep, port_text = value.rpartition(":")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValidationError(f"{field} {value[:60]!r}: use HOST:PORT, such as "
                              f"{DEFAULT_LISTEN}", field=field)
    if host in _LOOPBACK_NAMES:
        return "127.0.0.1", int(port_text)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValidationError(
            f"{field} {value[:60]!r}: give the address to listen on as an IP address "
            f"(127.0.0.1 for this machine only, the LAN address, or 0.0.0.0 for every "
            "interface); a host name or an empty host is refused", field=field) from None
    if not address.is_loopback:
        log.warning("intake door: listening on %s, reachable from the network (keys are "
                    "still required)", host)
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, code: str, message: str, field: str | None = None) -> Reply:
    extra = {"field": field} if field else {}
    return Reply(status, error_body(code, message, **extra))


def _formats_integration(found: DeskIntegration) -> Integration:
    """The desk's integration record as the shared normalizers take it."""
    return Integration(found.name, found.kind, found.key_hash, found.category, found.site,
                       found.kind_of_work, found.every_min, found.note)


class IntakeDoor:
    """The door's logic, apart from HTTP (`handle`), and its server (`start`/`stop`).

    One lock around everything that reads or writes the intake: the request threads and the
    heartbeat check share one `IntakeService` (its tray cache is not for two threads)."""

    def __init__(self, intake: IntakeService, *, operator: str = OPERATOR,
                 on_written: Callable[[], None] | None = None) -> None:
        self.intake, self.operator = intake, operator
        self.journal, self.clock = intake.journal, intake.clock
        self._on_written = on_written or (lambda: None)
        self._lock = threading.RLock()
        self.refusals: Counter[tuple[str, str]] = Counter()  # (integration, reason) -> calls
        self.beats = DeskBeats(self.journal, self._receive, self._monitors, self.clock)
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    # -- the intake, under the lock ---------------------------------------------------------

    def _receive(self, alerts: Sequence[Alert]) -> None:
        with self._lock:
            self.intake.receive(alerts, self.operator)
        self._on_written()

    def _monitors(self) -> dict[str, Monitor]:
        with self._lock:
            return monitors_from(i for i in self.intake.integrations() if not i.revoked)

    def check_heartbeats(self) -> list[str]:
        """Raise the misses that are due (the door's loop calls this every CHECK_EVERY_S)."""
        return self.beats.check()

    # -- one request ------------------------------------------------------------------------

    def _refuse(self, name: str, reason: str, reply: Reply) -> Reply:
        self.refusals[(name, reason)] += 1
        log.info("intake door: refused (%s) for %r: %s", reason, name or "?",
                 reply.body.get("message"))
        return reply

    def authorise(self, path: str, header: str | None) -> tuple[str, DeskIntegration] | Reply:
        """(kind, integration) for a request to `path`, or the refusal to send. Nothing of the
        body has been read yet."""
        rest = path.split("?", 1)[0].removeprefix(PREFIX)
        kind, _, key = rest.partition("/")
        if not path.startswith(PREFIX) or kind not in DOOR_KINDS or "/" in key:
            return _error(404, "not_found", f"no intake door at {path[:80]!r}; post to "
                          f"{PREFIX}KIND with KIND one of {', '.join(DOOR_KINDS)}", "kind")
        if not key:
            scheme, _, value = (header or "").partition(" ")
            key = value.strip() if scheme.lower() == "bearer" else ""
        unauthorized = Reply(401, error_body(ERR_UNAUTHORIZED, "no integration key: send "
                             f"Authorization: Bearer KEY or post to {PREFIX}{kind}/KEY "
                             "(dispatch-desk integration add prints both)"),
                             (("WWW-Authenticate", "Bearer"),))
        if not key:
            return self._refuse("", "no_key", unauthorized)
        found = None
        if key_shape_ok(key):
            with self._lock:
                found = by_key(self.intake.integrations(), key)
        if found is None:
            return self._refuse("", "unknown_key", Reply(401, error_body(
                ERR_UNAUTHORIZED, "this integration key is not known at this desk; check the "
                "key, or add the integration (dispatch-desk integration add KIND NAME)"),
                unauthorized.headers))
        if found.revoked:
            return self._refuse(found.name, "revoked", _error(
                403, "key_revoked", f"the key of integration {found.name!r} was revoked; give "
                "the sender its current key"))
        if found.kind != kind:
            return self._refuse(found.name, "wrong_kind", _error(
                403, "wrong_kind", f"kind: the key of {found.name!r} is for the {found.kind} "
                f"door; post to {PREFIX}{found.kind}", "kind"))
        return kind, found

    def body_refusal(self, name: str, length: str | None, chunked: bool) -> Reply | None:
        """The refusal for a body that must not be read, or None to read `length` bytes."""
        if length is None or not length.strip().isdigit():
            if chunked or length is not None:
                return self._refuse(name, "no_length", _error(
                    411, ERR_INVALID, "body: send Content-Length (this door reads no chunked "
                    "bodies)", "body"))
            return None  # no body at all (a bare heartbeat)
        if int(length) > MAX_BODY_BYTES:
            return self._refuse(name, "too_large", _error(
                413, ERR_TOO_LARGE, f"body: {int(length):,} bytes is over this door's limit "
                f"of {MAX_BODY_BYTES:,}; send fewer alerts per request", "body"))
        return None

    def deliver(self, kind: str, found: DeskIntegration, body: bytes) -> Reply:
        """Parse and record an authorised request's body."""
        if kind == HEARTBEAT:
            monitor = monitor_of(found)
            if monitor is None:
                return self._refuse(found.name, "invalid", _error(
                    422, ERR_INVALID, f"every_min: integration {found.name!r} has no "
                    "interval; add it again with --every-min", "every_min"))
            alive = self.beats.beat(monitor)
            return Reply(200, {"beat": found.name, "alive_again": alive,
                               "at": self.clock.now().isoformat()})
        try:
            alerts = parse(kind, body, _formats_integration(found), self.clock.now())
        except ValidationError as exc:
            return self._refuse(found.name, "invalid", _error(422, ERR_INVALID, exc.message,
                                                              exc.field or "body"))
        with self._lock:
            fresh, replayed = self._fresh(alerts)
            outcomes = self.intake.receive(fresh, self.operator) if fresh else []
            for alert in fresh:  # after the write: a crash in between counts a retry again
                self.journal.set_meta(_SEEN_META + alert.dedup_key, occurrence_key(alert))
        if outcomes:
            self._on_written()
        created = sum(1 for o in outcomes if o.action in ("new", "registered"))
        return Reply(200, {"accepted": len(alerts), "created": created,
                           "repeated": len(outcomes) - created, "replayed": replayed,
                           "items": sorted({o.item_id for o in outcomes})})

    def _fresh(self, alerts: Sequence[Alert]) -> tuple[list[Alert], int]:
        fresh: list[Alert] = []
        last: dict[str, str | None] = {}
        for alert in alerts:
            if alert.dedup_key not in last:
                last[alert.dedup_key] = self.journal.get_meta(_SEEN_META + alert.dedup_key)
            occurrence = occurrence_key(alert)
            if last[alert.dedup_key] != occurrence:
                fresh.append(alert)
                last[alert.dedup_key] = occurrence
        return fresh, len(alerts) - len(fresh)

    # -- serving ------------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the intake door is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def start(self, listen: str = DEFAULT_LISTEN, *, check_every_s: float = CHECK_EVERY_S,
              field: str = "intake_listen") -> str:
        """Bind `listen` (HOST:PORT; port 0 picks one), serve and check heartbeats on threads
        of their own; returns the door's URL. A bad address or a port in use is a
        ValidationError naming `field` (the setting, or the flag it came from)."""
        host, port = parse_listen(listen, field)
        server_class = _V6Server if ":" in host else _Server
        try:
            server = server_class((host, port), _Handler)
        except OSError as exc:
            raise ValidationError(f"{field} {listen!r}: cannot listen there: "
                                  f"{exc.strerror or exc}", field=field) from None
        server.door = self
        self._server = server
        self._stop.clear()
        self._threads = [
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                             name="intake-door", daemon=True),
            threading.Thread(target=self._check_loop, args=(check_every_s,),
                             name="intake-door-heartbeats", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self.url

    def _check_loop(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.check_heartbeats()
            except Exception:  # one bad check must not end the loop; it is logged
                log.exception("intake door: heartbeat check failed")

    def request_stop(self) -> None:
        """Ask `wait` to return (safe from a signal handler); `stop` then closes the door."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `stop` (or `timeout`); True once stopped."""
        return self._stop.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck sender never keeps the desk from stopping
    door: IntakeDoor


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = READ_TIMEOUT_S  # on the socket: request line, headers and body
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: with Nagle on, a keep-alive sender waits ~40 ms
    # on the delayed ACK for every reply (measured here: a replay 44 ms median, 1.3 ms without).
    disable_nagle_algorithm = True
    server_version = "dispatch-desk-intake"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("intake door: %s %s", self.address_string(), format % args)

    def _send(self, reply: Reply, *, close: bool = False) -> None:
        data = json.dumps(reply.body, ensure_ascii=True, separators=(",", ":")).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path.split("?", 1)[0] == HEALTH:
            self._send(Reply(200, {"status": "ok", "door": "desk"}))
        else:
            self._send(_error(405 if self.path.startswith(PREFIX) else 404, "not_found",
                              f"{self.path[:80]!r}: post alerts to {PREFIX}KIND"), close=True)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        door = self.server.door
        allowed = door.authorise(self.path, self.headers.get("Authorization"))
        if isinstance(allowed, Reply):
            self._send(allowed, close=True)  # the body, if any, is never read
            return
        kind, found = allowed
        length = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        refused = door.body_refusal(found.name, length, chunked)
        if refused is not None:
            self._send(refused, close=True)
            return
        try:
            body = self.rfile.read(int(length)) if length else b""
        except OSError:  # the sender stopped sending (READ_TIMEOUT_S) or went away
            self.close_connection = True
            return
        if length and len(body) < int(length):
            self._send(_error(400, ERR_INVALID, "body: cut off before Content-Length bytes",
                              "body"), close=True)
            return
        try:
            reply = door.deliver(kind, found, body)
        except ValidationError as exc:  # a value the journal refused: named, nothing stored
            reply = _error(422, ERR_INVALID, exc.message, exc.field or "body")
        except Exception:
            log.exception("intake door: could not record an alert")
            reply = _error(500, "internal", "the desk could not record this; it was not "
                           "stored, send it again")
        self._send(reply)

    do_PUT = do_POST  # Grafana's contact point may be set to PUT
