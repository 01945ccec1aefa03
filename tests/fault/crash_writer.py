"""Registers and edits cards on a journal forever, printing what it has saved.

Run by test_crash.py, which kills it with SIGKILL at random moments. A line is printed only
after the service call returned, i.e. after the commit: exactly what a dispatcher would have
seen as saved.
"""

from __future__ import annotations

import sys
from itertools import count

from app.clock import SystemClock
from app.loaders import load_rules
from app.models.journal import Journal
from app.services.cards.card import Operator
from app.services.cards.service import CardService

OPERATOR = Operator("crash test", "dispatcher")


def main(path: str) -> None:
    clock = SystemClock()
    journal = Journal.open(path, clock)
    cards = CardService(journal, load_rules(), clock)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for i in count():
        card = cards.register(
            {"category": "power", "site": f"Site {i % 7}", "symptom": f"outage {i}",
             "priority": "P3", "priority_reason": "crash test", "q_what": "w", "q_where": "w",
             "q_when": "w", "q_workaround": "w", "q_contact": "w"},
            OPERATOR,
        )
        out.write(f"card {card.number}\n")
        out.flush()
        noted = cards.add_note(card.number, f"note {i}", OPERATOR)
        out.write(f"note {noted.number} note {i}\n")
        out.flush()
        if i % 3 == 0:
            cards.change_status(card.number, "in_progress", OPERATOR)
            out.write(f"status {card.number} in_progress\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
