"""Every figure of the measures on a hand-built journal with known answers (a fake clock).
Cards are network P1 at HQ unless they say so: reaction 10 min, recovery 2 h, a status
update every 30 min, 24/7."""

from __future__ import annotations

from datetime import date, timedelta

from app.clock import FakeClock
from app.models.journal import Journal
from app.services.cards.rules import DispatchRules
from app.services.cards.service import CardService
from app.services.measures import summary_lines, tables
from app.services.measures.metrics import day_metrics

from .conftest import DISPATCHER, close, intake, ladder, report

MIN = timedelta(minutes=1)


def test_reaction_median_p90_and_max_on_known_data(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    made = [cards.register(intake(site=f"Site {n}"), DISPATCHER) for n in range(1, 11)]
    for card in made:  # the n-th card is acknowledged n minutes in
        clock.advance(MIN)
        cards.acknowledge(card.number, "P. Braun", "phone", DISPATCHER)
    r = report(journal, rules, clock)
    stats = r.durations["reaction"]
    # Nearest rank over 1..10 min: median the 5th, p90 the ceil(9.0) = 9th, max the 10th.
    assert (stats.count, stats.median, stats.p90, stats.max) == (10, 5 * MIN, 9 * MIN, 10 * MIN)
    assert r.durations["acknowledgement"] == stats
    assert r.breaches["reaction"]["P1"].decided == 10  # 10 min is met: at the deadline
    assert r.breaches["reaction"]["P1"].breached == 0
    assert list(r.reaction_values) == [n * MIN for n in range(1, 11)]
    assert r.durations["first_page"].count == 0
    assert "First page time: median not recorded" in "\n".join(summary_lines(r))


def test_time_to_first_page_and_unattended(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    paged = cards.register(intake(site="A"), DISPATCHER)
    assigned = cards.register(intake(site="B"), DISPATCHER)
    nobody = cards.register(intake(site="C"), DISPATCHER)
    clock.advance(2 * MIN)
    ladder(journal, paged, ("ladder.step", 1, {}), ("ladder.page", 1, {}))
    clock.advance(5 * MIN)  # 7 min in
    cards.update_fields(assigned.number, {"assignee": "L. Fischer"}, DISPATCHER)
    clock.advance(4 * MIN)  # 11 min in
    cards.acknowledge(paged.number, "P. Braun", "sms", DISPATCHER)
    clock.advance(9 * MIN)  # 20 min in: `nobody` is still unattended
    rows = {f.number: f for f in report(journal, rules, clock).cards}
    assert rows[paged.number].time("first_page") == 2 * MIN
    assert rows[paged.number].time("unattended") == 11 * MIN
    assert rows[assigned.number].time("unattended") == 7 * MIN
    assert rows[assigned.number].time("reaction") is None  # an assignee is not a reaction
    assert rows[nobody.number].time("unattended") == 20 * MIN
    stats = report(journal, rules, clock).durations["unattended"]
    assert (stats.median, stats.max) == (11 * MIN, 20 * MIN)


def test_repeat_at_6_days_23_hours_and_not_at_7_days_1_hour(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    first = cards.register(intake(site="Depot"), DISPATCHER)
    close(cards, first.number, "fan failure")
    clock.advance(timedelta(days=6, hours=23))
    inside = cards.register(intake(site="Depot"), DISPATCHER)  # same site and category
    clock.advance(MIN)
    parallel = cards.register(intake(site="Depot"), DISPATCHER)  # while `inside` is open
    clock.advance(MIN)
    close(cards, inside.number, "cable cut")
    by_cause = cards.register(intake(site="Depot", category="server"), DISPATCHER)
    close(cards, by_cause.number, "Cable cut")  # another category, the same cause
    elsewhere = cards.register(intake(site="HQ"), DISPATCHER)
    clock.advance(timedelta(days=7, hours=1) - 2 * MIN)  # 7 d 1 h after `inside`
    late = cards.register(intake(site="Depot"), DISPATCHER)
    close(cards, late.number, "fan failure")
    r = report(journal, rules, clock, first=date(2026, 11, 23))
    assert {f.number: f.repeat_of for f in r.cards} == {
        first.number: None, inside.number: first.number,
        # not of `inside`, still open when it came; of `first`, 6 d 23 h 01 before
        parallel.number: first.number,
        by_cause.number: inside.number, elsewhere.number: None, late.number: None}
    assert r.repeats_by_cause == {"Cable cut": 1}
    assert [row[0] for row in tables(r)["repeats"][1]] == [inside.number, parallel.number,
                                                         by_cause.number]


def test_a_busy_mixed_day_flags_only_the_real_repeats(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    """A busy day at two sites: every site and category comes up more than once, and only
    the same thing failing again after it was fixed is a repeat -- not the other
    workstation, not the nightly planned work, not a second report while the first is open."""
    def card(site: str, category: str, equipment: str, kind: str = "emergency",
             cause: str | None = "unknown", keep_open: bool = False) -> str:
        made = cards.register(intake(site=site, category=category, equipment=equipment,
                                     kind_of_work=kind), DISPATCHER)
        clock.advance(20 * MIN)
        if not keep_open:
            close(cards, made.number, cause or "unknown")
        clock.advance(10 * MIN)
        return made.number

    ws_1 = card("HQ", "workstation", "PC-0101")
    card("HQ", "workstation", "PC-0102")  # another desk's PC: not a repeat
    card("HQ", "network", "core switch", cause="PSU failure")
    planned = [card("HQ", "server", "VM host 1", kind="planned") for _ in range(3)]
    open_ = card("Depot", "power", "UPS 1", keep_open=True)
    card("Depot", "power", "UPS 1")  # while the first is still open: an extra report
    card("Depot", "printing", "Printer 3")
    card("Depot", "hvac", "AHU 2")
    ws_again = card("HQ", "workstation", "PC-0101")  # the same PC again: a repeat
    psu = card("HQ", "server", "VM host 2", cause="psu failure")  # another category, no
    switch_again = card("HQ", "security", "core switch", cause="PSU failure")  # same cause
    edge = card("Depot", "network", "edge switch")
    unnamed = card("Depot", "network", "")  # what stopped not recorded: the site's network
    r = report(journal, rules, clock)
    flagged = {f.number: (f.repeat_of, f.repeat_via) for f in r.repeats}
    assert flagged == {ws_again: (ws_1, "category"), switch_again: (r.cards[2].number, "cause"),
                       unnamed: (edge, "category")}
    assert len(r.repeats) < len(r.cards) / 4
    assert psu not in flagged and open_ not in flagged
    assert not set(planned) & set(flagged)


def test_a_bounce_and_a_reopened_card(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    moved = cards.register(intake(), DISPATCHER)
    cards.update_fields(moved.number, {"category": "server"}, DISPATCHER)
    cards.update_fields(moved.number, {"category": "server", "room": "0.13"}, DISPATCHER)
    relapsed = cards.register(intake(site="Depot"), DISPATCHER)
    cards.change_status(relapsed.number, "restored", DISPATCHER)
    cards.change_status(relapsed.number, "in_progress", DISPATCHER)
    r = report(journal, rules, clock)
    rows = {f.number: f for f in r.cards}
    assert (rows[moved.number].bounces, rows[relapsed.number].bounces) == (1, 0)
    assert (rows[moved.number].reopened, rows[relapsed.number].reopened) == (0, 1)
    assert (r.bounced_cards, r.bounces, r.classification_accuracy, r.reopened) == (1, 1, 0.5, 1)
    assert "Reopened after Restored or Closed: 1 cards" in summary_lines(r)


def test_escalations_past_tier_1_and_why(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    stayed = cards.register(intake(site="A"), DISPATCHER)
    ladder(journal, stayed, ("ladder.step", 1, {}), ("ladder.reply", 1, {"body": "no"}))
    declined = cards.register(intake(site="B"), DISPATCHER)
    ladder(journal, declined, ("ladder.step", 1, {}),
           ("ladder.reply", 1, {"body": "Decline, at another job"}), ("ladder.step", 2, {}))
    rejected = cards.register(intake(site="C"), DISPATCHER)
    ladder(journal, rejected, ("ladder.step", 1, {}),
           ("ladder.call_result", 1, {"outcome": "busy"}), ("ladder.step", 2, {}))
    unreachable = cards.register(intake(site="D"), DISPATCHER)
    ladder(journal, unreachable, ("ladder.step", 1, {}), ("ladder.unreachable", 1, {}),
           ("ladder.reply", 2, {"body": "no"}), ("ladder.step", 2, {}), ("ladder.step", 3, {}))
    silent = cards.register(intake(site="E"), DISPATCHER)
    ladder(journal, silent, ("ladder.step", 1, {}), ("ladder.call_result", 1,
                                                     {"outcome": "no-answer"}),
           ("ladder.step", 2, {}), ("ladder.step", 3, {}), ("ladder.step", 4, {}))
    cards.register(intake(site="F"), DISPATCHER)  # never paged
    r = report(journal, rules, clock)
    assert [f.escalation for f in r.cards] == ["", "declined", "declined", "unavailable",
                                               "no answer", ""]
    assert (r.escalated, r.escalated_unavailable, r.escalated_declined,
            r.escalated_no_answer) == (4, 1, 2, 1)
    assert r.depth == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1}
    text = summary_lines(r)
    assert "Escalated past tier 1: 4; because the on-call person was unavailable: 3; " \
           "no answer: 1" in text
    assert "  unavailable: unreachable or page failed 1, declined 2" in text


def test_a_recorded_decline_counts_as_the_on_call_person_unavailable(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    """`ladder.declined` (reply `<code> d`, key 6): the paged person can't, the next tier
    is paged at once. The escalation is "because the on-call person was unavailable"."""
    from pathlib import Path

    from app.services.measures import card_facts
    from app.services.measures.reading import read_journal

    declined = cards.register(intake(site="A"), DISPATCHER)
    ladder(journal, declined, ("ladder.step", 1, {}), ("ladder.page", 1, {}),
           ("ladder.declined", 1, {"who": "P. Braun", "how": "sms", "reason": "at a job"}),
           ("ladder.step", 2, {}))
    top = cards.register(intake(site="B"), DISPATCHER)  # declined at the top tier reached
    ladder(journal, top, ("ladder.step", 1, {}), ("ladder.declined", 1, {"how": "voice"}))
    silent = cards.register(intake(site="C"), DISPATCHER)
    ladder(journal, silent, ("ladder.step", 1, {}), ("ladder.step", 2, {}))
    r = report(journal, rules, clock)
    assert [f.escalation for f in r.cards] == ["declined", "", "no answer"]
    assert (r.escalated, r.escalated_declined, r.escalated_unavailable,
            r.escalated_on_call_unavailable, r.escalated_no_answer) == (2, 1, 0, 1, 1)
    assert "Escalated past tier 1: 2; because the on-call person was unavailable: 1; " \
           "no answer: 1" in summary_lines(r)
    assert tables(r)["escalation_reasons"][1] == [
        ["unavailable: unreachable or page failed", "0"], ["unavailable: declined", "1"],
        ["no answer", "1"]]
    # The command line's reader gives the same facts as the fold over every entry.
    _, fast, _ = read_journal(Path(journal.path))
    assert fast[declined.id] == card_facts(journal.entries(declined.id))
    assert fast[declined.id].declined_tiers == frozenset({1})


def test_status_updates_on_time(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    card = cards.register(intake(), DISPATCHER)  # an update due every 30 min
    clock.advance(20 * MIN)
    cards.post_status_message(card.number, "diagnostics in progress", None, DISPATCHER)
    clock.advance(40 * MIN)  # 60 min in: the one due at 50 was missed
    cards.post_status_message(card.number, "vendor on site", clock.now() + 15 * MIN,
                              DISPATCHER)
    clock.advance(10 * MIN)  # 70 min in: on time for the 75-minute promise
    cards.post_status_message(card.number, "switch replaced", None, DISPATCHER)
    clock.advance(5 * MIN)
    cards.change_status(card.number, "restored", DISPATCHER)  # the cadence ends at 75 min
    clock.advance(3 * 60 * MIN)
    r = report(journal, rules, clock)
    row = r.cards[0]
    assert (row.update_met, row.update_missed) == (2, 1)
    assert (r.messages.met, r.messages.decided) == (2, 3)
    assert "Status updates on time: 2 of 3 deadlines (67%)" in summary_lines(r)


def test_a_clock_counts_on_the_day_it_is_decided_and_the_wallboard_agrees(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    clock.advance(timedelta(hours=13, minutes=55))  # 23:55 Monday in Berlin
    late = cards.register(intake(), DISPATCHER)  # reaction due 00:05 Tuesday
    quick = cards.register(intake(site="Depot"), DISPATCHER)
    clock.advance(2 * MIN)
    cards.acknowledge(quick.number, "P. Braun", "phone", DISPATCHER)  # met on Monday
    monday = report(journal, rules, clock, first=date(2026, 11, 23), last=date(2026, 11, 23))
    clock.advance(20 * MIN)  # 00:17 Tuesday: `late`'s reaction breached at 00:05
    both = report(journal, rules, clock, first=date(2026, 11, 23), last=date(2026, 11, 23))
    tuesday = report(journal, rules, clock, first=date(2026, 11, 24), last=date(2026, 11, 24))
    assert monday.breaches["reaction"]["P1"] == both.breaches["reaction"]["P1"]
    assert (both.breaches["reaction"]["P1"].breached,
            both.breaches["reaction"]["P1"].decided) == (0, 1)
    assert (tuesday.breaches["reaction"]["P1"].breached,
            tuesday.breaches["reaction"]["P1"].decided) == (1, 1)
    assert len(tuesday.cards) == 0 and len(both.cards) == 2  # rows: cards registered
    board = day_metrics(cards.all_cards(), rules, clock.now())  # the wallboard's today
    share = tuesday.breaches["reaction"]["P1"] + tuesday.breaches["recovery"]["P1"]
    assert (board.compliance["P1"].met, board.compliance["P1"].decided) == (share.met,
                                                                          share.decided)
    assert board.reaction_median == tuesday.reaction_median is None
    assert late.number not in [f.number for f in tuesday.cards]


def test_the_fast_reader_gives_the_same_facts_as_the_whole_timeline(
    cards: CardService, journal: Journal, clock: FakeClock
) -> None:
    from pathlib import Path

    from app.services.measures import card_facts
    from app.services.measures.reading import read_journal

    made = [cards.register(intake(site=site), DISPATCHER) for site in "ABC"]
    ladder(journal, made[0], ("ladder.step", 1, {}), ("ladder.page", 1, {}),
           ("ladder.reply", 1, {"body": "decline"}), ("ladder.step", 2, {"unreachable": "x"}))
    clock.advance(MIN)
    ladder(journal, made[0], ("ladder.page", 2, {}))
    cards.update_fields(made[1].number, {"category": "server", "assignee": "L. Fischer"},
                        DISPATCHER)
    cards.post_status_message(made[2].number, "on it", clock.now() + 5 * MIN, DISPATCHER)
    cards.change_status(made[2].number, "restored", DISPATCHER)
    cards.change_status(made[2].number, "in_progress", DISPATCHER)
    _, fast, _ = read_journal(Path(journal.path))
    for card in made:
        assert fast[card.id] == card_facts(journal.entries(card.id)), card.number


def test_the_reader_narrowed_to_a_week_gives_the_whole_journal_s_figures(
    cards: CardService, journal: Journal, rules: DispatchRules, clock: FakeClock
) -> None:
    """`read_journal(path, since)` reads the entries of the cards open or closed since the
    period's start only; the week's report is the same as from every entry."""
    from pathlib import Path

    from app.services.measures import as_json, build_report, period_for
    from app.services.measures.reading import read_journal

    old = cards.register(intake(site="Depot"), DISPATCHER)  # closed two weeks before
    ladder(journal, old, ("ladder.step", 1, {}), ("ladder.step", 2, {}))
    close(cards, old.number, "fan failure")
    minor = cards.register(intake(site="Depot", impact="low", urgency="low"), DISPATCHER)
    close(cards, minor.number)  # a P4 long closed, no review owed: not read at all
    clock.advance(timedelta(days=14))
    before = cards.register(intake(site="HQ"), DISPATCHER)  # open into the week
    ladder(journal, before, ("ladder.step", 1, {}), ("ladder.page", 1, {}))
    clock.advance(timedelta(days=2))
    new = cards.register(intake(site="Depot"), DISPATCHER)
    ladder(journal, new, ("ladder.step", 1, {}), ("ladder.declined", 1, {}),
           ("ladder.step", 2, {}))
    cards.post_status_message(new.number, "on it", None, DISPATCHER)
    clock.advance(10 * MIN)
    close(cards, new.number, "fan failure")
    now = clock.now()
    period = period_for(now, rules.tz)  # the last 7 days
    path = Path(journal.path)
    narrow = read_journal(path, period.start)
    whole = read_journal(path)
    assert old.id not in narrow[1] and old.id in whole[1]  # its entries were left out
    assert minor.id not in {c.id for c in narrow[0]}
    assert {old.id, minor.id} <= {c.id for c in whole[0]}
    got, want = (build_report(c, f, rules, period, now, r) for c, f, r in (narrow, whole))
    assert as_json(got) == as_json(want)
    assert (got.escalated, got.escalated_declined, len(got.cards)) == (1, 1, 2)
