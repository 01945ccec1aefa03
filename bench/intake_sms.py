"""`python -m bench.intake_sms`: an emergency SMS to the phone line until the on-call person's
phone is asked to ring -- the emergency half of `python -m bench.intake_channels`.

Everything is real except Twilio: the store is `python -m app server` (a real process, its own
SQLite file), the desk is `dispatch-desk run` (a real process, enrolled with the store, paging
through the real `twilio` client), and the Twilio stand-in (tests/twilio_standin.py) both posts
the signed "a message comes in" webhook, as Twilio would, and takes the desk's pages.

One run: SAMPLES texts from different callers, one at a time, each matching an intake rule that
registers at once. For each, the time from posting the webhook until the stand-in has received
BOTH the tier-1 SMS and the tier-1 call request for the P1 the text became (store -> long-poll
pull -> auto-registration -> ladder). Baseline, same run: the webhook's own round trip (the
store's answer to Twilio). Target: p99 <= 1.5 s. Every text must become exactly one card and
one SMS and one call: nothing lost, nothing doubled.

Last line: one JSON object.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.store.phone_routes import INBOUND_PATH
from bench.stats import pct as _pct
from tests.channels.phone_desk import pages, start_phone_desk, stop
from tests.runtime.desk_procs import cli
from tests.store.harness import ProcessStore
from tests.twilio_standin import TwilioStandIn

SAMPLES = 40
TARGET_P99_S = 1.5
_TIMEOUT_S = 15.0


def _both_after(twilio: TwilioStandIn, before: tuple[int, int]) -> float | None:
    """When the stand-in had both new requests (monotonic), or None while one is missing."""
    sms = twilio.requests_to("POST", "/Messages.json")
    calls = twilio.requests_to("POST", "/Calls.json")
    if len(sms) <= before[0] or len(calls) <= before[1]:
        return None
    return max(sms[before[0]].received_at, calls[before[1]].received_at)


def emergency_sms(samples: int = SAMPLES) -> dict[str, Any]:
    """Run the measurement; the figures as a dict (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp, TwilioStandIn() as twilio:
        folder = Path(tmp)
        store = ProcessStore(f"sqlite:///{folder / 'store.sqlite'}",
                             env={"DISPATCH_DESK_TWILIO_TOKEN": twilio.auth_token})
        desk = None
        try:
            desk, journal, settings, env = start_phone_desk(
                folder, twilio, store.url, store.add_desk_code("bench"))
            url = store.url + INBOUND_PATH
            latencies, answers = [], []
            for n in range(samples):
                before = pages(twilio)
                caller = f"+49151{n:08d}"
                started = time.monotonic()
                _, answer = twilio.receive_sms(caller, f"Emergency {n}: fire alarm, hall {n}",
                                               webhook=url)
                answers.append(time.monotonic() - started)
                if answer is None or answer.status_code != 200:
                    raise RuntimeError(f"the store refused the webhook: {answer}")
                deadline = started + _TIMEOUT_S
                while (done := _both_after(twilio, before)) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"text {n}: no SMS and call within {_TIMEOUT_S} s")
                    time.sleep(0.001)
                latencies.append(done - started)
            time.sleep(1.0)  # anything doubled would have been sent by now
            sent, called = pages(twilio)
            listed = cli(journal, "card", "list", env=env, settings=settings)
        finally:
            if desk is not None:
                stop(desk)
            store.close()
    cards = listed.stdout.count("P1")
    p99 = _pct(latencies, 0.99)
    return {
        "emergency_sms_samples": samples,
        "emergency_sms_median_s": round(statistics.median(latencies), 4),
        "emergency_sms_p99_s": round(p99, 4),
        "emergency_sms_max_s": round(max(latencies), 4),
        "emergency_sms_target_p99_s": TARGET_P99_S,
        "emergency_sms_within_target": p99 <= TARGET_P99_S,
        "webhook_answer_median_s": round(statistics.median(answers), 4),
        "emergency_sms_ratio_to_webhook": round(
            statistics.median(latencies) / statistics.median(answers), 1),
        "emergency_sms_cards": cards,
        "emergency_sms_pages": {"sms": sent, "calls": called},
        "emergency_sms_lost_or_doubled": not (cards == sent == called == samples),
    }


def main() -> int:
    figures = emergency_sms()
    print(f"emergency SMS -> tier-1 SMS and call: median {figures['emergency_sms_median_s']} s,"
          f" p99 {figures['emergency_sms_p99_s']} s over {figures['emergency_sms_samples']}"
          f" (target p99 <= {TARGET_P99_S} s); the webhook's own answer: median "
          f"{figures['webhook_answer_median_s']} s")
    print(f"cards {figures['emergency_sms_cards']}, pages {figures['emergency_sms_pages']}")
    print(json.dumps(figures))
    return 0 if figures["emergency_sms_within_target"] and not figures[
        "emergency_sms_lost_or_doubled"] else 1


if __name__ == "__main__":
    sys.exit(main())
