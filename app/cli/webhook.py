"""`dispatch-desk webhook ...`: outbound webhooks on card events (the one door out).

`add` prints the subscription's secret once (only the keyring keeps it); `list` shows each
subscription's delivery state with the last error; `test` sends a "test" event now; `retry`
releases a subscription that a permanent failure holds. Delivery itself runs in the headless
desk (`dispatch-desk run`). URLs, names and receivers' errors go through `emit`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from app.adapters.secrets import SecretStore
from app.application import Desk
from app.cli import EXIT_ERROR, emit, print_json
from app.cli.signin import open_desk
from app.protocol.catalogue import WEBHOOK_EVENTS
from app.protocol.rights import Right
from app.runtime.outbound_worker import Webhooks
from app.services import outbound as ob

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@contextmanager
def _webhooks(args: argparse.Namespace, *, writes: bool = True
              ) -> Iterator[tuple[Desk, Webhooks]]:
    """The desk's webhooks; a command that changes one signs in and needs
    edit_integrations once the desk has accounts (app/cli/signin.py)."""
    desk = open_desk(args, writes=writes, needs=(Right.EDIT_INTEGRATIONS,) if writes else ())
    hooks = Webhooks(desk.journal, SecretStore(), desk.clock)
    try:
        yield desk, hooks
    finally:
        hooks.close()
        desk.close()


def cmd_add(args: argparse.Namespace) -> int:
    with _webhooks(args) as (desk, hooks):
        sub, secret = hooks.add(args.url, args.events, args.name, desk.operator.name, args.note)
        emit(f"webhook {sub.name} added: {', '.join(sub.events)} -> {sub.url}")
        emit(f"secret (shown once; the receiver checks {ob.SIGNATURE_HEADER} with it): "
             f"{secret}")
        if urlsplit(sub.url).scheme == "http" and urlsplit(sub.url).hostname not in _LOOPBACK:
            emit("warning: http:// is signed but not private; use https:// across networks")
        emit(f"delivered by this desk ({desk.journal.desk_id}) while `dispatch-desk run` runs; "
             "events from now on")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _webhooks(args, writes=False) as (_desk, hooks):
        views = hooks.views()
    if args.json:
        print_json([v.to_json() for v in views])
        return 0
    if not views:
        emit("no webhooks (dispatch-desk webhook add URL --events ...)")
    for v in views:
        d = v.delivery
        emit(f"{v.sub.name}  {v.sub.url}")
        emit(f"    events {','.join(v.sub.events)} · delivered {d.delivered}"
             f"{f' (last {d.last_delivered_at})' if d.last_delivered_at else ''}"
             f" · waiting {v.waiting}{f' · skipped {d.skipped}' if d.skipped else ''}")
        emit(f"    {v.state}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _webhooks(args) as (desk, hooks):
        sub = hooks.remove(args.name, desk.operator.name, args.reason)
    emit(f"webhook {sub.name} removed; nothing more is sent to {sub.url}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    with _webhooks(args) as (_desk, hooks):
        answer = hooks.test(args.name)
    if answer.outcome == ob.DELIVERED:
        emit(f"webhook {args.name}: delivered ({answer.status}, {answer.elapsed_ms:.0f} ms)")
        return 0
    emit(f"dispatch-desk: error: webhook {args.name}: {answer.error}"
         f"{' (would be retried)' if answer.outcome == ob.RETRY else ' (a permanent failure)'}",
         file=sys.stderr)
    return EXIT_ERROR


def cmd_retry(args: argparse.Namespace) -> int:
    with _webhooks(args) as (_desk, hooks):
        hooks.retry(args.name, skip=args.skip)
    emit(f"webhook {args.name}: "
         f"{'the held event is skipped; ' if args.skip else ''}delivery goes on at once")
    return 0


def register(sub: Any) -> None:
    hook = sub.add_parser("webhook", help="outbound webhooks on card events (PSA, field service)")
    hsub = hook.add_subparsers(dest="webhook_command", metavar="ACTION", required=True)

    add = hsub.add_parser("add", help="subscribe a URL to card events; prints its secret once")
    add.add_argument("url", help="the receiver, e.g. https://psa.example.com/hooks/dispatch")
    add.add_argument("--events", default="all",
                     help=f"comma-separated: {','.join(WEBHOOK_EVENTS)} (default: all)")
    add.add_argument("--name", help="a short name (default: from the URL's host)")
    add.add_argument("--note", help="what it is for (kept in the journal)")
    add.set_defaults(handler=cmd_add)

    lst = hsub.add_parser("list", help="subscriptions, what they delivered, the last error")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=cmd_list)

    rm = hsub.add_parser("remove", help="stop a subscription (its secret is deleted)")
    rm.add_argument("name")
    rm.add_argument("--reason")
    rm.set_defaults(handler=cmd_remove)

    test = hsub.add_parser("test", help="send a signed \"test\" event now")
    test.add_argument("name")
    test.set_defaults(handler=cmd_test)

    retry = hsub.add_parser("retry", help="try a failed or backing-off subscription now")
    retry.add_argument("name")
    retry.add_argument("--skip", action="store_true",
                       help="pass over the event a permanent failure holds (it is counted)")
    retry.set_defaults(handler=cmd_retry)
