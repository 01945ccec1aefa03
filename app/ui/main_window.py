"""The desk window: composes the panels and binds the action table to them. No logic here.

Layout: the message bar on top (the one place errors appear), the command bar, the queue on
the left and the card on the right, the intake form in a tab beside the card (Ctrl+N / F2),
and the status strip at the bottom. Window geometry and panel sizes are remembered in QSettings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.adapters.sound import Sound, find_sound
from app.application import Desk
from app.services.alerts import parse_silenced
from app.services.handover.facts import EscalationLine
from app.services.handover.sources import desk_packet
from app.ui.actions import (
    ACTIONS,
    ActionRegistry,
    SlashFocus,
    WindowKeys,
    canned_note_actions,
)
from app.ui.alert_stack import AlertDesk, AlertStack
from app.ui.background import DeskBackground
from app.ui.canned_notes import canned_note_handlers
from app.ui.card_view import CardView
from app.ui.command_bar import CommandBar
from app.ui.desk_lock import DeskLock
from app.ui.dialogs import ShortcutsDialog
from app.ui.events import DeskEvents
from app.ui.handover_dialog import HandoverDialog
from app.ui.intake import IntakeForm
from app.ui.offline_banner import OfflineBanner
from app.ui.oncall_panel import OnCallPanel
from app.ui.queue_view import QueueView
from app.ui.quit_guard import QuitGuard
from app.ui.review_dialog import record_review
from app.ui.roster_dialog import RosterDialog
from app.ui.screens import show_on, wallboard_screen
from app.ui.sign_in import who_line
from app.ui.status_strip import MessageBar, StatusStrip
from app.ui.tray import TrayCount, TrayPanel


class DeskWindow(QMainWindow):
    def __init__(self, desk: Desk, events: DeskEvents, *, settings: QSettings | None = None,
                 open_wallboard: Callable[[], object] | None = None,
                 background: DeskBackground | None = None, sound: Sound | None = None) -> None:
        super().__init__()
        self.desk = desk
        self.events = events
        self._settings = settings or QSettings()

        self.message_bar = MessageBar(events)
        self.command_bar = CommandBar(desk, events)
        self.queue = QueueView(desk, events)
        self.card = CardView(desk, events)
        self.intake = IntakeForm(desk, events)
        # The card and the intake form share the right-hand side: the queue stays in view
        # while a call is taken, and the window never grows past the screen.
        self.side = QTabWidget()
        self.side.addTab(self.card, "Card")
        self.side.addTab(self.intake, "New card (Ctrl+N)")
        self.on_call = OnCallPanel(desk.roster, desk.clock, events)
        self.side.addTab(self.on_call, "On call (Ctrl+3)")
        self.tray = TrayPanel(desk, events)  # what came in through the one door (F3)
        self.side.addTab(self.tray, self.tray.title())
        self.background = background or DeskBackground(desk, events)
        self.offline_banner = OfflineBanner(desk, events)  # no internet: phone them now
        self.background.offline_ready.connect(self.offline_banner.watch)
        self.background.offline_alarm.connect(self.offline_banner.check)
        # Heard and seen, never taking the keyboard: new P1s, breaches, the emergency line.
        self.notices = AlertStack(desk.rules.tz)
        self.alerts = AlertDesk(desk, events, self.notices, sound or find_sound(os.environ),
                                silenced=parse_silenced(desk.settings.silence),
                                link_down_since=self._link_down_since,
                                escalations=self._running_ladders,
                                cards=lambda: (r.card for r in self.queue.model.all_rows),
                                tray=lambda: self.tray.tray.items, window=self)
        self.tray.tray.items_changed.connect(lambda _items: self.alerts.look())
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.queue)
        self.split.addWidget(self.side)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        # The divider moves only when the dispatcher drags it: each side's least width is
        # fixed now, so a card with a long title or unbroken words cannot raise its panel's
        # minimum and push the divider (what does not fit elides or wraps instead).
        for panel in (self.queue, self.side):
            panel.setMinimumWidth(panel.minimumSizeHint().width())
        # Kept at once, not only on a clean quit: a desk killed by a power cut keeps it too.
        self.split.splitterMoved.connect(
            lambda _pos, _index: self._settings.setValue("desk/split", self.split.saveState()))
        central = QWidget()
        column = QVBoxLayout(central)
        column.addWidget(self.offline_banner)
        column.addWidget(self.message_bar)
        column.addWidget(self.notices)
        column.addWidget(self.command_bar)
        column.addWidget(self.split, 1)
        # The desk, or the sign-in screen in its place (DeskLock): never both.
        self.pages = QStackedWidget()
        self.pages.addWidget(central)
        self.setCentralWidget(self.pages)

        self.strip = StatusStrip(events, desk.clock, desk.rules.tz, desk.journal.path.name)
        self.setStatusBar(self.strip)
        self.tray_count = TrayCount(self.tray.tray)
        self.strip.insertPermanentWidget(0, self.tray_count)
        self.background.link_changed.connect(self.strip.set_link)
        self.background.paging_changed.connect(self.strip.set_paging)

        handlers: dict[str, Callable[[], object]] = {
            "intake": self.open_intake,
            "status": self.card.change_status,
            "priority": self.card.change_priority,
            "note": self.card.add_note,
            "assign": self.card.assign,
            "acknowledge": self.card.acknowledge,
            "confirm": self.card.confirm,
            "status_message": self.card.status_message,
            "escalate_now": self.card.paging.escalate_now,
            "hold_ladder": self.card.paging.hold_or_resume,
            "command_bar": self.focus_command_bar,
            "focus_queue": self.queue.focus_table,
            "focus_card": self.focus_card,
            "filter": self.queue.focus_filter,
            "clear_filters": self.queue.clear_filters,
            "dismiss": self.message_bar.dismiss,
            "quit": self.close,
            "shortcuts": lambda: ShortcutsDialog.ask(self, self.registry.cheat_sheet()),
            "handover": self.open_handover,
            "breakglass": self.print_breakglass,
            "sync_now": self.background.sync_now,
            "outbox": self.open_outbox,
            "report": self.open_report,
            "roster": lambda: RosterDialog.ask(desk.roster, self),
            "on_call": lambda: self.side.setCurrentWidget(self.on_call),
            "tray": self.tray.open,
            "clear_notices": self.alerts.clear,
            "review": self.record_review,
            "lock": lambda: self._lock_or_say(self.desk_lock.lock),
            "switch_operator": lambda: self._lock_or_say(self.desk_lock.switch_operator),
            **canned_note_handlers(desk, events, self.card_in_view),
        }
        self._open_wallboard = open_wallboard
        if open_wallboard is not None:
            handlers["wallboard"] = self.toggle_wallboard
        specs = ACTIONS + canned_note_actions(desk.rules.canned_notes)
        self.registry = ActionRegistry(self, specs, handlers)
        self.registry.build_menus(self.menuBar())
        self._slash = SlashFocus(self.focus_command_bar, self)
        self._keys = WindowKeys(self, self.registry.sequences())
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._slash)
            app.installEventFilter(self._keys)
        # Esc leaves the on-call tab (the intake form has its own Esc, which keeps a draft).
        leave = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.on_call, self.leave_side_tab)
        leave.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

        self.queue.card_chosen.connect(self.card.show_card)
        # The on-call tab follows the card in view: its group's people first.
        self.queue.card_chosen.connect(lambda _n: self.on_call.show_group(
            self.card.paging.view.group if self.card.paging.view else None))
        self.command_bar.open_card.connect(self.show_number)
        self.intake.registered.connect(self._intake_done)
        self.intake.attached.connect(self._intake_done)
        self.intake.dismissed.connect(self.leave_side_tab)
        self.tray.accept_requested.connect(self.accept_item)
        self._restore_layout()
        if self.queue.model.rows:
            self.queue.select_number(self.queue.model.rows[0].number)
        # Start on the queue: arrows move through the cards, `/` opens the command bar.
        self.queue.table.setFocus(Qt.FocusReason.OtherFocusReason)
        # On a desk with operator accounts: the sign-in screen first (the queue's focus is
        # kept for after). Every window key is off while it shows.
        self.desk_lock = DeskLock(desk, events, self, self.pages,
                                  [self.registry.action(s.key) for s in specs],
                                  [self.tray_count], can_focus=central.isAncestorOf)
        self.desk_lock.who_changed.connect(self._show_who)
        self._show_who()

    # -- small glue -----------------------------------------------------------------------

    def _show_who(self) -> None:
        """The title bar and the strip: the signed-in operator; without accounts, the
        settings' operator as before."""
        d = self.desk
        title = f"Dispatch Desk · desk {d.journal.desk_code} · "
        if self.desk_lock.locked:
            self.setWindowTitle(title + "locked: sign in")
            self.strip.set_operator("Locked: nobody signed in")
        elif d.signed_in is not None:
            who = who_line(d)
            self.setWindowTitle(title + who)
            self.strip.set_operator(f"Signed in: {who}")
        else:
            self.setWindowTitle(title + f"{d.operator.name} ({d.operator.role})")
            self.strip.set_operator("")

    def _lock_or_say(self, lock: Callable[[], None]) -> None:
        if not self.desk.needs_sign_in:
            self.events.info.emit("This desk has no operator accounts, so nobody signs in "
                                  "and there is nothing to lock (README: Operators and rights).")
            return
        lock()

    def record_review(self) -> None:
        card = self.card.card
        if card is None:
            self.events.info.emit("Pick a closed P1/P2 card first (Ctrl+1 goes to the queue).")
            return
        review = record_review(self.desk, card, self)
        if review is not None:
            self.events.announce(frozenset({card.id}))
            self.events.info.emit(f"{card.number}: post-incident review recorded")

    def _running_ladders(self) -> Mapping[str, EscalationLine] | None:
        # Only ladders this desk runs: another desk's last tier is sounded there, and
        # deriving every card's ladder from the journal at each look would stall the window.
        return self.background.escalations() if self.background.ladder is not None else None

    def _link_down_since(self) -> datetime | None:
        status = self.background.sync_status
        return status.since if status is not None and not status.online else None

    def open_intake(self) -> None:
        self.side.setCurrentWidget(self.intake)
        self.intake.open_at_start()

    def accept_item(self, item_id: str, prefill: dict[str, str]) -> None:
        """Enter in the tray: the intake form pre-filled, the cursor on the first answer
        still missing (a half-typed other report is kept, and the form shown with it)."""
        taken = self.intake.take_item(item_id, prefill)
        self.open_intake()
        if taken:
            self.intake.first_missing().setFocus(Qt.FocusReason.OtherFocusReason)

    def leave_side_tab(self) -> None:
        """Esc on a side tab: back to the card, the cursor back in the queue (focus left on
        a hidden tab would swallow the next keys)."""
        self.side.setCurrentWidget(self.card)
        self.queue.focus_table()

    def toggle_wallboard(self) -> None:
        """F11: one wallboard. Open it (full screen), or close the one that is open; a
        closed one is shown again rather than built anew, so boards never pile up."""
        from app.ui.wallboard import WallboardWindow  # loaded only when a board is wanted

        boards = [w for w in QApplication.topLevelWidgets() if isinstance(w, WallboardWindow)]
        shown = [b for b in boards if b.isVisible()]
        for board in shown:
            board.close()
        if shown or self._open_wallboard is None:
            return
        if not boards:
            self._open_wallboard()
            boards = [w for w in QApplication.topLevelWidgets()
                      if isinstance(w, WallboardWindow)]
        for board in boards[:1]:
            show_on(board, wallboard_screen(self._settings))
            board.raise_()
            board.activateWindow()

    def open_handover(self) -> None:
        b = self.background
        HandoverDialog(self.desk, self.events, self.desk.handover, on_call=lambda: b.on_call(
            self.desk.clock.now()), sync=b.sync, escalations=b.escalations, parent=self).exec()

    def open_report(self) -> None:
        from app.ui.report_view import open_report_view

        open_report_view(self, self.desk)

    def open_outbox(self) -> None:
        """One outbox window: a second Ctrl+O brings the open one forward."""
        from app.ui.outbox_view import open_outbox_view

        view = getattr(self, "_outbox", None)
        try:
            if view is not None and view.isVisible():
                view.raise_()
                view.activateWindow()
                return
        except RuntimeError:  # closed: Qt deleted it (WA_DeleteOnClose)
            pass
        self._outbox = open_outbox_view(self, self.desk)

    def print_breakglass(self) -> None:
        from app.adapters.print_sheets import breakglass_job
        from app.adapters.printing import preview

        d = self.desk
        packet = desk_packet(d.shifts, d.journal.desk_code, d.cards.open_cards(), d.rules,
                             d.roster.roster, d.clock.now())
        dialog = preview(breakglass_job(packet), self)
        dialog.paintRequested.connect(lambda _printer: self.background.packet_printed())
        dialog.exec()

    def focus_card(self) -> None:
        self.side.setCurrentWidget(self.card)
        self.card.quick_note.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def card_in_view(self) -> str | None:
        return self.card.card.number if self.card.card else None

    def focus_command_bar(self) -> None:
        if self.desk_lock.locked:
            return  # `/` on the sign-in screen is a character, not a way into the desk
        self.command_bar.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def show_number(self, number: str) -> None:
        self.side.setCurrentWidget(self.card)
        if not self.queue.select_number(number):
            self.card.show_card(number)  # closed, or hidden by a filter: show it anyway

    def _intake_done(self, number: str) -> None:
        self.side.setCurrentWidget(self.card)
        self.show_number(number)

    # -- remembered layout ----------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self._settings.value("desk/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 900)
        state = self._settings.value("desk/state")
        if state is not None:
            self.restoreState(state)
        split = self._settings.value("desk/split")
        if split is not None:
            self.split.restoreState(split)
        else:
            self.split.setSizes([1010, 590])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not QuitGuard.may_quit(self, self.queue.model.all_rows, self.intake):
            event.ignore()  # "Stay": nothing is saved or torn down
            return
        self._settings.setValue("desk/geometry", self.saveGeometry())
        self._settings.setValue("desk/state", self.saveState())
        self._settings.setValue("desk/split", self.split.saveState())
        self._settings.sync()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._slash)
            app.removeEventFilter(self._keys)
        self.desk_lock.remove()
        super().closeEvent(event)
