"""Floods the store refuses before it parses.

Every body is capped as its bytes arrive (declared or chunked), a push is authenticated before
its body is read, failed sign-ins are braked before the database is asked, and one card the
store cannot fold does not break Twilio's webhook. The unit-level checks run against a store in
a uvicorn thread with a fake clock; the flood itself runs against `python -m app server` as a
real process, so its memory can be read from /proc while two desks keep syncing through it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import select
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import event
from twilio.request_validator import RequestValidator

from app.clock import Clock, FakeClock, SystemClock
from app.errors import ValidationError
from app.loaders import load_ladder
from app.models.entry import SCHEMA_VERSION, Entry, HybridClock
from app.models.projection import fold
from app.services.escalation.state import derive
from app.store.enrol import DeskRecord
from app.store.limits import AUTH_FAILURES_MAX, AuthLimiter, BodyCap, RateLimited
from app.store.routes import MAX_BODY_BYTES, MAX_ENROLL_BYTES
from app.store.twilio_webhook import MAX_WEBHOOK_BYTES, WebhookConfig
from app.store.twilio_webhook import PATH as WEBHOOK
from app.sync import protocol as p
from app.sync import signing
from app.sync.client import StoreClient, StoreRefused
from app.sync.engine import SyncEngine
from tests.polling import wait_until
from tests.store.harness import Desk, ProcessStore, ThreadStore, new_desk
from tests.sync.cards import register

MiB = 1024 * 1024
TOKEN = "flood-test-auth-token"
HEALTH_P99_MAX_S = 0.200
RSS_GROWTH_MAX_MB = 60.0


# -- helpers ----------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def _chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    """A generator body: `requests` sends it chunked, with no Content-Length."""
    block = b"x" * size
    for _ in range(total // size):
        yield block


def _connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _begin(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> None:
    """Send a POST's request line and headers only; the body is up to the test."""
    conn.putrequest("POST", path, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()


def _answered(conn: http.client.HTTPConnection, within: float = 0.0) -> bool:
    return bool(select.select([conn.sock], [], [], within)[0])


def _send_chunked_until_answered(conn: http.client.HTTPConnection, most: int) -> int:
    """Send chunks of 256 KiB until the store answers or `most` bytes are out; bytes sent."""
    block, sent = b"y" * (256 * 1024), 0
    while sent < most and not _answered(conn):
        conn.send(b"%x\r\n%s\r\n" % (len(block), block))
        sent += len(block)
    return sent


def _reply(conn: http.client.HTTPConnection) -> tuple[int, dict[str, Any]]:
    response = conn.getresponse()
    body = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, body


def _credential(desk_id: str, secret: str, clock: Clock, method: str = "POST",
                path: str = p.PATH_PUSH) -> dict[str, str]:
    """Signed headers for a request whose body is sent by hand (streamed, or never): they
    sign the hash of an empty body, so a push passes the signature check and is then capped
    (or, its body read, refused as altered)."""
    ts = int(clock.now().timestamp())
    return {p.HEADER_PROTOCOL: "1", **signing.signed_headers(
        signing.signing_key(secret), desk_id, method, path, b"", ts)}


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def own(tmp_path: Path, fake: FakeClock) -> Iterator[ThreadStore]:
    """A store of this test's own: the brake on failed sign-ins must not carry over from, or
    into, the tests sharing the session's store."""
    served = ThreadStore("sqlite:///" + str(tmp_path / "own.sqlite"), fake,
                         twilio=WebhookConfig(TOKEN))
    yield served
    served.close()


# -- the body cap, on its own ------------------------------------------------------------------


def _run_cap(cap: int, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """BodyCap around an app that reads its whole body and answers 200; what each side saw."""
    seen = {"app_bytes": 0, "sent": [], "receives": 0}
    queue = list(chunks)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            seen["app_bytes"] += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        seen["receives"] += 1
        body = queue.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(queue)}

    async def send(message: dict[str, Any]) -> None:
        seen["sent"].append(message)

    scope = {"type": "http", "path": "/capped", "headers": headers}
    asyncio.run(BodyCap(app, caps={"/capped": cap}, default=1)(scope, receive, send))
    return seen


def test_the_cap_counts_chunks_as_they_arrive_and_refuses_declared_lengths_unread() -> None:
    chunked = _run_cap(1000, [b"a" * 400] * 10, [])
    assert chunked["sent"][0]["status"] == 413
    assert json.loads(chunked["sent"][1]["body"])["error"] == p.ERR_TOO_LARGE
    assert len(chunked["sent"]) == 2  # the app's own 200 never went out
    assert chunked["receives"] == 3  # stopped at the chunk that crossed the cap
    assert chunked["app_bytes"] <= 800  # the app never saw a body over the cap

    declared = _run_cap(1000, [b"a" * 400] * 10, [(b"content-length", b"4000")])
    assert declared["sent"][0]["status"] == 413 and declared["receives"] == 0

    within = _run_cap(1000, [b"a" * 500, b"a" * 500], [(b"content-length", b"1000")])
    assert within["sent"][0]["status"] == 200 and within["app_bytes"] == 1000


def test_every_route_caps_its_body_chunked_or_declared(own: ThreadStore, fake: FakeClock,
                                                       tmp_path: Path) -> None:
    desk = new_desk(own, tmp_path, fake)
    signed_in = _credential(desk.desk_id, desk.secret, fake)
    for path, cap, headers, chunked_status in [
        (p.PATH_PUSH, MAX_BODY_BYTES, signed_in, 413),
        (p.PATH_ENROLL, MAX_ENROLL_BYTES, {p.HEADER_PROTOCOL: "1"}, 413),
        (WEBHOOK, MAX_WEBHOOK_BYTES, {}, 413),
        # Nothing there reads a body: it is answered (404) before the cap matters.
        ("/no/such/path", 64 * 1024, {}, 404),
    ]:
        conn = _connect(own.url)  # declared over the cap: refused before a byte of body
        _begin(conn, path, {**headers, "Content-Length": str(cap + 1)})
        assert _answered(conn, within=5)
        status, body = _reply(conn)
        assert (status, body["error"]) == (413, p.ERR_TOO_LARGE), (path, body)

        conn = _connect(own.url)  # chunked: refused once the cap is passed, not at the end
        _begin(conn, path, {**headers, "Transfer-Encoding": "chunked"})
        sent = _send_chunked_until_answered(conn, most=cap + 40 * MiB)
        status, body = _reply(conn)
        assert status == chunked_status, (path, body)
        assert sent < cap + 12 * MiB, (path, sent)
        if status == 413:
            assert body["error"] == p.ERR_TOO_LARGE and sent > cap
        print(f"{path}: chunked body answered {status} after {sent / MiB:.2f} MiB sent (cap "
              f"{cap / MiB:.3f} MiB)")
    assert desk.pull_raw().status_code == 200  # and the store goes on as before


def test_a_push_is_authenticated_before_its_body_is_read(own: ThreadStore, fake: FakeClock,
                                                         tmp_path: Path) -> None:
    desk = new_desk(own, tmp_path, fake)
    wrong = _credential(desk.desk_id, "not-the-secret", fake)

    conn = _connect(own.url)  # 10 MiB declared (under the cap), none of it sent
    _begin(conn, p.PATH_PUSH, {**wrong, "Content-Length": str(10 * MiB)})
    assert _answered(conn, within=5), "the store waited for a body it had no reason to read"
    status, body = _reply(conn)
    assert (status, body["error"]) == (401, p.ERR_UNAUTHORIZED)

    conn = _connect(own.url)  # chunked: one chunk of "100 MB" is enough to be told no
    _begin(conn, p.PATH_PUSH, {**wrong, "Transfer-Encoding": "chunked"})
    conn.send(b"%x\r\n%s\r\n" % (64 * 1024, b"z" * 64 * 1024))
    assert _answered(conn, within=5)
    assert _reply(conn)[0] == 401

    huge = requests.post(own.url + p.PATH_PUSH, data=bytes(100 * MiB), headers=wrong,
                         timeout=30)
    assert huge.status_code == 413  # declared over the cap: refused before the credential


def test_the_push_envelope_is_checked_by_hand_as_before(own: ThreadStore, fake: FakeClock,
                                                        tmp_path: Path) -> None:
    desk = new_desk(own, tmp_path, fake)
    now = p.format_time(fake.now())
    for body, field in [
        (b"{not json", "body"),
        (b'"a string"', "body"),
        (b"[" * 99_999 + b"]" * 99_999, "body"),
        ({"entries": []}, "desk_time"),
        ({"desk_time": now}, "entries"),
        ({"desk_time": now, "entries": {}}, "entries"),
        ({"desk_time": 5, "entries": []}, "desk_time"),
        ({"desk_time": "soon", "entries": []}, "desk_time"),
        ({"desk_time": now, "entries": [], "extra": 1}, "extra"),
    ]:
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        answer = requests.post(own.url + p.PATH_PUSH, data=body, headers=desk.headers(),
                               auth=desk.auth(), timeout=10)
        assert answer.status_code == 422, (body[:40], answer.text)
        assert (answer.json()["error"], answer.json()["field"]) == (p.ERR_INVALID, field)
    too_many = desk.push_raw([{}] * (p.PUSH_BATCH_MAX + 1))
    assert too_many.status_code == 413 and too_many.json()["error"] == p.ERR_TOO_LARGE
    register(desk.journal)
    reply = desk.push(desk.journal.outbox())
    assert [r.status for r in reply.results] == [p.STORED]
    schema = requests.get(own.url + "/openapi.json", timeout=10).json()
    documented = schema["paths"][p.PATH_PUSH]["post"]["requestBody"]["content"]
    assert set(documented["application/json"]["schema"]["required"]) == {"desk_time", "entries"}


# -- the brake on failed sign-ins ---------------------------------------------------------------


def test_the_brake_holds_for_its_window_then_lifts(fake: FakeClock) -> None:
    limiter = AuthLimiter(fake, limit=3, window_s=60)
    guess = p.format_credential("desk-a", "guess")
    for _ in range(3):
        limiter.check("10.0.0.1", guess)
        limiter.failed("10.0.0.1", guess)
    with pytest.raises(RateLimited) as braked:
        limiter.check("10.0.0.1", guess)
    assert braked.value.retry_after_s == 60
    # The same desk id from elsewhere is braked too; another id from elsewhere is not.
    with pytest.raises(RateLimited):
        limiter.check("10.0.0.2", p.format_credential("desk-a", "other-guess"))
    limiter.check("10.0.0.2", p.format_credential("desk-b", "guess"))
    # A credential that has worked here passes even from a braked address.
    good = p.format_credential("desk-c", "right")
    limiter.succeeded(good)
    limiter.check("10.0.0.1", good)

    fake.advance(timedelta(seconds=30))
    with pytest.raises(RateLimited) as still:
        limiter.check("10.0.0.1", guess)
    assert still.value.retry_after_s == 30
    fake.advance(timedelta(seconds=30.5))
    limiter.check("10.0.0.1", guess)  # the window has passed: a guess is a guess again

    limiter.failed("10.0.0.1", good)  # e.g. revoked since it signed in: no longer trusted
    limiter.check("10.0.0.1", good)  # (one failure is not yet a brake)


def test_failed_sign_ins_get_429_before_the_database_and_desks_keep_working(
    own: ThreadStore, fake: FakeClock, tmp_path: Path
) -> None:
    known, fresh = new_desk(own, tmp_path, fake), new_desk(own, tmp_path, fake)
    assert known.pull_raw().status_code == 200  # it has signed in: the brake never applies
    statements: list[str] = []
    event.listen(own.store.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    guesses = requests.Session()
    answers = [guesses.get(own.url + p.PATH_PULL, headers=known.headers(),
                           auth=known.auth(secret=f"guess{i}"), timeout=10)
               for i in range(AUTH_FAILURES_MAX + 5)]
    assert [a.status_code for a in answers] == [401] * AUTH_FAILURES_MAX + [429] * 5
    braked = answers[-1]
    assert braked.json()["error"] == p.ERR_RATE_LIMITED
    assert 1 <= int(braked.headers["Retry-After"]) <= 60
    statements.clear()
    assert guesses.get(own.url + p.PATH_PULL, headers=known.headers(),
                       auth=known.auth(secret="again"), timeout=10).status_code == 429
    assert statements == []  # a braked guess cost no query

    assert known.pull_raw().status_code == 200
    assert fresh.pull_raw().status_code == 429  # the price: a desk new to this process waits
    client = StoreClient(own.url, (fresh.desk_id, fresh.secret))
    with pytest.raises(StoreRefused) as refused:
        client.pull("")
    assert refused.value.status == 429 and "retrying later" in str(refused.value)
    client.close()

    # Per desk id: guesses at `fresh` from many (forwarded) addresses brake that id alone.
    fake.advance(timedelta(seconds=61))
    for i in range(AUTH_FAILURES_MAX):
        headers = {**fresh.headers(), "X-Forwarded-For": f"10.9.0.{i}"}
        assert guesses.get(own.url + p.PATH_PULL, headers=headers, auth=fresh.auth(f"guess{i}"),
                           timeout=10).status_code == 401
    headers = {**fresh.headers(), "X-Forwarded-For": "10.9.1.1"}
    assert guesses.get(own.url + p.PATH_PULL, headers=headers, auth=fresh.auth("one more"),
                       timeout=10).status_code == 429
    headers = {**known.headers(), "X-Forwarded-For": "10.9.1.1"}
    assert guesses.get(own.url + p.PATH_PULL, headers=headers, auth=known.auth("wrong"),
                       timeout=10).status_code == 401

    fake.advance(timedelta(seconds=61))  # the window has passed
    assert fresh.pull_raw().status_code == 200
    guesses.close()


# -- the webhook --------------------------------------------------------------------------------


def test_a_card_that_does_not_fold_is_skipped_not_a_500(
    own: ThreadStore, fake: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = DeskRecord("legacy-desk", "a desk from before the checks", "ZZ")
    stamp = HybridClock(fake, legacy.desk_id)
    card_id = str(uuid.uuid4())
    phone = "+15550100001"
    made = [
        Entry(str(uuid.uuid4()), card_id, kind, payload, stamp.tick(), legacy.desk_id, "op",
              SCHEMA_VERSION)
        for kind, payload in [
            ("card.registered", {"number": "ZZ-0001", "priority": "P1",
                                 "priority_reason": "legacy", "fields": {}}),
            ("ladder.step", {"tier": 0, "attempt": 0, "due": "garbage", "to": {"sms": phone}}),
            ("ladder.page", {"tier": 0, "attempt": 0, "channel": "sms", "to": phone,
                             "sid": "SM" + "a" * 32}),
        ]
    ]
    card = fold(made)
    assert card is not None
    with pytest.raises((KeyError, TypeError, ValueError, ValidationError)):
        derive(card, made, load_ladder())  # the card really cannot be derived
    assert own.store.append_own(made, legacy) == 3

    url = own.url + WEBHOOK
    form = {"MessageSid": "SM" + "b" * 32, "From": phone, "Body": "1"}
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    with caplog.at_level(logging.WARNING, logger="app.store.twilio_webhook"):
        answer = requests.post(url, data=form, headers={"X-Twilio-Signature": signature},
                               timeout=10)
    assert answer.status_code == 200, answer.text
    assert any(card_id in r.getMessage() for r in caplog.records)
    forged = requests.post(url, data=form, headers={"X-Twilio-Signature": "forged"}, timeout=10)
    assert forged.status_code == 403


# -- the flood ----------------------------------------------------------------------------------


def _flood_big_bodies(url: str, flooder: Desk, outcomes: list[tuple[str, int]]) -> None:
    """The tester's flood: each oversized request three times over."""
    clock = SystemClock()
    wrong = _credential(flooder.desk_id, "not-the-secret", clock)
    form = b"Body=" + b"x" * (20 * MiB)
    for _ in range(3):
        for what, call in [
            ("webhook 20 MB form", lambda: requests.post(url + WEBHOOK, data=form, timeout=60)),
            ("webhook 20 MB chunked", lambda: requests.post(
                url + WEBHOOK, data=_chunks(20 * MiB), timeout=60)),
            ("push 40 MB chunked", lambda: requests.post(
                url + p.PATH_PUSH, data=_chunks(40 * MiB),
                headers=_credential(flooder.desk_id, flooder.secret, clock), timeout=60)),
            ("push 100 MB bad credential", lambda: requests.post(
                url + p.PATH_PUSH, data=bytes(100 * MiB), headers=wrong, timeout=60)),
            ("push 100 MB chunked bad credential", lambda: requests.post(
                url + p.PATH_PUSH, data=_chunks(100 * MiB), headers=wrong, timeout=60)),
        ]:
            outcomes.append((what, call().status_code))


def _fail_sign_ins(url: str, desk_id: str, count: int, outcomes: list[int]) -> None:
    with requests.Session() as session:
        for i in range(count):
            claimed = desk_id if i % 2 else f"d{os.urandom(6).hex()}"
            headers = _credential(claimed, f"guess{i}", SystemClock(), "GET", p.PATH_PULL)
            answer = session.get(url + p.PATH_PULL, headers=headers, timeout=30)
            outcomes.append(answer.status_code)


@pytest.mark.slow  # seconds of real processes or real waiting: outside the quick loop
def test_a_flood_leaves_desks_syncing_health_quick_and_the_store_small(tmp_path: Path) -> None:
    store = ProcessStore("sqlite:///" + str(tmp_path / "flood.sqlite"),
                         env={"DISPATCH_DESK_TWILIO_TOKEN": TOKEN})
    try:
        clock = SystemClock()
        desks = [new_desk(store, tmp_path, clock) for _ in range(2)]
        flooder = new_desk(store, tmp_path, clock)
        assert flooder.pull_raw().status_code == 200  # signed in: its 40 MB push is read, capped
        engines = [SyncEngine(d.journal, StoreClient(store.url, (d.desk_id, d.secret)), clock)
                   for d in desks]
        health = requests.Session()
        for _ in range(5):  # warm: every code path the flood touches has run once
            for engine in engines:
                register(engine.journal)
                engine.round()
            health.get(store.url + p.PATH_HEALTH, timeout=10).raise_for_status()
        rss_before = _rss_mb(store.proc.pid)

        stop = threading.Event()
        samples: list[tuple[float, float]] = []  # (start, latency)
        rounds: list[list[int]] = [[], []]
        errors: list[BaseException] = []

        def poll_health() -> None:
            while not stop.is_set():
                start = time.monotonic()
                answer = health.get(store.url + p.PATH_HEALTH, timeout=10)
                samples.append((start, time.monotonic() - start))
                assert answer.status_code == 200
                stop.wait(0.01)

        def sync(engine: SyncEngine, pushed: list[int]) -> None:
            try:
                while not stop.is_set():
                    register(engine.journal)
                    pushed.append(engine.round().pushed)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        big: list[tuple[str, int]] = []
        sign_ins: list[int] = []
        with ThreadPoolExecutor(max_workers=7) as pool:
            background = [pool.submit(poll_health),
                          *(pool.submit(sync, e, r) for e, r in zip(engines, rounds, strict=True))]
            wait_until(lambda: len(samples) >= 5 and all(rounds), what="syncing to start")
            flood_start = time.monotonic()
            rounds_before = [len(r) for r in rounds]
            floods = [pool.submit(_flood_big_bodies, store.url, flooder, big),
                      pool.submit(_fail_sign_ins, store.url, desks[0].desk_id, 500, sign_ins),
                      pool.submit(_fail_sign_ins, store.url, desks[1].desk_id, 500, sign_ins)]
            for flood in floods:
                flood.result(timeout=120)
            flood_end = time.monotonic()
            rounds_during = [len(r) - n for r, n in zip(rounds, rounds_before, strict=True)]
            rss_after = _rss_mb(store.proc.pid)
            stop.set()
            for job in background:
                job.result(timeout=60)
        assert not errors, errors

        during = [lat for start, lat in samples if flood_start <= start <= flood_end]
        p50, p99 = statistics.median(during), statistics.quantiles(during, n=100)[98]
        print(f"\nflood of {flood_end - flood_start:.1f} s: health p50 {p50 * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, max {max(during) * 1000:.1f} ms over {len(during)} "
              f"calls; desk rounds {rounds_during}; store RSS {rss_before:.1f} MB before, "
              f"{rss_after:.1f} MB after (+{rss_after - rss_before:.1f} MB)")
        print("big bodies:", sorted(set(big)))
        print(f"sign-ins: {sign_ins.count(401)} x 401, {sign_ins.count(429)} x 429")

        # A wrong credential is 401 until the brake engages (the sign-in flood sees to that
        # within a second), 429 after; a declared length over the cap is 413 before either.
        expected = {"webhook 20 MB form": {413}, "webhook 20 MB chunked": {413},
                    "push 40 MB chunked": {413}, "push 100 MB bad credential": {413},
                    "push 100 MB chunked bad credential": {401, 429}}
        assert all(status in expected[what] for what, status in big), big
        assert len(sign_ins) == 1000 and set(sign_ins) <= {401, 429}
        # Requests in flight when the brake engaged may each still be checked once.
        assert AUTH_FAILURES_MAX <= sign_ins.count(401) <= 2 * AUTH_FAILURES_MAX
        assert all(n >= 3 for n in rounds_during), rounds_during
        for engine in engines:
            assert engine.journal.outbox_size() == 0  # every push went through
            engine.client.close()
        assert p99 <= HEALTH_P99_MAX_S, f"health p99 {p99 * 1000:.0f} ms under the flood"
        assert rss_after - rss_before < RSS_GROWTH_MAX_MB
        health.close()
    finally:
        store.close()
