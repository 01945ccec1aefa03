"""`dispatch-desk report` and `dispatch-desk server report` through `app.cli.main`, on real
journal files and a real store database: every table as CSV, JSON, a site, the review
commands, and the store's report matching the desk's."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.cli import main
from app.clock import SystemClock
from app.models.journal import Journal
from app.store.enrol import DeskRecord
from app.store.storage import Store
from tests.cli.test_cli_cards import NEW, run

TABLES = {"breaches", "durations", "weeks", "categories", "escalation_depth",
          "escalation_reasons", "repeats", "reviews_overdue", "cards"}


@pytest.fixture
def desk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Three cards: B-0001 (P2 HQ) acknowledged, B-0002 (P1 Depot) closed, B-0003 open."""
    journal = tmp_path / "desk.sqlite"
    assert run(journal, *NEW) == 0
    assert run(journal, "card", "ack", "B-0001", "--who", "P. Braun") == 0
    p1 = [*NEW[:5], "Depot", *NEW[6:11], "high", *NEW[12:]]
    assert run(journal, *p1) == 0
    assert run(journal, "card", "status", "B-0002", "restored") == 0
    assert run(journal, "card", "status", "B-0002", "closed", "--cause", "PSU", "--workaround",
               "spare", "--fix", "new PSU", "--lessons", "stock PSUs", "--confirmed-by",
               "J. Weber") == 0
    assert run(journal, *NEW) == 0
    capsys.readouterr()
    return journal


def test_every_table_as_csv_and_the_figures_as_json(
        desk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "tables"
    assert run(desk, "report", "--csv", str(folder), "--json") == 0
    out = capsys.readouterr().out
    figures = json.loads(out[:out.rindex("}") + 1])
    assert (figures["cards"], figures["closed"]) == (3, 1)
    assert figures["durations_min"]["reaction"]["count"] == 2  # the ack, and the closing
    assert {p.stem for p in folder.iterdir()} == TABLES
    rows = list(csv.DictReader((folder / "cards.csv").open(newline="", encoding="utf-8")))
    assert [r["number"] for r in rows] == ["B-0001", "B-0002", "B-0003"]
    assert rows[1]["review"] == "owed" and rows[1]["status"] == "closed"
    assert rows[2]["unattended_min"] == "0" and rows[2]["reaction_min"] == "not recorded"
    assert run(desk, "report", "--site", "depot", "--json") == 0
    assert json.loads(capsys.readouterr().out)["cards"] == 1
    assert run(desk, "report", "--site", " ") == 1
    assert "--site needs a site name" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--csv", "--out"])
def test_a_missing_folder_is_one_line_before_any_output(
        desk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str) -> None:
    target = tmp_path / "no-such-folder" / ("tables" if option == "--csv" else "r.pdf")
    assert run(desk, "report", option, str(target)) == 1
    said = capsys.readouterr()
    assert said.out == ""  # not the whole report first
    assert said.err.strip().splitlines() == [
        f"dispatch-desk: error: {option}: folder {target.parent} does not exist; make it "
        "first or name another"]


def test_card_review_and_review_done(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(desk, "card", "review", "B-0001", "--summary", "x", "--measure", "y",
               "--owner", "M. Keller", "--due", "2099-01-01") == 1
    assert "not closed yet" in capsys.readouterr().err
    assert run(desk, "card", "review", "B-0002", "--summary", "PSU failed under load",
               "--measure", "Replace the PSUs in rack 4", "--measure", "Alarm on PSU state",
               "--owner", "M. Keller", "--due", "2099-01-01") == 0
    assert "review of B-0002 recorded: 2 measure(s), owner M. Keller" in capsys.readouterr().out
    assert run(desk, "card", "review-done", "B-0002", "1") == 0
    assert "measure 1 of B-0002 done; 1 still open" in capsys.readouterr().out
    assert run(desk, "card", "review-done", "B-0002", "3") == 1
    assert "measures 1 to 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse refuses the date before anything is read
        run(desk, "card", "review", "B-0002", "--summary", "s", "--owner", "o", "--due",
            "01.01.2099")
    assert "is not a date" in capsys.readouterr().err


def test_the_store_report_folds_the_same_cards(
        desk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    journal = Journal.open(desk, SystemClock())
    try:
        made = list(journal.all_entries())
        desk_id = journal.desk_id
    finally:
        journal.close()
    store = Store(url)
    try:
        assert store.append_own(made, DeskRecord(desk_id, "desk B", "B")) == len(made)
    finally:
        store.close()
    assert run(desk, "report", "--json") == 0
    at_desk = json.loads(capsys.readouterr().out)
    assert main(["server", "report", "--db", url, "--json"]) == 0
    at_store = json.loads(capsys.readouterr().out)
    for figures in (at_desk, at_store):
        figures.pop("now")
    assert at_store == at_desk


def test_the_second_report_reads_the_closed_card_from_the_figures_cache(
        desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`dispatch-desk report` keeps the closed card's figures in the journal; the next
    report reads them from there and says the same; `--no-cache` computes every card."""
    import sqlite3

    def figures(*extra: str) -> dict[str, object]:
        assert run(desk, "report", "--json", *extra) == 0
        got = json.loads(capsys.readouterr().out)
        got.pop("now")
        return dict(got)

    first = figures()
    with sqlite3.connect(desk) as con:
        numbers = [r[0] for r in con.execute(
            "SELECT c.number FROM measures_cache m JOIN cards c ON c.id = m.card_id")]
    assert numbers == ["B-0002"]  # the closed one; the open ones run with the clock
    assert figures() == first
    assert figures("--no-cache") == first
    assert run(desk, "card", "note", "B-0002", "vendor report arrived") == 0
    capsys.readouterr()
    with sqlite3.connect(desk) as con:  # the new entry took the row out
        assert con.execute("SELECT count(*) FROM measures_cache").fetchone()[0] == 0
    assert figures() == first
