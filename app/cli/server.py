"""`dispatch-desk server ...`: run the central store, enrol desks, start a new epoch.

    dispatch-desk server [--db URL] [--host 127.0.0.1] [--port 8770]
    dispatch-desk server add-desk NAME [--desk-id ID] [--db URL]   prints a one-time code
    dispatch-desk server revoke-desk DESK_ID [--reason TEXT] [--db URL]
    dispatch-desk server audit [--since 7d] [--area desk] [--json]   the store's audit trail
    dispatch-desk server new-epoch [--db URL]         after restoring the database from a backup
    dispatch-desk server report [--from --to --site --out --csv --json] [--db URL]
    dispatch-desk server integration add KIND NAME | list | revoke NAME   monitoring door keys
    dispatch-desk server operator add LOGIN | roles | disable | enable | reset | list   accounts

The database defaults to $DISPATCH_DESK_DB, else a SQLite file in the user data folder.
Needs the `server` extras (fastapi, uvicorn, psycopg).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

from platformdirs import user_data_path

from app.config import APP_NAME
from app.errors import ConfigError

DB_ENV = "DISPATCH_DESK_DB"
DEFAULT_PORT = 8770
KEEP_ALIVE_S = 5
MAX_HEADER_BYTES = 16 * 1024
# 200 desks each hold a long-poll and now and then a push: ~400 connections.
DEFAULT_MAX_CONNECTIONS = 1000


def default_store_url() -> str:
    return os.environ.get(DB_ENV) or "sqlite:///" + str(
        user_data_path(APP_NAME, appauthor=False) / "store.sqlite"
    )


def _need_extras() -> None:
    try:
        import fastapi  # noqa: F401
        import psycopg  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"the store needs the server extras ({exc.name} is missing); "
            "install with: pip install 'dispatch-desk[server]'"
        ) from None


def _listen(host: str, port: int) -> socket.socket:
    """Bind first, so `--port 0` can print the port the system chose before serving."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: use 0 to 65535 (0 picks a free port)", field="port")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host!r}: {exc.strerror}", field="host") from None
    family, kind, proto, _, address = infos[0]
    # proto must be IPPROTO_TCP, not 0: asyncio turns TCP_NODELAY on for accepted sockets only
    # then, and without it every keep-alive request waits ~40 ms on a delayed ACK (uvicorn #3149).
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port", field="port"
        ) from None
    sock.listen(2048)
    return sock


TWILIO_TOKEN_ENV = "DISPATCH_DESK_TWILIO_TOKEN"


def _twilio_token() -> str | None:
    """The Twilio auth token for webhook signatures: the environment first (a service's
    EnvironmentFile on a server without a desktop keyring), then the OS keyring."""
    import os

    from app.adapters.secrets import SecretStore

    if os.environ.get(TWILIO_TOKEN_ENV):
        return os.environ[TWILIO_TOKEN_ENV]
    try:
        return SecretStore().get("twilio_auth_token")
    except ConfigError:
        return None  # no usable keyring here: webhooks stay off, and the banner says so


def cmd_serve(args: argparse.Namespace) -> int:
    _need_extras()
    import uvicorn

    from app.store import create_app
    from app.store.database import describe, parse_db_url
    from app.store.twilio_webhook import WebhookConfig

    if args.max_connections < 1:
        raise ConfigError("--max-connections: give at least 1", field="max_connections")
    twilio = WebhookConfig(_twilio_token(), args.public_url)
    app = create_app(args.db, twilio=twilio)
    sock = _listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(
        f"dispatch-desk store on http://{host}:{port} ({describe(parse_db_url(args.db))})",
        flush=True,
    )
    if not twilio.auth_token:
        print(f"Twilio webhooks off: no auth token (set ${TWILIO_TOKEN_ENV} or store "
              "twilio_auth_token in the keyring)", flush=True)
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        proxy_headers=True,
        forwarded_allow_ips=args.trust_proxy,
        # An idle connection is closed after this; it is also how long a body the store has
        # already refused (413, or 401 unread) may go on arriving before the socket is cut.
        # A desk reconnects for free; a thousand idle sockets are a thousand file descriptors.
        timeout_keep_alive=KEEP_ALIVE_S,
        # A request line and headers larger than this are a 400 before any app code runs.
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        # Past this many open connections (or running requests) new requests get 503 at once,
        # so a connection flood costs a bounded amount of memory instead of all of it.
        limit_concurrency=args.max_connections,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def cmd_add_desk(args: argparse.Namespace) -> int:
    _need_extras()
    from app.store.enrol import CODE_VALID_FOR
    from app.store.storage import Store

    store = Store(args.db)
    try:
        code = store.add_desk_code(args.name, args.desk_id)
    finally:
        store.close()
    hours = int(CODE_VALID_FOR.total_seconds() // 3600)
    what = (
        f"a new desk {args.name!r}"
        if args.desk_id is None
        else f"desk {args.desk_id} ({args.name!r}) to enrol again, once it is revoked"
    )
    print(code)
    print(
        f"one-time code for {what}, valid {hours} hours; on the desk run: "
        f"dispatch-desk enroll URL {code}",
        file=sys.stderr,
    )
    return 0


def cmd_new_epoch(args: argparse.Namespace) -> int:
    _need_extras()
    from app.store.storage import Store

    store = Store(args.db)
    try:
        epoch = store.new_epoch()
    finally:
        store.close()
    print(f"store epoch is now {epoch}; desks will pull again and re-push what the backup lacked")
    return 0


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container): the fact goes without
        return ""


def cmd_revoke_desk(args: argparse.Namespace) -> int:
    _need_extras()
    from app.store.desk_facts import revoke_desk
    from app.store.storage import Store

    store = Store(args.db)
    try:
        # The revocation and its store.desk_revoked fact, which every desk pulls (audit).
        revoke_desk(store, args.desk_id, args.reason, _os_user())
    finally:
        store.close()
    print(f"desk {args.desk_id} revoked; to enrol it again: add-desk NAME --desk-id {args.desk_id}")
    return 0


def cmd_server_audit(args: argparse.Namespace) -> int:
    """`server audit`: the trail from every desk's entries the store holds and its own
    (accounts, tokens, integration keys, desks enrolled and revoked, ...), in the time zone
    of the dispatch rules (--policies, else the shipped ones)."""
    _need_extras()
    from app.cli.audit import show
    from app.cli.tokens import parse_when
    from app.clock import SystemClock
    from app.loaders import load_rules
    from app.services.audit import SOURCES, audit_items
    from app.store.desk_facts import audit_entries
    from app.store.storage import Store

    tz = load_rules(getattr(args, "policies", None)).tz
    since = parse_when(args.since, SystemClock().now(), tz, "since", ahead=False) \
        if args.since else None
    store = Store(args.db)
    try:
        found = audit_entries(store, SOURCES)
    finally:
        store.close()
    return show(audit_items(found, since, None, args.area or ()), tz, since, args.json)


def cmd_integration(args: argparse.Namespace) -> int:
    """`server integration add|list|revoke`: the monitoring doors' keys, written straight
    into the store (the same `integration.*` entries a desk's `integration add` pushes)."""
    _need_extras()
    from app.store.intake_routes import PREFIX, IntakeDoor
    from app.store.storage import Store

    store = Store(args.db)
    try:
        door = IntakeDoor(store)
        if args.integration_command == "add":
            key = door.add(args.kind, args.name, site=args.site, category=args.category,
                           kind_of_work=args.kind_of_work, note=args.note)
            base = args.url.rstrip("/") + PREFIX + args.kind
            print(key)
            print(f"integration {args.name!r} ({args.kind}): the key is shown only now.\n"
                  f"  with a header: POST {base}  Authorization: Bearer KEY\n"
                  f"  in the path:   POST {base}/KEY", file=sys.stderr)
        elif args.integration_command == "revoke":
            door.revoke(args.name, args.reason)
            print(f"integration {args.name!r} revoked: its key is refused (403) from now on")
        else:
            for row in door.integrations():
                refused = ", ".join(f"{k} {v}" for k, v in sorted(row["refused"].items()))
                print(f"{row['name'] or '(unknown keys)':<24} {row['kind']:<13} "
                      f"{row['state']:<13} refused: {refused or 'none'}")
    finally:
        store.close()
    return 0


def _register_integration(ssub: Any) -> None:
    from app.protocol.catalogue import KINDS_OF_WORK
    from app.protocol.intake_formats import FORMAT_KINDS

    group = ssub.add_parser("integration", help="monitoring integrations and their keys")
    group.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    isub = group.add_subparsers(dest="integration_command", metavar="ACTION", required=True)
    add = isub.add_parser("add", help="a new integration key (printed once)")
    add.add_argument("kind", choices=FORMAT_KINDS, help="the door the sender posts to")
    add.add_argument("name", help="the integration's name, e.g. prometheus-dc1")
    add.add_argument("--site", default="", help="default site of its alerts")
    add.add_argument("--category", default="", help="default category of its alerts")
    add.add_argument("--kind-of-work", default="", choices=("", *KINDS_OF_WORK))
    add.add_argument("--note", default="", help="what it is, for the admin")
    add.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}",
                     help="the store's address as the sender reaches it (for the printed URL)")
    revoke = isub.add_parser("revoke", help="refuse an integration's key from now on")
    revoke.add_argument("name")
    revoke.add_argument("--reason", default="")
    listing = isub.add_parser("list", help="integrations, key states and refused calls")
    for parser in (add, revoke, listing):
        parser.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    group.set_defaults(handler=_with_db(cmd_integration))


def register(sub: Any) -> None:
    server = sub.add_parser("server", help="run the central store (needs the server extras)")
    server.add_argument("--db", default=None, help=f"database URL (default: ${DB_ENV} or SQLite)")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on")
    server.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free one)")
    server.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    server.add_argument(
        "--trust-proxy",
        default="127.0.0.1",
        help="addresses of the TLS reverse proxy whose X-Forwarded-* headers are believed",
    )
    server.add_argument(
        "--public-url",
        default=None,
        help="the address Twilio calls (e.g. https://store.example.org); webhook signatures "
        "are checked against it",
    )
    server.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help="open connections (or running requests) beyond which requests get 503",
    )
    server.set_defaults(handler=_with_db(cmd_serve))
    ssub = server.add_subparsers(dest="server_command", metavar="ACTION")
    add = ssub.add_parser("add-desk", help="print a one-time enrolment code for a desk")
    add.add_argument("name", help="the desk's name, e.g. 'North floor desk 2'")
    add.add_argument(
        "--desk-id",
        default=None,
        help="re-enrol this known desk (e.g. revoked after it lost its secret); without it the "
        "code enrols only a desk the store has never seen",
    )
    add.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    add.set_defaults(handler=_with_db(cmd_add_desk))
    revoke = ssub.add_parser("revoke-desk", help="refuse a desk's credential from now on")
    revoke.add_argument("desk_id", help="the desk id (shown by the desk, and in its entries)")
    revoke.add_argument("--reason", default="", help="why, for the audit trail")
    revoke.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    revoke.set_defaults(handler=_with_db(cmd_revoke_desk))
    from app.cli.audit import add_options

    audit = ssub.add_parser("audit", help="the audit trail from the store's entries: accounts, "
                            "tokens, integration keys, desks enrolled and revoked, ...")
    add_options(audit)
    audit.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    audit.set_defaults(handler=_with_db(cmd_server_audit))
    epoch = ssub.add_parser("new-epoch", help="after restoring a backup: make desks re-sync")
    epoch.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    epoch.set_defaults(handler=_with_db(cmd_new_epoch))
    from app.cli.report import add_report_options, cmd_server_report

    rep = ssub.add_parser("report", help="the measures report for every desk's cards, from "
                          "the store (same options as `dispatch-desk report`)")
    add_report_options(rep)
    rep.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    rep.set_defaults(handler=_with_db(cmd_server_report))
    _register_integration(ssub)
    from app.cli.operators import register_server

    register_server(ssub, _with_db)  # `server operator ...`: accounts every desk pulls


def _with_db(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        args.db = args.db or default_store_url()
        result: int = handler(args)
        return result

    return run
