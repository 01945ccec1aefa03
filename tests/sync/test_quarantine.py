"""Entries set aside: a desk never stops on an entry it cannot apply, every desk sets aside the
same ones, and each stays listed until an operator retries or discards it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select

from app.cli import main
from app.clock import FakeClock, SystemClock
from app.models.journal import Journal
from app.protocol.catalogue import SYNC_CARD
from app.protocol.text import for_terminal
from app.store.recheck import META_KEY, recheck
from app.store.tables import entries, seq_counter, store_meta
from app.sync.engine import SyncEngine
from app.sync.protocol import format_time
from tests.memory_keyring import MemoryKeyring
from tests.sync.cards import edit, register
from tests.sync.conftest import DeskFactory
from tests.sync.loopback import LoopbackStore


def _plant(store: LoopbackStore, payload: dict[str, object], kind: str, card_id: str,
           clock_ms: int) -> int:
    """Put a row into the store's database as an older, less careful version stored it."""
    engine = store.store.engine
    with engine.begin() as conn:
        seq = int(conn.execute(select(entries.c.seq).order_by(entries.c.seq.desc())).first()[0])
        conn.execute(insert(entries).values(
            seq=seq + 1, id=str(uuid.uuid4()), card_id=card_id, kind=kind,
            payload=json.dumps(payload), hlc=f"{clock_ms:015d}.00000.dold", desk_id="dold",
            operator="old desk", schema=1, stored_at=format_time(store.store.clock.now())))
        conn.execute(seq_counter.update().values(last_seq=seq + 1))
    return seq + 1


def _same_aside(*desks: SyncEngine) -> list[tuple[str, int | None]]:
    views = [[(i.id, i.seq) for i in d.journal.set_aside()] for d in desks]
    assert all(v == views[0] for v in views), views
    return views[0]


def test_an_entry_no_desk_can_fold_is_set_aside_everywhere_and_sync_goes_on(
    make_desk: DeskFactory, store: LoopbackStore, clock: FakeClock
) -> None:
    a, b = make_desk("A"), make_desk("B")
    card = register(a.journal)
    a.round()
    now_ms = int(clock.now().timestamp() * 1000)
    seq = _plant(store, {}, "card.priority", card, now_ms)
    edit(a.journal, card, site="after the bad one")
    a.round()
    b.round()
    a.round()
    [(_, aside_seq)] = _same_aside(a, b)
    assert aside_seq == seq
    [item] = b.journal.set_aside()
    assert item.direction == "pulled" and "payload.priority is missing" in item.reason
    assert b.journal.card(card)["site"] == "after the bad one"  # the page went on
    for desk in (a, b):
        assert desk.journal.verify() == [] and desk.journal.integrity_check() == "ok"
        assert desk.status.set_aside == 1 and "1 set aside" in desk.status.summary()


def test_a_stored_entry_the_store_cannot_send_becomes_a_placeholder_on_upgrade(
    make_desk: DeskFactory, store: LoopbackStore, clock: FakeClock
) -> None:
    """A lone surrogate an older store kept made every pull answer 500 for good; after the
    upgrade's recheck it goes out as a placeholder with its reason."""
    a = make_desk("A")
    card = register(a.journal)
    a.round()
    now_ms = int(clock.now().timestamp() * 1000)
    _plant(store, {"text": "caf\udce9 au lait"}, "card.note", card, now_ms)
    _plant(store, {"text": "from 2100"}, "card.note", card, 4_102_444_800_000)
    with store.store.engine.begin() as conn:
        conn.execute(delete(store_meta).where(store_meta.c.key == META_KEY))
    assert recheck(store.store.engine, store.store.url) == 2
    b = make_desk("B")
    b.round()
    a.round()
    assert len(_same_aside(a, b)) == 2
    reasons = sorted(i.reason for i in b.journal.set_aside())
    assert reasons[0].startswith("the store set it aside: hlc was stamped")
    assert "not UTF-8" in reasons[1]
    fresh = register(b.journal)  # b's clock was not dragged to 2100
    registered = b.journal.entries(fresh)[0].at
    assert abs((registered - clock.now()).total_seconds()) < 1


@pytest.fixture
def live_store(tmp_path: Path) -> Iterator[LoopbackStore]:
    running = LoopbackStore(tmp_path / "store.sqlite")  # the system clock, like the CLI's
    yield running
    running.stop()


def test_refused_entries_are_listed_by_sync_status_until_discarded_with_a_reason(
    tmp_path: Path, live_store: LoopbackStore, memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str]
) -> None:
    desk = ["--journal", str(tmp_path / "desk.sqlite"), "--desk-code", "B"]
    other = ["--journal", str(tmp_path / "other.sqlite"), "--desk-code", "C"]
    for args, name in ((desk, "front"), (other, "back")):
        assert main([*args, "enroll", live_store.url, live_store.add_desk(name)]) == 0
    journal = Journal.open(tmp_path / "desk.sqlite", SystemClock())
    card = register(journal)
    ahead = FakeClock(SystemClock().now() + timedelta(minutes=20))  # the desk clock ran ahead
    journal.use_clock(ahead)
    edit(journal, card, site="stamped ahead")
    journal.close()
    assert main([*desk, "sync", "now"]) == 0
    capsys.readouterr()
    assert main([*desk, "sync", "status"]) == 0
    out = capsys.readouterr().out
    assert "1 refused by the store" in out and "nothing waiting" not in out
    assert "after the store's clock" in out

    assert main([*desk, "journal", "quarantine", "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)["set_aside"]
    assert item["direction"] == "refused" and item["resolved_at"] is None
    assert main([*desk, "journal", "quarantine", "discard", item["id"]]) == 1
    assert "--reason" in capsys.readouterr().err
    assert main([*desk, "journal", "quarantine", "discard", item["id"],
                 "--reason", "typed on a desk with a wrong clock"]) == 0
    assert main([*desk, "sync", "now"]) == 0
    assert main([*other, "sync", "now"]) == 0
    capsys.readouterr()
    assert main([*desk, "sync", "status"]) == 0
    assert "refused" not in capsys.readouterr().out
    seen = Journal.open(tmp_path / "other.sqlite", SystemClock())
    mine = Journal.open(tmp_path / "desk.sqlite", SystemClock())
    assert mine.card(card) == seen.card(card)  # the discarded edit left this desk's card too
    assert mine.card(card)["site"] is None and mine.verify() == []
    mine.close()
    [discarded] = seen.entries(SYNC_CARD)
    assert discarded.payload["entry"] == item["id"]
    assert discarded.payload["reason"] == "typed on a desk with a wrong clock"
    seen.close()
    assert main([*desk, "journal", "quarantine", "retry", item["id"]]) == 1
    assert "already resolved" in capsys.readouterr().err


def test_the_quarantine_listing_shows_hostile_text_escaped(
    make_desk: DeskFactory, store: LoopbackStore, clock: FakeClock,
    capsys: pytest.CaptureFixture[str]
) -> None:
    a = make_desk("A")
    card = register(a.journal)
    a.round()
    _plant(store, {"text": "x", "evil\x1b]52;c;aGk=\x07": 1}, "card.note", card,
           int(clock.now().timestamp() * 1000))
    a.round()
    [item] = a.journal.set_aside()
    shown = for_terminal(item.reason)
    assert "\x1b" not in shown and "\x07" not in shown
    assert main(["--journal", str(a.journal.path), "journal", "quarantine"]) == 0
    out = capsys.readouterr().out
    assert item.id in out and "\x1b" not in out and "unknown field" in out


def test_one_provider_event_recorded_by_two_desks_ends_as_one_entry_everywhere(
    make_desk: DeskFactory
) -> None:
    """Two desks reading one Twilio account both record a reply under the id derived from
    the provider's event; their copies differ (desk, stamp). The store keeps the first; the
    other desk takes the store's copy on its next pull, so no desk keeps its own version."""
    from app.models.entry import NewEntry, fact_id

    a, b = make_desk("A"), make_desk("B")
    card = register(a.journal)
    a.round()
    b.round()
    fact = fact_id("inbound:SM0123")
    ack = {"who": "L. Fischer", "how": "sms", "sid": "SM0123"}
    a.journal.write([NewEntry(card, "card.ack", ack, id=fact)], "ladder")
    b.journal.write([NewEntry(card, "card.ack", ack, id=fact)], "ladder")
    a.round()
    b.round()  # refused (another copy is stored), then the store's copy is pulled
    a.round()
    mine = {e.id: e for e in a.journal.all_entries()}
    theirs = {e.id: e for e in b.journal.all_entries()}
    assert mine == theirs and mine[fact].desk_id == a.journal.desk_id
    assert b.journal.set_aside_counts()["refused"] == 0
    [resolved] = b.journal.set_aside(include_resolved=True)
    assert "replaced ours" in (resolved.resolution or "")
    assert a.journal.card(card) == b.journal.card(card)
    assert b.journal.verify() == [] and b.journal.outbox_size() == 0
