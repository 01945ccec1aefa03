"""`dispatch-desk` with no subcommand: build the Qt application, the Desk and the window.

`--demo` opens on a demo shift: one demo journal in the user data folder, reused from run to
run (`--demo --fresh` starts it anew), or the `--journal` given; it is filled only if it has no
cards yet. `--wallboard` opens the wallboard instead of the desk window.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from platformdirs import user_data_path
from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QApplication, QWidget

from app.adapters.roster_store import DEFAULT_EXAMPLE, roster_path_for
from app.application import Desk
from app.bootstrap import build_desk
from app.config import APP_NAME, settings_from_args
from app.errors import DeskError
from app.services.cards.queue import QueueRow, next_deadline, record_due_breaches
from app.services.demo import fill_demo
from app.services.roster.verification import demo_verifications
from app.ui.background import DeskBackground
from app.ui.events import DeskEvents
from app.ui.screens import show_on, wallboard_screen
from app.ui.style import apply_font_scale


def demo_journal_path() -> Path:
    """The demo's own journal, apart from the real one so a demo never mixes with a real
    shift's cards; the same file every run, so the CLI can be pointed at it (`--journal`)."""
    return user_data_path(APP_NAME, appauthor=False) / "demo" / "demo.sqlite"


def discard_demo_journal(path: Path) -> None:
    """`--demo --fresh`: remove the demo journal (with its WAL files and demo rota) so the
    demo starts anew. Only ever the demo folder's own file, never a `--journal` given."""
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        path.with_name(name).unlink(missing_ok=True)
    roster_path_for(path).unlink(missing_ok=True)


NO_DISPLAY = (
    "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): run it "
    "from a desktop session, or headless with QT_QPA_PLATFORM=offscreen (nothing is shown), "
    "or use the command line (dispatch-desk --help)"
)


def check_display(environ: Mapping[str, str]) -> None:
    """On Linux without any display Qt aborts the process; say so in one line instead."""
    if not sys.platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        raise DeskError(NO_DISPLAY)


def fill_if_empty(desk: Desk) -> int:
    """Write the demo shift into an empty journal; returns the cards written (0 if it had
    cards already: a demo never adds to a journal someone is using)."""
    if desk.journal.count_cards():
        return 0
    if not desk.roster.exists:
        desk.roster.import_file(DEFAULT_EXAMPLE)  # a demo rota, so "on call" is not empty
    count = fill_demo(desk.journal, desk.rules, desk.clock.now(), desk.roster.roster)
    desk.journal.use_clock(desk.clock)  # the demo stamped entries with its walking clock
    if desk.roster.exists:
        # ... whose people answered last month's availability check (roster verify).
        desk.journal.write(demo_verifications(desk.roster.roster.contacts,
                                              desk.clock.now() - timedelta(days=12)), "demo")
    return count


class BreachRecorder(QObject):
    """Writes SLA breaches onto the cards as they fall due (on the shared tick), so the
    timeline says when a deadline passed even if nobody was looking at the card.

    With a queue to follow (`follow`), it works from the queue's rows, which hold every open
    card's clocks already; without one (the wallboard alone) it asks SlaWatch, which re-reads
    the open cards after each change.
    """

    def __init__(self, desk: Desk, events: DeskEvents) -> None:
        super().__init__(events)
        self._desk = desk
        self._events = events
        self._rows: Sequence[QueueRow] | None = None
        self._wake: datetime | None = None
        self._known = False
        events.changed.connect(self._forget)
        events.tick.connect(self.check)

    def follow(self, rows: Sequence[QueueRow]) -> None:
        """The queue's rows after each reload (connect to QueueView.rows_changed)."""
        self._rows = rows
        self._wake, self._known = next_deadline(rows, self._desk.clock.now()), False

    def _forget(self, _cards: object = None) -> None:
        self._known = False  # a change may move a deadline; work the next one out lazily

    def check(self) -> None:
        now = self._desk.clock.now()
        if self._known and (self._wake is None or now < self._wake):
            return
        # After a change the next deadline is unknown, and one may already have passed (a
        # card registered with a handwritten time): record what is due, then find the next.
        try:
            if self._rows is not None:
                written = record_due_breaches(self._desk.journal, self._rows, self._desk.rules, now)
                self._wake = next_deadline(self._rows, now)
            else:
                written = self._desk.sla.record_breaches(now)
                self._wake = self._desk.sla.next_wake(now)
        except DeskError as exc:
            self._events.error.emit(f"recording SLA breaches failed: {exc}")
            return
        self._known = True
        if written:
            self._events.announce(frozenset(e.card_id for e in written))


def record_breaches(desk: Desk, events: DeskEvents, window: QWidget) -> BreachRecorder:
    """A recorder for this window: following its queue's rows when it has a queue."""
    recorder = BreachRecorder(desk, events)
    queue = getattr(window, "queue", None)
    if queue is not None:
        queue.rows_changed.connect(recorder.follow)
        recorder.follow(queue.model.all_rows)
    return recorder


def build_window(desk: Desk, events: DeskEvents, *, wallboard: bool = False,
                 settings: QSettings | None = None,
                 background: DeskBackground | None = None) -> QWidget:
    background = background or DeskBackground(desk, events)

    def make_wallboard() -> QWidget:
        from app.ui.wallboard import WallboardWindow  # loaded only when a board is wanted

        return WallboardWindow(desk, events, shifts=desk.shifts, sync=background.sync,
                               on_call=background.on_call, escalations=background.escalations)

    if wallboard:
        return make_wallboard()
    from app.ui.main_window import DeskWindow

    boards: list[QWidget] = []

    def open_wallboard() -> None:
        board = make_wallboard()
        boards.append(board)  # keep it alive as long as the desk window
        board.show()

    return DeskWindow(desk, events, settings=settings, open_wallboard=open_wallboard,
                      background=background)


def run_window(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if QApplication.instance() is None:
        check_display(os.environ)
    demo = bool(getattr(args, "demo", False))
    if getattr(args, "fresh", False) and (not demo or args.journal is not None):
        raise DeskError("--fresh goes with --demo alone: it starts the demo journal anew "
                        "and never removes a --journal given")
    if demo and args.journal is None:
        settings = replace(settings, journal=demo_journal_path())
        if args.fresh:
            discard_demo_journal(settings.journal_path)
        # Where the demo is, so the command line can look at the same cards.
        print(f"demo journal: {settings.journal_path} (see it on the command line: "
              f"dispatch-desk card list --journal {settings.journal_path})", file=sys.stderr)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    apply_font_scale(app, settings.font_scale)
    desk = build_desk(settings)
    try:
        if demo:
            fill_if_empty(desk)
        events = DeskEvents(desk.clock)
        background = DeskBackground(desk, events)
        wallboard = bool(getattr(args, "wallboard", False))
        window = build_window(desk, events, wallboard=wallboard, background=background)
        record_breaches(desk, events, window)
        if wallboard:
            show_on(window, wallboard_screen(QSettings(), getattr(args, "screen", None)))
        else:
            if getattr(args, "screen", None) is not None:
                wallboard_screen(QSettings(), args.screen)  # checked and kept for F11
            window.show()
        background.start()
        events.start_ticking()
        try:
            return int(app.exec())
        finally:
            background.stop()
    finally:
        desk.close()
