"""Two desks that each took the same alert through their own door, then exchanged entries the
way a pull applies them: both show one item with both counts, and a card accepted on one
desk takes the other desk's later repeats."""

from __future__ import annotations

from pathlib import Path

from app.clock import FakeClock
from app.models.entry import Entry
from app.models.journal import Journal
from tests.intake.helpers import T0, alert, desk_at


def exchange(a: Journal, b: Journal) -> None:
    """Give each journal the other's entries, as the store's pull would."""
    mine_a: list[Entry] = list(a.all_entries())
    mine_b: list[Entry] = list(b.all_entries())
    a.apply_remote([e for e in mine_b if not a.has_entry(e.id)])
    b.apply_remote([e for e in mine_a if not b.has_entry(e.id)])


def test_both_desks_fold_the_same_tray(tmp_path: Path):
    clock = FakeClock(T0)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = desk_at(tmp_path / "a" / "journal.sqlite", clock)
    two = desk_at(tmp_path / "b" / "journal.sqlite", clock)
    try:
        one.intake.receive([alert(clock, integration="am-store")], "store door")
        clock.advance(2)
        two.intake.receive([alert(clock, integration="am-local")], "local door")
        two.intake.receive([alert(clock, integration="am-local")], "local door")
        exchange(one.journal, two.journal)
        (left,), (right,) = one.intake.pending(), two.intake.pending()
        assert left == right and left.count == 3 and left.integration == "am-store"

        card = one.intake.accept(left.id, {"q_workaround": "none", "q_contact": "NOC"},
                                 one.operator)
        exchange(one.journal, two.journal)
        clock.advance(60)
        (outcome,) = two.intake.receive([alert(clock, integration="am-local")], "local door")
        assert (outcome.action, outcome.number) == ("card", card.number)
        exchange(one.journal, two.journal)
        assert one.intake.item(left.id) == two.intake.item(left.id)
        assert one.intake.item(left.id).count == 4
        assert [e.kind for e in one.journal.entries(card.id)][-1] == "card.note"
    finally:
        one.close()
        two.close()
