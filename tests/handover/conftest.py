"""A desk on a real journal file holding the demo shift, 15 minutes before the 20:00 change."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.application import Desk
from app.bootstrap import build_desk
from app.clock import FakeClock
from app.config import Settings
from app.loaders import load_shifts
from app.services.demo import fill_demo
from app.services.handover.service import HandoverService
from app.services.handover.shifts import ShiftPlan

# Monday 23 November 2026, 19:45 in Berlin: the day shift (08:00-20:00) is handing over.
SHIFT_END_SOON = datetime(2026, 11, 23, 18, 45, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SHIFT_END_SOON)


@pytest.fixture
def plan() -> ShiftPlan:
    return load_shifts()


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    settings = Settings(journal=tmp_path / "desk.sqlite", operator="M. Keller",
                        role="shift_lead")
    d = build_desk(settings, clock)
    fill_demo(d.journal, d.rules, SHIFT_END_SOON)
    d.journal.use_clock(clock)  # the demo walks its own clock; the desk goes on with ours
    yield d
    d.close()


@pytest.fixture
def handover(desk: Desk, plan: ShiftPlan, clock: FakeClock) -> HandoverService:
    return HandoverService(desk.journal, desk.rules, plan, clock)


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:  # fail loudly: a skipped PDF test hides a broken printout
        pytest.fail(f"{tool} is missing: install poppler-utils (apt-get install poppler-utils)")
    return path


def pdf_text(pdf: Path, page: int | None = None) -> str:
    """The PDF's text in drawing order (-raw: a table cell's lines stay together instead of
    interleaving with the next column), NFKC-normalised (pdftotext returns ligatures), with
    whitespace folded."""
    args = [need("pdftotext"), "-raw"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    out = subprocess.run([*args, str(pdf), "-"], check=True, capture_output=True, text=True)
    return normalise(out.stdout)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def pdf_pages(pdf: Path) -> tuple[int, str]:
    out = subprocess.run([need("pdfinfo"), str(pdf)], check=True, capture_output=True,
                         text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", out)[1])  # type: ignore[index]
    size = re.search(r"Page size:\s+(.*)", out)[1]  # type: ignore[index]
    return pages, size
