"""Real desk processes for the runtime tests: `dispatch-desk run` and `dispatch-desk card new`
as the operating system runs them, on one journal file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

P1 = ["card", "new", "--category", "network", "--site", "HQ", "--symptom", "core switch down",
      "--impact", "high", "--urgency", "high", "--reason", "whole site offline",
      "--q-what", "no network", "--q-where", "HQ", "--q-when", "09:55",
      "--q-workaround", "none", "--q-contact", "J. Weber"]


def cli(journal: Path, *args: str, env: dict[str, str] | None = None,
        settings: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = [sys.executable, "-m", "app", "--journal", str(journal)]
    if settings is not None:
        base += ["--config", str(settings)]
    return subprocess.run([*base, *args], capture_output=True, text=True, env=env, timeout=60,
                          check=False)


def start_run(journal: Path, settings: Path, env: dict[str, str], *extra: str
              ) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--journal", str(journal), "--config", str(settings),
         "run", "--poll", "0.5", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
