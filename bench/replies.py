"""`python -m bench.replies`: a technician's "<code> a 35" reply until the desk holds the
``card.ack`` with its ETA (the fact the customer's "on the way" text starts from).

Everything is real except Twilio: the journal file, the real `twilio` client against the
loopback stand-in (tests/twilio_standin.py), APScheduler's BackgroundScheduler, the store on a
loopback port and the desk's sync loops.

(a) polling: the scheduler reads replies every 2 s (the `reply_poll_s` default, a ladder being
    live); the reply lands at a random moment of the poll cycle. Target: p99 <= 2 s + a read.
(b) webhook: the stand-in posts Twilio's signed "a message comes in" to the store, which writes
    the ack; the desk's long-poll pull brings it. Target: <= 300 ms.
Baseline, in the same run and on the same road: a plain "1" acknowledgement.

`--runs N` per road and kind (default 12). Last line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.clock import SystemClock
from app.runtime.escalation_scheduler import EscalationScheduler
from app.runtime.sync_loops import SyncLoops
from app.store.twilio_webhook import PATH, WebhookConfig
from app.sync.enroll import enroll_desk
from bench.stats import pct, wait_for
from tests.escalation.harness import ALICE, DESK_NUMBER, LadderDesk, build
from tests.memory_keyring import MemoryKeyring
from tests.sync.conftest import open_engine
from tests.sync.loopback import LoopbackStore
from tests.twilio_standin import TwilioStandIn


def _acked(desk: LadderDesk, card_id: str, eta: bool) -> Callable[[], bool]:
    def done() -> bool:
        return any(e.kind == "card.ack" and (not eta or e.payload.get("eta_minutes") == 35)
                   for e in desk.journal.entries(card_id))
    return done


def _one(desk: LadderDesk, send: Callable[[str], object], eta: bool) -> float:
    """Page a P1, wait for its page, send the reply, time it until the ack is on disk."""
    card_id = desk.register("P1")
    desk.service.run_due()
    code = desk.service.state(card_id).steps[0].code
    body = f"{code} a 35" if eta else "1"
    started = time.perf_counter()
    send(body)
    wait_for(_acked(desk, card_id, eta))
    return time.perf_counter() - started


def summary(values: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(values), 3), "p99_s": round(pct(values, 0.99), 3),
            "max_s": round(max(values), 3)}


def polling(root: Path, runs: int) -> dict[str, Any]:
    with TwilioStandIn(number=DESK_NUMBER) as twilio:
        desk = build(root / "poll.sqlite", SystemClock(), twilio.base_url, twilio.account_sid,
                     twilio.auth_token)
        runner = EscalationScheduler(desk.service, desk.service.clock, poll_every_s=2.0)
        runner.start()
        out: dict[str, Any] = {}
        try:
            for name, eta in (("plain_1", False), ("a_35", True)):
                times = []
                for _ in range(runs):
                    time.sleep(random.uniform(0, 2.0))  # any phase of the poll cycle
                    times.append(_one(desk, lambda b: twilio.simulate_reply(ALICE, b), eta))
                out[name] = summary(times)
        finally:
            runner.stop()
            desk.close()
    return out


def webhook(root: Path, runs: int) -> dict[str, Any]:
    import keyring

    keyring.set_keyring(MemoryKeyring())
    clock = SystemClock()
    with TwilioStandIn(number=DESK_NUMBER) as twilio:
        store = LoopbackStore(root / "store.sqlite", clock,
                              twilio=WebhookConfig(twilio.auth_token))
        desk = build(root / "hook.sqlite", clock, twilio.base_url, twilio.account_sid,
                     twilio.auth_token)
        enroll_desk(desk.journal, store.url, store.add_desk("bench"), "bench desk")
        engine = open_engine(desk.journal, clock)
        loops = SyncLoops(engine)
        loops.start()
        out: dict[str, Any] = {}
        url = store.url + PATH
        try:
            for name, eta in (("plain_1", False), ("a_35", True)):
                times = []
                for _ in range(runs):
                    card_id = desk.register("P1")
                    desk.service.run_due()
                    loops.outbox_changed()  # as the journal watch says after a write
                    wait_for(lambda c=card_id: _page_at_store(store, c))
                    code = desk.service.state(card_id).steps[0].code
                    body = f"{code} a 35" if eta else "1"
                    started = time.perf_counter()
                    twilio.receive_sms(ALICE, body, webhook=url)
                    wait_for(_acked(desk, card_id, eta))
                    times.append(time.perf_counter() - started)
                out[name] = summary(times)
        finally:
            loops.stop()
            engine.client.close()
            desk.close()
            store.stop()
    return out


def _page_at_store(store: LoopbackStore, card_id: str) -> bool:
    from sqlalchemy import select

    from app.store.tables import entries

    with store.store.engine.connect() as conn:
        return conn.execute(select(entries.c.id).where(
            entries.c.card_id == card_id, entries.c.kind == "ladder.page")).first() is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replies")
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "p").mkdir()
        (root / "w").mkdir()
        poll = polling(root / "p", args.runs)
        hook = webhook(root / "w", args.runs)
    result = {
        "polling_2s": poll, "webhook": hook,
        "ratio_polling_a35_vs_1": round(poll["a_35"]["median_s"] / poll["plain_1"]["median_s"],
                                        2),
        "ratio_webhook_a35_vs_1": round(hook["a_35"]["median_s"] / hook["plain_1"]["median_s"],
                                        2),
        "targets": {"polling_p99_s": 2.0 + 0.3, "webhook_p99_s": 0.3},
        "runs": args.runs,
    }
    for road, figures in (("polling (2 s)", poll), ("store webhook", hook)):
        for kind, f in figures.items():
            print(f"{road:14} {kind:8} median {f['median_s']:.3f} s  p99 {f['p99_s']:.3f} s",
                  file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
