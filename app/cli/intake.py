"""`dispatch-desk intake ...` (the triage tray), `dispatch-desk integration ...` (each sender's
key) and `dispatch-desk maintenance ...` (windows in which alerts are collected, not paged).

Item text comes from outside (monitoring, mail, SMS): every line for a person goes through
`emit`, which escapes control characters. An integration's key is printed once, when made.
"""

from __future__ import annotations

import argparse
from contextlib import closing as _closing
from datetime import datetime
from typing import Any

from app.application import Desk
from app.cli import emit
from app.cli.signin import open_desk
from app.errors import DeskError, ValidationError
from app.models.projection import INTAKE_FIELDS
from app.protocol.rights import Right
from app.services.cards.timeline import local_time
from app.services.intake import TrayItem
from app.services.intake.commands import AcceptItem, AttachItem, DismissItem
from app.services.intake.maintenance import REPEATS, Window
from app.sync.enroll import enrolled


def _desk(args: argparse.Namespace, *, writes: bool = True, needs: tuple[Right, ...] = ()
          ) -> Desk:
    """The desk, signed in for a command that writes (app/cli/signin.py); integrations and
    maintenance windows are not `Desk.handle` commands, so their right is checked here."""
    return open_desk(args, writes=writes, needs=needs)


_INTEGRATIONS = (Right.EDIT_INTEGRATIONS,)


def _line(item: TrayItem, desk: Desk) -> str:
    flags = "".join(f" [{f}]" for f, on in (("probable", item.probable),
                                            ("maintenance", bool(item.maintenance)),
                                            ("resolved", item.status == "resolved")) if on)
    where = f"{item.site}: " if item.site else ""
    settled = f" -> {item.state} {item.number}".rstrip() if not item.is_pending else ""
    return (f"{item.id[:8]}  {local_time(item.received_at, desk.rules.tz)}  x{item.count:<3} "
            f"{item.channel}/{item.integration}  {where}{item.summary}{flags}{settled}")


def cmd_list(args: argparse.Namespace) -> int:
    from app.cli import print_json

    with _closing(_desk(args, writes=False)) as desk:
        items = desk.intake.items() if args.all else desk.intake.pending()
        if args.json:
            print_json([i.to_json() for i in items])
            return 0
        for item in items:
            emit(_line(item, desk))
        if not items:
            emit("the tray is empty" if not args.all else "no intake items")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from app.cli import print_json

    with _closing(_desk(args, writes=False)) as desk:
        item = desk.intake.item(args.id)
        if args.json:
            print_json({**item.to_json(), "prefill": desk.intake.prefill(item.id)})
            return 0
        emit(_line(item, desk))
        for name, value in desk.intake.prefill(item.id).items():
            emit(f"  {name}: {value}")
        for link in item.links:
            emit(f"  link: {link}")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.cli.cards import card_json

    intake: dict[str, Any] = {k: v for k, v in vars(args).items()
                              if k in INTAKE_FIELDS and v is not None}
    if args.priority:
        intake["priority"] = args.priority
    if args.reason:
        intake["priority_reason"] = args.reason
    with _closing(_desk(args)) as desk:
        card = desk.handle(AcceptItem(args.id, intake))
        if args.json:
            print_json(card_json(card, desk))
        else:
            emit(f"registered {card.number} {card.priority} {card.site}: {card.symptom}")
    return 0


def cmd_attach(args: argparse.Namespace) -> int:
    with _closing(_desk(args)) as desk:
        card = desk.handle(AttachItem(args.id, args.number))
        emit(f"attached to {card.number} ({card.report_count} reports)")
    return 0


def cmd_dismiss(args: argparse.Namespace) -> int:
    with _closing(_desk(args)) as desk:
        item = desk.intake.item(args.id)
        desk.handle(DismissItem(item.id, args.reason or ""))
        emit(f"dismissed {item.id[:8]}: {' '.join((args.reason or '').split())}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The desk's own intake door until SIGTERM or Ctrl-C (app/runtime/intake_door.py)."""
    import signal
    import sys
    from contextlib import suppress

    from app.runtime.intake_door import DEFAULT_LISTEN, IntakeDoor

    with _closing(_desk(args, writes=False)) as desk:
        door = IntakeDoor(desk.intake)
        url = door.start(args.listen or desk.settings.intake_listen or DEFAULT_LISTEN,
                         field="--listen" if args.listen else "intake_listen")
        signal.signal(signal.SIGTERM, lambda *_: door.request_stop())
        emit(f"intake door listening on {url} for journal {desk.journal.path}; Ctrl-C or "
             "SIGTERM stops")
        sys.stdout.flush()
        with suppress(KeyboardInterrupt):
            door.wait()
        door.stop()
        emit("stopped")
    return 0


# -- integrations ---------------------------------------------------------------------------

def _urls(desk: Desk, kind: str) -> list[str]:
    urls = []
    try:
        linked = bool(desk.settings.store_url) and enrolled(desk.journal)
    except DeskError:  # no keyring on this machine: the store's URL cannot be vouched for
        linked = False
    if linked:
        urls.append(f"{desk.settings.store_url.rstrip('/')}/v1/intake/{kind}")
    if desk.settings.intake_listen:
        urls.append(f"http://{desk.settings.intake_listen}/v1/intake/{kind}")
    return urls


def cmd_integration_add(args: argparse.Namespace) -> int:
    options = {"category": args.category or "", "site": args.site or "",
               "kind_of_work": args.kind_of_work or "", "every_min": args.every_min,
               "note": args.note or "", "reply": args.reply or ""}
    with _closing(_desk(args, needs=_INTEGRATIONS)) as desk:
        found, key = desk.intake.setup.add_integration(args.kind, args.name, desk.operator,
                                                        **options)
        emit(f"integration {found.name} ({found.kind}) added")
        emit(f"key (shown once; keep it in the sender's configuration): {key}")
        urls = _urls(desk, found.kind)
        for url in urls:
            emit(f"send to: {url}  (header: Authorization: Bearer KEY, or {url}/KEY)")
        if not urls:
            emit("no door to send to yet: enroll this desk with a store "
                 "(dispatch-desk enroll) or set intake_listen for the desk's own door")
    return 0


def cmd_integration_list(args: argparse.Namespace) -> int:
    from app.cli import print_json

    with _closing(_desk(args, writes=False)) as desk:
        found = desk.intake.setup.integrations()
        if args.json:
            print_json([i.to_json() for i in found])
            return 0
        for i in found:
            state = f"revoked: {i.reason}" if i.revoked else "active"
            extra = "".join(f" {k}={v}" for k, v in (("category", i.category), ("site", i.site),
                                                    ("every_min", i.every_min)) if v)
            emit(f"{i.name:<24} {i.kind:<13} {state}{extra}")
        if not found:
            emit("no integrations (dispatch-desk integration add KIND NAME)")
    return 0


def cmd_integration_revoke(args: argparse.Namespace) -> int:
    with _closing(_desk(args, needs=_INTEGRATIONS)) as desk:
        desk.intake.setup.revoke_integration(args.name, args.reason or "", desk.operator)
        emit(f"integration {args.name} revoked: its key is refused from now on")
    return 0


# -- maintenance windows --------------------------------------------------------------------

def _when(text: str, field: str, desk: Desk, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"--{field} {text[:40]!r}: write a time like 2026-11-23T02:00 "
                              "(local) or with its offset", field=field) from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(tz or desk.rules.timezone))


def _window_line(w: Window, desk: Desk) -> str:
    tz = desk.rules.tz
    scope = ", ".join(f"{k} {v}" for k, v in (("site", w.site), ("category", w.category),
                                             ("integration", w.integration)) if v) or "all"
    repeat = "" if w.repeat == "none" else f" {w.repeat}"
    state = f" CANCELLED ({w.reason})" if w.cancelled else ""
    return (f"{w.id}  {local_time(w.starts, tz)} - {local_time(w.ends, tz)}{repeat} "
            f"({w.tz})  {w.name}  [{scope}]{state}")


def cmd_maintenance_add(args: argparse.Namespace) -> int:
    with _closing(_desk(args, needs=_INTEGRATIONS)) as desk:
        starts = _when(args.starts, "starts", desk, args.tz)
        ends = _when(args.ends, "ends", desk, args.tz)
        window = desk.intake.setup.schedule_maintenance(
            args.name, starts, ends, desk.operator, tz=args.tz or "", site=args.site or "",
            category=args.category or "", integration=args.integration or "",
            repeat=args.repeat)
        emit(f"maintenance window {window.id} scheduled: {_window_line(window, desk)}")
    return 0


def cmd_maintenance_list(args: argparse.Namespace) -> int:
    from app.cli import print_json

    with _closing(_desk(args, writes=False)) as desk:
        windows = [w for w in desk.intake.setup.windows() if args.all or not w.cancelled]
        if args.json:
            print_json([{**w.__dict__, "starts": w.starts.isoformat(),
                         "ends": w.ends.isoformat()} for w in windows])
            return 0
        for w in windows:
            emit(_window_line(w, desk))
        if not windows:
            emit("no maintenance windows")
    return 0


def cmd_maintenance_cancel(args: argparse.Namespace) -> int:
    with _closing(_desk(args, needs=_INTEGRATIONS)) as desk:
        desk.intake.setup.cancel_maintenance(args.id, args.reason or "", desk.operator)
        emit(f"maintenance window {args.id} cancelled")
    return 0


def _intake_actions(sub: Any) -> Any:
    """The `intake` group's subcommands (another module may have made the group first)."""
    intake = sub.choices.get("intake")
    if intake is None:
        intake = sub.add_parser("intake", help="the one door in: the triage tray")
        return intake.add_subparsers(dest="intake_command", metavar="ACTION", required=True)
    return next(a for a in intake._actions if isinstance(a, argparse._SubParsersAction))


def register(sub: Any) -> None:
    isub = _intake_actions(sub)
    lst = isub.add_parser("list", help="the triage tray, oldest first (--all: settled too)")
    lst.add_argument("--all", action="store_true")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_list)
    show = isub.add_parser("show", help="one item and the fields it pre-fills")
    show.add_argument("id", help="the item's id or its first characters")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)
    acc = isub.add_parser("accept", help="register the item as a card (pre-filled)")
    acc.add_argument("id")
    for name in INTAKE_FIELDS:
        acc.add_argument("--" + name.replace("_", "-"), dest=name)
    acc.add_argument("--priority", help="P1..P4 (default: impact x urgency)")
    acc.add_argument("--reason", help="one-line reason for the priority")
    acc.add_argument("--json", action="store_true")
    acc.set_defaults(handler=cmd_accept)
    att = isub.add_parser("attach", help="add the item to an open card as a report")
    att.add_argument("id")
    att.add_argument("number", help="the card, e.g. B-0042")
    att.set_defaults(handler=cmd_attach)
    dis = isub.add_parser("dismiss", help="dismiss the item, saying why")
    dis.add_argument("id")
    dis.add_argument("--reason", required=True, help="why (kept on the item)")
    dis.set_defaults(handler=cmd_dismiss)
    srv = isub.add_parser("serve", help="the desk's own intake door (webhooks, heartbeats)",
                          description="Alerts posted here go straight into this desk's "
                          "journal, with or without the store. Loopback unless --listen (or "
                          "the intake_listen setting) gives another IP address.")
    srv.add_argument("--listen", help="HOST:PORT (default: intake_listen, else 127.0.0.1:8771)")
    srv.set_defaults(handler=cmd_serve)

    integ = sub.add_parser("integration", help="senders' keys for the intake door")
    gsub = integ.add_subparsers(dest="integration_command", metavar="ACTION", required=True)
    add = gsub.add_parser("add", help="add an integration; prints its key once")
    add.add_argument("kind", help="webhook, alertmanager, grafana, email, sms, heartbeat")
    add.add_argument("name", help="letters, digits, '.', '_', '-'")
    add.add_argument("--category")
    add.add_argument("--site")
    add.add_argument("--kind-of-work", dest="kind_of_work")
    add.add_argument("--every-min", dest="every_min", type=int,
                     help="heartbeat: the longest gap between check-ins, minutes")
    add.add_argument("--note")
    add.add_argument("--reply", help="sms: the text every emergency SMS is answered with at "
                     "once (the store sends it)")
    add.set_defaults(handler=cmd_integration_add)
    il = gsub.add_parser("list", help="integrations, revoked ones too")
    il.add_argument("--json", action="store_true")
    il.set_defaults(handler=cmd_integration_list)
    rev = gsub.add_parser("revoke", help="refuse an integration's key from now on")
    rev.add_argument("name")
    rev.add_argument("--reason", required=True)
    rev.set_defaults(handler=cmd_integration_revoke)

    mnt = sub.add_parser("maintenance", help="windows in which alerts are collected, not paged")
    msub = mnt.add_subparsers(dest="maintenance_command", metavar="ACTION", required=True)
    madd = msub.add_parser("add", help="schedule a window (times local unless offset given)")
    madd.add_argument("name")
    madd.add_argument("--starts", required=True, help="e.g. 2026-11-23T02:00")
    madd.add_argument("--ends", required=True)
    madd.add_argument("--repeat", choices=REPEATS, default="none")
    madd.add_argument("--tz", help="time zone (default: the policies')")
    madd.add_argument("--site")
    madd.add_argument("--category")
    madd.add_argument("--integration")
    madd.set_defaults(handler=cmd_maintenance_add)
    ml = msub.add_parser("list", help="scheduled windows (--all: cancelled too)")
    ml.add_argument("--all", action="store_true")
    ml.add_argument("--json", action="store_true")
    ml.set_defaults(handler=cmd_maintenance_list)
    mc = msub.add_parser("cancel", help="cancel a window")
    mc.add_argument("id")
    mc.add_argument("--reason")
    mc.set_defaults(handler=cmd_maintenance_cancel)
