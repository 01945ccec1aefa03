"""An entry the store refuses for rights is applied on no desk -- the pushing desk included.

Two real desks (journal files, sync engines) and the real store on a loopback port: an
observer's priority change is kept at the store, refused; the desk that pushed it takes it out
of its card (back to the old priority), lists it as refused with the reason, shows it on the
card's timeline, and a retry says to discard it; the other desk never had it; both desks hold
the same card."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from app.cli import main
from app.clock import FakeClock
from app.errors import ValidationError
from app.models.entry import NewEntry
from app.services.operators import PinHasher
from app.store.operators import StoreOperators
from app.sync.engine import SyncEngine
from app.sync.quarantine import refused_lines, retry
from tests.sync.conftest import DeskFactory
from tests.sync.loopback import LoopbackStore

CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)  # real Argon2id, test costs
PIN = "417209"


def staff(store: LoopbackStore, clock: FakeClock) -> None:
    admin = StoreOperators(store.store)
    for login, roles in (("boss", ["admin"]), ("obs", ["observer"]), ("disp", ["dispatcher"])):
        admin.add(login=login, name=login.title(), roles=roles, pin_hash=CHEAP.hash(PIN))
    clock.advance(1)  # the desks' entries come after the accounts


def sync(*engines: SyncEngine) -> None:
    for engine in (*engines, *engines):
        engine.round()


def register(desk: SyncEngine, who: str) -> str:
    card = str(uuid.uuid4())
    desk.journal.write([NewEntry(card, "card.registered", {
        "priority": "P3", "priority_reason": "one user", "fields": {"symptom": "no phone"}})],
        who)
    return card


def test_an_observers_priority_change_is_undone_on_the_desk_that_pushed_it(
        store: LoopbackStore, make_desk: DeskFactory, clock: FakeClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    staff(store, clock)
    a, b = make_desk("A"), make_desk("B")
    card = register(a, "disp")
    sync(a, b)
    # An old or hostile desk writes what the observer may not (the desk's own check would
    # have refused it; this one skipped it).
    [bad] = a.journal.write([NewEntry(card, "card.priority",
                                      {"priority": "P1", "reason": "I say so"})], "obs")
    assert a.journal.card(card)["priority"] == "P1"  # saved here until the store answers
    sync(a, b)

    assert a.journal.card(card)["priority"] == "P3"  # back to the old priority
    assert not a.journal.has_entry(bad.id) and not b.journal.has_entry(bad.id)
    assert b.journal.card(card)["priority"] == "P3"  # never had it
    assert a.journal.card(card) == b.journal.card(card)

    [mine] = a.journal.set_aside()
    assert (mine.id, mine.direction, mine.kind) == (bad.id, "refused", "card.priority")
    assert "refused: not authorised" in mine.reason and "change_priority" in mine.reason
    assert mine.seq is not None and mine.raw["payload"]["priority"] == "P1"  # kept whole
    assert a.status.refused_open == 1

    [line] = refused_lines(a.journal, card)
    assert line.title.startswith("refused: not authorised — changing a priority needs the "
                                 "right change_priority")
    assert "not applied: Priority" in line.detail and "P1" in line.detail and line.who == "obs"
    [theirs] = refused_lines(b.journal, card)
    assert theirs.title.startswith("refused: not authorised — changing a priority")

    with pytest.raises(ValidationError, match="discard it with a reason"):
        retry(a.journal, bad.id)
    assert a.journal.outbox_size() == 0  # not resent

    # The command line shows it on the card and lets it go with a reason.
    journal = ["--journal", str(a.journal.path)]
    number = a.journal.card(card)["number"]
    assert main(["card", "show", number, *journal]) == 0
    shown = capsys.readouterr().out
    assert "refused: not authorised — changing a priority" in shown and "P3" in shown
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PIN}\n"))
    assert main(["journal", "quarantine", "discard", bad.id, "--reason", "observer, no right",
                 "--login", "disp", "--pin-stdin", *journal]) == 0
    assert a.journal.set_aside() == []
    [after] = refused_lines(a.journal, card)
    assert "discarded by disp: observer, no right" in after.detail
    sync(a, b)
    assert a.journal.card(card) == b.journal.card(card)


def test_a_refusal_learned_from_a_pull_undoes_it_too(
        store: LoopbackStore, make_desk: DeskFactory, clock: FakeClock) -> None:
    """The push reply was lost (or another process pushed): the placeholder the pull brings
    back for our own entry takes it out of the card just the same."""
    staff(store, clock)
    a = make_desk("A")
    card = register(a, "disp")
    sync(a)
    [bad] = a.journal.write([NewEntry(card, "card.priority",
                                      {"priority": "P1", "reason": "mine"})], "obs")
    reply = a.client.push(clock.now(), [bad])  # the store refuses it; we drop the answer
    assert reply.results[0].status == "rejected"
    a.pull()
    assert a.journal.card(card)["priority"] == "P3" and not a.journal.has_entry(bad.id)
    [mine] = a.journal.set_aside()
    assert mine.direction == "refused" and mine.raw["payload"]["priority"] == "P1"


def test_a_refusal_for_an_old_shape_stays_applied_until_resolved(
        store: LoopbackStore, make_desk: DeskFactory, clock: FakeClock) -> None:
    """Only a refusal for rights takes an entry out of the card; one the store refused for
    other reasons can be fixed and resent (quarantine retry), as before."""
    staff(store, clock)
    a = make_desk("A")
    card = register(a, "disp")
    sync(a)
    from app.models.quarantine import REFUSED, from_raw

    [note] = a.journal.write([NewEntry(card, "card.note", {"text": "kept"})], "disp")
    a.journal.record_push({}, [from_raw(note.to_wire(), None, "the store refused it: "
                                        "unknown kind", REFUSED)])
    assert a.journal.has_entry(note.id)
    assert "back in the outbox" in retry(a.journal, note.id)


def test_the_window_shows_the_refusal_on_the_card_s_timeline(
        qtbot: object, store: LoopbackStore, make_desk: DeskFactory, clock: FakeClock) -> None:
    from app.bootstrap import build_desk
    from app.config import Settings
    from app.ui.card_view import CardView
    from app.ui.events import DeskEvents

    staff(store, clock)
    a, b = make_desk("A"), make_desk("B")
    card = register(a, "disp")
    a.journal.write([NewEntry(card, "card.priority", {"priority": "P1", "reason": "I say so"})],
                    "obs")
    sync(a, b)
    desk = build_desk(Settings(journal=a.journal.path).validated(), clock)
    try:
        view = CardView(desk, DeskEvents(clock))
        view.show_card(str(a.journal.card(card)["number"]))
        rows = [view.timeline.item(r, 2).text() for r in range(view.timeline.rowCount())]
        assert any(t.startswith("refused: not authorised — changing a priority") for t in rows)
    finally:
        desk.close()
