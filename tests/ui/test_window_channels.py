"""The window runs the same doors as the headless desk (app/runtime/channels.py): its own
intake door when intake_listen is set, the outbound webhooks, and the emergency line."""

from __future__ import annotations

from dataclasses import replace

import requests

from app.ui.background import DeskBackground
from tests.outbound.receiver import free_port


def test_the_window_serves_the_intake_door_and_stops_it(qtbot, desk, events) -> None:
    port = free_port()
    desk.settings = replace(desk.settings, intake_listen=f"127.0.0.1:{port}")
    background = DeskBackground(desk, events)
    background.start()
    try:
        assert background.channels is not None
        reply = requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=5)
        assert reply.json()["door"] == "desk"
        assert background.channels.outbound is not None
    finally:
        background.stop()
    try:
        requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("the door still answers after the window stopped")
