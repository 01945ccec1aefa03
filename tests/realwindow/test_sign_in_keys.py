"""Signing in on a real X display (issue 13): a desk with operator accounts starts at the
sign-in, the very first keystroke of a cold start lands in the login, Enter goes to the PIN and
signs in, and Ctrl+L locks with the login offered again. What the keys did is read back from
the journal (the sign-in facts) and the window's title, never from the widgets."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bootstrap import build_desk
from app.config import Settings
from app.protocol.catalogue import SIGNINS_CARD
from app.services.operators.commands import AddOperator
from app.services.operators.pins import PinHasher
from tests.file_keyring import child_env
from tests.polling import wait_until
from tests.realwindow.conftest import INSTALL, ROOT, Desk, Display

pytestmark = pytest.mark.realwindow

TITLE = "^Dispatch Desk · desk S"  # its own desk code: the suite's other desk is A
PIN = "novak-pin-1"
CHEAP = PinHasher(time_cost=1, memory_kib=1024, parallelism=1)  # real Argon2id, small


def _accounts(journal: Path) -> None:
    desk = build_desk(Settings(journal=journal, desk_code="S").validated())
    try:
        assert desk.operators is not None
        desk.operators.hasher = CHEAP  # each hash keeps its parameters: the child checks it
        desk.handle(AddOperator("admin", "A. Admin", ["admin"], "admin-pin-1"))
        desk.sign_in("admin", "admin-pin-1")
        desk.handle(AddOperator("novak", "A. Novak", ["dispatcher"], PIN))
    finally:
        desk.close()


@pytest.fixture
def signing_desk(display: Display, tmp_path: Path) -> Iterator[tuple[Desk, str]]:
    journal = tmp_path / "desk.sqlite"
    _accounts(journal)
    env = child_env(tmp_path / "keyring.json") | display.env
    log = (tmp_path / "desk.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app", "--journal", str(journal)], env=env,
                            cwd=ROOT, stdout=log, stderr=log)
    try:
        wait_until(lambda: proc.poll() is not None or bool(display.windows(TITLE)),
                   "the desk window", 30)
        if proc.poll() is not None:
            pytest.fail(f"the desk exited with {proc.returncode} ({INSTALL}):\n"
                        f"{(tmp_path / 'desk.log').read_text()[-1500:]}", pytrace=False)
        yield Desk(display, journal, env), display.windows(TITLE)[0]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _signins(desk: Desk) -> list[str]:
    """The sign-in facts since the accounts were set up (the admin's own sign-in first)."""
    rows = desk._query("SELECT kind FROM entries WHERE card_id = ? ORDER BY seq", SIGNINS_CARD)
    return [row[0] for row in rows][1:]


def _grab(display: Display, out: Path) -> Path:
    """The whole screen as PNG (the xcb grab Display.screenshot uses), always taken."""
    grab = ("import sys; from PySide6.QtGui import QGuiApplication; "
            "app = QGuiApplication(sys.argv[:1]); "
            "sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)")
    subprocess.run([sys.executable, "-c", grab, str(out)], env=display.env, check=True,
                   timeout=30)
    return out


def _differing_pixels(a: Path, b: Path) -> int:
    """Pixels that differ in the middle of the screen, where the sign-in form sits (the
    status strip's clock, at the bottom, ticks and is left out)."""
    from PySide6.QtGui import QImage

    one, two = QImage(str(a)), QImage(str(b))
    w, h = one.width(), one.height()
    return sum(one.pixel(x, y) != two.pixel(x, y)
               for y in range(h // 5, h * 3 // 5) for x in range(w // 4, w * 3 // 4))


def test_a_cold_start_takes_the_first_keys_in_the_login_and_ctrl_l_locks(
        signing_desk: tuple[Desk, str], tmp_path: Path) -> None:
    desk, window = signing_desk
    d = desk.display
    # A cold start: no click, no activation by the test; the window manager gives the new
    # window the keyboard, and the window must have put the cursor in the login.
    wait_until(lambda: d.xdotool("getactivewindow") == window, "the new window active", 15)
    assert "locked: sign in" in d.title(window)
    d.type("novak")
    d.key("Return")
    d.type("x" * len(PIN))  # a wrong PIN of the same length first, then the right one
    other = _grab(d, tmp_path / "pin-other.png")
    d.key("ctrl+a", "BackSpace")
    d.type(PIN)
    typed = _grab(d, tmp_path / "pin-typed.png")
    d.screenshot("signin-pin-typed")
    # The PIN never echoes: two different PINs of one length look the same on the screen
    # (a few pixels may differ where the text cursor blinks).
    assert _differing_pixels(other, typed) < 80, "the PIN field shows what is typed"
    d.key("Return")
    wait_until(lambda: "operator.signed_in" in _signins(desk), "novak signed in", 15)
    assert _signins(desk) == ["operator.signed_in"], \
        "a keystroke was lost or went elsewhere (a failed attempt was recorded)"
    wait_until(lambda: "A. Novak (novak)" in d.title(window), "the title naming novak", 10)

    d.key("ctrl+l")
    wait_until(lambda: "locked: sign in" in d.title(window), "the desk locked", 10)
    d.key("Return")  # the login offered is novak's: Enter goes on to the PIN
    d.type(PIN)
    d.key("Return")
    wait_until(lambda: _signins(desk) == ["operator.signed_in"] * 2,
               "novak signed in again", 15)
    wait_until(lambda: "A. Novak (novak)" in d.title(window), "the title naming novak", 10)
