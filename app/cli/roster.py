"""`dispatch-desk roster ...`: import, export, show and check the desk's roster.

The roster file lives next to the journal (`app/adapters/roster_store.py`); these commands
do not open the journal itself. Names, numbers and warnings come from files people edit, so
every line for a person goes through `emit` (control and bidi characters escaped).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.adapters.roster_store import DeskRoster
from app.cli import emit
from app.clock import SystemClock
from app.errors import ValidationError
from app.protocol.rights import Right
from app.services.roster import OnCall, Roster
from app.services.roster.contact import as_utc


def _store(args: argparse.Namespace) -> DeskRoster:
    from app.cli import settings_from

    return DeskRoster.for_journal(settings_from(args).journal_path)


def _categories(args: argparse.Namespace) -> frozenset[str]:
    from app.cli import settings_from
    from app.loaders import load_rules

    return frozenset(c.key for c in load_rules(settings_from(args).policies).categories)


def _at(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()  # the command line is an edge: it may read the clock
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--at {text!r} is not an ISO date-time; write e.g. "
                              "2026-03-29T09:00+02:00", field="--at") from None
    try:
        return as_utc(parsed, "--at")
    except ValidationError as exc:
        raise ValidationError(exc.message, field="--at") from None


def cmd_import(args: argparse.Namespace) -> int:
    """Through the desk's roster: signed in with edit_roster once the desk has accounts, and
    written down as a ``roster.imported`` fact (app/services/audit.py)."""
    from app.cli.signin import open_desk

    desk = open_desk(args, needs=(Right.EDIT_ROSTER,))
    try:
        store = desk.roster
        emit(store.import_file(args.file, replace_contacts=args.replace_contacts))
        for line in store.warnings(desk.clock.now(), frozenset(c.key for c in
                                                               desk.rules.categories)):
            emit(f"warning: {line}")
    finally:
        desk.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    emit(_store(args).export_file(args.file))
    return 0


def _holder(holder: OnCall | None, zone: ZoneInfo) -> dict[str, Any] | None:
    if holder is None:
        return None
    c = holder.contact
    return {
        "id": c.id, "name": c.name, "primary_phone": c.primary_phone,
        "backup_phone": c.backup_phone, "messenger": c.messenger,
        "from": holder.start.astimezone(zone).isoformat(),
        "until": holder.end.astimezone(zone).isoformat(),
    }


def on_call_table(roster: Roster, at: datetime) -> list[dict[str, Any]]:
    """One row per group and role: who is on call at ``at`` and who is next."""
    rows = []
    for group, role in roster.slots():
        rotation = roster.rotation_for(group, role)
        zone = ZoneInfo(rotation.tz if rotation else "UTC")
        now, nxt = roster.on_call_now_and_next(group, role, at)
        rows.append({"group": group, "role": role, "tz": zone.key,
                     "now": _holder(now, zone), "next": _holder(nxt, zone)})
    return rows


def _short(holder: dict[str, Any] | None, key: str) -> str:
    if holder is None:
        return "NOBODY"
    when = datetime.fromisoformat(holder[key]).strftime("%a %d.%m %H:%M")
    return f"{holder['name']} {holder['primary_phone'] or '(no number)'} {key} {when}"


def cmd_show(args: argparse.Namespace) -> int:
    from app.cli import print_json

    store = _store(args)
    at = _at(args.at)
    rows = on_call_table(store.roster, at)
    if args.json:
        print_json({"at": at.isoformat(), "roster": str(store.path), "on_call": rows})
        return 0
    if not rows:
        emit(f"no groups in {store.path}; import a roster with `dispatch-desk roster "
              "import FILE`")
        return 0
    zone = ZoneInfo(rows[0]["tz"])  # the site's wall time, as the rows show it
    emit(f"on call at {at.astimezone(zone):%a %Y-%m-%d %H:%M %Z} ({store.path})")
    width = max(len(f"{r['group']} {r['role']}") for r in rows)
    for r in rows:
        label = f"{r['group']} {r['role']}".ljust(width)
        emit(f"{label}  now: {_short(r['now'], 'until')}")
        emit(f"{' ' * width}  next: {_short(r['next'], 'from')}")
    return 0


def _ladder_problems(args: argparse.Namespace, store: DeskRoster) -> list[str]:
    """The configured ladder's tiers that cannot page anyone with this roster: the same
    check as `ladder check`, so a rota edit that breaks a tier shows here too."""
    from app.cli import settings_from
    from app.loaders import load_ladder
    from app.services.escalation.recipients import tier_problems

    if not store.exists:
        return []
    settings = settings_from(args)
    ladder = load_ladder(settings.ladder)
    return [f"ladder {ladder.name!r} {line}" for line in tier_problems(
        ladder, store.roster, store.routing)]


def _verification_entries(args: argparse.Namespace) -> list[Any]:
    """The verification entries of the desk's journal (none when there is no journal yet)."""
    from app.cli import settings_from
    from app.models.journal import Journal
    from app.services.roster.verification import VERIFY_CARD

    path = settings_from(args).journal_path
    if not path.exists():
        return []
    journal = Journal.open(path, SystemClock())
    try:
        return journal.entries(VERIFY_CARD)
    finally:
        journal.close()


def cmd_check(args: argparse.Namespace) -> int:
    from app.services.roster.verification import unverified

    store = _store(args)
    at = _at(args.at)
    warnings = store.warnings(at, _categories(args), days=args.days)
    if store.exists:
        # Listed, not counted in the exit status: a new desk has verified nobody yet, and
        # its shipped files must still pass.
        for u in unverified(store.roster, _verification_entries(args), at):
            emit(f"unverified: {u.line(at)}")
    warnings += _ladder_problems(args, store)
    for line in warnings:
        emit(f"warning: {line}")
    if not warnings:
        emit(f"roster {store.path}: no problems in the coming {args.days} days")
    return 1 if warnings else 0


def cmd_verify(args: argparse.Namespace) -> int:
    """The monthly availability check: the entries first (journal), then one SMS each."""
    from app.adapters.secrets import SecretStore
    from app.bootstrap import twilio_pager_from
    from app.cli import settings_from
    from app.cli.signin import open_desk
    from app.errors import DeskError
    from app.services.roster.verification import verify_entries, verify_text

    settings = settings_from(args)
    store = DeskRoster.for_journal(settings.journal_path)
    roster = store.roster
    people = list(roster.contacts)
    if args.group:
        if args.group not in {g.name for g in roster.groups}:
            raise ValidationError(f"no group {args.group!r} in {store.path}; known: "
                                  + ", ".join(sorted(g.name for g in roster.groups)),
                                  field="group")
        members = {m for r in roster.rotations if r.group == args.group for m in r.members}
        people = [c for c in people if c.id in members]
    pager = twilio_pager_from(SecretStore(), settings)  # no credentials: nothing written
    desk = open_desk(args, needs=(Right.WRITE_CARDS,), settings=settings)
    try:
        made = verify_entries(people, desk.clock.now(), args.group or "")
        if not made:
            emit("nobody to verify: no contact with a phone number"
                 + (f" in group {args.group}" if args.group else ""))
            return 0
        written = {e.id for e in desk.journal.write(made, desk.operator.name)}
        failed = 0
        for entry in made:
            p = entry.payload
            if entry.id not in written:
                emit(f"{p['name']}: already asked this minute")
                continue
            try:
                pager.send_sms(str(p["number"]), verify_text(str(p["code"])))
                emit(f"{p['name']} {p['number']}: test message sent (code {p['code']})")
            except DeskError as exc:
                failed += 1
                emit(f"{p['name']} {p['number']}: NOT SENT: {exc.message}")
        emit("each reply with its code marks the contact verified; `roster check` lists who "
             "has not answered")
        return 1 if failed else 0
    finally:
        desk.close()


def register(sub: Any) -> None:
    roster = sub.add_parser("roster", help="people, rotas and routing")
    rsub = roster.add_subparsers(dest="roster_command", metavar="ACTION", required=True)

    imp = rsub.add_parser("import", help="replace the roster with a .toml file, or update "
                          "the contacts from a .csv; checks everything first and changes "
                          "nothing on any error")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--replace-contacts", action="store_true",
                     help="with a .csv: the file is the whole contact list")
    imp.set_defaults(handler=cmd_import)

    exp = rsub.add_parser("export", help="write the roster (.toml) or the contacts (.csv)")
    exp.add_argument("file", type=Path, metavar="FILE")
    exp.set_defaults(handler=cmd_export)

    show = rsub.add_parser("show", help="who is on call now and next, per group and role")
    show.add_argument("--at", help="another instant, ISO with offset (2026-03-29T09:00+02:00)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=cmd_show)

    verify = rsub.add_parser("verify", help="send each contact (of GROUP) a test SMS with a "
                             "code; their reply with it marks them verified")
    verify.add_argument("group", nargs="?", help="only the people in this group's rotas")
    verify.set_defaults(handler=cmd_verify)

    check = rsub.add_parser("check", help="setup warnings for the coming week, and ladder "
                            "tiers that cannot page anyone; exit status 1 if there are any")
    check.add_argument("--at", help="check from this instant instead of now")
    check.add_argument("--days", type=int, default=7, help="how far ahead (default 7)")
    check.set_defaults(handler=cmd_check)
