"""A loopback stand-in for the parts of Twilio's 2010-04-01 REST API that the desk uses.

It is a real HTTP server on 127.0.0.1 so that the real ``twilio.rest.Client`` (pointed here by
``LoopbackHttpClient``) runs its whole stack -- auth, form encoding, JSON parsing, paging, error
wrapping -- exactly as it would against Twilio. Nothing here is the network; no test can page
a person.

Endpoints: POST/GET ``Messages.json`` (filters To, From, DateSent, DateSent<, DateSent>),
GET ``Messages/{Sid}.json``, POST/GET ``Calls.json`` (filters To, From, Status),
GET ``Calls/{Sid}.json`` and GET ``Calls/{Sid}/Events.json``. Lists are newest first and paged
with ``PageSize``/``Page`` and Twilio's ``next_page_uri``/``previous_page_uri`` keys.

How a keypress is exposed: as real Twilio does, in the call's Events subresource. When
``simulate_call_result(sid, "completed-pressed-4")`` runs (1, 4, 5 or 6), an event is logged
whose ``request`` is the POST Twilio would have made to the ``<Gather action=...>`` URL, with
snake_case ``parameters`` including ``"digits": "4"``. The Call resource itself has no digits
field. ``press_key(sid, "5")`` plays the whole callback road a store-served call takes: the
signed POST to the call's ``Url`` for its TwiML, the signed POST of ``Digits`` to that
TwiML's ``<Gather action>`` (resolved against the URL, like Twilio), the event logged, and
``end_call`` posts the ``StatusCallback``.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from json import dumps
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

API = "/2010-04-01/Accounts"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "standin-auth-token-0000000000000"
OUTCOMES = ("completed-pressed-1", "completed-pressed-4", "completed-pressed-5",
            "completed-pressed-6", "completed-no-input", "voicemail", "no-answer", "busy",
            "failed", "in-progress")
_ERRORS = {400: (21211, "The 'To' number is not a valid phone number."),
           401: (20003, "Authenticate"), 404: (20404, "The requested resource was not found"),
           429: (20429, "Too Many Requests"), 500: (20500, "Internal Server Error"),
           503: (20503, "Service Unavailable")}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it; ``received_at`` is ``time.monotonic()``."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    received_at: float


@dataclass
class _Fault:
    remaining: int
    status: int = 500
    retry_after: float | None = None
    after: int = 0
    delay: float = 0.0


class TwilioStandIn:
    """Start with ``with TwilioStandIn() as twilio:`` (or start()/stop()); ``base_url`` is set."""

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN, *, number: str = "+15005550006",
                 clock: Callable[[], datetime] | None = None) -> None:
        self.account_sid, self.auth_token, self.number = account_sid, auth_token, number
        self.clock = clock or (lambda: datetime.now(UTC))
        self.requests: list[RecordedRequest] = []
        # Records in Twilio's JSON shape; keys starting with "_" are the stand-in's own.
        self.messages: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}  # both keyed by sid
        self.events: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._failures: list[_Fault] = []
        self._delays: list[_Fault] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> TwilioStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                         kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in delay_next
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> TwilioStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test hooks --------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 500, retry_after: float | None = None, *,
                  after: int = 0) -> None:
        """Answer the next ``n`` authorised requests (after letting ``after`` through) with
        ``status`` and a Twilio-shaped error body; 429/503 carry ``Retry-After`` if given."""
        with self._lock:
            self._failures.append(_Fault(n, status, retry_after, after))

    def delay_next(self, n: int, seconds: float) -> None:
        """Hold the next ``n`` requests for ``seconds`` before answering (for read timeouts)."""
        with self._lock:
            self._delays.append(_Fault(n, delay=seconds))

    def simulate_reply(self, from_number: str, body: str, *, to: str | None = None,
                       at: datetime | None = None) -> str:
        """An inbound SMS, by default to whichever number last paged ``from_number``."""
        when, sid = at or self.clock(), _sid("SM")
        with self._lock:
            if to is None:
                paged = [m for m in self.messages.values()
                         if m["to"] == from_number and m["direction"] == "outbound-api"]
                to = max(paged, key=lambda m: m["_at"])["from"] if paged else self.number
            self.messages[sid] = self._message(sid, to, from_number, body, "inbound",
                                                     "received", when, sent=True)
        return sid

    def receive_sms(self, from_number: str, body: str, *, webhook: str | None = None,
                    at: datetime | None = None) -> tuple[str, Any]:
        """Someone texts the desk's number: the message is in the Messages list (what the
        desk's poll reads) and, with `webhook`, posted there signed as Twilio's "a message
        comes in" would. Returns (MessageSid, the webhook's `requests` response, or None
        when there is no webhook or it could not be reached)."""
        sid = self.simulate_reply(from_number, body, to=self.number, at=at)
        form = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
                "AccountSid": self.account_sid, "From": from_number, "To": self.number,
                "Body": body, "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
                "ApiVersion": "2010-04-01"}
        return sid, self.post_webhook(webhook, form) if webhook else None

    def receive_call(self, from_number: str, webhook: str) -> tuple[str, Any]:
        """Someone calls the desk's number: Twilio's "a call comes in" form, signed, posted to
        `webhook`; returns (CallSid, the response or None when unreachable)."""
        sid = _sid("CA")
        form = {"CallSid": sid, "AccountSid": self.account_sid, "From": from_number,
                "Caller": from_number, "To": self.number, "Called": self.number,
                "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        return sid, self.post_webhook(webhook, form)

    def post_webhook(self, url: str, form: dict[str, str]) -> Any:
        """POST `form` to `url` signed as Twilio signs it; None when nothing answers there
        (the store is down: Twilio gives up, the message stays in the list)."""
        import requests

        try:
            return requests.post(url, data=form, timeout=10,
                                 headers={"X-Twilio-Signature": self.sign_webhook(url, form)})
        except requests.ConnectionError:
            return None

    def simulate_call_result(self, call_sid: str, outcome: str) -> None:
        """Finish (or advance) a call. ``outcome`` is one of ``OUTCOMES``; see module doc."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        with self._lock:
            call = self.calls[call_sid]
            now = self.clock()
            status = "completed" if outcome.startswith("completed") or \
                outcome == "voicemail" else outcome
            call.update(status=status, date_updated=_rfc2822(now))
            if status in ("completed", "in-progress"):
                call.update(start_time=_rfc2822(now - timedelta(seconds=20)),
                            answered_by="machine_start" if outcome == "voicemail" else "human")
            if status == "completed":
                call.update(end_time=_rfc2822(now), duration="20")
            if outcome.startswith("completed-pressed-"):
                self.events.setdefault(call_sid, []).append(
                    self._gather_event(call, now, outcome[-1]))

    def press_key(self, call_sid: str, digits: str) -> tuple[Any, Any]:
        """The person answers the call and presses ``digits``, on a call whose TwiML is served
        by ``Url`` (the store): Twilio fetches the TwiML (signed POST), then posts the key to
        the ``<Gather action>``. Returns (the TwiML response, the action's response); either
        is None when nothing answered there."""
        from urllib.parse import urljoin

        with self._lock:
            call = self.calls[call_sid]
            call.update(status="in-progress", answered_by="human")
            form, url = call["_form"], call["_form"].get("Url", "")
        base = {"CallSid": call_sid, "AccountSid": self.account_sid, "From": form["From"],
                "To": form["To"], "Direction": "outbound-api", "ApiVersion": "2010-04-01",
                "CallStatus": "in-progress", "AnsweredBy": "human"}
        page = self.post_webhook(url, base) if url else None
        twiml = page.text if page is not None and page.status_code == 200 else \
            form.get("Twiml", "")
        gather = ET.fromstring(twiml).find("Gather") if twiml else None
        action = urljoin(url, gather.get("action", "")) if gather is not None else ""
        with self._lock:
            self.events.setdefault(call_sid, []).append(
                self._gather_event(call, self.clock(), digits, action))
        if not action:
            return page, None
        return page, self.post_webhook(action, {**base, "Digits": digits,
                                                "FinishedOnKey": "", "msg": "Gather End"})

    def end_call(self, call_sid: str) -> Any:
        """The call ends (completed, answered by a person): its status callback, if any."""
        with self._lock:
            call = self.calls[call_sid]
            now = self.clock()
            call.update(status="completed", end_time=_rfc2822(now), duration="20",
                        answered_by=call.get("answered_by") or "human")
            form = call["_form"]
        url = form.get("StatusCallback")
        if not url:
            return None
        return self.post_webhook(url, {
            "CallSid": call_sid, "AccountSid": self.account_sid, "From": form["From"],
            "To": form["To"], "CallStatus": "completed", "AnsweredBy": "human",
            "CallDuration": "20", "Direction": "outbound-api", "ApiVersion": "2010-04-01"})

    def sign_webhook(self, url: str, params: dict[str, str]) -> str:
        """The ``X-Twilio-Signature`` Twilio would send for a webhook POST to ``url``."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def requests_to(self, method: str, suffix: str) -> list[RecordedRequest]:
        """Received requests with this method whose path ends with ``suffix``."""
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # -- request handling --------------------------------------------------------------------
    def handle(self, req: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Return (status, JSON body, extra headers) for one request."""
        self.requests.append(req)
        delay = self._take(self._delays)
        if delay is not None and self._stopping.wait(delay.delay):
            return 503, _error(503), {}
        if req.headers.get("authorization") != self._expected_auth():
            return 401, _error(401, "Your AccountSid or AuthToken was incorrect."), {
                "WWW-Authenticate": 'Basic realm="Twilio API"'}
        fault = self._take(self._failures)
        if fault is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            return fault.status, _error(fault.status), headers
        with self._lock:
            return self._route(req)

    def _take(self, faults: list[_Fault]) -> _Fault | None:
        with self._lock:
            for fault in faults:
                if fault.after > 0:
                    fault.after -= 1
                    return None
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
            return None

    def _expected_auth(self) -> str:
        token = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return f"Basic {token}"

    def _route(self, req: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        m = re.fullmatch(rf"{API}/(AC\w+)/(Messages|Calls)(?:/(\w+))?(/Events)?\.json", req.path)
        if m is None or m.group(1) != self.account_sid:
            return 404, _error(404), {}
        kind, sid, events = m.group(2), m.group(3), m.group(4)
        store = self.messages if kind == "Messages" else self.calls
        if sid is None and req.method == "POST":
            return self._create_message(req.form) if kind == "Messages" else \
                self._create_call(req.form)
        if sid is None and req.method == "GET":
            items = self._filter(kind, req.query)
            return 200, self._page(req.path, kind.lower(), items, req.query), {}
        if req.method != "GET" or sid not in store or (events and kind != "Calls"):
            return 404, _error(404), {}
        if events:
            return 200, self._page(req.path, "events", self.events.get(sid, []),
                                   req.query), {}
        return 200, _public(store[sid]), {}

    def _create_message(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict]:
        for key, code, text in (("To", 21604, "A 'To' phone number is required."),
                                ("From", 21603, "A 'From' phone number is required."),
                                ("Body", 21602, "Message body is required.")):
            if not form.get(key):
                return 400, _error(400, text, code), {}
        sid = _sid("SM")
        record = self._message(sid, form["To"], form["From"], form["Body"], "outbound-api",
                               "queued", self.clock(), sent=False)
        record["_form"] = dict(form)
        created = _public(record)
        record.update(status="sent", date_sent=record["date_created"])
        self.messages[sid] = record
        return 201, created, {}

    def _create_call(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict]:
        if not form.get("To") or not form.get("From"):
            return 400, _error(400, "No 'To' or 'From' number is specified", 21201), {}
        if not form.get("Twiml") and not form.get("Url"):
            return 400, _error(400, "Either Url or Twiml is required", 21205), {}
        sid, now = _sid("CA"), self.clock()
        uri = f"{API}/{self.account_sid}/Calls/{sid}.json"
        record: dict[str, Any] = dict.fromkeys(
            ("parent_call_sid", "phone_number_sid", "start_time", "end_time", "duration",
             "price", "answered_by", "forwarded_from", "group_sid", "caller_name", "trunk_sid"))
        record.update(
            sid=sid, account_sid=self.account_sid, date_created=_rfc2822(now),
            date_updated=_rfc2822(now), to=form["To"], to_formatted=form["To"],
            from_formatted=form["From"], status="queued", price_unit="USD",
            direction="outbound-api", api_version="2010-04-01", queue_time="0", uri=uri,
            subresource_uris={"events": uri.replace(".json", "/Events.json")}, _at=now,
            _form=dict(form))
        record["from"] = form["From"]
        self.calls[sid] = record
        return 201, _public(record), {}

    def _message(self, sid: str, to: str, from_: str, body: str, direction: str, status: str,
                 when: datetime, *, sent: bool) -> dict[str, Any]:
        uri = f"{API}/{self.account_sid}/Messages/{sid}.json"
        return {"sid": sid, "account_sid": self.account_sid, "api_version": "2010-04-01",
                "body": body, "date_created": _rfc2822(when), "date_updated": _rfc2822(when),
                "date_sent": _rfc2822(when) if sent else None, "direction": direction,
                "error_code": None, "error_message": None, "from": from_, "to": to,
                "messaging_service_sid": None, "num_media": "0", "num_segments": "1",
                "price": None, "price_unit": "USD", "status": status, "uri": uri,
                "subresource_uris": {"media": uri.replace(".json", "/Media.json")}, "_at": when}

    def _gather_event(self, call: dict[str, Any], now: datetime, digits: str = "1",
                      url: str = "") -> dict[str, Any]:
        form = call["_form"]
        url = url or form.get("Url", "")
        if form.get("Twiml"):
            gather = ET.fromstring(form["Twiml"]).find("Gather")
            url = gather.get("action", "") if gather is not None else ""
        params = {"account_sid": self.account_sid, "api_version": "2010-04-01",
                  "call_sid": call["sid"], "call_status": "in-progress", "called": call["to"],
                  "caller": call["from"], "digits": digits, "direction": "outbound-api",
                  "finished_on_key": "", "from": call["from"], "msg": "Gather End",
                  "to": call["to"]}
        return {"request": {"method": "POST", "url": url, "parameters": params},
                "response": {"date_created": _rfc2822(now), "request_duration": 42,
                             "response_code": 200, "content_type": "text/xml",
                             "response_body": "<Response><Say>Accepted.</Say></Response>"}}

    def _filter(self, kind: str, query: dict[str, str]) -> list[dict[str, Any]]:
        store = self.messages if kind == "Messages" else self.calls
        items = sorted(store.values(), key=lambda r: r["_at"], reverse=True)
        for key in ("To", "From", "Status"):
            if key in query:
                items = [r for r in items if r[key.lower()] == query[key]]
        for op in ("=", ">", "<"):
            key = "DateSent" + op.strip("=")
            if kind == "Messages" and key in query:
                items = [r for r in items
                         if r["date_sent"] and _date_matches(r["_at"], op, query[key])]
        return [_public(r) for r in items]

    def _page(self, path: str, key: str, items: list[dict[str, Any]],
              query: dict[str, str]) -> dict[str, Any]:
        size = min(max(int(query.get("PageSize", 50)), 1), 1000)
        page = max(int(query.get("Page", 0)), 0)
        start = page * size
        chunk = items[start:start + size]
        base = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def uri(p: int) -> str:
            token = {"PageToken": f"PA{p * size}"} if p > 0 else {}
            params = dict(base, PageSize=str(size), Page=str(p), **token)
            return f"{path}?{urlencode(params)}"

        return {key: chunk, "start": start, "end": start + max(len(chunk) - 1, 0),
                "page": page, "page_size": size, "uri": uri(page), "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if start + size < len(items) else None,
                "previous_page_uri": uri(page - 1) if page > 0 else None}


class _Handler(BaseHTTPRequestHandler):
    owner: TwilioStandIn

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        req = RecordedRequest(self.command, parts.path, _first(parts.query), _first(raw),
                              {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
        status, body, headers = self.owner.handle(req)
        payload = dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (read timeout); that is what the test wanted

    do_POST = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _first(qs: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(qs, keep_blank_values=True).items()}


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _rfc2822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC).replace(microsecond=0))


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _error(status: int, message: str | None = None, code: int | None = None) -> dict[str, Any]:
    default_code, default_message = _ERRORS.get(status, (status, "Error"))
    code = code or default_code
    return {"code": code, "message": message or default_message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}


def _date_matches(at: datetime, op: str, value: str) -> bool:
    """Twilio's DateSent filters: ``=`` same day, ``>`` on or after, ``<`` on or before; the
    bound is either ``YYYY-MM-DD`` (whole days) or ``YYYY-MM-DDTHH:MM:SSZ``."""
    try:
        bound: datetime | date = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC)
        mine: datetime | date = at.astimezone(UTC).replace(microsecond=0)
    except ValueError:
        bound, mine = date.fromisoformat(value), at.astimezone(UTC).date()
    if op == "=":
        return (mine.date() if isinstance(mine, datetime) else mine) == (
            bound.date() if isinstance(bound, datetime) else bound)
    return mine >= bound if op == ">" else mine <= bound  # type: ignore[operator]
