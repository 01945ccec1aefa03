"""What keeps one client from starving every desk: a cap on each request body, counted as the
bytes arrive, and a brake on failed sign-ins.

`BodyCap` is a plain ASGI middleware, not Starlette's `BaseHTTPMiddleware`: it has to see each
body chunk as uvicorn hands it over, so a chunked body (no Content-Length) is stopped at its
cap like a declared one, before anything is buffered or parsed. Once refused, the rest of the
body never reaches the app; uvicorn reads and discards it, and its keep-alive timeout closes a
connection that goes on sending.

`AuthLimiter` counts failed credentials per client address and per claimed desk id, in memory
(each store process its own). Over the limit a request is answered 429 before the database is
asked. A credential that has succeeded in this process is never braked, so a desk that shares
its address (a NAT, the proxy) or its id with an attacker keeps syncing. A desk's signed
request is never the same twice, so for desks the limiter keeps the key of each desk that
signed in here and vouches for a request it can verify itself (`vouches`), once per nonce: a
replay of it is braked like a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.clock import Clock
from app.errors import PermissionDenied, ValidationError
from app.sync import signing
from app.sync.protocol import ERR_TOO_LARGE, PATH_PUSH, error_body, parse_credential

if TYPE_CHECKING:
    from app.store.signed import DeskCall

#: Failures allowed per address and per desk id within the window before 429.
AUTH_FAILURES_MAX = 20
AUTH_WINDOW_S = 60.0
# Each key costs a small deque; an attacker rotating made-up desk ids cannot grow this without
# bound (the oldest keys are forgotten first, which only ever lifts a brake early).
_KEYS_MAX = 10_000
_KNOWN_GOOD_MAX = 10_000
# Nonces vouched for in the last window (a few per desk and minute); oldest forgotten first.
_NONCES_MAX = 100_000


class BodyTooLarge(ValidationError):
    """A request body passed its route's cap; the client has already been answered 413."""


class RateLimited(PermissionDenied):
    """Too many failed credentials from this address or for this desk id (answered 429)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


class BodyCap:
    """Refuse, with 413, any request body longer than its path's cap (exact path match, then
    the first matching `prefixes` entry, for paths with a parameter such as
    /v1/intake/{kind}; `default` for every other path), whether or not Content-Length was
    sent."""

    def __init__(self, app: ASGIApp, *, caps: Mapping[str, int], default: int,
                 prefixes: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.caps = dict(caps)
        self.prefixes = dict(prefixes or {})
        self.default = default

    def cap_for(self, path: str) -> int:
        if path in self.caps:
            return self.caps[path]
        return next((cap for prefix, cap in self.prefixes.items() if path.startswith(prefix)),
                    self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(send, cap, scope["path"])
            return

        received = 0
        started = False
        refused = False

        async def capped_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    if not started and not refused:
                        refused = True
                        await _too_large(send, cap, scope["path"])
                    raise BodyTooLarge(f"request body over {cap} bytes", field="body")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # Whatever the app makes of the BodyTooLarge (FastAPI turns it into a 400) comes
            # after the 413 went out, and is dropped.
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except BodyTooLarge:
            if not refused:
                raise  # the app had already started its answer: uvicorn drops the connection


async def _too_large(send: Send, cap: int, path: str) -> None:
    message = f"the request body is over {cap} bytes, the limit for {path[:80]}; send less"
    if path == PATH_PUSH:
        message += " (push smaller batches)"
    body = json.dumps(error_body(ERR_TOO_LARGE, message), separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class AuthLimiter:
    """Failed sign-ins per client address and per claimed desk id, over a sliding window of
    the injected clock. Called on the event loop only (no lock)."""

    def __init__(
        self, clock: Clock, *, limit: int = AUTH_FAILURES_MAX, window_s: float = AUTH_WINDOW_S
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window_s = window_s
        # Only the newest `limit` failures of a key matter: the brake holds while the oldest
        # of them is inside the window.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        # Keyed digests of credentials that succeeded; the key lives only in this process, so
        # this set is worth nothing outside it.
        self._key = secrets.token_bytes(32)
        self._good: OrderedDict[bytes, None] = OrderedDict()

        # Desks that signed in here: their keys, and the nonces vouched for (until expiry).
        self._desk_keys: OrderedDict[str, bytes] = OrderedDict()
        self._vouched: OrderedDict[tuple[str, str], float] = OrderedDict()

    @staticmethod
    def keys(address: str | None, header: str | None) -> list[str]:
        keys = [f"addr:{address}"] if address else []
        try:
            desk_id = signing.parse_authorization(header).desk_id
        except ValidationError:
            try:  # the pre-signing Bearer credential, refused but still braked by its desk
                desk_id, _ = parse_credential(header)
            except ValidationError:
                return keys  # no desk id to speak of: the address alone is braked
        return [*keys, f"desk:{desk_id}"]

    def vouches(self, call: DeskCall) -> bool:
        """True for a call signed with the key of a desk that signed in here, with a nonce
        not vouched for before: it skips the brake (the store still checks it in full)."""
        signed = call.signed
        key = self._desk_keys.get(signed.desk_id)
        if key is None or (signed.desk_id, signed.nonce) in self._vouched:
            return False
        return call.verifies(key)

    def desk_succeeded(self, call: DeskCall, key: bytes) -> None:
        desk_id = call.signed.desk_id
        self._desk_keys.pop(desk_id, None)
        self._desk_keys[desk_id] = key
        while len(self._desk_keys) > _KNOWN_GOOD_MAX:
            self._desk_keys.popitem(last=False)
        now = self._now()
        self._vouched[(desk_id, call.signed.nonce)] = call.signed.ts + signing.MAX_SKEW_S
        while self._vouched and (len(self._vouched) > _NONCES_MAX
                                 or next(iter(self._vouched.values())) < now):
            self._vouched.popitem(last=False)

    def forget_desk(self, desk_id: str) -> None:
        """A desk refused since it signed in (revoked): braked like anyone from now on."""
        self._desk_keys.pop(desk_id, None)

    def _digest(self, header: str | None) -> bytes:
        return hmac.new(self._key, (header or "").encode(), hashlib.sha256).digest()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def check(self, address: str | None, header: str | None) -> None:
        """RateLimited if this address or desk id is braked and the credential is not one
        that already succeeded here."""
        if header and self._digest(header) in self._good:
            return
        now = self._now()
        wait = 0.0
        for key in self.keys(address, header):
            times = self._failures.get(key)
            if times is not None and len(times) >= self.limit:
                wait = max(wait, times[0] + self.window_s - now)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"too many failed sign-ins from this address or for this desk; try again in "
                f"{seconds} s with the desk's own credential",
                retry_after_s=seconds,
            )

    def failed(self, address: str | None, header: str | None) -> None:
        self._good.pop(self._digest(header), None)  # e.g. a desk revoked since it signed in
        now = self._now()
        for key in self.keys(address, header):
            times = self._failures.pop(key, None) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[key] = times  # re-inserted: the most recently failed is newest
        self._forget(now)

    def succeeded(self, header: str | None) -> None:
        digest = self._digest(header)
        self._good.pop(digest, None)
        self._good[digest] = None
        while len(self._good) > _KNOWN_GOOD_MAX:
            self._good.popitem(last=False)

    def _forget(self, now: float) -> None:
        while self._failures:
            oldest_key, times = next(iter(self._failures.items()))
            if len(self._failures) <= _KEYS_MAX and times[-1] + self.window_s > now:
                break
            del self._failures[oldest_key]
