"""`dispatch-desk run`: the headless desk (app/runtime/headless.py) until SIGTERM or Ctrl-C.

Sync (when enrolled), the escalation ladder (when Twilio credentials are in the keyring),
heartbeats and the journal watch, in one process; `installer/dispatch-desk-run.service` runs it
under systemd. Lines that name people or cards go through `emit` (escaped for the terminal).
"""

from __future__ import annotations

import argparse
import signal
import sys
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

from app.cli import emit
from app.errors import ValidationError


def _say(prefix: str = "") -> Any:
    def show(text: str) -> None:
        emit(f"{prefix}{text}", file=sys.stderr)
        sys.stderr.flush()

    return show


def run_headless(args: argparse.Namespace, *, sync: bool) -> int:
    from app.bootstrap import build_desk
    from app.cli import settings_from
    from app.runtime.headless import HeadlessDesk

    if args.poll is not None and args.poll <= 0:
        raise ValidationError("--poll must be more than 0 seconds", field="--poll")
    settings = settings_from(args)
    with closing(build_desk(settings)) as desk:
        poll = args.poll if args.poll is not None else settings.reply_poll_s
        headless = HeadlessDesk(desk, sync=sync, poll_every_s=poll, say=_say(),
                                alarm=_say("ALARM: "), ladder_file=args.ladder,
                                default_group=args.group)
        signal.signal(signal.SIGTERM, lambda *_: headless.stop())
        parts = [p for p, on in (("sync", headless.sync), ("ladder", headless.ladder)) if on]
        emit(f"desk {desk.journal.desk_id} running on {desk.journal.path} "
             f"({', '.join(parts) or 'journal watch only'}); Ctrl-C or SIGTERM stops")
        sys.stdout.flush()
        with suppress(KeyboardInterrupt):
            headless.run()
        emit("stopped")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return run_headless(args, sync=not args.no_sync)


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ladder", type=Path,
                        help="ladder TOML file (default: the `ladder` setting, else shipped)")
    parser.add_argument("--group", help="group whose rota pages when no routing rule matches")
    parser.add_argument("--poll", type=float, default=None,
                        help="seconds between reads of SMS replies and call results while a "
                             "ladder is live (default: the reply_poll_s setting, 2)")


def register(sub: Any) -> None:
    run = sub.add_parser(
        "run", help="the desk without a window: sync, ladder, heartbeats, journal watch",
        description="Runs until SIGTERM or Ctrl-C. A card written by another process (for "
        "example `dispatch-desk card new` from a monitoring hook) is paged and sent to the "
        "store within a second.")
    add_runtime_options(run)
    run.add_argument("--no-sync", action="store_true", help="do not sync with the store")
    run.set_defaults(handler=cmd_run)
