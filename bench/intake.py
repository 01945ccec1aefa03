"""`python -m bench.intake`: the intake form and the command bar on a busy desk.

A journal of 20,000 cards, 2,000 of them open (the issue's open-card count; closed cards do not
enter these paths). Each figure is a median of interleaved rounds, next to a baseline measured
in the same run:

1. Duplicate check as the form runs it (`refresh_matches`: similar open cards, the probable-
   emergency count, the list filled) versus the baseline: one raw read of the open cards'
   states from the journal, the floor for any check built on today's CardService queries.
2. Registering from the form (`submit`: compose, duplicate check, register, clear, save the
   empty draft) versus the baseline: `CardService.register` of the same intake.
3. One completion keystroke in the command bar (`complete` over 2,000 open numbers) versus
   the baseline: `parse` of a whole command line.

Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.bootstrap import build_desk  # noqa: E402
from app.clock import FakeClock  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services.cards.command_bar import complete, parse  # noqa: E402
from app.ui.events import DeskEvents  # noqa: E402
from app.ui.intake import IntakeForm  # noqa: E402
from bench.fixtures import build_big_journal  # noqa: E402

TOTAL, OPEN = 20_000, 2_000
ROUNDS = 9
KEYSTROKES = 2_000
REPORT = {
    "q_what": "no network on floor 3", "symptom": "no network on floor 3",
    "category": "network", "q_when": "since 02:10", "workaround": "none",
    "onsite_contact": "site duty, ext 100", "priority": "P2", "priority_reason": "one floor",
}


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _fill(form: IntakeForm, values: dict[str, str]) -> None:
    for key, value in values.items():
        widget = form.ui.inputs[key]
        if hasattr(widget, "setText"):
            widget.setText(value)
        else:
            widget.setCurrentIndex(widget.findData(value))


def main() -> dict[str, Any]:
    app = QApplication.instance() or QApplication(["bench"])
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        path = build_big_journal(Path(tmp) / "desk.sqlite", total=TOTAL, open_=OPEN)
        print(f"journal of {TOTAL:,} cards ({OPEN:,} open) built in "
              f"{time.perf_counter() - started:.1f} s")
        clock = FakeClock()
        desk = build_desk(Settings(journal=path), clock)
        events = DeskEvents(clock)
        form = IntakeForm(desk, events)
        busy = desk.cards.open_cards()[0]
        numbers = sorted(c.number for c in desk.cards.open_cards())

        check, check_base = [], []
        register, register_base = [], []
        for n in range(ROUNDS):
            _fill(form, {"site": busy.site, "category": busy.category})
            check.append(_timed(form.refresh_matches))
            check_base.append(_timed(lambda: desk.journal.cards(open_only=True)))
            # A fresh site: no look-alikes, so one submit registers.
            _fill(form, {**REPORT, "site": f"Bench site {n}"})
            register.append(_timed(form.submit))
            intake = {**form.intake(), **REPORT, "site": f"Bench base {n}",
                      "q_where": f"Bench base {n}", "q_workaround": "none",
                      "q_contact": "site duty"}
            intake.pop("workaround", None)
            intake.pop("onsite_contact", None)
            register_base.append(
                _timed(lambda i=intake: desk.cards.register(i, desk.operator))
            )
            app.processEvents()
        registered = desk.journal.count_cards() - TOTAL

        typed = [f"s {numbers[i % len(numbers)][:4]}" for i in range(KEYSTROKES)]
        keystroke = [_timed(lambda t=t: complete(t, numbers)) for t in typed]
        line = f"p {numbers[0]} P1 second floor down too"
        parse_base = [_timed(lambda: parse(line)) for _ in range(KEYSTROKES)]
        desk.close()

    figures = {
        "open_cards": OPEN,
        "duplicate_check_ms": _ms(check),
        "duplicate_check_baseline_raw_open_read_ms": _ms(check_base),
        "register_from_form_ms": _ms(register),
        "register_baseline_service_ms": _ms(register_base),
        "cards_registered": registered,
        "completion_keystroke_us": round(statistics.median(keystroke) * 1e6, 1),
        "completion_baseline_parse_us": round(statistics.median(parse_base) * 1e6, 1),
    }
    print(f"duplicate check, {OPEN:,} open: {figures['duplicate_check_ms']} ms median "
          f"(baseline raw read of open cards {figures['duplicate_check_baseline_raw_open_read_ms']}"
          " ms)")
    print(f"register from the form: {figures['register_from_form_ms']} ms median "
          f"(baseline CardService.register {figures['register_baseline_service_ms']} ms)")
    print(f"command bar completion: {figures['completion_keystroke_us']} µs per keystroke "
          f"(baseline parse {figures['completion_baseline_parse_us']} µs)")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
