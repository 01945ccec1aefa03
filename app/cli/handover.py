"""`dispatch-desk handover ...`, `breakglass` and `activity-log`: the shift change on paper.

    handover [--out FILE.pdf] [--paper a4|letter]    draft the sheet (text, or a PDF)
    handover edit TARGET FIELD TEXT                  the outgoing lead's edit (TARGET: sheet or
                                                     a card number), kept in the journal
    handover accept --incoming NAME --read-back A-0004 A-0007 ...
    handover override --reason TEXT [--incoming NAME]
    handover status
    breakglass --out FILE.pdf                        the break-glass packet
    activity-log --out FILE.pdf                      the shift's ICS-214-style activity log

Names, card text and edits are untrusted: every line for a person goes through `emit`, which
escapes control and bidi characters (the PDFs are cleaned where they are laid out).
"""

from __future__ import annotations

import argparse
from contextlib import closing
from pathlib import Path
from typing import Any

from app.application import Desk
from app.cli import emit
from app.cli.signin import open_desk, read_pin
from app.errors import PermissionDenied
from app.loaders import load_shifts
from app.protocol.accounts import Account
from app.runtime.facts import DeskFacts
from app.services.cards.card import Card
from app.services.handover.commands import AcceptHandover, EditHandover, OverrideHandover
from app.services.handover.service import HandoverService
from app.services.handover.sheet import HandoverSheet, hm
from app.services.handover.sources import desk_packet


def _desk(args: argparse.Namespace, *, writes: bool = False) -> Desk:
    """The desk as every front end builds it; `--shifts` overrides the `shifts` setting. A
    command that `writes` signs in first once the desk has accounts (app/cli/signin.py)."""
    from dataclasses import replace

    from app.cli import settings_from

    settings = settings_from(args)
    if args.shifts is not None:
        settings = replace(settings, shifts=args.shifts)
    return open_desk(args, writes=writes, settings=settings)


def _incoming(desk: Desk, args: argparse.Namespace) -> Account | None:
    """The incoming lead, signed in with their own PIN on this desk (the outgoing lead is
    signed in with --login); None on a desk without accounts."""
    if not desk.needs_sign_in:
        return None
    assert desk.operators is not None and desk.signed_in is not None
    result = desk.operators.sign_in(args.incoming, read_pin(args, args.incoming))
    if result.account is None:
        raise PermissionDenied(result.refusal or "Not signed in")
    if result.account.id == desk.signed_in.id:
        raise PermissionDenied("Not done: the incoming lead accepts with their own login and "
                               "PIN; sign in as the outgoing lead with --login and give "
                               "--incoming the incoming lead's login")
    return result.account


def _service(desk: Desk, args: argparse.Namespace) -> HandoverService:
    return desk.handover


def _qt() -> Any:
    """Printing needs a QGuiApplication; a command line has no screen, so use offscreen."""
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication(["dispatch-desk", "-platform",
                                                           "offscreen"])


def _pdf(job: Any, out: Path, paper: str) -> int:
    from app.adapters.printing import write_pdf

    app = _qt()
    pages = write_pdf(job, out, paper)
    del app
    return pages


def _print_text(sheet: HandoverSheet) -> None:
    emit(f"{sheet.site} · desk {sheet.desk} · shift {sheet.shift.label}")
    state = "PENDING" if sheet.acceptance is None else sheet.acceptance.kind.upper()
    emit(f"outgoing: {sheet.outgoing_lead or '-'}  incoming: {sheet.incoming_lead or '-'}  "
          f"handover: {state}")
    for line in sheet.headline:
        emit(f"  {line}")
    for b in sheet.cards:
        mark = "*" if b.critical else " "
        emit(f"{mark}{b.number:<8} {b.priority} {b.status:<24} {b.next_step} "
              f"(by {hm(b.next_step_at, sheet.tz, sheet.drafted_at)})")
    if sheet.critical_numbers:
        emit("read back before accepting (*): " + " ".join(sheet.critical_numbers))


def draft(desk: Desk, args: argparse.Namespace) -> HandoverSheet:
    """The sheet with the facts every front end reports (rota, link, ladders): the window's."""
    facts = DeskFacts(desk)
    return _service(desk, args).draft(getattr(args, "outgoing", "") or "",
                                      on_call=facts.on_call(), escalations=facts.escalations(),
                                      sync=facts.sync())


def cmd_handover(args: argparse.Namespace) -> int:
    with closing(_desk(args)) as desk:
        sheet = draft(desk, args)
        if args.out:
            from app.adapters.print_sheets import handover_job

            pages = _pdf(handover_job(sheet), args.out, args.paper)
            emit(f"handover sheet for {sheet.shift.label} written to {args.out} "
                  f"({pages} pages, {len(sheet.cards)} open cards)")
        else:
            _print_text(sheet)
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with closing(_desk(args, writes=True)) as desk:
        desk.handle(EditHandover(args.target, args.field, " ".join(args.text)))
        emit(f"handover draft: {args.target} {args.field} updated")
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    with closing(_desk(args, writes=True)) as desk:
        incoming = _incoming(desk, args)
        outgoing = args.outgoing or (desk.signed_in.name if desk.signed_in else "")
        done = desk.handle(AcceptHandover(
            incoming.name if incoming else args.incoming, args.read_back or [], outgoing),
            actor=incoming)
        assert done is not None
        emit(f"handover accepted by {done.incoming} from {done.outgoing}: "
              f"{len(done.card_ids)} open cards now owned by {done.incoming}")
    return 0


def cmd_override(args: argparse.Namespace) -> int:
    with closing(_desk(args, writes=True)) as desk:
        done = desk.handle(OverrideHandover(args.reason or "", args.incoming or ""))
        assert done is not None
        emit(f"handover overridden by {desk.operator.name}: {len(done.card_ids)} open cards "
              f"moved to {done.incoming or 'the incoming shift'} ({done.reason})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with closing(_desk(args)) as desk:
        service = _service(desk, args)
        status = service.status()
        tz = service.plan.tz
        emit(f"handover of shift {status.shift.label}: {status.state}")
        cards = [Card.from_state(s) for s in desk.journal.cards(open_only=True)]
        for card_id, owner in sorted(service.owners(cards).items(),
                                     key=lambda kv: kv[1].since):
            number = next(c.number for c in cards if c.id == card_id)
            emit(f"  {number:<8} owner: {owner.label()} since {hm(owner.since, tz)}")
    return 0


def cmd_breakglass(args: argparse.Namespace) -> int:
    from app.adapters.print_sheets import breakglass_job

    with closing(_desk(args)) as desk:
        plan = load_shifts(args.shifts)
        packet = desk_packet(plan, desk.journal.desk_code, desk.cards.open_cards(),
                             desk.rules, desk.roster.roster, desk.clock.now(),
                             blank_cards=args.blank)
        pages = _pdf(breakglass_job(packet), args.out, args.paper)
        emit(f"break-glass packet written to {args.out} ({pages} pages, "
              f"{len(packet.cards)} open cards, {len(packet.blank_numbers)} blank cards)")
    return 0


def cmd_activity(args: argparse.Namespace) -> int:
    from app.adapters.print_sheets import activity_job

    with closing(_desk(args)) as desk:
        log = _service(desk, args).activity_log()
        pages = _pdf(activity_job(log), args.out, args.paper)
        emit(f"activity log for {log.shift.label} written to {args.out} ({pages} pages, "
              f"{len(log.lines)} entries)")
    return 0


def _paper(parser: argparse.ArgumentParser, out_required: bool) -> None:
    parser.add_argument("--out", type=Path, required=out_required, help="PDF file to write")
    parser.add_argument("--paper", default="a4", choices=("a4", "letter"))
    parser.add_argument("--shifts", type=Path, help="shift times TOML (default: shipped)")


def register(sub: Any) -> None:
    ho = sub.add_parser("handover", help="the shift handover sheet: draft, edit, accept")
    _paper(ho, False)
    ho.add_argument("--outgoing", help="the outgoing lead's name")
    ho.set_defaults(handler=cmd_handover)
    hsub = ho.add_subparsers(dest="handover_command", metavar="ACTION")

    edit = hsub.add_parser("edit", help="change a line of the draft (kept in the journal)")
    edit.add_argument("target", help="'sheet' or a card number")
    edit.add_argument("field", help="sheet: overall, biggest_risk, first_action, hazard; "
                      "card: next_step, contingency, risks, workaround")
    edit.add_argument("text", nargs="+")
    edit.set_defaults(handler=cmd_edit)

    acc = hsub.add_parser("accept", help="the incoming lead accepts every open card")
    acc.add_argument("--incoming", required=True, help="the incoming lead's name (once the "
                     "desk has accounts: their login; they type their own PIN)")
    acc.add_argument("--outgoing", help="the outgoing lead's name")
    acc.add_argument("--read-back", nargs="*", metavar="NUMBER",
                     help="critical cards the incoming lead read back")
    acc.set_defaults(handler=cmd_accept)

    ovr = hsub.add_parser("override", help="move ownership without read-back, with a reason")
    ovr.add_argument("--reason", required=True)
    ovr.add_argument("--incoming", help="who takes over, if known")
    ovr.set_defaults(handler=cmd_override)

    st = hsub.add_parser("status", help="pending or accepted, and each open card's owner")
    st.set_defaults(handler=cmd_status)

    bg = sub.add_parser("breakglass", help="print the break-glass packet to a PDF")
    _paper(bg, True)
    bg.add_argument("--blank", type=int, help="number of blank paper cards")
    bg.set_defaults(handler=cmd_breakglass)

    log = sub.add_parser("activity-log", help="print the shift's ICS-214 activity log to a PDF")
    _paper(log, True)
    log.set_defaults(handler=cmd_activity)
