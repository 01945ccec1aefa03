"""How the ladder's entries read on a card's timeline (used by ``timeline.describe``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Describe = Callable[[dict[str, Any]], tuple[str, str]]


def _join(*parts: Any) -> str:
    return " · ".join(str(p) for p in parts if p)


def _step(p: dict[str, Any]) -> tuple[str, str]:
    where = f"Tier {p.get('tier')}" + (f"/{p['of']}" if p.get("of") else "")
    if p.get("attempt", 1) != 1:
        where += f", page {p['attempt']}"
    late = f"LATE by {p.get('late_by_s')} s (desk was down)" if p.get("late") else ""
    if p.get("unreachable"):
        return f"{where}: nobody to page", _join(p["unreachable"], late)
    to = p.get("to") or {}
    channels = " + ".join(("SMS" if c == "sms" else "call") for c in to)
    return f"{where}: paging {p.get('who')} by {channels or 'nothing'}", _join(
        next(iter(to.values()), ""), f"reply code {p.get('code')}", late)


def _channel(p: dict[str, Any]) -> str:
    return f"{'SMS' if p.get('channel') == 'sms' else 'Call'} to {p.get('to', '?')}"


def _failed(p: dict[str, Any]) -> tuple[str, str]:
    again = f"retry at {str(p['retry_at'])[11:19]}" if p.get("retry_at") else "given up"
    return f"{_channel(p)} FAILED (try {p.get('try')})", _join(p.get("error"), again)


def _call_result(p: dict[str, Any]) -> tuple[str, str]:
    outcome = str(p.get("outcome"))
    note = "not an acknowledgement" if outcome != "acknowledged" else "pressed 1"
    return f"Call to {p.get('to', '?')}: {outcome}", note


def _declined(p: dict[str, Any]) -> tuple[str, str]:
    who = p.get("who") or p.get("to") or "the person paged"
    how = {"sms": "by SMS reply", "voice": "by key in the call", "desk": "told the desk"}.get(
        str(p.get("how")), "")
    return (f"{who} DECLINED tier {p.get('tier')}: next person now",
            _join(p.get("reason") or "no reason given", how))


def _escalate(p: dict[str, Any]) -> tuple[str, str]:
    where = f" from tier {p['tier']}" if p.get("tier") else ""
    return f"Escalated now{where} by {p.get('by', '?')}", _join(p.get("reason"),
                                                                 "next tier due at once")


def _hold(p: dict[str, Any]) -> tuple[str, str]:
    until = f"until {str(p['until'])[11:16]} UTC" if p.get("until") else "until resumed"
    return f"Ladder HELD by {p.get('by', '?')}", _join(
        p.get("reason"), f"no new tier fires {until}; pages already out stay out")


LADDER_LINES: dict[str, Describe] = {
    "ladder.declined": _declined,
    "ladder.escalate": _escalate,
    "ladder.hold": _hold,
    "ladder.resume": lambda p: (f"Ladder resumed by {p.get('by', '?')}", _join(
        p.get("reason"), "a tier whose time passed fires at once")),
    "ladder.step": _step,
    "ladder.page": lambda p: (f"{_channel(p)} sent", f"tier {p.get('tier')} · {p.get('sid')}"),
    "ladder.page_failed": _failed,
    "ladder.page_skipped": lambda p: (f"{_channel(p)} skipped", str(p.get("reason", ""))),
    "ladder.page_cancelled": lambda p: (f"{_channel(p)} cancelled, not sent",
                                        str(p.get("reason", ""))),
    "ladder.unreachable": lambda p: (f"Tier {p.get('tier')} unreachable: next tier now",
                                     str(p.get("reason", ""))),
    "ladder.exhausted": lambda p: ("LADDER EXHAUSTED: nobody acknowledged",
                                   "the desk alarm is on; phone the people now"),
    "ladder.call_result": _call_result,
    "ladder.reply": lambda p: (f"SMS reply from {p.get('from', '?')} (not an acceptance)",
                               str(p.get("body", ""))),
    "ladder.taken_over": lambda p: ("Ladder taken over by this desk",
                                    f"desk {p.get('from')} went dark; now {p.get('to')}"),
    "pager.stop": lambda p: (f"{p.get('number')} replied STOP", "no more SMS to it"),
    "pager.start": lambda p: (f"{p.get('number')} replied START", "SMS allowed again"),
}
