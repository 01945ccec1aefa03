"""The desk window on a real X display: Xvfb, a window manager (openbox) and xdotool.

Offscreen Qt cannot show focus bugs: there every dialog "had" the right focus while on a real
display it opened on OK, and without a window manager the window's shortcuts did not fire at
all (docs: /work/shared/PITFALLS.md). So one desk runs here as a CHILD process on the `xcb`
platform, is typed at with xdotool like a keyboard, and what it did is read back from its
journal (the one thing a dispatcher's keys are meant to change).

Missing tools fail the suite with what to install (`bash scripts/ensure-xvfb.sh`): a suite
that skips itself would hide the very bugs it is for.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.file_keyring import child_env
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("Xvfb", "openbox", "xdotool")
INSTALL = ("run `bash scripts/ensure-xvfb.sh` as root (it apt-get installs xvfb openbox "
           "xdotool and Qt's xcb libraries)")
DESK_TITLE = "^Dispatch Desk · desk"
KEY_DELAY_MS = "25"  # xdotool's own pause between keys: the X server needs a moment
SCREEN = "1600x1000x24"
# Screenshots of what the suite typed into, for a person to look at (not compared).
SHOTS_ENV = "DD_REALWINDOW_SHOTS"
CARDS = (
    ("network", "HQ", "Core switch down", "whole site offline"),
    ("network", "Branch 3", "WLAN down on floor 2", "one floor offline"),
)


def _missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


@dataclass
class Display:
    name: str
    env: dict[str, str]

    def xdotool(self, *args: str, timeout: float = 15.0) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)
        return done.stdout.strip()

    def managed(self) -> bool:
        return subprocess.run(["xdotool", "get_num_desktops"], env=self.env,
                              capture_output=True, timeout=5, check=False).returncode == 0

    def windows(self, name: str, visible: bool = True) -> list[str]:
        """X windows whose title matches `name` (mapped ones only, unless visible=False:
        Qt hides a closed window, it does not destroy it)."""
        flags = ["--onlyvisible"] if visible else []
        return self.xdotool("search", *flags, "--name", name).split()

    def wait_window(self, name: str, within: float = 15.0) -> str:
        wait_until(lambda: bool(self.windows(name)), f"a window named {name!r}", within)
        return self.windows(name)[0]

    def wait_gone(self, name: str, within: float = 10.0) -> None:
        wait_until(lambda: not self.windows(name), f"no window named {name!r}", within)

    def activate(self, window: str) -> None:
        self.xdotool("windowactivate", "--sync", window)
        wait_until(lambda: self.xdotool("getactivewindow") == window, "the window active", 10)

    def key(self, *keys: str) -> None:
        self.xdotool("key", "--clearmodifiers", "--delay", KEY_DELAY_MS, *keys)

    def type(self, text: str) -> None:
        self.xdotool("type", "--clearmodifiers", "--delay", KEY_DELAY_MS, text)

    def title(self, window: str) -> str:
        return self.xdotool("getwindowname", window)

    def screenshot(self, name: str) -> Path | None:
        """The whole screen as PNG into $DD_REALWINDOW_SHOTS (nothing when it is unset)."""
        folder = os.environ.get(SHOTS_ENV)
        if not folder:
            return None
        out = Path(folder) / f"{name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        grab = ("import sys; from PySide6.QtGui import QGuiApplication; "
                "app = QGuiApplication(sys.argv[:1]); "
                "sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)")
        subprocess.run([sys.executable, "-c", grab, str(out)], env=self.env, check=True,
                       timeout=30)
        return out


def _start_xvfb(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    # -displayfd: Xvfb picks a free display number itself and writes it here, so two runs
    # (or another engineer's Xvfb) never collide on a guessed number.
    read, write = os.pipe()
    log = (tmp / "xvfb.log").open("wb")
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN,
                             "-nolisten", "tcp"], pass_fds=(write,), stdout=log, stderr=log)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # blocks until the server is ready to take clients
    if not number:
        proc.kill()
        raise AssertionError(f"Xvfb did not start: {(tmp / 'xvfb.log').read_text()[-800:]}")
    return proc, f":{number}"


class Desk:
    """The desk window, its journal, and what the keys did to it."""

    def __init__(self, display: Display, journal: Path, env: dict[str, str]) -> None:
        self.display, self.journal, self._env = display, journal, env
        self.window = ""

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "app", "--journal", str(self.journal),
                               *args], env=self._env, capture_output=True, text=True,
                              timeout=60, check=False, cwd=ROOT)
        assert done.returncode == 0, done.stderr or done.stdout
        return done.stdout

    def card(self, number: str) -> dict[str, object]:
        """The card as the command line reports it (the machine-readable view)."""
        data: dict[str, object] = json.loads(self.cli("card", "show", number, "--json"))
        return data

    def _query(self, sql: str, *args: str) -> list[tuple[str]]:
        # A read-only look for polling while the desk writes; the CLI gives the final answer.
        with sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql, args).fetchall()

    def state(self, number: str) -> dict[str, object]:
        rows = self._query("SELECT state FROM cards WHERE number = ?", number)
        return json.loads(rows[0][0]) if rows else {}

    def draft(self) -> dict[str, str]:
        """The intake form's draft, which the window saves on its 1-second tick."""
        rows = self._query("SELECT value FROM desk_meta WHERE key = 'intake_draft'")
        return json.loads(rows[0][0]) if rows and rows[0][0] else {}

    def front(self) -> None:
        """Back to a known place: stray dialogs and the wallboard closed, the desk active,
        the cursor in the queue."""
        d = self.display
        for name in ("^Acknowledgement of", "^Status message for", "^Status of",
                     "^Dispatch Desk wallboard"):
            for window in d.windows(name):
                d.activate(window)
                d.key("Escape")
            d.wait_gone(name)
        d.activate(self.window)
        d.key("ctrl+1")


@pytest.fixture(scope="session")
def display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Display]:
    missing = _missing_tools()
    if missing:
        pytest.fail(f"the real-window tests need {', '.join(missing)}: {INSTALL}",
                    pytrace=False)
    tmp = tmp_path_factory.mktemp("x11")
    xvfb, name = _start_xvfb(tmp)
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env |= {"DISPLAY": name, "QT_QPA_PLATFORM": "xcb", "HOME": str(tmp),
            "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_RUNTIME_DIR": str(tmp)}
    wm_log = (tmp / "openbox.log").open("wb")
    # Without a window manager nothing gets activated and Qt's window shortcuts never fire.
    wm = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=wm_log, stderr=wm_log)
    screen = Display(name, env)
    try:
        # A window manager announces itself through EWMH; before that, xdotool says none.
        wait_until(lambda: screen.managed() or wm.poll() is not None,
                   "openbox to manage the display", 15)
        assert wm.poll() is None, f"openbox exited: {(tmp / 'openbox.log').read_text()[-800:]}"
        yield screen
    finally:
        for proc in (wm, xvfb):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def desk_app(display: Display, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("desk")
    env = child_env(tmp / "keyring.json") | display.env  # xcb, not child_env's offscreen
    desk = Desk(display, tmp / "desk.sqlite", env)
    for category, site, symptom, reason in CARDS:
        desk.cli("card", "new", "--category", category, "--site", site, "--symptom", symptom,
                 "--impact", "high", "--urgency", "high", "--reason", reason,
                 "--q-what", symptom, "--q-where", site, "--q-when", "since 01:50",
                 "--q-workaround", "none", "--q-contact", "J. Weber, ext 2201")
    log = (tmp / "desk.log").open("wb")
    # A desk without operator accounts: the `operator` setting names the author (the
    # --operator option is gone, issue 13).
    config = tmp / "settings.toml"
    config.write_text('operator = "A. Novak"\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "app", "--journal", str(desk.journal),
                             "--config", str(config)], env=env, cwd=ROOT, stdout=log,
                            stderr=log)

    def ready() -> bool:
        return proc.poll() is not None or bool(display.windows(DESK_TITLE))

    try:
        wait_until(ready, "the desk window", 30)
        if proc.poll() is not None:
            pytest.fail(f"the desk exited with {proc.returncode} before showing its window "
                        f"(Qt's xcb libraries missing? {INSTALL}):\n"
                        f"{(tmp / 'desk.log').read_text()[-1500:]}", pytrace=False)
        desk.window = display.windows(DESK_TITLE)[0]
        yield desk
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def desk(desk_app: Desk) -> Desk:
    desk_app.front()
    return desk_app
