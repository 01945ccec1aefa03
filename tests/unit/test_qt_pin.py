"""The PySide6 pin holds: 6.12.0 on Python 3.11 aborted after a few thousand signal emits
(PITFALLS.md). An upgrade that brings the crash back fails here, in a child process, loudly."""

from __future__ import annotations

import subprocess
import sys

EMITTER = """
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Source(QObject):
    fired = Signal(object)

app = QCoreApplication([])
source = Source()
seen = []
source.fired.connect(seen.append)
for i in range(50_000):
    source.fired.emit(i)
print(len(seen))
"""


def test_many_signal_emits_do_not_crash() -> None:
    done = subprocess.run([sys.executable, "-c", EMITTER], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"Qt crashed after many emits:\n{done.stderr[-2000:]}"
    assert done.stdout.strip() == "50000"
