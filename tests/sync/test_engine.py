"""The desk side of sync against the real store on a loopback port (SQLite store)."""

from __future__ import annotations

import random
import shutil
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.errors import SyncError, ValidationError
from app.models.journal import Journal
from app.protocol.catalogue import DESKS_CARD
from app.services.cards.timeline import timeline
from app.sync import protocol as p
from app.sync.client import DeskAuth, StoreClient, StoreRefused, StoreUnreachable
from app.sync.engine import Backoff, SyncEngine
from app.sync.status import CURSOR_KEY, card_confirmation
from tests.sync.cards import cards_of, edit, register
from tests.sync.conftest import DeskFactory, open_engine
from tests.sync.loopback import LoopbackStore
from tests.sync.store_facts import ENROLLED, desk_entries_seq, store_fact_count


def test_two_desks_converge_and_acknowledgements_are_recorded(
    make_desk: DeskFactory, store: LoopbackStore, clock: FakeClock
) -> None:
    a, b = make_desk("A"), make_desk("B")
    card = register(a.journal)
    edit(a.journal, card, site="North campus")
    assert a.journal.outbox_size() == 2
    assert a.status.waiting == 2

    pushed = a.round()
    assert pushed.pushed == 2 and a.journal.outbox_size() == 0
    assert a.status.online and a.status.last_error is None and a.status.waiting == 0
    assert a.status.clock_offset_s is not None and abs(a.status.clock_offset_s) < 1

    got = b.round()
    # Besides A's two entries, B pulls the store's facts about the two enrolments (seq 1, 2).
    enrolled = [e.kind for e in b.journal.entries(DESKS_CARD)]
    assert enrolled == [ENROLLED, ENROLLED] and store_fact_count(store.store) == 2
    assert got.pulled == 2 + len(enrolled) and got.cards == {card, DESKS_CARD}
    assert cards_of(b.journal) == cards_of(a.journal)
    assert [e.server_seq for e in b.journal.entries(card)] == [3, 4]
    assert card_confirmation(b.journal, card).confirmed_at == b.status.last_sync

    # Concurrent edits to one field: the later stamp wins on both desks; both stay on the
    # timeline.
    edit(b.journal, card, site="South gate")
    clock.advance(1)
    edit(a.journal, card, site="West wing")
    for desk in (a, b, a):
        desk.round()
    edits = [e for e in a.journal.entries(card) if e.kind == "card.fields"]
    sites = [e.payload["fields"]["site"] for e in edits]
    assert sorted(sites) == ["North campus", "South gate", "West wing"]
    assert a.journal.card(card) == b.journal.card(card)
    assert a.journal.card(card)["site"] == "West wing"  # written last (larger stamp)
    # The losing edit stays visible on the card's timeline, on both desks, in one order.
    for desk in (a, b):
        lines = [t.detail for t in timeline(desk.journal.entries(card)) if t.kind == "card.fields"]
        assert lines == ["site = North campus", "site = South gate", "site = West wing"]


def test_a_lost_push_reply_is_retried_and_acknowledged_once(make_desk: DeskFactory,
                                                            store: LoopbackStore) -> None:
    a = make_desk("A")
    card = register(a.journal)
    batch = a.journal.outbox()
    first = a.client.push(a._clock.now(), batch)  # the store commits; the desk never hears
    assert a.journal.outbox_size() == 1
    a.round()
    assert a.journal.outbox_size() == 0
    assert [e.server_seq for e in a.journal.entries(card)] == [first.results[0].seq]
    assert desk_entries_seq(store.store) == 1


def test_own_entries_pulled_back_count_as_acknowledged(make_desk: DeskFactory) -> None:
    a = make_desk("A")
    register(a.journal)
    a.client.push(a._clock.now(), a.journal.outbox())  # reply lost
    a.pull()
    assert a.journal.outbox_size() == 0


def test_clock_skew_keeps_the_desk_working_and_says_why(make_desk: DeskFactory,
                                                        store: LoopbackStore) -> None:
    skewed = FakeClock()
    skewed.advance(timedelta(minutes=7))
    a = make_desk("A")
    b = make_desk("B")
    register(b.journal)
    b.round()
    a.journal.use_clock(skewed)
    a_fast = SyncEngine(a.journal, a.client, skewed, random.Random(1))
    register(a.journal)  # the desk keeps working locally
    with pytest.raises(StoreRefused) as refused:
        a_fast.round()
    assert refused.value.code == p.ERR_CLOCK_SKEW
    status = a_fast.status
    assert status.clock_skew and status.online
    assert status.clock_offset_s == pytest.approx(-420, abs=1)
    assert "clock" in (status.last_error or "") and "keeps working" in (status.last_error or "")
    assert a.journal.outbox_size() == 1 and desk_entries_seq(store.store) == 1
    # Pulling still works: the desk sees the others' cards (and the store's two facts about
    # the enrolments of A and B).
    assert a_fast.pull()[0] == 1 + 2 and store_fact_count(store.store) == 2
    assert a_fast.status.clock_skew


def test_store_restored_from_backup_gets_everything_back(make_desk: DeskFactory,
                                                         store: LoopbackStore,
                                                         tmp_path: Path) -> None:
    a, b = make_desk("A"), make_desk("B")
    card_a = register(a.journal)
    a.round()
    backup = tmp_path / "store-backup.sqlite"
    _backup(tmp_path / "store.sqlite", backup)
    card_b = register(b.journal)
    edit(a.journal, card_a, site="after the backup")
    a.round()
    b.round()
    a.round()
    before = {e.id for c in (card_a, card_b) for e in a.journal.entries(c)}
    # The store is restored from the backup (losing 2 entries) and starts a new epoch.
    store.replace(backup, a._clock)
    store.store.new_epoch()
    for desk in (a, b, a, b):
        desk.round()
    have = {e.id for c in (card_a, card_b) for e in b.journal.entries(c)}
    assert have == before
    # Each entry stored once more, none twice (the backup holds the two enrolment facts).
    assert desk_entries_seq(store.store) == len(before)
    assert cards_of(a.journal) == cards_of(b.journal)
    cursor = p.parse_cursor(a.journal.get_meta(CURSOR_KEY))
    assert cursor is not None and cursor.epoch == 2


def _backup(source: Path, target: Path) -> None:
    """An online backup of a live SQLite file (a plain copy would miss its WAL)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def test_desk_restored_from_an_old_backup_never_reuses_a_number(
    make_desk: DeskFactory, store: LoopbackStore, tmp_path: Path, clock: FakeClock
) -> None:
    a, b = make_desk("A"), make_desk("B")
    register(a.journal)
    a.round()
    a.journal.close()
    shutil.copy(tmp_path / "desk-A.sqlite", tmp_path / "desk-A.backup")
    a = open_engine(Journal.open(tmp_path / "desk-A.sqlite", clock), clock)
    lost = register(a.journal)  # A-0002, which the backup does not know about
    a.round()
    a.journal.close()
    a.client.close()
    shutil.copy(tmp_path / "desk-A.backup", tmp_path / "desk-A.sqlite")
    for suffix in ("-wal", "-shm"):
        Path(str(tmp_path / "desk-A.sqlite") + suffix).unlink(missing_ok=True)
    restored = open_engine(Journal.open(tmp_path / "desk-A.sqlite", clock), clock)
    reissued = register(restored.journal)  # the counter went back: A-0002 again
    assert restored.journal.card(reissued)["number"] == "A-0002"
    restored.round()
    restored.round()
    # Desk B takes one entry per page, so it holds both cards numbered A-0002 before the
    # rename arrives: the newcomer is parked on a unique number meanwhile, nothing fails.
    seen_parked = False
    while True:
        page = b.client.pull(b.journal.get_meta(CURSOR_KEY) or "", limit=1)
        b.journal.apply_remote(page.entries, (CURSOR_KEY, page.cursor))
        numbers = {c["id"]: c["number"] for c in b.journal.cards()}
        if numbers.get(reissued) == "A-0002" and lost in numbers:
            seen_parked = True
            assert b.journal.card_by_number("A-0002")["id"] == lost
        if not page.more:
            break
    assert seen_parked
    for desk in (restored, b):
        numbers = {c["id"]: c["number"] for c in desk.journal.cards()}
        assert numbers[lost] == "A-0002"
        assert numbers[reissued] == "A-0003"
        assert desk.journal.card_by_number("A-0003")["id"] == reissued
        assert desk.journal.verify() == []
    # The next card continues after every number the store has seen.
    fresh = register(restored.journal)
    assert restored.journal.card(fresh)["number"] == "A-0004"
    restored.round()
    renames = [e for e in b.journal.entries(reissued) if e.kind == p.RENUMBER_KIND]
    assert len(renames) == 1 and renames[0].payload == {"number": "A-0003", "was": "A-0002"}
    restored.client.close()
    restored.journal.close()


def test_a_refused_entry_is_listed_until_resent_and_never_blocks_the_outbox(
    make_desk: DeskFactory, clock: FakeClock
) -> None:
    """A desk whose clock ran ten minutes ahead for a while stamped an edit in the future: the
    store refuses that entry (not the batch), the desk lists it with the reason and keeps
    pushing; once real time has caught up, resending it is accepted."""
    a = make_desk("A")
    good = register(a.journal)
    a.round()
    a.journal.use_clock(FakeClock(clock.now() + timedelta(minutes=10)))
    edit(a.journal, good, site="stamped ahead")
    a.journal.use_clock(clock)
    a.round()
    assert a.journal.outbox_size() == 0
    [refused] = a.journal.set_aside()
    assert refused.direction == "refused" and "after the store's clock" in refused.reason
    assert "refused 1" in (a.status.refused or "")
    assert a.journal.set_aside_counts()["refused"] == 1
    clock.advance(11 * 60)
    edit(a.journal, good, site="later, clock fixed")
    a.round()
    assert a.journal.outbox_size() == 0 and a.status.refused is None
    assert a.journal.set_aside_counts()["refused"] == 1  # still listed until resolved
    a.journal.resolve_set_aside(refused.id, "resent after the clock was fixed", resend=True)
    a.round()
    assert a.journal.set_aside_counts()["refused"] == 0
    assert all(e.server_seq and e.server_seq > 0 for e in a.journal.entries(good))


def test_unreachable_store_backs_off_with_jitter(tmp_path: Path, clock: FakeClock) -> None:
    journal = Journal.open(tmp_path / "j.sqlite", clock)
    register(journal)
    client = StoreClient("http://127.0.0.1:9", ("d1", "s"), timeout=(0.5, 0.5))
    engine = SyncEngine(journal, client, clock, random.Random(7))
    with pytest.raises(StoreUnreachable, match="cannot reach the store"):
        engine.round()
    assert not engine.status.online and engine.status.waiting == 1
    assert "cannot reach" in (engine.status.last_error or "")
    assert 0 <= engine.backoff.wait_s() <= 1.0
    journal.close()


def test_backoff_grows_to_the_cap_and_resets() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, random.Random(3), base_s=1, cap_s=8)
    delays = [backoff.failed() for _ in range(8)]
    assert all(0 <= d <= min(8, 2**i) for i, d in enumerate(delays))
    assert max(delays[4:]) > 2  # it did grow
    assert backoff.wait_s() == pytest.approx(delays[-1])
    clock.advance(delays[-1])
    assert backoff.wait_s() == 0
    backoff.succeeded()
    assert backoff.failures == 0 and backoff.wait_s() == 0


def test_bad_input_is_refused_naming_the_field(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(ValidationError) as bad_url:
        StoreClient("store.example")
    assert bad_url.value.field == "store_url"
    journal = Journal.open(tmp_path / "j.sqlite", clock)
    client = StoreClient("http://127.0.0.1:9")
    with pytest.raises(ValidationError) as bad_batch:
        SyncEngine(journal, client, clock, batch=5000)
    assert bad_batch.value.field == "batch"
    with pytest.raises(SyncError, match="not enrolled"):
        StoreClient.from_keyring("http://127.0.0.1:9", journal.desk_id)
    journal.close()


def test_wrong_credential_is_a_clear_refusal(make_desk: DeskFactory, store: LoopbackStore) -> None:
    a = make_desk("A")
    register(a.journal)
    a.client._auth = DeskAuth(a.journal.desk_id, "forged", store.store.clock)
    with pytest.raises(StoreRefused) as refused:
        a.round()
    assert refused.value.status == 401 and "signature does not match" in str(refused.value)
    assert "the store refused this desk" in a.status.summary()
    assert a.journal.outbox_size() == 1 and desk_entries_seq(store.store) == 0


def test_a_full_outbox_of_large_entries_goes_in_parts_under_the_body_cap(
    make_desk: DeskFactory
) -> None:
    """500 entries of 35 kB each are more than the store's 16 MiB body cap in one push."""
    a = make_desk("A")
    card = register(a.journal)
    long_answers = {k: "y" * 4000 for k in ("tried", "workaround", "q_what", "q_where",
                                            "q_when", "q_workaround", "q_contact", "risk_signs")}
    long_answers.update({k: "z" * 300 for k in ("building", "floor", "room", "equipment",
                                                "impact_scope", "affected_users", "reporter",
                                                "onsite_contact", "source_channel", "site")})
    from app.models.entry import NewEntry

    a.journal.write([NewEntry(card, "card.fields", {"fields": long_answers})] * 499, "ops")
    assert a.journal.outbox_size() == 500
    assert a.push_outbox() == 500 and a.journal.outbox_size() == 0
    assert a.status.refused is None and a.status.last_error is None
