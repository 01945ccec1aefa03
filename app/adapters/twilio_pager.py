"""Twilio implementation of the ``Pager`` port.

It drives the real ``twilio.rest.Client`` so that what the tests exercise (against the loopback
stand-in, through ``LoopbackHttpClient``) is the same code path production uses. Everything the
client or ``requests`` can raise is translated here into ``PagerError``/``PagerHttpError``, so
the ladder and the UI never see a Twilio type.

Where a call's TwiML comes from: with ``callback_url`` (the store's public address, the
``twilio_callback_url`` setting) Twilio fetches it from the store (``/twilio/voice/page``),
posts the key pressed to the store (``/twilio/voice/gather``) and the call's end to
``/twilio/webhook``: the store writes the entries at once. Without it the TwiML is inline and
says to answer the SMS instead (`app.protocol.voice_keys`).

How a key is read back by polling: the desk is a desktop program that Twilio cannot call, so
it cannot receive the ``<Gather>`` callback itself. Twilio records every request it makes for a
call -- including the one to the Gather ``action`` URL, whose parameters carry ``digits`` --
in the call's Events subresource (``/Calls/{CallSid}/Events.json``; keys are snake_case).
``call_outcome`` reads that. Caveat for production: Twilio documents Events as available up to
15 minutes after a call ends, so the ladder's acknowledgement wait must allow for that, or the
store should take the key itself (``callback_url``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.adapters.pager import CallOutcome, InboundReply, PageResult, PagerHttpError
from app.errors import ConfigError, PagerError
from app.protocol.voice_keys import KEYS, page_twiml

Timeout = float | tuple[float, float]

#: (connect, read) seconds: connect just above a TCP retransmit window, read generous enough
#: for a slow Twilio answer but short enough that a stuck page is noticed within the SLA.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10)
#: Twilio's documented bounds for ``ValidityPeriod`` and for inline ``Twiml``.
MAX_VALIDITY_S = 36000
MAX_TWIML_CHARS = 4000
#: The store's paths Twilio calls back (app/store/phone_routes.py, twilio_webhook.py).
PAGE_PATH, GATHER_PATH, STATUS_PATH = "/twilio/voice/page", "/twilio/voice/gather", \
    "/twilio/webhook"
_KEY_OUTCOME = {"acknowledged": CallOutcome.ACKNOWLEDGED, "escalated": CallOutcome.ESCALATED,
                "declined": CallOutcome.DECLINED}

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_TERMINAL_STATUS = {
    "busy": CallOutcome.BUSY,
    "failed": CallOutcome.FAILED,
    "no-answer": CallOutcome.NO_ANSWER,
    # Cancelled through the API before anyone answered: nobody accepted.
    "canceled": CallOutcome.NO_ANSWER,
}


class RecordingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no types
    """``TwilioHttpClient`` that accepts a (connect, read) timeout and remembers the last response.

    Twilio's exceptions drop the response headers, but a 429's ``Retry-After`` is exactly what
    the ladder needs to back off; the last response is kept per thread to recover it.
    """

    def __init__(self, *, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
        # The base class compares the timeout with 0, which a tuple cannot do; set it after.
        super().__init__(timeout=None)
        self.timeout = timeout
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._local.last = None
        response = super().request(method, url, *args, **kwargs)
        self._local.last = response
        return response

    def last_headers(self) -> Mapping[str, str]:
        """Headers of the last response this thread received, or an empty mapping."""
        last = getattr(self._local, "last", None)
        return getattr(last, "headers", None) or {}


class BaseUrlHttpClient(RecordingHttpClient):
    """Points the real Twilio client at another base URL than ``https://api.twilio.com`` (the
    ``twilio_api_base`` setting): a local stand-in, or a test account's proxy.

    Every Twilio API host (``api.twilio.com``, with a region and edge
    ``api.dublin.ie1.twilio.com``) maps onto ``base_url``; any other URL is refused. Plain
    http only to this machine, so a drill can never page through an unencrypted link.
    """

    _LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

    def __init__(self, base_url: str, *, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(base_url)
        if not parts.hostname or parts.scheme not in ("http", "https") or (
                parts.scheme == "http" and parts.hostname not in self._LOOPBACK):
            raise ValueError(f"the Twilio API base must be https://HOST or "
                             f"http://127.0.0.1:PORT, got {base_url!r}")
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        if self.session is not None and parts.hostname in self._LOOPBACK:
            self.session.trust_env = False  # no proxy between the desk and its stand-in

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, self._rewrite(url), *args, **kwargs)

    def _rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme == "https" and host.startswith("api.") and host.endswith(".twilio.com"):
            query = f"?{parts.query}" if parts.query else ""
            return f"{self.base_url}{parts.path}{query}"
        if url.startswith(self.base_url + "/"):
            return url
        raise ValueError(f"the Twilio client only talks to {self.base_url}; refused {url}")


class LoopbackHttpClient(BaseUrlHttpClient):
    """`BaseUrlHttpClient` for a stand-in on this machine only (tests and drills): it refuses
    any non-loopback base and ignores proxy variables, so a test can never page a person."""

    def __init__(self, base_url: str, *, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname not in self._LOOPBACK:
            raise ValueError(f"LoopbackHttpClient needs http://127.0.0.1:PORT, got {base_url!r}")
        super().__init__(base_url, timeout=timeout)


class TwilioPager:
    """Pages people by SMS and voice through Twilio's REST API (see module docstring)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        http_client: TwilioHttpClient | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        callback_url: str | None = None,
        region: str | None = None,
        edge: str | None = None,
        page_size: int = 50,
    ) -> None:
        if not account_sid or not auth_token:
            raise ConfigError(
                "Twilio account SID and auth token are not set; store them in the OS keyring "
                "(service 'dispatch-desk') before enabling paging."
            )
        if not _E164.match(from_number):
            raise ConfigError(
                f"Twilio sending number {from_number!r} is not in E.164 form like +15551234567.",
                field="from_number",
            )
        self._from = from_number
        self._callback = callback_url.rstrip("/") if callback_url else None
        self._page_size = page_size
        self._timeout = timeout
        self._http = http_client if http_client is not None else RecordingHttpClient()
        # One source of truth: the pager's timeout governs whichever HTTP client it was given.
        self._http.timeout = timeout
        self._client = Client(account_sid, auth_token, http_client=self._http,
                              region=region or None, edge=edge or None)

    # -- the Pager protocol -----------------------------------------------------------------

    def send_sms(self, to: str, body: str, *, validity_s: int | None = None) -> PageResult:
        """Queue an SMS; ``validity_s`` stops Twilio delivering a page that is already stale."""
        _check_number(to)
        if not body.strip():
            raise PagerError("An SMS page needs a message body.", field="body")
        extra: dict[str, Any] = {}
        if validity_s is not None:
            if not 1 <= validity_s <= MAX_VALIDITY_S:
                raise PagerError(
                    f"SMS validity must be 1..{MAX_VALIDITY_S} seconds, got {validity_s}.",
                    field="validity_s",
                )
            extra["validity_period"] = validity_s
        with self._translate(f"send the SMS to {to}"):
            message = self._client.messages.create(to=to, from_=self._from, body=body, **extra)
            return _result(message)

    def place_call(self, to: str, say: str, *, card_ref: str) -> PageResult:
        """Call with the page and its keys (4 acknowledge, 5 escalate, 6 decline); machine
        detection is on so that an answering machine is reported as VOICEMAIL rather than
        taken for a person. With a callback URL the store serves the TwiML and takes the key;
        without, the TwiML is inline and says to answer the SMS."""
        _check_number(to)
        if not card_ref:
            raise PagerError("A voice page needs the card it is about.", field="card_ref")
        twiml = self.ack_twiml(say, card_ref)
        if len(twiml) > MAX_TWIML_CHARS:
            raise PagerError(
                f"The spoken message is too long for a call ({len(twiml)} > {MAX_TWIML_CHARS} "
                "characters of TwiML); shorten it.",
                field="say",
            )
        if self._callback is None:
            where: dict[str, Any] = {"twiml": twiml}
        else:
            where = {"url": self.page_url(say, card_ref), "method": "POST",
                     "status_callback": self._callback + STATUS_PATH,
                     "status_callback_method": "POST"}
        with self._translate(f"call {to}"):
            call = self._client.calls.create(
                to=to, from_=self._from, machine_detection="Enable", **where
            )
            return _result(call)

    def page_url(self, say: str, card_ref: str) -> str:
        """The store's URL serving this page's TwiML (the text rides in the signed query)."""
        if self._callback is None:
            raise PagerError("no callback URL is set (twilio_callback_url)",
                             field="twilio_callback_url")
        return f"{self._callback}{PAGE_PATH}?" + urlencode({"card": card_ref, "say": say})

    def fetch_replies(self, since: datetime, *, to: str | None = None) -> list[InboundReply]:
        """Inbound SMS to the desk's number (or to ``to``, the emergency line when it is
        another number of the account) at or after ``since``, oldest first.

        Twilio's timestamps have whole-second resolution, so ``since`` is floored to the second:
        a reply in the same second is returned twice rather than lost; callers dedupe by sid.
        The server-side ``DateSent>`` filter is re-checked here because Twilio may apply it
        per day.
        """
        if since.tzinfo is None:
            raise ValueError("fetch_replies needs a timezone-aware datetime")
        if to is not None:
            _check_number(to)
        floor = since.astimezone(UTC).replace(microsecond=0)
        replies: list[InboundReply] = []
        with self._translate("fetch SMS replies"):
            messages = self._client.messages.list(
                to=to or self._from, date_sent_after=floor, page_size=self._page_size
            )
            for message in messages:
                if str(message.direction) != "inbound":
                    continue
                when = message.date_sent or message.date_created
                if not isinstance(when, datetime) or when < floor:
                    continue
                replies.append(
                    InboundReply(str(message.sid), str(message.from_), message.body or "", when)
                )
        replies.sort(key=lambda reply: reply.received_at)
        return replies

    def call_outcome(self, call_sid: str) -> CallOutcome:
        """Map the call's status, ``answered_by`` and logged keypresses to a ``CallOutcome``.

        Machine answers win over everything, so a voicemail greeting is never taken as an
        acceptance; a person who answered but pressed no key counts as NO_ANSWER.
        """
        if not call_sid.startswith("CA"):
            raise PagerError(f"{call_sid!r} is not a Twilio call id.", field="call_sid")
        with self._translate(f"check call {call_sid}"):
            call = self._client.calls(call_sid).fetch()
            status = str(call.status or "")
            answered_by = str(call.answered_by or "").lower()
            if answered_by.startswith("machine"):
                return CallOutcome.VOICEMAIL
            if answered_by == "fax":
                return CallOutcome.FAILED
            if status in _TERMINAL_STATUS:
                return _TERMINAL_STATUS[status]
            key = self._pressed(call_sid)
            if key is not None:
                return key
            return CallOutcome.NO_ANSWER if status == "completed" else CallOutcome.IN_PROGRESS

    @property
    def number(self) -> str:
        """The account number the desk pages from (and, by default, takes SMS on)."""
        return self._from

    # -- helpers ----------------------------------------------------------------------------

    def ack_twiml(self, say: str, card_ref: str) -> str:
        """The TwiML read to the person: the page, then its keys (said twice) posted to the
        store, or -- with no store Twilio can reach -- how to answer by SMS."""
        action = None
        if self._callback is not None:
            action = f"{self._callback}{GATHER_PATH}?" + urlencode({"card": card_ref})
        return page_twiml(say, action)

    def _pressed(self, call_sid: str) -> CallOutcome | None:
        """The last command key logged in the call's Events (the Gather's request)."""
        found: CallOutcome | None = None
        for event in self._client.calls(call_sid).events.list(page_size=self._page_size):
            request = event.request if isinstance(event.request, dict) else {}
            params = request.get("parameters") or {}
            digits = params.get("digits", params.get("Digits")) if isinstance(params, dict) else ""
            outcome = KEYS.get(str(digits or "").strip()[:1])
            if outcome is not None:
                found = _KEY_OUTCOME[outcome]
        return found

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turn every Twilio/requests failure into ``PagerError`` with a message a person reads."""
        try:
            yield
        except PagerError:
            raise
        except TwilioRestException as exc:
            raise self._http_error(action, exc.status, exc.code, str(exc.msg)) from exc
        except TwilioServiceException as exc:
            detail = str(exc.detail or exc.title)
            raise self._http_error(action, exc.status, exc.code, detail) from exc
        except TwilioException as exc:
            # Page.next_page raises this bare exception with the response as second argument.
            response = exc.args[1] if len(exc.args) > 1 else None
            status = getattr(response, "status_code", None)
            raise self._http_error(action, status, None, str(exc.args[0])) from exc
        except requests.Timeout as exc:
            raise PagerError(
                f"Could not {action}: Twilio did not answer within {self._timeout} s. "
                "The page may or may not have gone out; check before re-sending."
            ) from exc
        except requests.ConnectionError as exc:
            raise PagerError(
                f"Could not {action}: Twilio could not be reached (is the network up?)."
            ) from exc
        except requests.RequestException as exc:
            raise PagerError(f"Could not {action}: {exc}") from exc
        except ValueError as exc:
            raise PagerError(f"Could not {action}: Twilio's answer was unusable ({exc}).") from exc

    def _http_error(
        self, action: str, status: int | None, code: int | None, detail: str
    ) -> PagerHttpError:
        retry_after = _retry_after(self._http) if status in (429, 503) else None
        if status == 401:
            message = (
                f"Could not {action}: Twilio refused the account SID / auth token (HTTP 401). "
                "Check the Twilio credentials stored in the OS keyring."
            )
        else:
            _, sep, rest = detail.partition(": ")
            reason = rest if sep and detail.startswith("Unable to") else detail
            code_text = f", error {code}" if code and code != status else ""
            message = f"Could not {action}: Twilio answered HTTP {status}{code_text}: {reason}"
            if retry_after is not None:
                message += f" (retry after {retry_after:g} s)"
        return PagerHttpError(message, status=status, retry_after=retry_after, code=code)


def _check_number(to: str) -> None:
    if not _E164.match(to or ""):
        raise PagerError(
            f"Phone number {to!r} is not in E.164 form like +15551234567.", field="to"
        )


def _result(resource: Any) -> PageResult:
    if not resource.sid:
        raise PagerError("Twilio accepted the page but returned no id for it.")
    return PageResult(sid=str(resource.sid), status=str(resource.status or "queued"))


def _retry_after(http_client: Any) -> float | None:
    """Seconds from the last response's ``Retry-After`` (delta-seconds or an HTTP date)."""
    if isinstance(http_client, RecordingHttpClient):
        headers: Mapping[str, str] = http_client.last_headers()
    else:
        last = getattr(http_client, "_test_only_last_response", None)
        headers = getattr(last, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
