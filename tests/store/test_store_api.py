"""The store's API on a loopback port, on SQLite and PostgreSQL: push, pull, trust, refusals."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import requests

from app.models.journal import Journal
from app.sync import protocol as p
from app.sync.client import DeskAuth
from tests.polling import wait_until
from tests.store.harness import TIMEOUT, Desk, ThreadStore, enrol, health


def _statuses(reply: p.PushReply) -> list[str]:
    return [r.status for r in reply.results]


def test_health_and_openapi_describe_the_store(store: ThreadStore) -> None:
    first = health(store.url)
    assert first.status == "ok" and first.store_id.startswith("s") and first.epoch >= 1
    doc = requests.get(store.url + "/openapi.json", timeout=TIMEOUT).json()
    assert {p.PATH_HEALTH, p.PATH_ENROLL, p.PATH_PUSH, p.PATH_PULL} <= set(doc["paths"])


def test_push_is_idempotent_and_pull_shows_each_entry_once(desk_a: Desk) -> None:
    start = _head_cursor(desk_a)
    made = desk_a.register(3)
    first = desk_a.push(made)
    assert _statuses(first) == ["stored"] * 3
    seqs = [r.seq for r in first.results]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    again = desk_a.push(made)
    assert _statuses(again) == ["duplicate"] * 3
    assert [r.seq for r in again.results] == seqs
    mine = [e for e in desk_a.pull(after=start, limit=1000).entries if e.desk_id == desk_a.desk_id]
    assert [e.id for e in mine] == [e.id for e in made]
    assert [e.server_seq for e in mine] == seqs
    assert mine[0].payload == made[0].payload


def test_same_id_twice_in_one_batch_is_stored_once(desk_a: Desk) -> None:
    entry = desk_a.register(1)[0]
    reply = desk_a.push([entry, entry])
    assert _statuses(reply) == ["stored", "duplicate"]
    assert reply.results[0].seq == reply.results[1].seq


def test_replayed_id_with_other_content_is_rejected(desk_a: Desk) -> None:
    entry = desk_a.note(desk_a.register(1)[0].card_id, "first text")
    desk_a.push([entry])
    forged = {**entry.to_wire(), "payload": {"text": "rewritten"}}
    reply = p.PushReply.from_json(desk_a.push_raw([forged]).json())
    assert reply.results[0].status == "rejected" and "other content" in str(reply.results[0].reason)


def test_a_rejected_entry_never_blocks_the_ones_behind_it(desk_a: Desk) -> None:
    good = desk_a.register(2)
    wire: list[Any] = [
        good[0].to_wire(),
        {**good[0].to_wire(), "id": "not-a-uuid"},
        {**good[1].to_wire(), "id": good[1].id.replace(good[1].id[:8], "0" * 8), "kind": "x.y"},
        "not even an object",
        {**good[1].to_wire(), "surprise": 1},
        good[1].to_wire(),
    ]
    response = desk_a.push_raw(wire)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "stored",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "stored",
    ]
    assert "id" in results[1]["reason"] and "kind" in results[2]["reason"]
    assert "surprise" in results[4]["reason"]
    assert all(r["seq"] is None for r in results[1:5])


def test_entries_claiming_another_desk_are_refused(desk_a: Desk, desk_b: Desk) -> None:
    theirs = desk_a.register(1)[0]
    reply = desk_b.push([theirs])
    assert reply.results[0].status == "rejected"
    assert desk_a.desk_id in str(reply.results[0].reason)
    # A forged author with a matching stamp is still not the caller.
    forged = {**theirs.to_wire(), "desk_id": desk_b.desk_id}
    reply = p.PushReply.from_json(desk_b.push_raw([forged]).json())
    assert reply.results[0].status == "rejected" and "hlc" in str(reply.results[0].reason)
    # desk A can still push its own entry: the refused copies stored nothing under its id.
    assert desk_a.push([theirs]).results[0].status == "stored"


def test_bad_credentials_get_401_and_store_nothing(store: ThreadStore, desk_a: Desk) -> None:
    before = health(store.url).head
    wire = [e.to_wire() for e in desk_a.register(1)]
    # The old Bearer credential, the right one included, is refused with word to upgrade.
    old = p.format_credential(desk_a.desk_id, desk_a.secret)
    cases: list[tuple[dict[str, str], Any]] = [
        ({p.HEADER_PROTOCOL: "1"}, None),
        ({**desk_a.headers(), p.HEADER_AUTHORIZATION: "Bearer nonsense"}, None),
        ({**desk_a.headers(), p.HEADER_AUTHORIZATION: old}, None),
        ({**desk_a.headers(), p.HEADER_AUTHORIZATION: "Basic dXNlcjpwYXNz"}, None),
        (desk_a.headers(), desk_a.auth(secret="wrong-secret")),
        (desk_a.headers(), DeskAuth("dnobody", "x", desk_a.clock)),
    ]
    for header, auth in cases:
        response = desk_a.push_raw(wire, headers=header, auth=auth or (lambda r: r))
        assert response.status_code == 401, header
        assert response.json()["error"] == "unauthorized" and response.json()["message"]
        pulled = requests.get(store.url + p.PATH_PULL, headers=header, auth=auth, timeout=TIMEOUT)
        assert pulled.status_code == 401
    refused = desk_a.push_raw(wire, headers={**desk_a.headers(), p.HEADER_AUTHORIZATION: old},
                              auth=lambda r: r).json()["message"]
    assert "old Bearer credential" in refused and "upgrade" in refused
    assert health(store.url).head == before


def test_an_old_desk_is_told_to_upgrade(store: ThreadStore, desk_a: Desk) -> None:
    for version in ("2", "0", "", "one"):
        response = desk_a.push_raw([], headers=desk_a.headers(version=version))
        assert response.status_code == 426
        body = response.json()
        assert body["error"] == "protocol" and body["supported"] == [1]
        assert "upgrade the desk" in body["message"]
    bare = requests.get(store.url + p.PATH_PULL, timeout=TIMEOUT)
    assert bare.status_code == 426
    # Monitoring may ask for health without the header; a wrong one is still refused.
    assert requests.get(store.url + p.PATH_HEALTH, timeout=TIMEOUT).status_code == 200
    wrong = requests.get(store.url + p.PATH_HEALTH, headers={p.HEADER_PROTOCOL: "9"}, timeout=5)
    assert wrong.status_code == 426


def test_clock_skew_over_five_minutes_is_refused_whole(store: ThreadStore, desk_a: Desk) -> None:
    made = desk_a.register(2)
    before = health(store.url).head
    for offset in (301.0, -301.0, 86400.0):
        response = desk_a.push_raw([e.to_wire() for e in made], offset_s=offset)
        assert response.status_code == 409
        body = response.json()
        assert body["error"] == "clock_skew" and abs(body["offset_s"] - offset) < 1
        assert "set the desk's time" in body["message"]
    assert health(store.url).head == before
    inside = desk_a.push_raw([e.to_wire() for e in made], offset_s=-299.0)
    assert inside.status_code == 200 and health(store.url).head == before + 2


def _head_cursor(desk: Desk) -> str:
    h = health(desk.url)
    return f"{h.store_id}.{h.epoch}.{h.head}"


def test_pull_pages_in_seq_order_without_gaps(desk_a: Desk) -> None:
    start = _head_cursor(desk_a)
    desk_a.push(desk_a.register(25))
    cursor, sizes, seqs, mores = start, [], [], []
    while True:
        page = desk_a.pull(after=cursor, limit=10)
        sizes.append(len(page.entries))
        seqs += [e.server_seq for e in page.entries]
        mores.append(page.more)
        assert p.parse_cursor(page.cursor).seq >= p.parse_cursor(cursor).seq  # type: ignore[union-attr]
        cursor = page.cursor
        if not page.more:
            break
    assert sizes == [10, 10, 5] and mores == [True, True, False]
    first = p.parse_cursor(start).seq + 1  # type: ignore[union-attr]
    assert seqs == list(range(first, first + 25))
    # At the head, a pull without wait answers at once, empty, with the same cursor.
    empty = desk_a.pull(after=cursor)
    assert empty.entries == () and empty.cursor == cursor and not empty.more


def test_pull_limits_are_checked(desk_a: Desk) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"wait": 31}, {"wait": -1}, {"limit": "x"}):
        response = requests.get(
            desk_a.url + p.PATH_PULL, params=params, headers=desk_a.headers(),
            auth=desk_a.auth(), timeout=TIMEOUT
        )
        assert response.status_code == 422, params
        assert response.json()["error"] == "invalid" and response.json()["field"]
    response = desk_a.pull_raw(after="garbage")
    assert response.status_code == 422 and response.json()["field"] == "after"


def test_a_long_poll_is_woken_by_a_push(store: ThreadStore, desk_a: Desk, desk_b: Desk) -> None:
    cursor = _head_cursor(desk_a)
    result: dict[str, Any] = {}

    def poll() -> None:
        result["page"] = desk_b.pull(after=cursor, wait=20)

    waiting_before = health(store.url).polls_waiting
    poller = threading.Thread(target=poll)
    poller.start()
    wait_until(lambda: health(store.url).polls_waiting > waiting_before, what="the poll to wait")
    made = desk_a.register(1)
    desk_a.push(made)
    poller.join(timeout=5)
    assert not poller.is_alive(), "the long-poll was not woken by the push"
    assert [e.id for e in result["page"].entries] == [made[0].id]


def test_a_long_poll_with_nothing_new_ends_empty_at_its_wait(desk_a: Desk) -> None:
    cursor = _head_cursor(desk_a)
    page = desk_a.pull(after=cursor, wait=0.3)
    assert page.entries == () and page.cursor == cursor


def test_a_cursor_from_another_epoch_or_store_is_foreign(store: ThreadStore, desk_a: Desk) -> None:
    made = desk_a.register(2)
    desk_a.push(made)
    old = _head_cursor(desk_a)
    h = health(store.url)
    foreign = [f"sOTHER.{h.epoch}.1", f"{h.store_id}.{h.epoch}.{h.head + 1000}"]
    epoch = store.new_epoch()
    assert epoch == h.epoch + 1
    for cursor in [old, *foreign]:
        response = desk_a.pull_raw(after=cursor)
        assert response.status_code == 409, cursor
        assert response.json()["error"] == "cursor_foreign"
    # The desk's way back: pull from the start (its entries are there) and re-push.
    everything = desk_a.pull(after="", limit=1000)
    while everything.more:
        page = desk_a.pull(after=everything.cursor, limit=1000)
        everything = p.PullPage(everything.entries + page.entries, page.cursor, page.more)
    assert {e.id for e in made} <= {e.id for e in everything.entries}
    assert p.parse_cursor(everything.cursor).epoch == epoch  # type: ignore[union-attr]
    assert _statuses(desk_a.push(made)) == ["duplicate", "duplicate"]


def test_enrolment_codes_work_once(store: ThreadStore, desk_a: Desk, tmp_path: Path) -> None:
    code = store.add_desk_code("spare desk")
    first = enrol(store.url, code, desk_a.journal, "Q")
    assert first.status_code == 403  # desk A is enrolled already: its id cannot be taken over
    fresh = Journal.open(tmp_path / "fresh.sqlite", desk_a.clock)
    ok = enrol(store.url, code.lower().replace("-", ""), fresh, "Q")
    assert ok.status_code == 200, ok.text
    again = enrol(store.url, code, Journal.open(tmp_path / "other.sqlite", desk_a.clock), "Q")
    assert again.status_code == 403 and again.json()["error"] == "enroll"
    assert "add-desk" in again.json()["message"]


def test_enrolment_input_is_checked(store: ThreadStore) -> None:
    code = store.add_desk_code("spare desk")
    headers = {p.HEADER_PROTOCOL: "1"}
    cases: list[tuple[Any, str]] = [
        ({"code": code, "desk_code": "b1", "name": "x"}, "desk_code"),
        ({"code": code, "desk_code": "B", "name": ""}, "name"),
        ({"code": code, "desk_code": "B", "name": "x", "desk_id": "a.b"}, "desk_id"),
        ({"code": code, "desk_code": "B", "name": "x", "extra": 1}, "extra"),
        ({"code": 5, "desk_code": "B", "name": "x"}, "code"),
        (["not", "an", "object"], "request"),
    ]
    for body, field in cases:
        response = requests.post(
            store.url + p.PATH_ENROLL, json=body, headers=headers, timeout=TIMEOUT
        )
        assert response.status_code == 422, body
        assert response.json()["field"] == field, response.json()
    # None of those spent the code.
    fine = {"code": code, "desk_code": "B", "name": "x"}
    response = requests.post(store.url + p.PATH_ENROLL, json=fine, headers=headers, timeout=5)
    assert response.status_code == 200, response.text


def test_bad_push_envelopes_store_nothing(store: ThreadStore, desk_a: Desk) -> None:
    before = health(store.url).head
    wire = [e.to_wire() for e in desk_a.register(1)]
    now = p.format_time(desk_a.clock.now())
    cases: list[tuple[Any, int]] = [
        ({"desk_time": now, "entries": wire * (p.PUSH_BATCH_MAX + 1)}, 413),
        ({"desk_time": now, "entries": "x"}, 422),
        ({"desk_time": 5, "entries": wire}, 422),
        ({"desk_time": "yesterday", "entries": wire}, 422),
        ({"desk_time": "2026-11-23T02:10:00", "entries": wire}, 422),
        ({"desk_time": now, "entries": wire, "more": True}, 422),
        ({"entries": wire}, 422),
    ]
    for body, status in cases:
        response = requests.post(
            store.url + p.PATH_PUSH, json=body, headers=desk_a.headers(),
            auth=desk_a.auth(), timeout=TIMEOUT
        )
        assert response.status_code == status, (
            body if status != 413 else "oversized",
            response.text,
        )
        assert response.json()["error"] in ("invalid", "too_large")
    raw = requests.post(
        store.url + p.PATH_PUSH, data=b"{not json", headers=desk_a.headers(),
        auth=desk_a.auth(), timeout=TIMEOUT
    )
    assert raw.status_code == 422
    assert health(store.url).head == before


def test_unknown_paths_answer_json(store: ThreadStore) -> None:
    response = requests.get(store.url + "/v1/nothing", headers={p.HEADER_PROTOCOL: "1"}, timeout=5)
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_revoked_desk_is_refused_until_it_enrols_again(store: ThreadStore, desk_a: Desk) -> None:
    store.store.revoke_desk(desk_a.desk_id)
    revoked = desk_a.pull_raw()  # signed right, so it may learn why: 403, not a bare 401
    assert revoked.status_code == 403 and revoked.json()["error"] == p.ERR_REVOKED
    response = enrol(store.url, store.add_desk_code("again", desk_a.desk_id), desk_a.journal, "Q")
    assert response.status_code == 200, response.text
    assert desk_a.pull_raw().status_code == 401  # the old secret stays refused
    desk_a.secret = p.Enrollment.from_json(response.json()).secret
    assert desk_a.pull_raw().status_code == 200
