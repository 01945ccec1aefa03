"""The figures cache (app/services/measures/cache.py) never changes a figure: the report read
with it -- cold, warm, after a new entry on a closed card, after a policy change, later in
time, from a copy of the journal -- equals the report computed afresh from every entry
(conftest.report), on a real journal file with a fake clock."""

from __future__ import annotations

import marshal
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from app.clock import FakeClock
from app.models import measures_cache
from app.models.entry import NewEntry
from app.models.journal import Journal
from app.services.cards.card import Card
from app.services.cards.rules import DispatchRules, parse_rules
from app.services.cards.service import CardService
from app.services.measures import Report, as_json, build_report_rows, period_for, tables
from app.services.measures.cache import basis, cache_rows, decode, encode
from app.services.measures.metrics import day_metrics
from app.services.measures.period import to_us
from app.services.measures.reading import JournalRead, read_report
from tests.domain.test_sla import DEFAULT_TEXT

from .conftest import DISPATCHER, close, intake, ladder, report

MIN = timedelta(minutes=1)


def desk_report(path: Path, rules: DispatchRules, clock: FakeClock, first: date | None = None,
                last: date | None = None, *, write: bool = True) -> tuple[Report, JournalRead]:
    """As `dispatch-desk report` counts (app/cli/report.py): the reader with the cache, the
    report, then the closed cards' rows it computed written back."""
    now = clock.now()
    period = period_for(now, rules.tz, first, last)
    b = basis(rules)
    read = read_report(path, period.start, b)
    got, computed = build_report_rows(read.cards, read.facts, rules, period, now,
                                      read.reviews, read.cached)
    if write:
        measures_cache.store(path, cache_rows(computed, read.seqs, read.recorded, b,
                                              to_us(now)), read.generation)
    return got, read


def assert_same(got: Report, want: Report) -> None:
    assert got == want  # every field: every card's row, every share, every duration
    assert as_json(got) == as_json(want)
    assert tables(got) == tables(want)


def cached_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as con:
        return {r[0] for r in con.execute("SELECT card_id FROM measures_cache")}


def a_week_of_cards(cards: CardService, journal: Journal, clock: FakeClock) -> list[Card]:
    """Closed cards with every kind of fact (pages, a decline, a bounce, status messages, a
    review owed, a repeat) and one still open."""
    paged = cards.register(intake(), DISPATCHER)  # P1 network at HQ
    ladder(journal, paged, ("ladder.step", 1, {}), ("ladder.page", 1, {}))
    clock.advance(4 * MIN)
    cards.acknowledge(paged.number, "P. Braun", "sms", DISPATCHER)
    cards.post_status_message(paged.number, "on it", None, DISPATCHER)
    clock.advance(50 * MIN)
    close(cards, paged.number, "PSU failure")  # a P1: its review is owed
    declined = cards.register(intake(site="Depot", impact="medium"), DISPATCHER)
    ladder(journal, declined, ("ladder.step", 1, {}), ("ladder.declined", 1, {}),
           ("ladder.step", 2, {}))
    cards.update_fields(declined.number, {"category": "server"}, DISPATCHER)  # a bounce
    clock.advance(3 * 60 * MIN)  # recovery breached
    close(cards, declined.number)
    clock.advance(timedelta(days=2))
    again = cards.register(intake(), DISPATCHER)  # HQ network again: a repeat of `paged`
    clock.advance(20 * MIN)  # reaction breached
    close(cards, again.number, "PSU failure")
    still = cards.register(intake(site="Lab", impact="low", urgency="low"), DISPATCHER)
    clock.advance(30 * MIN)
    return [paged, declined, again, still]


def test_cold_warm_reopened_later_and_new_rules_all_equal_the_fresh_report(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    paged, declined, again, still = a_week_of_cards(cards, journal, clock)
    path = Path(journal.path)
    closed = {paged.id, declined.id, again.id}

    cold, read = desk_report(path, rules, clock)
    assert read.cached == [] and {c.id for c in read.cards} == closed | {still.id}
    assert_same(cold, report(journal, rules, clock))
    assert cached_ids(path) == closed  # the open card is never kept: it runs with `now`
    assert cold.repeats[0].number == again.number and cold.escalated_declined == 1

    warm, read = desk_report(path, rules, clock)
    assert {r.id for r in read.cached} == closed and [c.id for c in read.cards] == [still.id]
    assert_same(warm, report(journal, rules, clock))

    # A new entry on a closed card (another desk's status change that had not seen the
    # close: the card is worked on again), and a late note on another.
    journal.write([NewEntry(paged.id, "card.status", {"status": "in_progress",
                                                      "from": "closed"})], "J. Weber")
    cards.add_note(declined.number, "vendor report arrived", DISPATCHER)
    assert cached_ids(path) == {again.id}  # their rows went with the new entries
    reopened, read = desk_report(path, rules, clock)
    assert {r.id for r in read.cached} == {again.id}
    assert {c.id for c in read.cards} == {paged.id, declined.id, still.id}
    assert_same(reopened, report(journal, rules, clock))
    assert reopened.reopened == 1 and reopened != warm
    assert cached_ids(path) == {declined.id, again.id}  # `paged` is open again

    clock.advance(timedelta(days=6))  # the week moves on (`declined`'s review is overdue)
    later, read = desk_report(path, rules, clock)
    assert {r.id for r in read.cached} == {declined.id, again.id}
    assert_same(later, report(journal, rules, clock))
    close(cards, paged.number, "PSU failure")
    desk_report(path, rules, clock)  # keeps its row
    clock.advance(timedelta(days=8))  # `paged`'s too, counted from its cached row
    overdue, read = desk_report(path, rules, clock, date(2026, 11, 23), date(2026, 12, 10))
    assert paged.id in {r.id for r in read.cached}
    assert_same(overdue, report(journal, rules, clock, date(2026, 11, 23), date(2026, 12, 10)))
    assert [r.number for r in overdue.reviews_overdue] == [paged.number, declined.number,
                                                           again.number]
    assert paged.number not in [r.number for r in later.reviews_overdue]  # it was open

    stricter = parse_rules(DEFAULT_TEXT.replace('reaction = "10m"', 'reaction = "2m"', 1))
    assert basis(stricter) != basis(rules)
    changed, read = desk_report(path, stricter, clock, date(2026, 11, 23), date(2026, 12, 10))
    assert read.cached == []  # rows of the old rules are not used
    fresh = report(journal, stricter, clock, date(2026, 11, 23), date(2026, 12, 10))
    assert_same(changed, fresh)
    assert changed.breaches["reaction"]["P1"] != overdue.breaches["reaction"]["P1"]
    again_strict, read = desk_report(path, stricter, clock, date(2026, 11, 23),
                                     date(2026, 12, 10))
    assert len(read.cached) == 3
    assert_same(again_strict, fresh)


def test_today_from_the_cache_is_what_the_wallboard_shows(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    a_week_of_cards(cards, journal, clock)
    path = Path(journal.path)
    today = clock.now().astimezone(rules.tz).date()
    desk_report(path, rules, clock, today, today)
    got, read = desk_report(path, rules, clock, today, today)
    assert read.cached  # the closed cards of today came from the cache
    board = day_metrics(cards.all_cards(), rules, clock.now())
    for p in ("P1", "P2", "P3", "P4"):
        share = got.breaches["reaction"][p] + got.breaches["recovery"][p]
        assert (board.compliance[p].met, board.compliance[p].decided) == (share.met,
                                                                        share.decided)
    assert (board.reaction_median, board.reaction_p90) == (got.reaction_median,
                                                           got.reaction_p90)


def test_an_entry_taken_out_or_replaced_drops_the_card_s_row_and_stale_rows_are_not_written(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    paged, declined, again, _ = a_week_of_cards(cards, journal, clock)
    path = Path(journal.path)
    _, read = desk_report(path, rules, clock)
    assert cached_ids(path) == {paged.id, declined.id, again.id}
    with sqlite3.connect(path) as con:  # what the sync's bookkeeping and repairs do
        con.execute("UPDATE entries SET server_seq = 7 WHERE card_id = ?", (paged.id,))
        assert cached_ids(path) == {paged.id, declined.id, again.id}  # not a change
        con.execute("UPDATE entries SET payload = payload WHERE card_id = ? AND kind = "
                    "'ladder.page'", (paged.id,))  # a copy replaced in place
        first = con.execute("SELECT min(seq) FROM entries WHERE card_id = ?",
                            (declined.id,)).fetchone()[0]
        con.execute("DELETE FROM entries WHERE seq = ?", (first + 1,))  # one taken out
    assert cached_ids(path) == {again.id}
    # The rows computed from the read before those repairs are not written: the generation
    # the triggers moved is not the one they were read at.
    stale = rows_to_keep(read, rules, clock)
    assert len(stale) == 3
    assert measures_cache.store(path, stale, read.generation) == 0
    assert cached_ids(path) == {again.id}
    # Nor is the row of a card that had an entry after it was read.
    measures_cache.clear(path)
    _, cold = desk_report(path, rules, clock, write=False)
    rows = rows_to_keep(cold, rules, clock)
    cards.add_note(again.number, "late", DISPATCHER)
    assert measures_cache.store(path, rows, cold.generation) == 2
    assert cached_ids(path) == {paged.id, declined.id}


def rows_to_keep(read: JournalRead, rules: DispatchRules, clock: FakeClock
                 ) -> list[measures_cache.CacheRow]:
    now = clock.now()
    computed = build_report_rows(read.cards, read.facts, rules, period_for(now, rules.tz),
                                 now, read.reviews, read.cached)[1]
    return cache_rows(computed, read.seqs, read.recorded, basis(rules), to_us(now))


def test_a_copy_of_the_journal_reports_from_the_cache_it_carries(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock,
    tmp_path: Path
) -> None:
    a_week_of_cards(cards, journal, clock)
    path = Path(journal.path)
    desk_report(path, rules, clock)
    copy = tmp_path / "copy" / "desk.sqlite"
    copy.parent.mkdir()
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    got, read = desk_report(copy, rules, clock, write=False)  # read-only: nothing written
    assert len(read.cached) == 3
    assert_same(got, report(journal, rules, clock))


def test_a_row_reads_back_exactly_and_a_damaged_one_is_computed(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    a_week_of_cards(cards, journal, clock)
    got = report(journal, rules, clock)
    for row in got.cards:
        back = decode(encode(row))
        assert back is not None
        assert back == row._replace(repeat_of=None, repeat_via="", review="")
    assert decode(b"not marshal") is None
    assert decode(marshal.dumps((1, 2, 3))) is None
    with sqlite3.connect(journal.path) as con:
        desk_report(Path(journal.path), rules, clock)
        con.execute("UPDATE measures_cache SET figures = x'00'")
    again, read = desk_report(Path(journal.path), rules, clock)
    assert read.cached == []
    assert_same(again, got)
    assert basis(rules) == basis(parse_rules(DEFAULT_TEXT))  # the same rules, the same basis


def test_without_its_triggers_the_cache_is_neither_read_nor_written(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    a_week_of_cards(cards, journal, clock)
    path = Path(journal.path)
    desk_report(path, rules, clock)
    with sqlite3.connect(path) as con:
        con.execute("DROP TRIGGER measures_cache_entry_added")
    got, read = desk_report(path, rules, clock)
    assert read.cached == []
    assert_same(got, report(journal, rules, clock))
    measures_cache.clear(path)
    desk_report(path, rules, clock)
    assert cached_ids(path) == set()
