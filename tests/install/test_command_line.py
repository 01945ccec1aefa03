"""What a newcomer types first: global options after the subcommand, the demo's one journal,
and a desk started with no display saying so in one line instead of Qt aborting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.cli import build_parser, main
from app.errors import DeskError
from app.ui.launch import check_display, demo_journal_path


def test_global_options_are_taken_after_the_subcommand_too() -> None:
    parser = build_parser()
    after = parser.parse_args(["card", "list", "--journal", "j.sqlite", "--open"])
    assert after.journal == Path("j.sqlite") and after.open
    before = parser.parse_args(["--journal", "a.sqlite", "--login", "novak", "card", "list"])
    assert before.journal == Path("a.sqlite") and before.signin_login == "novak"
    both = parser.parse_args(["--journal", "a.sqlite", "demo", "--journal", "b.sqlite"])
    assert both.journal == Path("b.sqlite")  # the one nearer the command wins
    nested = parser.parse_args(["server", "add-desk", "North 2", "--config", "s.toml"])
    assert nested.config == Path("s.toml") and nested.journal is None


def test_a_command_with_the_journal_after_it_uses_that_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "demo.sqlite"
    assert main(["demo", "--journal", str(journal)]) == 0
    capsys.readouterr()
    assert main(["card", "list", "--journal", str(journal), "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)
    assert len(cards) > 5  # the demo's cards, not "no cards" from the default journal
    assert main(["journal", "verify", "--journal", str(journal)]) == 0


def test_the_demo_journal_is_one_stable_file() -> None:
    assert demo_journal_path() == demo_journal_path()
    assert demo_journal_path().name == "demo.sqlite"


def test_no_display_is_one_line_not_an_abort() -> None:
    with pytest.raises(DeskError, match="QT_QPA_PLATFORM=offscreen"):
        check_display({})
    check_display({"DISPLAY": ":0"})
    check_display({"WAYLAND_DISPLAY": "wayland-0"})
    check_display({"QT_QPA_PLATFORM": "offscreen"})
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "app", "--demo"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "no display" in done.stderr
    assert "Traceback" not in done.stderr


def test_version() -> None:
    done = subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == f"dispatch-desk {__version__}"
