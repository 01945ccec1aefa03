"""`dispatch-desk token ...`: tokens for scripts and monitoring hooks.

    dispatch-desk token create --for NAME --rights write_cards[,edit_roster] [--expires 90d]
                               [--note TEXT] --login ADMIN
    dispatch-desk token list [--json]
    dispatch-desk token revoke NAME [--reason TEXT] --login ADMIN

`create` needs manage_operators. It prints the token once and keeps it in this machine's
keyring as token:NAME, for a script here (`dispatch-desk card new ... --token-name NAME`);
a script elsewhere gets it in its environment as DISPATCH_DESK_TOKEN. The journal holds only
its SHA-256, so the token reaches the store and every desk as a fact (who made it, its
rights, its expiry) and never as a secret. `revoke` refuses it from then on, on every desk
at its next sync and at the store for entries stamped after the revocation.
"""

from __future__ import annotations

import argparse
import re
from contextlib import closing, suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.cli import emit, print_json
from app.errors import ConfigError, ValidationError
from app.protocol.catalogue import stamp_ms

_SPAN = re.compile(r"(\d{1,5})\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_when(text: str, now: datetime, tz: Any, field: str, *, ahead: bool) -> datetime:
    """A moment from `90d`, `12h`, `30m` (from now: ahead, or back for `--since`), a date
    (its start, site time) or a date-time (site time unless it gives its offset)."""
    clean = text.strip().lower()
    span = _SPAN.fullmatch(clean)
    if span:
        delta = timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
        return now + delta if ahead else now - delta
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"--{field} {text[:40]!r}: write 90d, 12h, 30m, a date like "
                              "2027-01-31 or a time like 2027-01-31T08:00", field=field) from None
    return when if when.tzinfo else when.replace(tzinfo=tz if tz else ZoneInfo("UTC"))


def _state(token: Any, now: datetime) -> str:
    if token.revoked is not None:
        return "revoked" + (f" ({token.reason})" if token.reason else "")
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _row(token: Any, now: datetime, kept: bool) -> dict[str, Any]:
    made = datetime.fromtimestamp(stamp_ms(token.created) / 1000, UTC)
    return {"name": token.name, "actor": token.actor, "rights": sorted(r.value for r in
                                                                        token.rights),
            "state": _state(token, now), "created_by": token.by,
            "created_at": made.isoformat(),
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "revoked_by": token.revoked_by or None, "note": token.note,
            "in_this_keyring": kept}


def _kept(name: str) -> bool:
    from app.adapters.secrets import SecretStore, token_secret_name

    try:
        return SecretStore().get(token_secret_name(name)) is not None
    except ConfigError:
        return False  # no keyring here: the listing still works


def cmd_create(args: argparse.Namespace) -> int:
    from app.adapters.secrets import SecretStore, token_secret_name
    from app.cli.signin import TOKEN_ENV, open_desk
    from app.services.operators.commands import CreateToken

    with closing(open_desk(args)) as desk:
        if not desk.needs_sign_in or desk.operators is None:
            raise ValidationError("this desk has no operator accounts, and a token acts within "
                                  "them; add the first admin with: dispatch-desk operator add",
                                  field="for")
        now = desk.clock.now()
        expires = parse_when(args.expires, now, desk.rules.tz, "expires", ahead=True) \
            if args.expires else None
        rights = [r.strip() for r in args.rights.replace(";", ",").split(",")]
        token, secret = desk.operators.create_token(
            CreateToken(args.name, rights, expires, args.note or ""), desk.signed_in)
        emit(f"token {token.name} made: entries it writes name {token.actor}; rights "
             f"{', '.join(sorted(r.value for r in token.rights))}"
             + (f"; expires {token.expires_at.isoformat()}" if token.expires_at else ""))
        try:
            SecretStore().set(token_secret_name(token.name), secret)
            where = (f"kept in this machine's keyring as {token_secret_name(token.name)} "
                     f"(scripts here: --token-name {token.name})")
        except ConfigError as exc:
            where = f"NOT kept in a keyring here ({exc.message})"
        emit(f"token (shown once; {where}; elsewhere set {TOKEN_ENV}): {secret}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from app.cli.signin import open_desk

    with closing(open_desk(args, writes=False)) as desk:
        now = desk.clock.now()
        known = desk.operators.tokens() if desk.operators is not None else {}
        rows = [_row(t, now, _kept(t.name)) for t in sorted(known.values(),
                                                             key=lambda t: t.name)]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        emit("no tokens (dispatch-desk token create --for NAME --rights write_cards)")
    for r in rows:
        extra = "".join(f"  {k} {v}" for k, v in (("expires", r["expires_at"]),
                                                   ("note", r["note"])) if v)
        here = "  [in this keyring]" if r["in_this_keyring"] else ""
        emit(f"{r['name']:<20} {r['state']:<10} {','.join(r['rights']):<32} by "
             f"{r['created_by']}{extra}{here}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from app.adapters.secrets import SecretStore, token_secret_name
    from app.cli.signin import open_desk
    from app.services.operators.commands import RevokeToken

    with closing(open_desk(args)) as desk:
        if desk.operators is None or not desk.needs_sign_in:
            raise ValidationError("this desk has no operator accounts and so no tokens",
                                  field="name")
        token = desk.operators.revoke_token(RevokeToken(args.name, args.reason or ""),
                                            desk.signed_in)
        with suppress(ConfigError):  # no keyring here: nothing was kept in it
            SecretStore().delete(token_secret_name(token.name))
        emit(f"token {token.name} revoked: refused on this desk now, on every other desk at "
             "its next sync, and at the store for entries made from now on")
    return 0


def register(sub: Any) -> None:
    token = sub.add_parser("token", help="tokens for scripts and monitoring hooks")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = tsub.add_parser("create", help="make a token (shown once; needs manage_operators)")
    create.add_argument("--for", dest="name", required=True, metavar="NAME",
                        help="what the token is for, e.g. nagios (its entries name token:NAME)")
    create.add_argument("--rights", required=True,
                        help="comma-separated: write_cards, edit_roster, edit_rules, "
                        "edit_ladder, edit_integrations")
    create.add_argument("--expires", help="90d, 12h, a date (2027-01-31) or a time; default: "
                        "until revoked")
    create.add_argument("--note", help="for the admin (kept in the journal)")
    create.set_defaults(handler=cmd_create)
    listing = tsub.add_parser("list", help="every token, its rights and state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    revoke = tsub.add_parser("revoke", help="refuse a token from now on (needs "
                             "manage_operators)")
    revoke.add_argument("name")
    revoke.add_argument("--reason", help="why (kept in the journal)")
    revoke.set_defaults(handler=cmd_revoke)
