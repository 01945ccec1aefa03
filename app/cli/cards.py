"""`dispatch-desk card ...`: register, list, show and change cards from a shell or a script.

Card text is untrusted (people, scripts, other desks): every line for a person is printed by
`emit`, which escapes control and bidi characters; a multi-line answer keeps its breaks only
with the following lines indented and marked (`hanging`), so it cannot forge another line.
"""

from __future__ import annotations

import argparse
from contextlib import closing as _closing
from datetime import UTC, datetime
from typing import Any

from app.application import Desk
from app.cli import emit
from app.cli.signin import open_desk, require
from app.errors import ValidationError
from app.models.projection import INTAKE_FIELDS
from app.protocol.catalogue import stamp_ms
from app.protocol.rights import Right
from app.services.cards.card import Card
from app.services.cards.commands import (
    Acknowledge,
    AddNote,
    ChangePriority,
    Confirm,
    RegisterCard,
    SetStatus,
)
from app.services.cards.queue import ranked
from app.services.cards.sla import clocks_for
from app.services.cards.timeline import hanging, local_time, timeline
from app.sync.quarantine import refused_lines

# Continuation lines of a multi-line field, under the field's text in `card show`.
_FIELD_CONTINUATION = " " * 6 + "| "


def _desk(args: argparse.Namespace, *, writes: bool = True, person: bool = False) -> Desk:
    """The desk, signed in for a command that writes (app/cli/signin.py); the writes that do
    not go through `Desk.handle` (a repeat by dedup key, a review) are checked there."""
    return open_desk(args, writes=writes, needs=(Right.WRITE_CARDS,) if person else (),
                     person=person)


def card_json(card: Card, desk: Desk) -> dict[str, Any]:
    now = desk.clock.now()
    clocks = clocks_for(card, desk.rules, now)
    state = desk.journal.card(card.id)
    return {
        # Freshness: what this desk knows, as of when, from whom. A card another desk runs is
        # only as current as that desk's last sync ("dispatch-desk sync status" lists them).
        "as_of": now.isoformat(),
        "source_desk": state.get("registered_desk"),
        "last_change_at": datetime.fromtimestamp(stamp_ms(state["last_hlc"]) / 1000,
                                                 UTC).isoformat(),
        "number": card.number,
        "id": card.id,
        "status": card.status,
        "priority": card.priority,
        "priority_reason": card.priority_reason,
        "registered_at": card.registered_at.isoformat(),
        "confirmed_at": card.confirmed_at.isoformat() if card.confirmed_at else None,
        "acknowledged_at": card.acknowledged_at.isoformat() if card.acknowledged_at else None,
        "acknowledged_by": card.acknowledged_by,
        "restored_at": card.restored_at.isoformat() if card.restored_at else None,
        "closed_at": card.closed_at.isoformat() if card.closed_at else None,
        "closure": card.closure,
        "review_owed": card.review_owed,
        "entered_late": card.entered_late,
        "breaches": list(card.breaches),
        "fields": dict(card.fields),
        "policy": clocks.policy,
        "clocks": {
            c.name: {"state": str(c.state), "due": c.due.isoformat() if c.due else None}
            for c in clocks.all()
        },
    }


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-08") from exc


def _fmt_left(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def cmd_new(args: argparse.Namespace) -> int:
    from app.cli import print_json

    intake = {k: v for k, v in vars(args).items() if k in INTAKE_FIELDS and v is not None}
    intake["priority"] = args.priority
    intake["priority_reason"] = args.reason
    with _closing(_desk(args)) as desk:
        registered_at = None
        if args.registered_at:  # a paper card: keep the handwritten time, flag it entered late
            from app.services.handover.breakglass import parse_handwritten_time

            registered_at = parse_handwritten_time(args.registered_at, desk.clock.now(),
                                                   desk.rules.tz)
        repeat = False
        if args.dedup_key:  # a script's alert: its repeat while the card is open is one line
            if registered_at is not None:
                raise ValidationError("--dedup-key and --registered-at do not go together",
                                      field="dedup_key")
            require(desk, Right.WRITE_CARDS)  # not a Desk.handle command
            card, repeat = desk.intake.register_card(intake, desk.operator, args.dedup_key)
        else:
            card = desk.handle(RegisterCard(intake, registered_at))
        if args.json:
            extra = {"repeat": repeat} if args.dedup_key else {}
            print_json({**card_json(card, desk), **extra})
        elif repeat:
            emit(f"repeat of {card.number} (open, same dedup key): added to its timeline")
        else:
            emit(f"registered {card.number} {card.priority} {card.site}: {card.symptom}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from app.cli import print_json

    with _closing(_desk(args, writes=False)) as desk:
        now = desk.clock.now()
        if args.open:
            cards = [item.card for item in ranked(desk.cards.open_cards(), desk.rules, now)]
        else:
            cards = sorted(desk.cards.all_cards(), key=lambda c: c.registered_at)
        if args.json:
            print_json([card_json(c, desk) for c in cards])
            return 0
        tz = desk.rules.tz
        for card in cards:
            nearest = clocks_for(card, desk.rules, now).nearest(now)
            left = nearest.remaining(now) if nearest else None
            due = f"{nearest.name} {_fmt_left(left.total_seconds())}" if nearest and left else "-"
            emit(
                f"{card.number:<8} {card.priority} {card.status_label:<22} "
                f"{local_time(card.registered_at, tz)}  {due:<18} "
                f"{card.site}: {card.symptom}"
            )
        if not cards:
            emit("no open cards" if args.open else "no cards")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from app.cli import print_json

    with _closing(_desk(args, writes=False)) as desk:
        card = desk.cards.get(args.number)
        refused = refused_lines(desk.journal, card.id)
        if args.json:
            data = card_json(card, desk)
            data["timeline"] = [e.to_wire() for e in desk.cards.timeline(card.number)]
            data["refused"] = [{"at": r.at.isoformat(), "who": r.who, "kind": r.kind,
                                "title": r.title, "detail": r.detail} for r in refused]
            print_json(data)
            return 0
        tz = desk.rules.tz
        emit(f"{card.number}  {card.priority}  {card.status_label}")
        emit(f"  priority reason: {card.priority_reason}")
        for name, value in card.fields.items():
            if value:
                text = str(value).strip()
                emit(f"  {name}: {hanging(text, _FIELD_CONTINUATION)}", lines=True)
        for clock in clocks_for(card, desk.rules, desk.clock.now()).all():
            due = local_time(clock.due, tz) if clock.due else "-"
            emit(f"  clock {clock.name}: {clock.state} (due {due})")
        emit("  timeline:")
        lines = sorted(timeline(desk.cards.timeline(card.number)) + refused,
                       key=lambda line: line.at)  # refused: kept, applied nowhere
        for line in lines:
            # `timeline` cleaned these to one line each, the detail to indented lines.
            detail = f" ({line.detail})" if line.detail else ""
            emit(f"    {local_time(line.at, tz, seconds=True)}  {line.who}: {line.title}{detail}",
                 lines=True)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    closure = {k: getattr(args, k) for k in ("cause", "workaround", "fix", "lessons")}
    with _closing(_desk(args)) as desk:
        card = desk.handle(SetStatus(args.number, args.status, args.reason or "",
                                     {k: v for k, v in closure.items() if v},
                                     args.confirmed_by or ""))
        emit(f"{card.number} is now {card.status_label}")
    return 0


def cmd_priority(args: argparse.Namespace) -> int:
    with _closing(_desk(args)) as desk:
        card = desk.handle(ChangePriority(args.number, args.priority, args.reason or "",
                                          args.evidence or ""))
        emit(f"{card.number} is now {card.priority}: {card.priority_reason}")
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    with _closing(_desk(args)) as desk:
        card = desk.handle(AddNote(args.number, " ".join(args.text)))
        emit(f"note added to {card.number}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    with _closing(_desk(args)) as desk:
        card = desk.handle(Acknowledge(args.number, args.who, args.how))
        emit(f"{card.number} acknowledged by {card.acknowledged_by}")
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    # With clock_start = "confirmation" (policies.toml) this starts the card's SLA clocks.
    with _closing(_desk(args)) as desk:
        card = desk.handle(Confirm(args.number))
        when = local_time(card.confirmed_at, desk.rules.tz) if card.confirmed_at else "-"
        emit(f"{card.number} confirmed at {when}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    # The post-incident review of a closed P1/P2 (app/services/measures/reviews.py).
    from app.services.measures.reviews import ReviewService

    with _closing(_desk(args, person=True)) as desk:
        review = ReviewService(desk.journal, desk.clock, desk.rules.tz).record(
            args.number, args.summary or "", args.measure or [], args.owner or "", args.due,
            desk.operator)
        emit(f"review of {args.number.upper()} recorded: {len(review.measures)} measure(s), "
             f"owner {review.owner}, due {args.due}")
    return 0


def cmd_review_done(args: argparse.Namespace) -> int:
    from app.services.measures.reviews import ReviewService

    with _closing(_desk(args, person=True)) as desk:
        review = ReviewService(desk.journal, desk.clock, desk.rules.tz).measure_done(
            args.number, args.measure, desk.operator)
        left = sum(m.done_at is None for m in review.measures)
        emit(f"measure {args.measure} of {args.number.upper()} done; {left} still open")
    return 0


def register(sub: Any) -> None:
    card = sub.add_parser("card", help="register, list, show and change cards")
    csub = card.add_subparsers(dest="card_command", metavar="ACTION", required=True)

    new = csub.add_parser("new", help="register a card")
    for name in INTAKE_FIELDS:
        new.add_argument("--" + name.replace("_", "-"), dest=name)
    new.add_argument("--priority", help="P1..P4 (or give --impact and --urgency)")
    new.add_argument("--reason", help="one-line reason for the priority")
    new.add_argument("--registered-at", help="handwritten time of a paper card (HH:MM, local)")
    new.add_argument("--dedup-key", help="a repeat while the card with this key is open adds "
                     "a line to its timeline instead of a new card")
    new.add_argument("--json", action="store_true")
    new.set_defaults(handler=cmd_new)

    lst = csub.add_parser("list", help="list cards (--open: the ranked queue)")
    lst.add_argument("--open", action="store_true")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_list)

    show = csub.add_parser("show", help="one card with its clocks and timeline")
    show.add_argument("number")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)

    st = csub.add_parser("status", help="change a card's status")
    st.add_argument("number")
    st.add_argument("status", help="in_progress, waiting_customer, restored, closed, ...")
    st.add_argument("--reason")
    for name in ("cause", "workaround", "fix", "lessons"):
        st.add_argument("--" + name, help=f"closure: {name}")
    st.add_argument("--confirmed-by", help="who confirmed recovery (closing early)")
    st.set_defaults(handler=cmd_status)

    pr = csub.add_parser("priority", help="change a card's priority (reason required)")
    pr.add_argument("number")
    pr.add_argument("priority")
    pr.add_argument("--reason")
    pr.add_argument("--evidence")
    pr.set_defaults(handler=cmd_priority)

    note = csub.add_parser("note", help="add a note to a card's timeline")
    note.add_argument("number")
    note.add_argument("text", nargs="+")
    note.set_defaults(handler=cmd_note)

    confirm = csub.add_parser(
        "confirm", help="confirm a card (starts its clocks under clock_start = confirmation)")
    confirm.add_argument("number")
    confirm.set_defaults(handler=cmd_confirm)

    review = csub.add_parser("review", help="record the post-incident review of a closed P1/P2")
    review.add_argument("number")
    review.add_argument("--summary", required=True, help="what happened and why, in brief")
    review.add_argument("--measure", action="append", help="a concrete measure (1 to 3)")
    review.add_argument("--owner", required=True, help="who sees the measures done")
    review.add_argument("--due", required=True, type=_day, help="YYYY-MM-DD (site time)")
    review.set_defaults(handler=cmd_review)

    done = csub.add_parser("review-done", help="mark measure N of a card's review done")
    done.add_argument("number")
    done.add_argument("measure", type=int, help="the measure's number (1, 2, ...)")
    done.set_defaults(handler=cmd_review_done)

    ack = csub.add_parser("ack", help="record an acknowledgement")
    ack.add_argument("number")
    ack.add_argument("--who", required=True)
    ack.add_argument("--how", default="phone")
    ack.set_defaults(handler=cmd_ack)
