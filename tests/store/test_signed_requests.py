"""Signed desk requests (app/sync/signing.py, app/store/signed.py) against the real store on a
loopback port, SQLite and PostgreSQL: a captured request cannot be replayed, altered, sent
late, or sent by a revoked desk; two desks sync as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app.clock import FakeClock
from app.store import desk_facts, signed
from app.store.database import reading, writing
from app.store.limits import AuthLimiter
from app.store.tables import desk_nonces
from app.sync import protocol as p
from app.sync import signing
from app.sync.client import DeskAuth, StoreClient, StoreRefused
from tests.store.harness import TIMEOUT, Desk, ThreadStore, health


def _push_request(desk: Desk, entries: list[object], auth: DeskAuth | None = None
                  ) -> requests.PreparedRequest:
    """A signed push, prepared (captured) but not sent."""
    body = {"desk_time": p.format_time(desk.clock.now()), "entries": entries}
    return requests.Request("POST", desk.url + p.PATH_PUSH, json=body, headers=desk.headers(),
                            auth=auth or desk.auth()).prepare()


def _send(prepared: requests.PreparedRequest, url: str | None = None) -> requests.Response:
    """Send a captured request as it is (optionally to another store process's address)."""
    again = prepared.copy()
    if url is not None:
        again.url = url + (prepared.path_url or "")
    with requests.Session() as session:
        return session.send(again, timeout=TIMEOUT)


@pytest.fixture(autouse=True)
def fresh_brake(store: ThreadStore) -> None:
    """These tests fail sign-ins on purpose: each starts with a brake of its own, so neither
    they nor the other tests on the session's store are braked by the others' failures."""
    store.app.state.auth_limiter = AuthLimiter(store.store.clock)


@pytest.fixture
def second_worker(store: ThreadStore) -> Iterator[ThreadStore]:
    """Another store process on the same database: its own limiter and memory, like a second
    uvicorn worker or a second host behind the proxy."""
    other = ThreadStore(str(store.store.url.render_as_string(hide_password=False)),
                        store.store.clock)
    yield other
    other.close()


def test_a_replayed_request_is_refused_on_every_worker_and_stores_nothing(
    store: ThreadStore, second_worker: ThreadStore, desk_a: Desk
) -> None:
    first = _push_request(desk_a, [e.to_wire() for e in desk_a.register(1)])
    assert _send(first).status_code == 200
    head = health(store.url).head
    for target in (store.url, second_worker.url):
        replayed = _send(first, target)
        assert replayed.status_code == 401, replayed.text
        assert replayed.json()["message"].startswith("replayed request")
    # Captured before it ever reached the store: the first worker takes it, the copy at the
    # other is refused, and nothing is stored twice (nor anything new).
    captured = _push_request(desk_a, [e.to_wire() for e in desk_a.register(1)])
    assert _send(captured, second_worker.url).status_code == 200
    head = health(store.url).head
    assert _send(captured, store.url).status_code == 401
    assert health(store.url).head == head
    # A pull, long-poll or not, is a desk request like any other.
    pull = requests.Request("GET", desk_a.url + p.PATH_PULL, params={"after": "", "wait": 0},
                            headers=desk_a.headers(), auth=desk_a.auth()).prepare()
    assert _send(pull).status_code == 200
    assert _send(pull, second_worker.url).status_code == 401


def test_an_altered_request_is_refused(store: ThreadStore, desk_a: Desk) -> None:
    made = desk_a.register(2)
    genuine = _push_request(desk_a, [made[0].to_wire()])
    forged = genuine.copy()
    forged.prepare_body(None, None, {"desk_time": p.format_time(desk_a.clock.now()),
                                     "entries": [made[1].to_wire()]})
    forged.headers.update({k: v for k, v in genuine.headers.items()
                           if k in ("Authorization", signing.HEADER_CONTENT_SHA256)})
    before = health(store.url).head
    answer = _send(forged)
    assert answer.status_code == 401 and answer.json()["message"] == signed.MISMATCH
    # The hash header made to fit the new body: the signature no longer does.
    forged.headers[signing.HEADER_CONTENT_SHA256] = signing.body_sha256(forged.body or b"")
    assert _send(forged).status_code == 401
    assert health(store.url).head == before
    # A query changed after signing (another cursor, a larger page) is refused the same way.
    pull = requests.Request("GET", desk_a.url + p.PATH_PULL, params={"limit": 1},
                            headers=desk_a.headers(), auth=desk_a.auth()).prepare()
    pull.url = (pull.url or "").replace("limit=1", "limit=1000")
    refused = _send(pull)
    assert refused.status_code == 401 and refused.json()["message"] == signed.MISMATCH


def test_a_stale_or_early_timestamp_is_refused_naming_the_desk_clock(
    store: ThreadStore, desk_a: Desk, clock: FakeClock
) -> None:
    before = health(store.url).head
    for offset in (-301, 301, -86400):
        off = FakeClock(clock.now() + timedelta(seconds=offset))
        answer = _send(_push_request(desk_a, [e.to_wire() for e in desk_a.register(1)],
                                     DeskAuth(desk_a.desk_id, desk_a.secret, off)))
        assert answer.status_code == 401, answer.text
        body = answer.json()
        assert body["error"] == p.ERR_CLOCK_SKEW and abs(body["offset_s"] - offset) < 2
        assert " s off the store's clock" in body["message"]
        assert "desk's clock is wrong" in body["message"]
    assert health(store.url).head == before
    # Within the window it is accepted; a desk whose clock is off still pulls (the client
    # signs on the store's time once told the offset), though its pushes stay refused.
    near = FakeClock(clock.now() - timedelta(seconds=290))
    auth = DeskAuth(desk_a.desk_id, desk_a.secret, near)
    assert requests.get(desk_a.url + p.PATH_PULL, headers=desk_a.headers(), auth=auth,
                        timeout=TIMEOUT).status_code == 200
    client = StoreClient(desk_a.url, (desk_a.desk_id, desk_a.secret),
                         clock=FakeClock(clock.now() + timedelta(minutes=7)))
    assert client.pull("", limit=1).cursor
    client.close()


def test_a_revoked_desk_is_refused_with_the_reason(store: ThreadStore, desk_a: Desk) -> None:
    client = StoreClient(desk_a.url, (desk_a.desk_id, desk_a.secret), clock=desk_a.clock)
    client.pull("", limit=1)
    desk_facts.revoke_desk(store.store, desk_a.desk_id, reason="laptop stolen")
    when = p.format_time(store.store.clock.now())
    answer = desk_a.pull_raw()
    assert answer.status_code == 403 and answer.json()["error"] == p.ERR_REVOKED
    assert answer.json()["message"].startswith(f"desk {desk_a.desk_id} revoked at {when}; "
                                               "enrol it again with a new code")
    # What the desk shows (sync status, the window's strip): the store's own words.
    with pytest.raises(StoreRefused) as refused:
        client.pull("")
    assert str(refused.value).startswith("the store refused this desk (403): desk ")
    assert "revoked at" in str(refused.value) and "new code" in str(refused.value)
    client.close()
    # Only the key's holder learns that: a forger is told the signature does not match.
    forged = requests.get(desk_a.url + p.PATH_PULL, headers=desk_a.headers(),
                          auth=desk_a.auth("guess"), timeout=TIMEOUT)
    assert forged.status_code == 401 and forged.json()["message"] == signed.MISMATCH


def test_two_desks_sync_through_signed_requests(
    store: ThreadStore, desk_a: Desk, desk_b: Desk
) -> None:
    here = health(store.url)
    start = p.format_cursor(p.Cursor(here.store_id, here.epoch, here.head))
    a = StoreClient(store.url, (desk_a.desk_id, desk_a.secret), clock=desk_a.clock)
    b = StoreClient(store.url, (desk_b.desk_id, desk_b.secret), clock=desk_b.clock)
    made = desk_a.register(3)
    reply = a.push(desk_a.clock.now(), made)
    assert [r.status for r in reply.results] == [p.STORED] * 3
    page = b.pull(start, limit=1000, wait=0)
    assert [e.id for e in page.entries if e.desk_id == desk_a.desk_id] == [e.id for e in made]
    assert {d.desk_id for d in b.desks()} >= {desk_a.desk_id, desk_b.desk_id}
    a.close()
    b.close()


def test_nonces_are_kept_for_the_window_then_pruned(store: ThreadStore, desk_a: Desk) -> None:
    assert desk_a.pull_raw().status_code == 200
    now = store.store.clock.now()
    with reading(store.store.engine, store.store.url) as conn:
        mine = select(func.count()).select_from(desk_nonces).where(
            desk_nonces.c.desk_id == desk_a.desk_id)
        kept = conn.execute(mine).scalar_one()
    assert kept >= 1
    with writing(store.store.engine, store.store.url) as conn:
        signed.prune(conn, now + timedelta(seconds=signing.MAX_SKEW_S - 5))
        assert conn.execute(mine).scalar_one() == kept  # still inside the window
        signed.prune(conn, now + timedelta(seconds=signing.MAX_SKEW_S + 2))
        assert conn.execute(mine).scalar_one() == 0


def test_the_brake_vouches_for_a_known_desk_once_per_nonce(clock: FakeClock) -> None:
    limiter = AuthLimiter(clock, limit=1)
    key = signing.signing_key("secret")
    ts = int(clock.now().timestamp())
    headers = signing.signed_headers(key, "desk-v", "GET", p.PATH_PULL, b"", ts)
    call = signed.read_call("GET", p.PATH_PULL, headers["Authorization"],
                            headers[signing.HEADER_CONTENT_SHA256], has_body=False)
    assert not limiter.vouches(call)  # not signed in here yet
    limiter.desk_succeeded(call, key)
    assert not limiter.vouches(call)  # the same nonce again: a replay goes through the brake
    fresh = signing.signed_headers(key, "desk-v", "GET", p.PATH_PULL, b"", ts)
    call2 = signed.read_call("GET", p.PATH_PULL, fresh["Authorization"],
                             fresh[signing.HEADER_CONTENT_SHA256], has_body=False)
    assert limiter.vouches(call2)
    wrong = signing.signed_headers(b"x" * 32, "desk-v", "GET", p.PATH_PULL, b"", ts)
    call3 = signed.read_call("GET", p.PATH_PULL, wrong["Authorization"],
                             wrong[signing.HEADER_CONTENT_SHA256], has_body=False)
    assert not limiter.vouches(call3)
    limiter.forget_desk("desk-v")
    assert not limiter.vouches(call2)


def test_the_old_bearer_credential_and_malformed_headers_are_refused(tmp_path: Path) -> None:
    for header, hint in [
        (p.format_credential("desk-a", "secret"), "upgrade Dispatch Desk"),
        ("DD-HMAC-SHA256 desk=a, ts=1", "no nonce"),
        ("DD-HMAC-SHA256 desk=a, ts=x, nonce=" + "a" * 32 + ", sig=" + "0" * 64, "ts"),
        ("HMAC x", "scheme"),
    ]:
        with pytest.raises(signed.Refused, match=hint):
            signed.read_call("GET", p.PATH_PULL, header, signing.EMPTY_SHA256, has_body=False)
