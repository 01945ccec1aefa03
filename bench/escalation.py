"""`python -m bench.escalation`: how fast the ladder pages, with the real scheduler.

Everything is real except Twilio: the journal file, the real `twilio` client, APScheduler 3's
BackgroundScheduler, and the loopback stand-in for Twilio's REST API (tests/twilio_standin.py).

1. P1 to first page: register a P1 and nudge the scheduler; the time until BOTH the SMS and
   the call request have reached the stand-in, over 100 cards (one at a time, acknowledged by
   phone after each). Baseline, measured in the same run: one bare `requests` POST of an SMS
   to the same stand-in. Target: median and p99 <= 1 s (the field: "under 10 seconds").
2. Tier steps: 50 P1 cards, one every 0.25 s, on a ladder of four 2-second tiers, nobody
   answering (about 25 ladders in flight at once, ~20 pages a second); for the 200 steps,
   how late each fired after its due time (the scheduler alone wakes tiers 2-4).
   Target: p99 <= 1 s.
3. Restart: a journal whose P1 fell due 20 minutes ago while the desk was off; from opening
   the desk and starting the scheduler until both requests reach the stand-in (10 runs).
   Target: <= 2 s.
4. Notification plan: register a P1 (the shipped plan; a roster with every role filled)
   with the outbox worker running; the time until every notice of the plan (on-call
   engineer, shift lead, service owner) has reached the stand-in. Target: <= 1 s.
5. Customer ETA: a `card.ack` with `eta_minutes` written (as the reply "<code> a 35"
   writes it) until "a technician is on the way, ETA 35 minutes" reaches the stand-in.

Last line: one JSON object with every figure.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests

from app.clock import FakeClock, SystemClock
from app.models.entry import NewEntry
from app.runtime.escalation_scheduler import EscalationScheduler
from bench.stats import pct, wait_for
from tests.escalation.harness import DESK_NUMBER, DISPATCHER, LADDER_TOML, build, ladder
from tests.messages import harness as messages_harness
from tests.twilio_standin import TwilioStandIn

# Tiers of 2 s instead of minutes: 200 steps in ~20 s, with ~25 ladders in flight at once.
FAST_LADDER = LADDER_TOML.replace('"40s"', '"2s"').replace("wait = 40", "wait = 2").replace(
    '"30s"', '"2s"').replace('"60s"', '"2s"')
CARD_GAP_S = 0.25



def posts(twilio: TwilioStandIn) -> int:
    return sum(1 for r in twilio.requests if r.method == "POST")


def baseline_post(twilio: TwilioStandIn, rounds: int) -> list[float]:
    session = requests.Session()
    session.trust_env = False
    url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        session.post(url, data={"To": "+15551239999", "From": DESK_NUMBER, "Body": "bench"},
                     auth=(twilio.account_sid, twilio.auth_token), timeout=5).raise_for_status()
        times.append(time.perf_counter() - t)
    return times


def p1_to_page(folder: Path, twilio: TwilioStandIn, cards: int) -> list[float]:
    desk = build(folder / "p1.sqlite", SystemClock(), twilio.base_url, twilio.account_sid,
                 twilio.auth_token)
    runner = EscalationScheduler(desk.service, desk.service.clock)
    runner.start()
    times = []
    try:
        for _ in range(cards):
            before = posts(twilio)
            t = time.monotonic()
            card = desk.register("P1")
            runner.nudge()
            wait_for(lambda b=before: posts(twilio) >= b + 2)  # type: ignore[misc]
            last = max(r.received_at for r in twilio.requests if r.method == "POST")
            times.append(last - t)
            desk.cards.acknowledge(desk.cards.get_by_id(card).number, "bench", "phone",
                                   DISPATCHER)
    finally:
        runner.stop()
        desk.close()
    return times


def step_lateness(folder: Path, twilio: TwilioStandIn, cards: int) -> list[float]:
    desk = build(folder / "steps.sqlite", SystemClock(), twilio.base_url, twilio.account_sid,
                 twilio.auth_token, the_ladder=ladder(FAST_LADDER))
    runner = EscalationScheduler(desk.service, desk.service.clock)
    runner.start()
    ids = []
    try:
        for _ in range(cards):
            ids.append(desk.register("P1"))
            runner.nudge()
            time.sleep(CARD_GAP_S)  # cards keep arriving, so tiers of many cards interleave
        wait_for(lambda: all(desk.service.state(i).exhausted_at for i in ids), timeout=60)
    finally:
        runner.stop()
    late = [(s.fired_at - s.due).total_seconds() for i in ids
            for s in desk.service.state(i).steps]
    desk.close()
    return late


def restart_to_page(folder: Path, twilio: TwilioStandIn, runs: int) -> list[float]:
    times = []
    for n in range(runs):
        path = folder / f"restart{n}.sqlite"
        past = FakeClock(SystemClock().now() - timedelta(minutes=20))
        old = build(path, past, twilio.base_url, twilio.account_sid, twilio.auth_token)
        old.register("P1")
        old.close()
        before = posts(twilio)
        t = time.monotonic()
        desk = build(path, SystemClock(), twilio.base_url, twilio.account_sid,
                     twilio.auth_token)
        runner = EscalationScheduler(desk.service, desk.service.clock)
        runner.start()
        try:
            wait_for(lambda b=before: posts(twilio) >= b + 2)  # type: ignore[misc]
            first_two = sorted(r.received_at for r in twilio.requests
                               if r.method == "POST")[before:before + 2]
            times.append(first_two[-1] - t)
        finally:
            runner.stop()
            desk.close()
    return times


def _texts_to(twilio: TwilioStandIn, numbers: set[str], since: int) -> list[float]:
    return [r.received_at for r in twilio.requests[since:]
            if r.method == "POST" and r.form.get("To") in numbers]


def plan_and_eta(folder: Path, twilio: TwilioStandIn, cards: int
                 ) -> tuple[list[float], list[float]]:
    """(P1 -> the plan's notices all at the stand-in, ack with ETA -> the customer text)."""
    md = messages_harness.build(folder / "messages", SystemClock(), twilio.base_url,
                                twilio.account_sid, twilio.auth_token)
    plan = {messages_harness.ALICE, messages_harness.LEAD, messages_harness.OWNER}
    worker = md.worker
    worker.start()
    plan_times, eta_times = [], []
    try:
        for n in range(cards):
            since = len(twilio.requests)
            t = time.monotonic()
            number = md.register("P1")
            worker.nudge()
            wait_for(lambda s=since: len(_texts_to(twilio, plan, s)) >= len(plan))  # type: ignore[misc]
            plan_times.append(max(_texts_to(twilio, plan, since)) - t)
            card = md.desk.cards.get(number)
            since = len(twilio.requests)
            t = time.monotonic()
            md.desk.journal.write([NewEntry(card.id, "card.ack", {
                "who": "Alice Primary", "how": "sms", "eta_minutes": 35,
                "sid": f"SM{n:032x}"})], "ladder")
            worker.nudge()
            caller = {messages_harness.CALLER}
            wait_for(lambda s=since, c=caller: bool(_texts_to(twilio, c, s)))  # type: ignore[misc]
            eta_times.append(_texts_to(twilio, caller, since)[0] - t)
    finally:
        md.close()
    return plan_times, eta_times


def main() -> None:
    cards = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp, TwilioStandIn(number=DESK_NUMBER) as twilio:
        folder = Path(tmp)
        base = baseline_post(twilio, cards)
        p1 = p1_to_page(folder, twilio, cards)
        late = step_lateness(folder, twilio, max(1, cards // 2))
        restart = restart_to_page(folder, twilio, 10)
        plan, eta = plan_and_eta(folder, twilio, cards)
    ms = 1000.0
    figures = {
        "baseline_post_median_ms": statistics.median(base) * ms,
        "baseline_post_p95_ms": pct(base, 0.95) * ms,
        "p1_to_sms_and_call_median_ms": statistics.median(p1) * ms,
        "p1_to_sms_and_call_p95_ms": pct(p1, 0.95) * ms,
        "p1_to_sms_and_call_p99_ms": pct(p1, 0.99) * ms,
        "p1_ratio_of_medians": statistics.median(p1) / statistics.median(base),
        "steps": len(late),
        "step_late_median_ms": statistics.median(late) * ms,
        "step_late_p99_ms": pct(late, 0.99) * ms,
        "step_late_max_ms": max(late) * ms,
        "restart_to_page_median_ms": statistics.median(restart) * ms,
        "restart_to_page_max_ms": max(restart) * ms,
        "p1_to_plan_sent_median_ms": statistics.median(plan) * ms,
        "p1_to_plan_sent_p99_ms": pct(plan, 0.99) * ms,
        "ack_eta_to_customer_text_median_ms": statistics.median(eta) * ms,
        "ack_eta_to_customer_text_p99_ms": pct(eta, 0.99) * ms,
    }
    print(f"bare POST to the stand-in:  median {figures['baseline_post_median_ms']:.1f} ms, "
          f"p95 {figures['baseline_post_p95_ms']:.1f} ms ({cards} posts)")
    print(f"P1 -> SMS + call at stand-in: median {figures['p1_to_sms_and_call_median_ms']:.1f}"
          f" ms, p95 {figures['p1_to_sms_and_call_p95_ms']:.1f} ms, p99 "
          f"{figures['p1_to_sms_and_call_p99_ms']:.1f} ms ({cards} cards; target <= 1000 ms)"
          f"; {figures['p1_ratio_of_medians']:.1f}x the bare POST")
    print(f"tier step lateness: median {figures['step_late_median_ms']:.1f} ms, p99 "
          f"{figures['step_late_p99_ms']:.1f} ms, max {figures['step_late_max_ms']:.1f} ms "
          f"({len(late)} steps; target p99 <= 1000 ms)")
    print(f"restart -> overdue step at stand-in: median "
          f"{figures['restart_to_page_median_ms']:.1f} ms, max "
          f"{figures['restart_to_page_max_ms']:.1f} ms (10 restarts; target <= 2000 ms)")
    print(f"P1 -> notification plan at stand-in: median "
          f"{figures['p1_to_plan_sent_median_ms']:.1f} ms, p99 "
          f"{figures['p1_to_plan_sent_p99_ms']:.1f} ms ({cards} cards; target <= 1000 ms)")
    print(f"card.ack with ETA -> customer text at stand-in: median "
          f"{figures['ack_eta_to_customer_text_median_ms']:.1f} ms, p99 "
          f"{figures['ack_eta_to_customer_text_p99_ms']:.1f} ms ({cards} acceptances)")
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
