"""TwilioPager driven through the real twilio client against the loopback stand-in.

Every test goes over real HTTP to 127.0.0.1, so auth, form encoding, paging and error wrapping
are twilio-python's own, not a mock's idea of them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
import requests
from twilio.request_validator import RequestValidator

from app.adapters.pager import CallOutcome, Pager, PagerError, PagerHttpError
from app.adapters.twilio_pager import LoopbackHttpClient, TwilioPager, _retry_after
from app.clock import FakeClock
from app.errors import ConfigError
from tests.twilio_standin import TwilioStandIn

DESK = "+15005550006"
ALICE = "+15551230001"
BOB = "+15551230002"
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def twilio(clock: FakeClock) -> Iterator[TwilioStandIn]:
    with TwilioStandIn(number=DESK, clock=clock.now) as standin:
        yield standin


def make_pager(twilio: TwilioStandIn, **kwargs: object) -> TwilioPager:
    token = str(kwargs.pop("auth_token", twilio.auth_token))
    return TwilioPager(
        twilio.account_sid, token, DESK, http_client=LoopbackHttpClient(twilio.base_url),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def pager(twilio: TwilioStandIn) -> TwilioPager:
    return make_pager(twilio)


def test_twilio_pager_satisfies_the_pager_protocol(pager: TwilioPager) -> None:
    as_port: Pager = pager
    assert as_port is pager


# -- SMS -------------------------------------------------------------------------------------

def test_send_sms_reaches_twilio_with_to_from_body(twilio: TwilioStandIn, pager: TwilioPager):
    result = pager.send_sms(ALICE, "Card 42: fire alarm at depot", validity_s=600)

    assert result.sid.startswith("SM") and len(result.sid) == 34
    assert result.status == "queued"
    (sent,) = twilio.requests_to("POST", "/Messages.json")
    assert sent.form["To"] == ALICE
    assert sent.form["From"] == DESK
    assert sent.form["Body"] == "Card 42: fire alarm at depot"
    assert sent.form["ValidityPeriod"] == "600"
    assert sent.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"


def test_send_sms_without_validity_sends_no_validity_period(twilio, pager) -> None:
    pager.send_sms(ALICE, "hello")
    (sent,) = twilio.requests_to("POST", "/Messages.json")
    assert "ValidityPeriod" not in sent.form


@pytest.mark.parametrize(
    ("to", "body", "validity", "field"),
    [("5551230001", "x", None, "to"), (ALICE, "  ", None, "body"), (ALICE, "x", 0, "validity_s"),
     (ALICE, "x", 36001, "validity_s")],
)
def test_send_sms_rejects_bad_input_before_calling_twilio(twilio, pager, to, body, validity,
                                                          field) -> None:
    with pytest.raises(PagerError) as caught:
        pager.send_sms(to, body, validity_s=validity)
    assert caught.value.field == field
    assert twilio.requests == []


# -- voice -----------------------------------------------------------------------------------

def test_place_call_without_a_store_says_to_answer_the_sms(twilio, pager) -> None:
    result = pager.place_call(BOB, "Card 42, fire alarm at the depot.", card_ref="C-42")

    assert result.sid.startswith("CA") and len(result.sid) == 34
    (placed,) = twilio.requests_to("POST", "/Calls.json")
    assert placed.form["To"] == BOB and placed.form["From"] == DESK
    assert "Url" not in placed.form
    twiml = ET.fromstring(placed.form["Twiml"])
    assert twiml.find("Gather") is None  # nobody to post a key to
    spoken = twiml.findtext("Say") or ""
    assert spoken.startswith("Card 42, fire alarm at the depot.")
    assert "reply to the text message with its code" in spoken
    assert placed.form["MachineDetection"] == "Enable"


def test_place_call_with_a_store_fetches_its_twiml_and_keys_there(twilio) -> None:
    token = twilio.auth_token
    pager = TwilioPager(twilio.account_sid, token, DESK, callback_url="https://store.example.org/",
                        http_client=LoopbackHttpClient(twilio.base_url))
    pager.place_call(BOB, "Card 42, fire alarm.", card_ref="C-42")
    (placed,) = twilio.requests_to("POST", "/Calls.json")
    assert "Twiml" not in placed.form
    assert placed.form["Url"].startswith("https://store.example.org/twilio/voice/page?")
    assert "card=C-42" in placed.form["Url"] and "fire+alarm" in placed.form["Url"]
    assert placed.form["StatusCallback"] == "https://store.example.org/twilio/webhook"
    gather = ET.fromstring(pager.ack_twiml("Card 42.", "C-42")).find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == "https://store.example.org/twilio/voice/gather?card=C-42"
    assert (gather.findtext("Say") or "").endswith(
        "Press 4 to acknowledge, 5 to escalate, 6 to decline.")


def test_place_call_refuses_a_message_too_long_for_twiml(twilio, pager) -> None:
    with pytest.raises(PagerError) as caught:
        pager.place_call(BOB, "word " * 1000, card_ref="C-1")
    assert caught.value.field == "say"
    assert twilio.requests == []


def test_pressed_1_is_acknowledged(twilio, pager) -> None:
    call = pager.place_call(BOB, "Card 7.", card_ref="C-7")
    twilio.simulate_call_result(call.sid, "completed-pressed-1")
    assert pager.call_outcome(call.sid) is CallOutcome.ACKNOWLEDGED


def test_voicemail_is_not_an_acknowledgement(twilio, pager) -> None:
    call = pager.place_call(BOB, "Card 7.", card_ref="C-7")
    twilio.simulate_call_result(call.sid, "voicemail")
    outcome = pager.call_outcome(call.sid)
    assert outcome is CallOutcome.VOICEMAIL
    assert outcome is not CallOutcome.ACKNOWLEDGED


@pytest.mark.parametrize(
    ("simulated", "expected"),
    [("no-answer", CallOutcome.NO_ANSWER), ("busy", CallOutcome.BUSY),
     ("failed", CallOutcome.FAILED), ("completed-no-input", CallOutcome.NO_ANSWER),
     ("in-progress", CallOutcome.IN_PROGRESS)],
)
def test_call_outcomes_are_mapped(twilio, pager, simulated, expected) -> None:
    call = pager.place_call(BOB, "Card 7.", card_ref="C-7")
    twilio.simulate_call_result(call.sid, simulated)
    assert pager.call_outcome(call.sid) is expected


def test_a_call_not_yet_answered_is_in_progress(pager) -> None:
    call = pager.place_call(BOB, "Card 7.", card_ref="C-7")
    assert pager.call_outcome(call.sid) is CallOutcome.IN_PROGRESS


def test_unknown_call_is_a_404_pager_error(twilio, pager) -> None:
    with pytest.raises(PagerHttpError) as caught:
        pager.call_outcome("CA" + "f" * 32)
    assert caught.value.status == 404


# -- replies ---------------------------------------------------------------------------------

def test_fetch_replies_returns_inbound_sms_since_an_instant(twilio, pager, clock) -> None:
    twilio.simulate_reply(ALICE, "old news", at=T0 - timedelta(hours=1))
    clock.advance(30)
    pager.send_sms(ALICE, "Card 42: accept?")  # outbound: must not come back as a reply
    clock.advance(30)
    yes = twilio.simulate_reply(ALICE, "YES 42")
    twilio.simulate_reply(BOB, "to someone else", to="+15005550009")
    clock.advance(5)
    later = twilio.simulate_reply(BOB, "on my way")

    replies = pager.fetch_replies(T0)

    assert [(r.sid, r.from_number, r.body) for r in replies] == [
        (yes, ALICE, "YES 42"), (later, BOB, "on my way")]
    assert replies[0].received_at == T0 + timedelta(seconds=60)
    assert replies[0].received_at.tzinfo is not None
    (listed,) = twilio.requests_to("GET", "/Messages.json")
    assert listed.query["To"] == DESK
    assert listed.query["DateSent>"] == "2026-11-23T02:00:00Z"


def test_fetch_replies_follows_twilio_paging(twilio, clock) -> None:
    pager = make_pager(twilio, page_size=2)
    sids = []
    for n in range(5):
        clock.advance(1)
        sids.append(twilio.simulate_reply(ALICE, f"reply {n}"))

    replies = pager.fetch_replies(T0)

    assert [r.sid for r in replies] == sids
    assert len(twilio.requests_to("GET", "/Messages.json")) == 3


def test_fetch_replies_converts_a_non_utc_since(twilio, pager) -> None:
    pager.fetch_replies(T0.astimezone(timezone(timedelta(hours=-5))))
    (listed,) = twilio.requests_to("GET", "/Messages.json")
    assert listed.query["DateSent>"] == "2026-11-23T02:00:00Z"


def test_fetch_replies_needs_an_aware_datetime(pager) -> None:
    with pytest.raises(ValueError):
        pager.fetch_replies(datetime(2026, 11, 23))


def test_error_on_a_later_page_is_a_pager_http_error(twilio, clock) -> None:
    pager = make_pager(twilio, page_size=1)
    twilio.simulate_reply(ALICE, "one")
    twilio.simulate_reply(ALICE, "two")
    twilio.fail_next(1, status=503, after=1)
    with pytest.raises(PagerHttpError) as caught:
        pager.fetch_replies(T0)
    assert caught.value.status == 503


# -- failures --------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 400])
def test_http_errors_become_pager_http_error_with_status(twilio, pager, status) -> None:
    twilio.fail_next(1, status=status)
    with pytest.raises(PagerHttpError) as caught:
        pager.send_sms(ALICE, "hello")
    assert caught.value.status == status
    assert caught.value.retry_after is None
    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.retryable is (status == 500)
    pager.send_sms(ALICE, "hello again")  # only the one request failed


def test_429_keeps_retry_after(twilio, pager) -> None:
    twilio.fail_next(1, status=429, retry_after=7)
    with pytest.raises(PagerHttpError) as caught:
        pager.place_call(BOB, "Card 7.", card_ref="C-7")
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable
    assert "retry after 7 s" in str(caught.value)


def test_retry_after_may_be_an_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    last = SimpleNamespace(headers={"Retry-After": format_datetime(when, usegmt=True)})
    seconds = _retry_after(SimpleNamespace(_test_only_last_response=last))
    assert seconds is not None and 100 < seconds <= 120


def test_bad_credentials_are_a_pager_error(twilio) -> None:
    pager = make_pager(twilio, auth_token="wrong-token")
    with pytest.raises(PagerError) as caught:
        pager.send_sms(ALICE, "hello")
    assert isinstance(caught.value, PagerHttpError) and caught.value.status == 401
    assert "keyring" in str(caught.value)
    assert twilio.requests_to("POST", "/Messages.json")  # it did reach the stand-in


def test_requests_without_credentials_get_401(twilio) -> None:
    url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    response = requests.get(url, timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == 20003


def test_slow_twilio_beyond_the_read_timeout_is_a_pager_error(twilio) -> None:
    pager = make_pager(twilio, timeout=0.3)
    twilio.delay_next(1, 1.0)
    with pytest.raises(PagerError) as caught:
        pager.send_sms(ALICE, "hello")
    assert not isinstance(caught.value, PagerHttpError)
    assert "did not answer within 0.3 s" in str(caught.value)


def test_unreachable_twilio_is_a_pager_error() -> None:
    with TwilioStandIn() as gone:
        base_url = gone.base_url
    pager = TwilioPager(gone.account_sid, gone.auth_token, DESK,
                        http_client=LoopbackHttpClient(base_url))
    with pytest.raises(PagerError, match="could not be reached"):
        pager.send_sms(ALICE, "hello")


def test_request_log_uses_a_monotonic_clock(twilio, pager) -> None:
    pager.send_sms(ALICE, "one")
    pager.send_sms(ALICE, "two")
    first, second = twilio.requests
    assert first.received_at <= second.received_at
    assert first.headers["user-agent"].startswith("twilio-python/")


# -- wiring guards ---------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://127.0.0.1:1", "http://api.twilio.com", "http://10.0.0.1"])
def test_loopback_client_refuses_non_loopback_base_urls(url) -> None:
    with pytest.raises(ValueError):
        LoopbackHttpClient(url)


def test_loopback_client_ignores_proxy_settings(twilio, pager, monkeypatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: would refuse
    pager.send_sms(ALICE, "hello")
    assert twilio.requests_to("POST", "/Messages.json")


def test_loopback_client_refuses_urls_it_cannot_map(twilio) -> None:
    client = LoopbackHttpClient(twilio.base_url)
    with pytest.raises(ValueError):
        client.request("GET", "https://example.com/x")


def test_missing_credentials_are_a_config_error() -> None:
    with pytest.raises(ConfigError):
        TwilioPager("", "", DESK)
    with pytest.raises(ConfigError):
        TwilioPager("AC" + "1" * 32, "token", "not-a-number")


# -- webhook signatures ----------------------------------------------------------------------

def test_webhook_signature_validates_and_tampering_is_caught(twilio) -> None:
    url = "https://desk.example.org/twilio/sms?desk=north"
    params = {"From": ALICE, "To": DESK, "Body": "YES 42", "MessageSid": "SM" + "a" * 32}
    signature = twilio.sign_webhook(url, params)
    validator = RequestValidator(twilio.auth_token)

    assert validator.validate(url, params, signature)
    assert not validator.validate(url, {**params, "Body": "NO"}, signature)
    assert not validator.validate(url, params, signature[:-2] + "xx")
    assert not RequestValidator("other-token").validate(url, params, signature)
