"""A real desk process for the emergency line: `dispatch-desk run` enrolled with a store,
paging through the Twilio stand-in, with an intake rule that registers the line's SMS at once.
Shared by the phone line's process test and `bench.intake_sms`."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from app.bootstrap import TWILIO_SECRETS
from app.loaders import load_rules
from tests.file_keyring import child_env
from tests.runtime.desk_procs import cli, start_run
from tests.twilio_standin import TwilioStandIn

ROSTER = Path(__file__).resolve().parents[2] / "app" / "defaults" / "roster.example.toml"


def rules_for_now(path: Path) -> Path:
    """An emergency-line rule that registers at once in the local hours around now (a real
    desk process runs on the real clock; the shipped night rule is proven on a fake one)."""
    local = datetime.now(load_rules(None).tz)
    hours = f"{(local - timedelta(hours=1)):%H:%M}-{(local + timedelta(hours=1)):%H:%M}"
    path.write_text(f"""
[defaults]
kind_of_work = "emergency"
[[rule]]
name = "emergency line"
[rule.match]
channel = ["sms", "call"]
hours = "{hours}"
[rule.set]
category = "network"
site = "HQ"
impact = "high"
urgency = "high"
register = true
""")
    return path


def start_phone_desk(folder: Path, twilio: TwilioStandIn, store_url: str,
                     enrol_code: str) -> tuple[subprocess.Popen[str], Path, Path, dict[str, str]]:
    """(the running desk, its journal, its settings, its environment), once it says it runs."""
    journal, settings = folder / "desk.sqlite", folder / "settings.toml"
    settings.write_text(f'twilio_api_url = "{twilio.base_url}"\ndesk_code = "N"\n'
                        f'intake_rules = "{rules_for_now(folder / "rules.toml")}"\n')
    env = child_env(folder / "keyring.json", dict(zip(
        TWILIO_SECRETS, (twilio.account_sid, twilio.auth_token, twilio.number), strict=True)))
    for args in (("roster", "import", str(ROSTER)), ("enroll", store_url, enrol_code)):
        done = cli(journal, *args, env=env, settings=settings)
        if done.returncode != 0:
            raise AssertionError(f"{args[0]} failed: {done.stderr}")
    desk = start_run(journal, settings, env)
    assert desk.stdout is not None and desk.stderr is not None
    first = desk.stdout.readline()
    if "running on" not in first:
        desk.kill()
        raise AssertionError(f"the desk did not start: {first!r} {desk.stderr.read()!r}")
    return desk, journal, settings, env


def stop(desk: subprocess.Popen[str]) -> int:
    desk.terminate()
    try:
        return desk.wait(timeout=20)
    except subprocess.TimeoutExpired:
        desk.kill()
        return desk.wait()


def pages(twilio: TwilioStandIn) -> tuple[int, int]:
    """SMS and calls the desk has asked the stand-in for so far."""
    return (len(twilio.requests_to("POST", "/Messages.json")),
            len(twilio.requests_to("POST", "/Calls.json")))
