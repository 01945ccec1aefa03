"""How the outbox's entries read on a card's timeline (used by `timeline.describe`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Describe = Callable[[dict[str, Any]], tuple[str, str]]
_TYPES = {"notice": "Notice", "customer": "Customer text", "status": "Status update"}
_CHANNELS = {"sms": "SMS", "email": "e-mail"}


def _join(*parts: Any) -> str:
    return " · ".join(str(p) for p in parts if p)


def _queued(p: dict[str, Any]) -> tuple[str, str]:
    what = _TYPES.get(str(p.get("type")), "Message")
    by = f"by {str(p['due_by'])[11:16]} UTC" if p.get("due_by") else ""
    return (f"{what} queued: {_CHANNELS.get(str(p.get('channel')), p.get('channel'))} to "
            f"{p.get('name') or p.get('to')}", _join(p.get("to"), by, p.get("body")))


def _sent(p: dict[str, Any]) -> tuple[str, str]:
    if p.get("via") == "page":
        return "Message not needed: the ladder's page told them", ""
    late = "LATE (after its deadline)" if p.get("late") else ""
    return f"Message {'delivered' if p.get('via') == 'email' else 'sent'}", _join(
        p.get("status"), p.get("sid"), late)


def _failed(p: dict[str, Any]) -> tuple[str, str]:
    if p.get("in_doubt"):
        return "Message in doubt (the desk stopped while sending)", str(p.get("error", ""))
    again = f"retry at {str(p['retry_at'])[11:19]}" if p.get("retry_at") else "given up"
    return f"Message FAILED (try {p.get('try', 1)})", _join(p.get("error"), again)


def _status_message(p: dict[str, Any]) -> tuple[str, str]:
    names = ", ".join(f"{r.get('name') or r.get('to')} ({_CHANNELS.get(r.get('channel'), '')})"
                      for r in p.get("to") or [])
    title = f"Status message sent to {names}" if names else \
        "Status message posted (nobody on the distribution list)"
    return title, str(p.get("text", ""))


MESSAGE_LINES: dict[str, Describe] = {
    "message.queued": _queued,
    "message.sent": _sent,
    "message.failed": _failed,
    "message.cancelled": lambda p: ("Message cancelled, not sent",
                                    _join(p.get("reason"), p.get("by"))),
    "message.confirmed": lambda p: ("Stale message confirmed: sending it now",
                                    str(p.get("by", ""))),
    "message.unresolved": lambda p: (f"{_TYPES.get(str(p.get('type')), 'Message')}: "
                                     f"{p.get('who')} NOT informed", str(p.get("reason", ""))),
    "card.distribution": lambda p: (
        f"Distribution list: {'added' if p.get('op') == 'add' else 'removed'} "
        f"{p.get('name') or p.get('to')}", str(p.get("to", ""))),
    "card.status_message": _status_message,
}
