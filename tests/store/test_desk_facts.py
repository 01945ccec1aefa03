"""Enrolling and revoking a desk are the store's own facts (``store.desk_enrolled``,
``store.desk_revoked`` under DESKS_CARD): written in the same transaction, pulled by every
desk, listed by `dispatch-desk audit` on a synced desk and by `dispatch-desk server audit`.
Against the real store on a loopback port, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.clock import FakeClock
from app.errors import NotFoundError, ValidationError
from app.models.entry import Entry, NewEntry
from app.protocol.catalogue import DESKS_CARD
from app.services.audit import audit_trail
from app.store.database import reading
from app.store.desk_facts import revoke_desk
from app.store.tables import entries
from tests.store.harness import Desk, ThreadStore, enrol, new_desk


def _sync(desk: Desk) -> None:
    """The desk's pull, applied to its journal the way the sync engine applies a page."""
    page = desk.pull()
    desk.journal.apply_remote(page.entries)


def _facts(desk: Desk, about: str) -> list[Entry]:
    return [e for e in desk.journal.entries(DESKS_CARD) if e.payload["desk_id"] == about]


def _stored_facts(store: ThreadStore) -> int:
    with reading(store.store.engine, store.store.url) as conn:
        return int(conn.execute(select(func.count()).select_from(entries)
                                .where(entries.c.card_id == DESKS_CARD)).scalar_one())


def test_enrolment_and_revocation_reach_every_desk_and_the_audit(
        store: ThreadStore, tmp_path: Path, clock: FakeClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    watcher = new_desk(store, tmp_path, clock)
    lost = new_desk(store, tmp_path, clock)
    # All in one millisecond of the store's clock: the stamps' counter keeps the order.
    revoke_desk(store.store, lost.desk_id, "laptop stolen from the van", "m.keller")
    code = store.add_desk_code("replacement laptop", lost.desk_id)
    assert enrol(store.url, code, lost.journal, lost.journal.desk_code).status_code == 200

    _sync(watcher)
    enrolled, revoked, again = _facts(watcher, lost.desk_id)
    store_id = f"store-{store.store.position().store_id}"[:40]
    assert {e.desk_id for e in (enrolled, revoked, again)} == {store_id}
    assert {e.operator for e in (enrolled, revoked, again)} == {"store admin"}
    assert enrolled.kind == again.kind == "store.desk_enrolled"
    assert enrolled.payload["desk_code"] == lost.journal.desk_code
    assert "again" not in enrolled.payload and again.payload["again"] is True
    assert revoked.kind == "store.desk_revoked"
    assert revoked.payload["reason"] == "laptop stolen from the van"
    assert revoked.payload["by"] == "m.keller" and revoked.payload["name"] == "desk"

    trail = [i for i in audit_trail(watcher.journal, areas=["desk"])
             if lost.desk_id in i.what]
    assert [i.what for i in trail] == [
        f"desk {lost.desk_id} (desk, cards {lost.journal.desk_code}) enrolled again",
        f"desk {lost.desk_id} (desk, cards {lost.journal.desk_code}) revoked: laptop "
        "stolen from the van, by OS user m.keller",
        f"desk {lost.desk_id} (desk, cards {lost.journal.desk_code}) enrolled"]
    assert {i.who for i in trail} == {"store admin"}

    # The store's own listing: the same lines, read from its entries.
    code_ = main(["server", "audit", "--json", "--area", "desk", "--db", store.store.url
                  .render_as_string(hide_password=False)])
    rows = [r for r in json.loads(capsys.readouterr().out) if lost.desk_id in r["what"]]
    assert code_ == 0 and [r["what"] for r in rows] == [i.what for i in trail]
    assert [r["kind"] for r in rows] == ["store.desk_enrolled", "store.desk_revoked",
                                         "store.desk_enrolled"]


def test_a_refused_revocation_writes_no_fact(store: ThreadStore, tmp_path: Path,
                                             clock: FakeClock) -> None:
    desk = new_desk(store, tmp_path, clock)
    before = _stored_facts(store)
    with pytest.raises(NotFoundError):
        revoke_desk(store.store, "dnobody-here", "typo")
    with pytest.raises(ValidationError, match="reason"):  # one line: nothing changes
        revoke_desk(store.store, desk.desk_id, "two\nlines")
    assert _stored_facts(store) == before
    assert desk.pull_raw().status_code == 200  # still enrolled
    revoke_desk(store.store, desk.desk_id)
    revoke_desk(store.store, desk.desk_id)  # already revoked: no second fact
    assert _stored_facts(store) == before + 1


def test_a_desk_cannot_forge_a_store_fact(store: ThreadStore, tmp_path: Path,
                                          clock: FakeClock) -> None:
    """A desk may push an entry of that kind under its own id (before accounts exist it is
    stored like any entry), but the audit lists only the store's: no desk enrols as store-."""
    desk = new_desk(store, tmp_path, clock)
    [forged] = desk.journal.write([NewEntry(DESKS_CARD, "store.desk_revoked",
                                            {"desk_id": "d-rival", "reason": "forged"})], "op")
    desk.push([forged])
    _sync(desk)
    assert not [i for i in audit_trail(desk.journal, areas=["desk"]) if "d-rival" in i.what]
    with pytest.raises(ValidationError, match="belongs to card_id 'desks'"):
        desk.journal.write([NewEntry("audit", "store.desk_revoked", {"desk_id": "x"})], "op")
