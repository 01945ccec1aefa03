"""The report PDF for the demo shift (app/services/demo.py): every section and figure is in it,
as text (`pdftotext`), summary first, then the charts, then the tables.

`python -m tests.measures.test_report_pdf docs` renders the README's page images
(docs/report-1.png, docs/report-2.png) from the same demo shift with `pdftoppm`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from app.cli.report import build
from app.clock import FakeClock
from app.loaders import load_rules
from app.models.journal import Journal
from app.services.demo import fill_demo
from app.services.measures.pdf import report_pdf
from app.services.measures.reading import read_journal

END = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # a Thursday morning shift's end
SECTIONS = [  # in page order
    "Summary",
    "Breach share by priority per week",
    "Reaction time: distribution, median and 90th percentile",
    "SLA breaches by category",
    "Escalation depth",
    "Repeat incidents within 7 days (same site",
    "Tables (1 of",
]
FIGURES = [
    "SLA reaction:", "SLA recovery:", "Reaction time: median", "First page time:",
    "Acknowledgement time:", "Recovery time:", "Unattended time:", "Status updates on time:",
    "Repeat incidents within 7 days:", "Escalated past tier 1:",
    "because the on-call person was unavailable:", "unreachable or page failed",
    "Category changed after registration:", "Reopened after Restored or Closed:",
    "Post-incident reviews overdue:", "median 3 min", "p90 ", "Why past tier 1",
    "breaches.csv", "durations.csv", "weeks.csv", "categories.csv", "escalation_depth.csv",
    "escalation_reasons.csv", "repeats.csv", "reviews_overdue.csv", "cards.csv",
]


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: apt-get install poppler-utils"
    return found


def demo_pdf(folder: Path) -> Path:
    clock = FakeClock(END)
    rules = load_rules()
    journal = Journal.open(folder / "demo.sqlite", clock)
    try:
        fill_demo(journal, rules, END)
        path = journal.path
    finally:
        journal.close()
    cards, facts, reviews = read_journal(Path(path))
    data, _ = report_pdf(build(cards, facts, reviews, rules, END, None, None, None))
    out = folder / "report.pdf"
    out.write_bytes(data)
    return out


def test_the_demo_report_has_every_section_and_figure(tmp_path: Path) -> None:
    pdf = demo_pdf(tmp_path)
    text = subprocess.run([tool("pdftotext"), "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    text = unicodedata.normalize("NFKC", text)
    pages = text.split("\f")
    at = [next(i for i, page in enumerate(pages) if s in page) for s in SECTIONS]
    assert at == sorted(at) and at[0] == 0, f"sections out of order: {at}"
    missing = [f for f in FIGURES if f not in text]
    assert not missing, f"not in the PDF: {missing}"
    assert "Report 2026-11-20 to 2026-11-26 (Europe/Berlin): 14 cards" in pages[0]


def render_docs(folder: Path) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        pdf = demo_pdf(Path(tmp))
        for page in (1, 2):
            subprocess.run([tool("pdftoppm"), "-png", "-r", "80", "-f", str(page), "-l",
                            str(page), "-singlefile", str(pdf),
                            str(folder / f"report-{page}")], check=True)


if __name__ == "__main__":
    render_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
