"""The desk's HTTP client for the central store (`requests`, the wire in app/sync/protocol.py).

Every call has a connect and a read timeout, and everything `requests` or the store can say
is translated here into a `SyncError` with a one-line reason a dispatcher can act on, so the
engine and the window never see a `requests` type. The desk credential comes from the OS
keyring through `SecretStore`; it is never written to a file of ours, and never sent: every
call is signed with a key derived from it (app/sync/signing.py), on the injected clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from app.adapters.secrets import SecretStore
from app.clock import Clock, SystemClock
from app.errors import SyncError, ValidationError
from app.models.entry import Entry
from app.sync import protocol as p
from app.sync import signing

#: (connect, read) seconds. Connect just above a TCP retransmit window; read generous enough
#: for a push of a full batch on a slow link, short enough that a dead store is noticed.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 15.0)


def secret_name(desk_id: str) -> str:
    """The keyring slot of the secret the store gave this desk at enrolment (one per journal's
    desk id, so a second journal on the same machine keeps its own)."""
    return f"store_secret:{desk_id}"


T = TypeVar("T")


class StoreUnreachable(SyncError):
    """No answer: the network, DNS, TLS, a timeout, or a broken reply. Retry later."""


class StoreRefused(SyncError):
    """The store answered with an error (`code` is its {"error": ...} code)."""

    def __init__(self, message: str, *, code: str, status: int, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.body = body


class DeskAuth(requests.auth.AuthBase):
    """Signs each request as the desk (app/sync/signing.py): over the method, the path and
    query as sent (less the base URL's own path, which a reverse proxy strips), and the body
    bytes as prepared, with a fresh nonce and the injected clock's time. Only the derived key
    is kept; the secret is never sent."""

    def __init__(self, desk_id: str, secret: str, clock: Clock | None = None, *,
                 base_path: str = "") -> None:
        self.desk_id = desk_id
        self._key = signing.signing_key(secret)
        self.clock: Clock = clock or SystemClock()
        self.base_path = base_path.rstrip("/")
        #: Seconds added to the clock's time in the signature: learned from a store that
        #: refused a timestamp as skewed (its reply names the offset), so a desk with a wrong
        #: clock still pulls; its pushes are still refused by their desk_time until it is set.
        self.correction_s = 0.0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body
        raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else b""
        target = request.path_url
        if self.base_path and target.startswith(self.base_path + "/"):
            target = target[len(self.base_path):]
        ts = int(self.clock.now().timestamp() + self.correction_s)
        request.headers.update(signing.signed_headers(
            self._key, self.desk_id, request.method or "GET", target, raw, ts))
        return request

    def __repr__(self) -> str:  # never shows the key
        return f"DeskAuth({self.desk_id!r})"


class StoreClient:
    """One store, one desk credential (None: only health and enrolment work)."""

    def __init__(
        self,
        base_url: str,
        credential: tuple[str, str] | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = check_store_url(base_url)
        self._credential = credential
        self._auth = DeskAuth(credential[0], credential[1], clock,
                              base_path=urlsplit(self.base_url).path) if credential else None
        self.timeout = timeout
        self._session = session or requests.Session()
        self._session.headers[p.HEADER_PROTOCOL] = str(p.PROTOCOL_VERSION)

    @classmethod
    def from_keyring(
        cls, base_url: str, desk_id: str, secrets: SecretStore | None = None,
        clock: Clock | None = None,
    ) -> StoreClient:
        secret = (secrets or SecretStore()).get(secret_name(desk_id))
        if not secret:
            raise SyncError(
                "this desk is not enrolled with a central store; run "
                "`dispatch-desk enroll URL CODE` with a code from the store's admin"
            )
        return cls(base_url, (desk_id, secret), clock=clock)

    @property
    def desk_id(self) -> str | None:
        return self._credential[0] if self._credential else None

    def close(self) -> None:
        self._session.close()

    # -- calls ----------------------------------------------------------------------------

    def health(self) -> p.Health:
        return _parsed(p.Health.from_json, self._call("GET", p.PATH_HEALTH, auth=False))

    def desks(self) -> list[p.DeskSeen]:
        """Every enrolled desk with its last heartbeat."""
        return _parsed(p.DeskSeen.list_from_json, self._call("GET", p.PATH_DESKS))

    def enroll(self, code: str, desk_code: str, name: str | None, desk_id: str
               ) -> p.Enrollment:
        body = {"code": code, "desk_code": desk_code, "desk_id": desk_id}
        if name:  # none: the store keeps the name its admin gave the code
            body["name"] = name
        data = self._call("POST", p.PATH_ENROLL, json_body=body, auth=False)
        return _parsed(p.Enrollment.from_json, data)

    def push(self, desk_time: datetime, entries: Sequence[Entry]) -> p.PushReply:
        body = {"desk_time": p.format_time(desk_time), "entries": [e.to_wire() for e in entries]}
        reply = _parsed(p.PushReply.from_json, self._call("POST", p.PATH_PUSH, json_body=body))
        if [r.id for r in reply.results] != [e.id for e in entries]:
            raise StoreUnreachable("the store's push reply does not match the batch sent; retrying")
        return reply

    def pull(self, after: str, *, limit: int = p.PULL_LIMIT_DEFAULT, wait: float = 0) -> p.PullPage:
        """One page after `after`; with `wait` the store holds the request until something
        new arrives, so the read timeout is stretched by that much."""
        params = {"after": after, "limit": limit, "wait": wait}
        read = self.timeout[1] + wait
        data = self._call("GET", p.PATH_PULL, params=params, read=read)
        return _parsed(p.PullPage.from_json, data)

    # -- plumbing -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        read: float | None = None,
        retried: bool = False,
    ) -> Any:
        if auth and self._auth is None:
            raise SyncError("this desk is not enrolled; run `dispatch-desk enroll URL CODE`")
        body = None if json_body is None else json.dumps(
            json_body, separators=(",", ":"), allow_nan=False).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        url = self.base_url + path
        try:
            response = self._session.request(
                method,
                url,
                data=body,
                params=params,
                headers=headers,
                auth=self._auth if auth else None,
                timeout=(self.timeout[0], read or self.timeout[1]),
            )
            data = response.json() if response.content else None
        except requests.Timeout as exc:
            raise StoreUnreachable(f"the store at {self.base_url} did not answer in time") from exc
        except requests.ConnectionError as exc:
            raise StoreUnreachable(
                f"cannot reach the store at {self.base_url}: {_reason(exc)}"
            ) from exc
        except (requests.RequestException, json.JSONDecodeError) as exc:
            raise StoreUnreachable(f"broken reply from the store at {url}: {_reason(exc)}") from exc
        if response.status_code >= 400:
            refused = _refused(response.status_code, data, url)
            if auth and not retried and self._learn_skew(refused):
                return self._call(method, path, json_body=json_body, params=params, auth=auth,
                                  read=read, retried=True)
            raise refused
        return data

    def _learn_skew(self, refused: SyncError) -> bool:
        """True if the store refused the signature's time and said by how much: the next
        request is signed on the store's time (once per call; a fresh nonce, so no replay)."""
        if not (isinstance(refused, StoreRefused) and refused.status == 401
                and refused.code == p.ERR_CLOCK_SKEW and self._auth is not None):
            return False
        offset = refused.body.get("offset_s")
        if not isinstance(offset, int | float):
            return False
        self._auth.correction_s -= float(offset)
        return True

    def __repr__(self) -> str:  # never shows the secret
        return f"StoreClient({self.base_url!r}, desk={self.desk_id!r})"


def _parsed(parse: Callable[[Any], T], data: Any) -> T:
    try:
        return parse(data)
    except ValidationError as exc:
        raise StoreUnreachable(f"the store's reply was not understood: {exc}") from exc


def check_store_url(url: str) -> str:
    """The store's base URL without a trailing slash; ValidationError naming the fix if not."""
    clean = (url or "").strip().rstrip("/")
    if not clean.startswith(("http://", "https://")) or len(clean) < 10 or " " in clean:
        raise ValidationError(
            f"store URL {url!r}: use the address the admin gave, e.g. https://store.example:8770",
            field="store_url",
        )
    return clean


def _reason(exc: BaseException) -> str:
    # requests nests the real cause (refused, reset, DNS) several layers down; show the last.
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for marker in (
        "Connection refused",
        "Connection reset",
        "Name or service not known",
        "timed out",
        "Remote end closed",
        "certificate verify failed",
    ):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:160]


_HINTS = {
    p.ERR_UNAUTHORIZED: "the store does not accept this desk's credential; enrol the desk again",
    p.ERR_REVOKED: "the store's admin revoked this desk; enrol it again with a new code",
    p.ERR_PROTOCOL: "the store speaks another protocol version; upgrade this desk",
    p.ERR_RATE_LIMITED: "the store is turning this address away after failed sign-ins",
}


def _refused(status: int, data: Any, url: str) -> SyncError:
    body = data if isinstance(data, dict) else {}
    code = str(body.get("error") or f"http_{status}")
    message = str(body.get("message") or "").splitlines()[0:1]
    text = message[0] if message else _HINTS.get(code, f"the store answered HTTP {status}")
    if status >= 500:
        return StoreUnreachable(f"the store failed ({status}) at {url}; retrying later")
    if status == 429:
        # A brake, not a verdict on this desk (another machine behind the same address may
        # have failed): the sync engine's backoff tries again.
        return StoreRefused(f"{text}; retrying later", code=code, status=status, body=body)
    if status in (401, 403) and code != p.ERR_ENROLL:
        # Says whose verdict it is: sync stops until someone acts on it (clock, enrolment).
        text = f"the store refused this desk ({status}): {text}"
    return StoreRefused(text, code=code, status=status, body=body)
