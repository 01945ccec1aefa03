"""A desk wired for outbox tests: a real journal, the shipped policies (their notification
plan) and messages file, a roster with one person per role the plan names, the real Twilio
client against the loopback stand-in, and a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as Email
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from app.adapters.secrets import SecretStore
from app.adapters.smtp import SmtpSettings
from app.adapters.twilio_pager import LoopbackHttpClient, TwilioPager
from app.application import Desk
from app.bootstrap import build_desk
from app.clock import Clock
from app.config import Settings
from app.runtime.message_worker import MessageWorker, message_worker_for
from app.services.cards.card import Operator

DESK_NUMBER = "+15005550006"
ALICE, BOB, LEAD, COORD, OWNER, SEC, MANAGER, CALLER = (
    "+15551230001", "+15551230002", "+15551230003", "+15551230004", "+15551230005",
    "+15551230006", "+15551230007", "+15557770001")
DISPATCHER = Operator("A. Novak", "dispatcher")

ROSTER = f"""
[[contact]]
id = "alice"
name = "Alice Primary"
primary_phone = "{ALICE}"
[[contact]]
id = "bob"
name = "Bob Backup"
primary_phone = "{BOB}"
[[contact]]
id = "lena"
name = "Lena Lead"
primary_phone = "{LEAD}"
[[contact]]
id = "carl"
name = "Carl Coordinator"
primary_phone = "{COORD}"
[[contact]]
id = "olga"
name = "Olga Owner"
primary_phone = "{OWNER}"
[[contact]]
id = "sam"
name = "Sam Security"
primary_phone = "{SEC}"
[[contact]]
id = "duty-manager"
name = "Duty manager"
primary_phone = "{MANAGER}"
[[group]]
name = "network"
domain = "IT network"
[[group]]
name = "duty"
domain = "duty coordinator and shift lead"
[[group]]
name = "security"
domain = "security"
""" + "".join(f"""
[[rotation]]
id = "{group}-{role}"
group = "{group}"
role = "{role}"
pattern = "weekly"
members = ["{who}"]
anchor = 2026-11-02
handoff = 08:00:00
tz = "Europe/Berlin"
""" for group, role, who in (("network", "primary", "alice"), ("network", "backup", "bob"),
                             ("network", "owner", "olga"), ("duty", "primary", "carl"),
                             ("duty", "backup", "lena"), ("security", "primary", "sam"),
                             ("security", "backup", "bob"))) + """
[[route]]
category = "network"
group = "network"
[[route]]
category = "security"
group = "security"
"""


def intake(priority: str = "P1", **extra: Any) -> dict[str, Any]:
    levels = {"P1": ("high", "high"), "P2": ("high", "medium"), "P3": ("medium", "medium")}
    impact, urgency = levels[priority]
    base = {"category": "network", "site": "HQ", "symptom": "Core switch down",
            "impact": impact, "urgency": urgency, "kind_of_work": "emergency",
            "priority_reason": "whole site offline", "q_what": "no network",
            "q_where": "HQ server room", "q_when": "since 09:55", "q_workaround": "none",
            "q_contact": f"J. Weber {CALLER}"}
    base.update(extra)
    return base


class Inbox:
    """aiosmtpd handler: keeps every mail the server accepted."""

    def __init__(self) -> None:
        self.mails: list[Email] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.mails.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free loopback port (aiosmtpd checks it is up)
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class MessageDesk:
    desk: Desk
    worker: MessageWorker
    pager: TwilioPager
    extra: dict[str, Any] = field(default_factory=dict)

    def register(self, priority: str = "P1", **extra: Any) -> str:
        return self.desk.cards.register(intake(priority, **extra), DISPATCHER).number

    def close(self) -> None:
        self.worker.stop()
        self.desk.close()


def build(folder: Path, clock: Clock, base_url: str, account_sid: str, token: str, *,
          smtp_port: int | None = None, settings: dict[str, Any] | None = None
          ) -> MessageDesk:
    smtp = (SmtpSettings("127.0.0.1", smtp_port, "none", "", "Dispatch <desk@example.org>", 5)
            if smtp_port else SmtpSettings())
    desk = build_desk(Settings(journal=folder / "journal.sqlite", operator="A. Novak",
                               smtp=smtp, **(settings or {})), clock)
    roster = folder / "roster-in.toml"
    roster.write_text(ROSTER)
    desk.roster.import_file(roster)
    pager = TwilioPager(account_sid, token, DESK_NUMBER,
                        http_client=LoopbackHttpClient(base_url), timeout=5)
    worker = message_worker_for(desk, SecretStore(), pager=pager, on_error=lambda _t: None)
    return MessageDesk(desk, worker, pager)
