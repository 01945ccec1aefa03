"""The handover for the demo shift as a PDF: every open card with its next step, the
acceptance block, page N of M and the shift window on every page, A4 and Letter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.adapters.print_sheets import activity_job, breakglass_job, handover_job
from app.adapters.printing import write_pdf
from app.application import Desk
from app.services.cards.card import Operator
from app.services.handover.breakglass import build_packet
from app.services.handover.service import HandoverService
from app.services.handover.shifts import ShiftPlan
from tests.handover.conftest import normalise, pdf_pages, pdf_text


@pytest.mark.parametrize(("paper", "size"), [("a4", "(A4)"), ("letter", "(letter)")])
def test_handover_pdf_has_every_open_card_and_the_acceptance_block(
    qapp: object, tmp_path: Path, desk: Desk, handover: HandoverService, paper: str, size: str
) -> None:
    sheet = handover.draft("M. Keller")
    pdf = tmp_path / "handover.pdf"
    pages = write_pdf(handover_job(sheet), pdf, paper)
    count, page_size = pdf_pages(pdf)
    assert count == pages > 1 and size in page_size
    text = pdf_text(pdf)
    numbers = [b.number for b in sheet.cards]
    assert sorted(numbers) == sorted(c.number for c in desk.cards.open_cards())
    # Each card's own block (from its heading to the next card's) holds its next step.
    starts = [text.index(f"{n} · {b.priority} · ") for n, b in zip(numbers, sheet.cards,
                                                                      strict=True)]
    assert starts == sorted(starts)  # printed riskiest first, as drafted
    for i, brief in enumerate(sheet.cards):
        block = text[starts[i]: starts[i + 1] if i + 1 < len(starts) else len(text)]
        assert normalise(brief.next_step) in block, brief.number
        assert normalise(brief.contingency) in block, brief.number
    assert "Acceptance" in text and "Outgoing lead (name, signature)" in text
    assert "Incoming lead (name, signature)" in text
    for n in sheet.critical_numbers:
        assert f"☐ {n}" in text  # a read-back box per critical card
    for q, _ in sheet.questions:
        assert normalise(q) in text
    for page in range(1, count + 1):
        one = pdf_text(pdf, page)
        assert f"page {page} of {count}" in one
        assert normalise(sheet.shift.label) in one


def test_accepted_sheet_prints_both_leads_and_the_time(
    qapp: object, tmp_path: Path, handover: HandoverService
) -> None:
    handover.accept("S. Yilmaz", handover.critical_numbers(), Operator("M. Keller"))
    pdf = tmp_path / "accepted.pdf"
    write_pdf(handover_job(handover.draft()), pdf)
    text = pdf_text(pdf)
    assert re.search(r"Accepted at 19:45: outgoing M\. Keller, incoming S\. Yilmaz", text)
    assert "PENDING" not in text


def test_activity_log_and_break_glass_packet(
    qapp: object, tmp_path: Path, desk: Desk, handover: HandoverService, plan: ShiftPlan
) -> None:
    log_pdf = tmp_path / "log.pdf"
    write_pdf(activity_job(handover.activity_log(lead="M. Keller")), log_pdf, "letter")
    text = pdf_text(log_pdf)
    for heading in ("ACTIVITY LOG (ICS 214)", "1. Incident name", "2. Operational period",
                    "6. Resources assigned", "7. Activity log", "8. Prepared by"):
        assert heading in text
    assert "Registered A-0004 as P1" in text and "A. Novak" in text
    packet = build_packet(plan=plan, desk="A", cards=desk.cards.open_cards(), rules=desk.rules,
                          now=desk.clock.now(), blank_cards=3)
    bg_pdf = tmp_path / "breakglass.pdf"
    pages = write_pdf(breakglass_job(packet), bg_pdf)
    text = pdf_text(bg_pdf)
    assert all(c.number in text for c in desk.cards.open_cards())
    assert [n for n in packet.blank_numbers if n in text] == list(packet.blank_numbers)
    assert pages >= 4  # the cards, then one blank card per page
    assert "No rota data" in text  # an empty section says so on paper
