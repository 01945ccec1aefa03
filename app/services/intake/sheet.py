"""The tray and the maintenance windows on the handover sheet (app/services/handover/sheet.py):
untriaged items are a hazard -- nobody has decided whether they are emergencies -- and the
incoming shift must know which alerts its windows will collect instead of paging."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.protocol.text import for_display
from app.services.handover.shifts import ShiftWindow
from app.services.intake.maintenance import Window
from app.services.intake.service import IntakeService
from app.services.intake.tray import TrayItem

UNTRIAGED_SHOWN = 10  # items named on the sheet; the rest are counted
Hm = Callable[[datetime], str]  # a time as the sheet prints it


@dataclass(frozen=True)
class IntakeFacts:
    """The triage tray's pending items (oldest first) and every maintenance window."""

    untriaged: Sequence[TrayItem] = ()
    windows: Sequence[Window] = ()


def intake_facts(intake: IntakeService) -> IntakeFacts:
    return IntakeFacts(untriaged=intake.pending(), windows=intake.windows())


def untriaged_lines(intake: IntakeFacts | None, hm: Hm) -> tuple[str, ...]:
    items = list(intake.untriaged) if intake else []
    lines = [for_display(f"{hm(i.received_at)} {i.channel}/{i.integration} x{i.count}: "
                         f"{i.site + ': ' if i.site else ''}{i.summary}"
                         + (" [probable emergency]" if i.probable else "")
                         + (f" [maintenance {i.maintenance}]" if i.maintenance else ""))
             for i in items[:UNTRIAGED_SHOWN]]
    if len(items) > UNTRIAGED_SHOWN:
        lines.append(f"... and {len(items) - UNTRIAGED_SHOWN} more in the tray.")
    return tuple(lines)


def maintenance_lines(intake: IntakeFacts | None, shift: ShiftWindow,
                      next_shift: ShiftWindow, hm: Hm) -> tuple[str, ...]:
    """This shift's and the next one's window occurrences, in time order."""
    out = []
    for window in intake.windows if intake else ():
        for start, end in window.occurrences(shift.start, next_shift.end):
            scope = ", ".join(v for v in (window.site, window.category, window.integration)
                              if v) or "all alerts"
            out.append((start, for_display(f"{hm(start)}-{hm(end)} {window.name} ({scope}): "
                                           "alerts collected, not paged")))
    return tuple(line for _, line in sorted(out, key=lambda x: x[0]))


def intake_hazards(intake: IntakeFacts | None, untriaged: tuple[str, ...],
                   maintenance: tuple[str, ...]) -> tuple[str, ...]:
    if intake is None:
        return ()
    count = len(intake.untriaged)
    head = (f"Untriaged in the tray: {count} (oldest first):" if count
            else "Untriaged in the tray: none.")
    return (head, *untriaged, *(f"Maintenance: {m}" for m in maintenance))


def with_windows(questions: tuple[tuple[str, str], ...],
                 maintenance: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The checkpoint question on strict clocks and maintenance windows, answered with the
    windows too."""
    if not maintenance:
        return questions
    out = list(questions)
    question, answer = out[2]
    out[2] = (question, for_display(f"{answer} Maintenance: {'; '.join(maintenance)}"))
    return tuple(out)
