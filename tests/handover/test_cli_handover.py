"""`dispatch-desk handover ...`, `breakglass`, `activity-log` and `card new --registered-at`
on a real journal (the desk's real clock: these run as a person would run them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.handover.conftest import pdf_pages, pdf_text


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_handover_commands(qapp: object, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    # `qapp` first: the command makes a bare QGuiApplication only when none exists, and a
    # process keeps its first one, so a later widget test in this session needs a QApplication.
    # A desk without operator accounts: the `operator` setting names the author.
    config = tmp_path / "settings.toml"
    config.write_text('operator = "M. Keller"\n', encoding="utf-8")
    j = ["--journal", str(tmp_path / "desk.sqlite"), "--config", str(config)]
    assert _run(capsys, *j, "demo")[0] == 0
    code, out, _ = _run(capsys, *j, "handover")
    assert code == 0 and "read back before accepting" in out
    critical = out.split("read back before accepting (*):")[1].split()
    assert critical

    pdf = tmp_path / "sheet.pdf"
    code, out, _ = _run(capsys, *j, "handover", "--out", str(pdf), "--paper", "letter")
    assert code == 0 and "(letter)" in pdf_pages(pdf)[1]
    assert all(n in pdf_text(pdf) for n in critical)

    code, _, err = _run(capsys, *j, "handover", "accept", "--incoming", "S. Yilmaz")
    assert code == 1 and "read back the critical card" in err
    code, out, _ = _run(capsys, *j, "handover", "edit", critical[0], "next_step", "Call", "ETA")
    assert code == 0
    code, out, _ = _run(capsys, *j, "handover", "accept", "--incoming", "S. Yilmaz",
                        "--read-back", *critical)
    assert code == 0 and "now owned by S. Yilmaz" in out
    code, out, _ = _run(capsys, *j, "handover", "status")
    assert "accepted" in out and "S. Yilmaz (accepted)" in out
    code, _, err = _run(capsys, *j, "handover", "override", "--reason", "late")
    assert code == 1 and "already accepted" in err

    code, out, _ = _run(capsys, *j, "breakglass", "--out", str(tmp_path / "bg.pdf"),
                        "--blank", "2")
    assert code == 0 and "2 blank cards" in out
    code, out, _ = _run(capsys, *j, "activity-log", "--out", str(tmp_path / "log.pdf"))
    assert code == 0 and "Handover ACCEPTED by S. Yilmaz" in pdf_text(tmp_path / "log.pdf")
    code, _, err = _run(capsys, *j, "handover", "--out", str(tmp_path / "no" / "x.pdf"))
    assert code == 1 and "does not exist" in err


def test_paper_card_from_the_command_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    j = ["--journal", str(tmp_path / "desk.sqlite")]
    card = ["card", "new", "--category", "power", "--site", "HQ", "--symptom", "UPS alarm",
            "--priority", "P2", "--reason", "UPS on battery", "--q-what", "UPS",
            "--q-where", "HQ", "--q-when", "now", "--q-workaround", "none", "--q-contact", "guard",
            "--json"]
    code, _, err = _run(capsys, *j, *card, "--registered-at", "26:00")
    assert code == 1 and "HH:MM" in err
    code, out, _ = _run(capsys, *j, *card, "--registered-at", "00:00")
    assert code == 0 and '"entered_late": true' in out
