"""`dispatch-desk report` through `app.cli.main`: the text summary and the CSV per card."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.cli.test_cli_cards import NEW, run

# A comma and quotes in a site: the csv module keeps it one cell.
SITE = 'Depot "North", gate 2'


def test_report_text_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "desk.sqlite"
    assert run(journal, *NEW) == 0
    assert run(journal, "card", "ack", "B-0001", "--who", "P. Braun") == 0
    assert run(journal, *NEW[:5], SITE, *NEW[6:]) == 0
    capsys.readouterr()
    out_csv = tmp_path / "cards.csv"
    assert run(journal, "report", "--csv", str(out_csv)) == 0
    text = capsys.readouterr().out
    assert ": 2 cards, 0 closed" in text
    assert "Reaction time: median 0 min, p90 0 min (1 acknowledged)" in text
    assert "Repeat incidents within 7 days: not recorded (no closure cause)" in text
    rows = list(csv.DictReader(out_csv.open(newline="", encoding="utf-8")))
    assert [r["number"] for r in rows] == ["B-0001", "B-0002"]
    assert rows[0]["priority"] == "P2" and rows[0]["reaction_min"] == "0"
    assert rows[0]["reaction"] == "met" and rows[1]["reaction_min"] == "not recorded"
    assert rows[1]["cause"] == "not recorded" and rows[1]["site"] == SITE


def test_report_rejects_a_backwards_period(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "desk.sqlite"
    assert run(journal, "report", "--from", "2026-11-25", "--to", "2026-11-23") == 1
    assert "starts (2026-11-25) after it ends" in capsys.readouterr().err
