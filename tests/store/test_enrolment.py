"""Enrolment codes are bound when they are made: to a desk id the store has never seen, or to
one known desk enrolling again. Against the real store on a loopback port (SQLite and
PostgreSQL), and through the real `server add-desk` command."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import inspect, text

from app.clock import FakeClock
from app.errors import NotFoundError, ValidationError
from app.models.journal import Journal
from app.protocol.catalogue import DESKS_CARD
from app.store.database import (
    HEAD_REVISION,
    current_revision,
    make_store_engine,
    migrate,
    parse_db_url,
)
from app.store.enrol import (
    CODE_VALID_FOR,
    RESERVED_DESK_PREFIX,
    DeskRecord,
    EnrolRefused,
    normalise_code,
)
from app.store.storage import Store
from app.sync import protocol as p
from tests.store.conftest import pg_database
from tests.store.harness import ROOT, TIMEOUT, Desk, ThreadStore, health, new_desk


def _enrol_as(url: str, code: str, desk_id: str | None) -> requests.Response:
    body: dict[str, Any] = {"code": code, "desk_code": "Q", "name": "desk"}
    if desk_id is not None:
        body["desk_id"] = desk_id
    return requests.post(
        url + p.PATH_ENROLL, json=body, headers={p.HEADER_PROTOCOL: "1"}, timeout=TIMEOUT
    )


def _refused(response: requests.Response, *hints: str) -> str:
    assert response.status_code == 403, response.text
    assert response.json()["error"] == p.ERR_ENROLL
    message: str = response.json()["message"]
    for hint in hints:
        assert hint in message, message
    return message


def _fresh_id(folder: Path, clock: FakeClock) -> str:
    return Journal.open(folder / f"fresh-{os.urandom(4).hex()}.sqlite", clock).desk_id


def _head(url: str) -> str:
    here = health(url)
    return p.format_cursor(p.Cursor(here.store_id, here.epoch, here.head))


def test_a_new_desk_code_takes_only_an_id_never_seen(
    store: ThreadStore, desk_a: Desk, desk_b: Desk, tmp_path: Path, clock: FakeClock
) -> None:
    store.store.revoke_desk(desk_b.desk_id)
    # Entries under an id no desk row names, written the way the store writes its own.
    ghost = Desk(store.url, Journal.open(tmp_path / "ghost.sqlite", clock), "", clock)
    ghost.journal.set_desk_code("".join(chr(65 + b % 26) for b in os.urandom(3)))
    assert store.store.append_own(ghost.register(1), DeskRecord(ghost.desk_id, "ghost", "")) == 1
    webhook_id = f"store-{health(store.url).store_id}"[:40]  # the Twilio webhook's author id
    assert webhook_id.startswith(RESERVED_DESK_PREFIX)

    code = store.add_desk_code("new desk")
    _refused(_enrol_as(store.url, code, desk_a.desk_id), "already enrolled", "--desk-id")
    _refused(_enrol_as(store.url, code, desk_b.desk_id), "revoked", f"--desk-id {desk_b.desk_id}")
    _refused(_enrol_as(store.url, code, ghost.desk_id), "entries", "journal of its own")
    for reserved in (webhook_id, "store-anything", "STORE-" + health(store.url).store_id):
        _refused(_enrol_as(store.url, code, reserved), "reserved", "journal with an id of its own")
    # No refusal spent the code, or changed the desks it named.
    assert desk_a.pull_raw().status_code == 200 and desk_b.pull_raw().status_code == 403
    fresh = _fresh_id(tmp_path, clock)
    ok = _enrol_as(store.url, code, fresh)
    assert ok.status_code == 200, ok.text
    assert p.Enrollment.from_json(ok.json()).desk_id == fresh


def test_a_new_desk_code_without_an_id_gets_one_from_the_store(store: ThreadStore) -> None:
    ok = _enrol_as(store.url, store.add_desk_code("new desk"), None)
    assert ok.status_code == 200, ok.text
    made = p.Enrollment.from_json(ok.json())
    assert made.desk_id.startswith("d") and not made.desk_id.startswith(RESERVED_DESK_PREFIX)


def test_a_code_works_once(store: ThreadStore, tmp_path: Path, clock: FakeClock) -> None:
    code = store.add_desk_code("new desk")
    first = _fresh_id(tmp_path, clock)
    assert _enrol_as(store.url, code, first).status_code == 200
    _refused(_enrol_as(store.url, code, _fresh_id(tmp_path, clock)), "unknown, used or expired")
    # The desk it enrolled, running it again, is told why; once revoked, that it is spent.
    _refused(_enrol_as(store.url, code, first), "already enrolled", f"--desk-id {first}")
    store.store.revoke_desk(first)
    _refused(_enrol_as(store.url, code, first), "unknown, used or expired")


def test_a_bound_code_enrols_exactly_its_revoked_desk_again(
    store: ThreadStore, desk_a: Desk, tmp_path: Path, clock: FakeClock
) -> None:
    start = _head(store.url)
    made = desk_a.register(2)
    desk_a.push(made)
    code = store.add_desk_code("north desk", desk_id=desk_a.desk_id)
    # Still enrolled: the admin revokes first; the refusal leaves the code unspent.
    _refused(_enrol_as(store.url, code, desk_a.desk_id), "still enrolled", "revoke-desk")
    store.store.revoke_desk(desk_a.desk_id)
    other = _fresh_id(tmp_path, clock)
    _refused(_enrol_as(store.url, code, other), f"desk {desk_a.desk_id} again, not {other}")

    again = _enrol_as(store.url, code, desk_a.desk_id)
    assert again.status_code == 200, again.text
    enrolment = p.Enrollment.from_json(again.json())
    assert enrolment.desk_id == desk_a.desk_id
    assert desk_a.pull_raw().status_code == 401  # the old secret stays refused
    desk_a.secret = enrolment.secret
    assert desk_a.pull_raw().status_code == 200
    # Its entries are still its own: pulled back under its id, and a re-push is a duplicate.
    pulled = desk_a.pull(after=start).entries
    # ... besides the store's own facts that it was revoked and enrolled again
    # (app/store/desk_facts.py).
    back = [e for e in pulled if e.card_id != DESKS_CARD]
    assert [(e.kind, e.payload["desk_id"]) for e in pulled if e.card_id == DESKS_CARD] == [
        ("store.desk_revoked", desk_a.desk_id), ("store.desk_enrolled", desk_a.desk_id)]
    assert [(e.id, e.desk_id) for e in back] == [(m.id, desk_a.desk_id) for m in made]
    assert [r.status for r in desk_a.push(made).results] == ["duplicate", "duplicate"]
    # Bound codes are one-time too; a request with no desk id takes the bound one.
    _refused(_enrol_as(store.url, code, desk_a.desk_id), "already enrolled")
    store.store.revoke_desk(desk_a.desk_id)
    _refused(_enrol_as(store.url, code, desk_a.desk_id), "unknown, used or expired")
    plain = _enrol_as(store.url, store.add_desk_code("north", desk_a.desk_id), None)
    assert plain.status_code == 200 and plain.json()["desk_id"] == desk_a.desk_id


def test_a_bound_code_is_made_only_for_a_known_desk(store: ThreadStore) -> None:
    with pytest.raises(NotFoundError, match="leave --desk-id out"):
        store.add_desk_code("nobody", desk_id="dnobody")
    with pytest.raises(ValidationError, match="reserved"):
        store.add_desk_code("webhook", desk_id=f"store-{health(store.url).store_id}")
    with pytest.raises(ValidationError, match="letters, digits"):
        store.add_desk_code("bad", desk_id="a.b")


@pytest.fixture
def own_clock_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, clock: FakeClock
) -> Iterator[tuple[ThreadStore, FakeClock]]:
    """A store with a clock of its own, so moving it a day on leaves the session's alone."""
    own = FakeClock(clock.now())
    if backend == "sqlite":
        url = "sqlite:///" + str(tmp_path / "store.sqlite")
    else:
        url = request.getfixturevalue("pg_url")
    served = ThreadStore(url, own)
    yield served, own
    served.close()


def test_an_expired_code_is_refused(
    own_clock_store: tuple[ThreadStore, FakeClock], tmp_path: Path
) -> None:
    store, clock = own_clock_store
    assert timedelta(hours=24) == CODE_VALID_FOR
    early, late = store.add_desk_code("early"), store.add_desk_code("late")
    clock.advance(CODE_VALID_FOR - timedelta(seconds=1))
    assert _enrol_as(store.url, early, _fresh_id(tmp_path, clock)).status_code == 200
    clock.advance(timedelta(seconds=1))
    _refused(_enrol_as(store.url, late, _fresh_id(tmp_path, clock)), "expired", "add-desk")


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "server", *args, "--db", db_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow  # seconds of real processes or real waiting: outside the quick loop
def test_add_desk_command_binds_the_code(tmp_path: Path) -> None:
    """`server add-desk` against a SQLite store file; the store serves the same file. Its own
    fake clock starts now: the command stamps codes with the system clock."""
    clock = FakeClock(datetime.now(UTC))
    db_url = "sqlite:///" + str(tmp_path / "store.sqlite")
    store = ThreadStore(db_url, clock)
    try:
        desk = new_desk(store, tmp_path, clock)
        store.store.revoke_desk(desk.desk_id)

        plain = _cli(db_url, "add-desk", "North floor desk 2")
        assert plain.returncode == 0, plain.stderr
        assert "a new desk" in plain.stderr and "valid 24 hours" in plain.stderr
        _refused(_enrol_as(store.url, plain.stdout.strip(), desk.desk_id), "--desk-id")

        bound = _cli(db_url, "add-desk", "North floor desk 2", "--desk-id", desk.desk_id)
        assert bound.returncode == 0, bound.stderr
        assert f"desk {desk.desk_id}" in bound.stderr and "valid 24 hours" in bound.stderr
        response = _enrol_as(store.url, bound.stdout.strip(), desk.desk_id)
        assert response.status_code == 200, response.text

        unknown = _cli(db_url, "add-desk", "ghost", "--desk-id", "dnobody")
        assert unknown.returncode == 1
        assert "no desk dnobody was ever enrolled" in unknown.stderr
        assert "leave --desk-id out" in unknown.stderr
        reserved = _cli(db_url, "add-desk", "hook", "--desk-id", "store-s1")
        assert reserved.returncode == 1 and "reserved" in reserved.stderr
    finally:
        store.close()


def _make_s0002_store(url: str, code: str, revoked_id: str) -> None:
    """A store database as revision s0002 left it, with one unused code and a revoked desk."""
    parsed = parse_db_url(url)
    engine = make_store_engine(parsed)
    migrate(engine, parsed, target="s0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO enrol_codes (code_hash, name, created_at, expires_at)"
                " VALUES (:h, 'old code', '2000-01-01T00:00:00Z', '9999-01-01T00:00:00Z')"
            ),
            {"h": hashlib.sha256(normalise_code(code).encode()).hexdigest()},
        )
        conn.execute(
            text(
                "INSERT INTO desks (desk_id, name, desk_code, secret_hash, enrolled_at, revoked)"
                " VALUES (:d, 'old desk', 'Q', :s, '2000-01-01T00:00:00Z', :r)"
            ),
            {"d": revoked_id, "s": "0" * 64, "r": True},
        )
        assert "bound_to" not in {c["name"] for c in inspect(conn).get_columns("enrol_codes")}
    engine.dispose()


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield "sqlite:///" + str(tmp_path / "old-store.sqlite")
    else:
        with pg_database() as url:
            yield url


def test_a_store_at_s0002_is_upgraded_and_its_old_codes_enrol_new_desks_only(
    empty_db_url: str, clock: FakeClock
) -> None:
    code = "ABCD-EFGH-JKMN"
    _make_s0002_store(empty_db_url, code, "dold")
    store = Store(empty_db_url, clock)
    try:
        assert current_revision(store.engine, store.url) == HEAD_REVISION
        columns = {c["name"] for c in inspect(store.engine).get_columns("enrol_codes")}
        assert "bound_to" in columns, (
            f"opened at {HEAD_REVISION}, yet s0003 did not run: "
            "app/store/database.py HEAD_REVISION must name the newest migration"
        )
        # A code made before codes were bound enrols a new desk, never the revoked one.
        with pytest.raises(EnrolRefused, match="revoked"):
            store.enrol({"code": code, "desk_code": "Q", "name": "x", "desk_id": "dold"})
        assert store.enrol({"code": code, "desk_code": "Q", "name": "x"}).desk_id != "dold"
    finally:
        store.close()
