"""Noticing what other processes write to this desk's journal.

The window, the headless desk, `dispatch-desk card new` from a monitoring hook and the ladder
may all write one journal file. SQLite's `PRAGMA data_version` on a connection changes when any
*other* connection commits, and reading it costs microseconds, so the watch polls it often
(every 0.2 s) on a connection of its own that never writes; only when it moved does it read the
new entries, and it announces those this process did not write (it announces its own).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from app.models.journal import Journal
from app.runtime.changes import OTHER_PROCESS, Change

log = logging.getLogger(__name__)

#: How often the headless desk and the window look (seconds).
WATCH_EVERY_S = 0.2


class JournalWatch:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._conn = _connect(journal.path)
        self._lock = threading.Lock()
        self._version = self._data_version()
        self._seq = int(self._conn.execute("SELECT coalesce(max(seq), 0) FROM entries")
                        .fetchone()[0])

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def poll(self) -> Change | None:
        """The change other processes made since the last poll, or None."""
        with self._lock:
            try:
                version = self._data_version()
                if version == self._version:
                    return None
                self._version = version
                rows = self._conn.execute(
                    "SELECT seq, card_id, kind FROM entries WHERE seq > ? ORDER BY seq",
                    (self._seq,)).fetchall()
            except sqlite3.Error as exc:  # locked or busy for a moment: look again next time
                log.info("journal watch: %s", exc)
                return None
            if not rows:
                return None
            self._seq = int(rows[-1][0])
            own = self._journal.own_seqs
            theirs = [(str(card), str(kind)) for seq, card, kind in rows
                      if seq not in own]
            own.difference_update(r[0] for r in rows)
            return Change.of(theirs, OTHER_PROCESS) if theirs else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                           isolation_level=None, timeout=1.0)
    conn.execute("PRAGMA query_only=1")
    return conn
