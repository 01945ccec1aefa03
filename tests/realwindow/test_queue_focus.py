"""The queue's focus marker on a real display (issue 15): with the keyboard in the queue, the
current row wears its ring (a black band over a white one, app/ui/style.py) on screen, it
moves with the arrow keys, and it is gone once the keyboard is in the command bar. What is on
screen is what the X server shows, grabbed as a picture: offscreen Qt would draw the ring
whether or not the window really had the keyboard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.polling import wait_until
from tests.realwindow.conftest import Desk

pytestmark = pytest.mark.realwindow

RING_RUN = 300  # pixels of black band, white under it: no text or frame draws that
_GRAB = ("import sys; from PySide6.QtGui import QGuiApplication; "
         "app = QGuiApplication(sys.argv[:1]); "
         "sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)")


def ring_rows(desk: Desk, shot: Path) -> list[int]:
    """The screen rows where a ring's top edge is: a long run of black pixels with the white
    band right under it (the band widths are style.FOCUS_RING_WIDTHS: 2 and 1)."""
    subprocess.run([sys.executable, "-c", _GRAB, str(shot)], env=desk.display.env,
                   check=True, timeout=30)
    image = QImage(str(shot)).convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    data = bytes(image.constBits())[: width * height * 4]
    black, white = b"\x00\x00\x00\xff" * RING_RUN, b"\xff\xff\xff\xff" * (RING_RUN - 8)
    rows = []
    for y in range(height - 2):
        line = data[y * width * 4:(y + 1) * width * 4]
        at = line.find(black)
        if at >= 0 and at % 4 == 0 and y > 0:
            inside = (y + 2) * width * 4 + at + 4 * 4  # past the ring's black left end
            under = data[inside:inside + len(white)]
            above = data[(y - 1) * width * 4 + at:(y - 1) * width * 4 + at + 4]
            if under == white and above != b"\x00\x00\x00\xff":
                rows.append(y)
    return rows


def test_the_queue_row_with_the_keyboard_is_ringed_on_screen(desk: Desk,
                                                             tmp_path: Path) -> None:
    d = desk.display
    shots = iter(range(100))

    def rings() -> list[int]:
        return ring_rows(desk, tmp_path / f"screen-{next(shots)}.png")

    d.key("ctrl+1")  # the queue
    d.key("ctrl+Home")  # its first row: there is one below it to move to
    wait_until(lambda: len(rings()) == 1, "one ringed row", 10)
    first = rings()
    assert len(first) == 1, first
    d.key("Down")
    wait_until(lambda: (r := rings()) and r[0] > first[0], "the ring one row down", 10)
    d.key("ctrl+g")  # the command bar has the keyboard now: no ring in the queue
    wait_until(lambda: rings() == [], "the ring gone", 10)
    d.key("Escape")
    d.key("ctrl+1")
    wait_until(lambda: len(rings()) == 1, "the ring back with the keyboard", 10)
