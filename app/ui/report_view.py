"""The report in the window (issue 14): the same figures and charts as `dispatch-desk report`
for today, this shift or this week, chosen by keyboard (Alt+T, Alt+S, Alt+W; Alt+R counts
again, for what happened since; Esc closes).

Everything it shows comes from the measures package: the journal is read by
`measures.reading.read_journal` on a read-only connection of its own, the figures by
`measures.build_report`, the words by `measures.summary_lines` and `pdf.headline`, the charts
by `measures.charts` drawn to PNG on matplotlib's Agg canvas. That work runs on a worker
thread (a year's busy journal takes seconds to read), and the result comes back to the GUI
thread through a queued signal; a result for a period the person has since left is dropped.

`open_report_view(parent, desk)` opens it (one per parent: opened again, it comes to the
front and counts again).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.application import Desk
from app.services.measures import Period, Report, build_report, day_of, summary_lines, week_of
from app.services.measures.period import between

log = logging.getLogger(__name__)

PERIODS = ("today", "shift", "week")
PERIOD_LABELS = {"today": "&Today", "shift": "This &shift", "week": "This &week"}


@dataclass(frozen=True)
class Shown:
    """What one count gives the view: the report, its words and its charts (PNG)."""

    key: str
    period: Period
    report: Report
    headline: tuple[tuple[str, str], ...]
    summary: tuple[str, ...]
    charts: tuple[bytes, ...]


def period_of(desk: Desk, key: str, now: datetime) -> Period:
    """Today, the shift `now` falls in (the desk's shift plan), or this week (from Monday)."""
    tz = desk.rules.tz
    if key == "today":
        return day_of(now, tz)
    if key == "week":
        return week_of(now, tz)
    shift = desk.shifts.shift_at(now)
    return between(shift.start, shift.end, tz)


def count(journal: Path, desk: Desk, key: str, now: datetime) -> Shown:
    """The report for one period, as the command line counts it (runs on a worker thread:
    touches no widget, only the journal file through a connection of its own)."""
    from app.services.measures import charts
    from app.services.measures.pdf import headline
    from app.services.measures.reading import read_journal

    period = period_of(desk, key, now)
    cards, facts, reviews = read_journal(journal, period.start)
    report = build_report(cards, facts, desk.rules, period, now, reviews)
    pictures = tuple(charts.png(chart(report)) for chart in charts.CHARTS)
    return Shown(key, period, report, tuple(headline(report)), tuple(summary_lines(report)),
                 pictures)


class _Courier(QObject):
    """Carries a worker's result to the GUI thread (a queued signal: the worker never
    touches a widget)."""

    done = Signal(int, object)  # generation, Shown or the error's message


class ReportView(QDialog):
    shown = Signal(object)  # Shown, once it is on screen (tests wait for it)

    def __init__(self, parent: QWidget | None, desk: Desk) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle("Report")
        self.resize(980, 760)
        self.current: Shown | None = None
        self.key = "today"
        self._generation = 0
        self._pending = False
        self._courier = _Courier(self)
        self._courier.done.connect(self._arrived, Qt.ConnectionType.QueuedConnection)

        self.buttons: dict[str, QPushButton] = {}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        choice = QHBoxLayout()
        for key in PERIODS:
            button = QPushButton(PERIOD_LABELS[key])
            button.setCheckable(True)
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, k=key: self.choose(k))
            self.group.addButton(button)
            self.buttons[key] = button
            choice.addWidget(button)
        self.again = QPushButton("&Refresh")
        self.again.setAutoDefault(False)
        self.again.clicked.connect(lambda: self.choose(self.key))
        choice.addStretch(1)
        choice.addWidget(self.again)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.tiles = QGridLayout()
        self.tile_labels: list[tuple[QLabel, QLabel]] = []
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setFont(QFont("DejaVu Sans Mono"))
        self.summary.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.summary.setAccessibleName("Report summary")
        self.chart_labels: list[QLabel] = []
        charts = QWidget()
        self.chart_box = QVBoxLayout(charts)
        self.chart_area = QScrollArea()
        self.chart_area.setWidget(charts)
        self.chart_area.setWidgetResizable(True)
        self.chart_area.setAccessibleName("Report charts")

        tiles = QWidget()
        tiles.setLayout(self.tiles)
        body = QHBoxLayout()
        body.addWidget(self.summary, 2)
        body.addWidget(self.chart_area, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(choice)
        layout.addWidget(self.status)
        layout.addWidget(tiles)
        layout.addLayout(body, 1)
        # Keyboard order: the period choice first, then the figures, then the charts.
        QWidget.setTabOrder(self.buttons["today"], self.buttons["shift"])
        QWidget.setTabOrder(self.buttons["shift"], self.buttons["week"])
        QWidget.setTabOrder(self.buttons["week"], self.again)
        QWidget.setTabOrder(self.again, self.summary)
        QWidget.setTabOrder(self.summary, self.chart_area)
        self.buttons["today"].setChecked(True)

    @property
    def busy(self) -> bool:
        """Counting: what is on screen is not (yet) the chosen period's."""
        return self._pending

    def open_on(self, key: str | None = None) -> None:
        """Show the view with the focus on the period choice, and count."""
        self.show()
        self.raise_()
        self.activateWindow()
        self.buttons[key or self.key].setFocus(Qt.FocusReason.ActiveWindowFocusReason)
        self.choose(key or self.key)

    def choose(self, key: str) -> None:
        """Count `key`'s period on a worker thread; the view says so meanwhile."""
        if key not in PERIODS:
            raise ValueError(f"the report view shows {', '.join(PERIODS)}, not {key!r}")
        self.key = key
        self.buttons[key].setChecked(True)
        self._generation += 1
        self._pending = True
        now = self.desk.clock.now()
        period = period_of(self.desk, key, now)
        self.status.setText(f"Counting {self._describe(key, period)} ...")
        generation, courier, desk, journal = (self._generation, self._courier, self.desk,
                                              Path(self.desk.journal.path))

        def work() -> None:
            result: object
            try:
                result = count(journal, desk, key, now)
            except Exception as exc:  # shown in the view, and logged: never lost
                log.exception("the report view could not count %s", key)
                result = f"Could not count the report: {exc}"
            with contextlib.suppress(RuntimeError):  # the window is gone: nobody to tell
                courier.done.emit(generation, result)

        threading.Thread(target=work, name="report-view", daemon=True).start()

    def _describe(self, key: str, period: Period) -> str:
        tz = period.tz
        if key == "shift":
            return (f"this shift ({period.start.astimezone(tz):%a %d.%m %H:%M} - "
                    f"{period.end.astimezone(tz):%a %d.%m %H:%M})")
        if key == "week":
            return f"this week ({period.first_day} to {period.last_day})"
        return f"today ({period.first_day})"

    @Slot(int, object)
    def _arrived(self, generation: int, result: object) -> None:
        if generation != self._generation:
            return  # a period the person has since left
        self._pending = False
        if not isinstance(result, Shown):
            self.status.setText(str(result))
            return
        self.current = result
        self.status.setText(f"Report for {self._describe(result.key, result.period)}, "
                            f"counted at {result.report.now.astimezone(result.period.tz):%H:%M}"
                            ". The same figures as `dispatch-desk report`.")
        self._show_tiles(result.headline)
        self.summary.setPlainText("\n".join(result.summary))
        self._show_charts(result.charts)
        self.shown.emit(result)

    def _show_tiles(self, tiles: tuple[tuple[str, str], ...]) -> None:
        while len(self.tile_labels) < len(tiles):
            label, value = QLabel(), QLabel()
            value.setFont(QFont(value.font().family(), 15, QFont.Weight.Bold))
            column = len(self.tile_labels)
            self.tiles.addWidget(label, 0, column)
            self.tiles.addWidget(value, 1, column)
            self.tile_labels.append((label, value))
        for (label, value), (text, figure) in zip(self.tile_labels, tiles, strict=False):
            label.setText(text)
            value.setText(figure)
            value.setAccessibleName(f"{text}: {figure}")

    def _show_charts(self, pictures: tuple[bytes, ...]) -> None:
        while len(self.chart_labels) < len(pictures):
            label = QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.chart_box.addWidget(label)
            self.chart_labels.append(label)
        for label, data in zip(self.chart_labels, pictures, strict=False):
            pixmap = QPixmap()
            pixmap.loadFromData(data, "PNG")
            label.setPixmap(pixmap)

    def tile_texts(self) -> list[tuple[str, str]]:
        return [(a.text(), b.text()) for a, b in self.tile_labels]


def open_report_view(parent: QWidget, desk: Desk) -> ReportView:
    """The window's report view (one per parent), shown with the focus on the period
    choice, counting the period last chosen (today at first)."""
    view = parent.findChild(ReportView)
    if view is None:
        view = ReportView(parent, desk)
    view.open_on()
    return view
