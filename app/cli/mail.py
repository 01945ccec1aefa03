"""`dispatch-desk intake set-mail-password` and `dispatch-desk intake poll-mail`: the intake
mailbox from the command line (app/runtime/mail_poller.py does the work; the headless desk
runs the same poller every `mail_poll_s`).

`poll-mail --once` takes what is waiting and prints what it did, for a first set-up ("does the
desk see my mailbox?") and for cron; without `--once` it polls until Ctrl-C.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
from contextlib import closing, suppress
from typing import Any

from app.cli import emit
from app.errors import ConfigError, ValidationError


def _settings_checked(args: argparse.Namespace) -> Any:
    from app.cli import settings_from

    settings = settings_from(args)
    if not settings.mail_server:
        raise ConfigError("mail_server is not set: put mail_server = \"imaps://HOST\" and "
                          "mail_user in the settings file first", field="mail_server")
    return settings


def cmd_set_mail_password(args: argparse.Namespace) -> int:
    from app.adapters.imap import MAIL_PASSWORD
    from app.adapters.secrets import SecretStore

    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Mailbox password (not shown): ")
    if not password.strip():
        raise ValidationError("the password is empty; nothing was stored", field=MAIL_PASSWORD)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in password):
        raise ValidationError("the password holds a control character (a pasted line break?);"
                              " nothing was stored", field=MAIL_PASSWORD)
    store = SecretStore()
    store.set(MAIL_PASSWORD, password)
    emit(f"mailbox password stored in the OS keyring ({store.service}/{MAIL_PASSWORD})")
    return 0


def cmd_poll_mail(args: argparse.Namespace) -> int:
    from app.adapters.secrets import SecretStore
    from app.bootstrap import build_desk
    from app.runtime.mail_poller import MailPoller, PollReport, mail_poller_for

    settings = _settings_checked(args)
    with closing(build_desk(settings)) as desk:
        poller: MailPoller | None = mail_poller_for(desk, SecretStore())
        assert poller is not None  # mail_server is set
        if args.once:
            report: PollReport = poller.poll_once()  # errors: printed by main, exit 1
            emit(report.summary())
            return 0

        def said(report: PollReport) -> None:
            if report.fetched:
                emit(report.summary())
                sys.stdout.flush()

        poller = mail_poller_for(desk, SecretStore(), on_polled=said,
                                 on_error=lambda text: emit(f"mail: {text}", file=sys.stderr))
        assert poller is not None
        emit(f"polling {settings.mail_server} folder {settings.mail_folder!r} every "
             f"{settings.mail_poll_s:g} s; Ctrl-C stops")
        sys.stdout.flush()
        signal.signal(signal.SIGTERM, lambda *_: poller.stop())
        with suppress(KeyboardInterrupt):
            poller.run()
    return 0


def add_mail_commands(isub: Any) -> None:
    """The mailbox's subcommands, under `dispatch-desk intake`."""
    pw = isub.add_parser("set-mail-password",
                         help="store the intake mailbox's password in the OS keyring")
    pw.add_argument("--stdin", action="store_true",
                    help="read it from the first line of standard input (for scripts)")
    pw.set_defaults(handler=cmd_set_mail_password)
    poll = isub.add_parser("poll-mail", help="take the intake mail waiting in the mailbox",
                           description="Connects to mail_server as mail_user, makes each mail "
                           "in mail_folder an intake item and moves it to mail_done_folder.")
    poll.add_argument("--once", action="store_true", help="poll once, print what was done")
    poll.set_defaults(handler=cmd_poll_mail)


def register(sub: Any) -> None:
    """Under `dispatch-desk intake`, beside the tray's commands (app/cli/intake.py)."""
    from app.cli.intake import _intake_actions

    add_mail_commands(_intake_actions(sub))
