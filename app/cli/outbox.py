"""`dispatch-desk outbox ...`: everything going out to people who are informed, not paged.

    dispatch-desk outbox [list] [--all] [--json]   waiting, stale and recent messages, pages
    dispatch-desk outbox cancel ID --reason ...    keep a waiting (or stale) message from going
    dispatch-desk outbox confirm ID                send a stale or failed message after all
    dispatch-desk outbox distribution B-0042 [--add ADDRESS --name NAME] [--remove ADDRESS]
    dispatch-desk outbox set-smtp-password [--stdin]
    dispatch-desk outbox check                     the messages file and the notification plan

IDs may be shortened to their first characters (at least 4). Sending itself runs in the
desk (`dispatch-desk run`, or the window); each message is sent by the desk that queued it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from app.adapters.secrets import SecretStore
from app.adapters.smtp import SECRET_NAME
from app.cli import emit, print_json
from app.cli.signin import open_desk
from app.errors import ValidationError
from app.protocol.rights import Right
from app.services.cards.commands import EditDistribution
from app.services.messages.outbox import Message
from app.services.messages.service import delivery_line


def _desk(args: argparse.Namespace, *, writes: bool = True) -> Any:
    """The desk, signed in for a command that writes (app/cli/signin.py): cancelling and
    confirming a message are not `Desk.handle` commands, so write_cards is checked here."""
    return open_desk(args, writes=writes, needs=(Right.WRITE_CARDS,) if writes else ())


def _json(m: Message, number: str, now: Any) -> dict[str, Any]:
    return {"id": m.id, "card": number, "type": m.type, "channel": m.channel, "to": m.to,
            "name": m.name, "state": m.state(now), "queued_at": m.queued_at.isoformat(),
            "expires_at": m.expires_at.isoformat() if m.expires_at else None,
            "due_by": m.due_by.isoformat() if m.due_by else None, "sid": m.sid,
            "error": m.error, "tries": m.tries, "read_only": m.read_only, "desk": m.desk,
            "body": m.body}


def cmd_list(args: argparse.Namespace) -> int:
    from app.runtime.outbox import Outbox

    desk = _desk(args, writes=False)
    outbox = Outbox(desk)
    try:
        msgs = outbox.messages(everything=args.all)
        numbers = outbox.numbers()
        now = desk.clock.now()
    finally:
        outbox.close()
        desk.close()
    if args.json:
        print_json([_json(m, numbers.get(m.card_id, ""), now) for m in msgs])
        return 0
    if not msgs:
        emit("the outbox is empty" + ("" if args.all else " (--all for older messages)"))
    for m in msgs:
        kind = "page (ladder)" if m.read_only else m.type
        emit(f"{m.id[:8]}  {numbers.get(m.card_id, 'tray'):>8}  {kind:<13} "
             f"{delivery_line(m, now)}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from app.runtime.outbox import Outbox

    desk = _desk(args)
    outbox = Outbox(desk)
    try:
        m = outbox.cancel(args.id, args.reason)
        emit(f"cancelled: {delivery_line(m, desk.clock.now())}")
    finally:
        outbox.close()
        desk.close()
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    from app.runtime.outbox import Outbox

    desk = _desk(args)
    outbox = Outbox(desk)
    try:
        m = outbox.confirm(args.id)
        emit(f"confirmed: {m.name} {m.to} gets it now (sent by desk {m.desk})")
    finally:
        outbox.close()
        desk.close()
    return 0


def cmd_distribution(args: argparse.Namespace) -> int:
    desk = _desk(args)
    try:
        if args.add and len(args.name or []) not in (0, len(args.add)):
            raise ValidationError("give one --name per --add, or none", field="name")
        names = args.name or [""] * len(args.add or [])
        if args.add or args.remove:
            desk.handle(EditDistribution(args.number, tuple(zip(names, args.add or [],
                                                                strict=True)),
                                         tuple(args.remove or [])))
        from app.services.messages.triggers import stakeholders

        people = stakeholders(desk.cards.timeline(args.number))
    finally:
        desk.close()
    emit(f"{args.number.upper()}: status updates go to "
         + (", ".join(f"{r.name} <{r.to}> ({r.channel})" for r in people) or "nobody yet"))
    return 0


def cmd_set_smtp_password(args: argparse.Namespace) -> int:
    secret = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass(
        "SMTP password: ")
    if not secret:
        raise ValidationError("the password is empty; nothing stored", field="password")
    SecretStore().set(SECRET_NAME, secret)
    emit("SMTP password stored in the OS keyring (dispatch-desk/smtp_password)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from app.loaders import load_notification_plan, load_templates

    desk = _desk(args, writes=False)
    try:
        templates = load_templates(desk.settings.message_templates)
        plan = load_notification_plan(desk.settings.policies, desk.rules)
    finally:
        desk.close()
    emit(f"messages file {templates.source}: ok (time to live: " + ", ".join(
        f"{k} {int(v.total_seconds() // 60)} min" for k, v in templates.ttl.items()) + ")")
    for prio, lines in sorted(plan.lines.items()):
        emit(f"{prio}: " + "; ".join(f"{line.who} within "
                                     f"{int(line.within.total_seconds() // 60)} min"
                                     for line in lines))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="messages going out: list, cancel, confirm")
    p.set_defaults(handler=cmd_list, all=False, json=False)
    p.add_argument("--all", action="store_true", help="older settled messages too")
    p.add_argument("--json", action="store_true")
    ops = p.add_subparsers(dest="outbox_command", metavar="ACTION")
    lst = ops.add_parser("list", help="waiting, stale and recent messages (the default)")
    lst.add_argument("--all", action="store_true", help="older settled messages too")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_list)
    cancel = ops.add_parser("cancel", help="keep a message from going")
    cancel.add_argument("id")
    cancel.add_argument("--reason", required=True, help="why (on the card's timeline)")
    cancel.set_defaults(handler=cmd_cancel)
    confirm = ops.add_parser("confirm", help="send a stale or failed message after all")
    confirm.add_argument("id")
    confirm.set_defaults(handler=cmd_confirm)
    dist = ops.add_parser("distribution", help="who gets a card's status updates")
    dist.add_argument("number")
    dist.add_argument("--add", action="append", metavar="ADDRESS",
                      help="an E.164 number or e-mail address")
    dist.add_argument("--name", action="append", help="the name of each --add")
    dist.add_argument("--remove", action="append", metavar="ADDRESS")
    dist.set_defaults(handler=cmd_distribution)
    pw = ops.add_parser("set-smtp-password", help="the SMTP password, into the keyring")
    pw.add_argument("--stdin", action="store_true", help="read it from standard input")
    pw.set_defaults(handler=cmd_set_smtp_password)
    check = ops.add_parser("check", help="check the messages file and the notification plan")
    check.set_defaults(handler=cmd_check)
