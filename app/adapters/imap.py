"""The intake mailbox: a small IMAP client behind the `Mailbox` protocol.

stdlib `imaplib` is enough: the poller needs five commands (LOGIN, SELECT, UID SEARCH, UID
FETCH, UID MOVE or UID STORE), and the library adds TLS with our own `ssl` context, so the
certificate is always checked (against the system's CAs, or only the `mail_ca_file` when one is
set, for a server with its own CA). A third-party client would add a dependency for nothing
the desk uses.

Two ways in: ``imaps://HOST[:PORT]`` (TLS from the first byte, port 993) and
``imap://HOST[:PORT]`` (port 143, STARTTLS required: the password is never sent in clear).

Mail is taken by UID, oldest first, and "done" is the server's fact, not ours: a processed
mail is moved to the done folder (UID MOVE; the folder is created when missing), or, where
the server has no MOVE, flagged with `DONE_KEYWORD` and left in place. The search skips the
keyword, not unseen mail: a person who read an alert in a mail client before the desk polled
must not make it vanish. Failures become `ConfigError`s naming the setting to fix.
"""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from app.errors import ConfigError

#: The keyring name of the mailbox password (service "dispatch-desk").
MAIL_PASSWORD = "mail_password"
#: The keyword that marks a mail as taken where the server cannot MOVE.
DONE_KEYWORD = "DispatchDeskDone"
#: At most this much of one mail is fetched; the rest stays on the server (the intake item
#: says so). Alerts are short; a 40 MB attachment must not fill the desk's memory.
FETCH_MAX_BYTES = 1_000_000
#: Mails taken per poll: a flooded mailbox is worked through a batch at a time.
BATCH = 50
TIMEOUT_S = 30.0

T = TypeVar("T")
_PORTS = {"imaps": 993, "imap": 143}
_SETTINGS_HELP = "use imaps://HOST[:PORT] (TLS) or imap://HOST[:PORT] (STARTTLS)"


@dataclass(frozen=True)
class MailServer:
    scheme: str  # "imaps" or "imap" (STARTTLS)
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_mail_server(url: str) -> MailServer:
    """The `mail_server` setting, checked: a ConfigError naming it when it is not a server."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"mail_server {url[:80]!r}: {exc}; {_SETTINGS_HELP}",
                          field="mail_server") from None
    if parts.scheme not in _PORTS or not parts.hostname:
        raise ConfigError(f"mail_server {url[:80]!r}: {_SETTINGS_HELP}", field="mail_server")
    if parts.username or parts.password or parts.path.strip("/") or parts.query:
        raise ConfigError(f"mail_server {url[:80]!r}: only the host and port belong here; the "
                          "user is mail_user, the folder mail_folder, the password goes to "
                          "the keyring", field="mail_server")
    return MailServer(parts.scheme, parts.hostname, port or _PORTS[parts.scheme])


@dataclass(frozen=True)
class FetchedMail:
    """One mail as the server holds it: its place (UIDVALIDITY + UID, unique for good in one
    folder), when the server got it, and up to FETCH_MAX_BYTES of its bytes."""

    uid: int
    uidvalidity: int
    size: int  # the whole mail on the server (RFC822.SIZE)
    raw: bytes
    arrived: datetime | None = None  # INTERNALDATE

    @property
    def truncated(self) -> bool:
        return self.size > len(self.raw)

    @property
    def place(self) -> str:
        return f"{self.uidvalidity}:{self.uid}"


class Mailbox(Protocol):
    def unprocessed(self, limit: int = BATCH) -> list[FetchedMail]:
        """Mail not yet done, oldest first."""
        ...

    def mark_done(self, mail: FetchedMail) -> None:
        """Move the mail to the done folder (or flag it where the server cannot move)."""
        ...

    def close(self) -> None: ...


def _quote(name: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3), in quotes."""
    encoded = _utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(name: str) -> str:
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            raw = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            run.append(char)
    flush()
    return "".join(out)


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    if isinstance(data, tuple):
        return " ".join(_text(part) for part in data)
    return str(data)


_META = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")


def _internal_date(value: bytes) -> datetime | None:
    try:
        return datetime.strptime(value.decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


class ImapMailbox:
    """One logged-in session on one folder; `connect` opens it, `close` logs out."""

    def __init__(self, client: imaplib.IMAP4, folder: str, done_folder: str) -> None:
        self._client, self.folder, self.done_folder = client, folder, done_folder
        typ, data = client.capability()
        self.capabilities = frozenset(_text(data[0]).upper().split()) if typ == "OK" else \
            frozenset()
        self.can_move = "MOVE" in self.capabilities
        typ, data = client.select(_quote(folder))
        if typ != "OK":
            raise ConfigError(f"mail_folder {folder!r}: the server has no such folder "
                              f"({_text(data[0])[:120]}); create it or fix the setting",
                              field="mail_folder")
        validity = client.response("UIDVALIDITY")[1]
        self.uidvalidity = int(validity[0]) if validity and validity[0] else 0
        self._done_ready = False

    @classmethod
    def connect(cls, server: MailServer, user: str, password: str, *, folder: str = "INBOX",
                done_folder: str = "Processed", ca_file: Path | None = None,
                timeout: float = TIMEOUT_S) -> ImapMailbox:
        if not user:
            raise ConfigError("mail_user: give the mailbox's login name", field="mail_user")
        if not password:
            raise ConfigError("the mailbox password is not in the keyring; run "
                              "`dispatch-desk intake set-mail-password`", field=MAIL_PASSWORD)
        context = _tls_context(ca_file)
        client = _guarded(server, lambda: _open(server, context, timeout))
        try:
            _guarded(server, lambda: _login(client, server, user, password))
            return _guarded(server, lambda: cls(client, folder, done_folder))
        except BaseException:
            _logout(client)
            raise

    def unprocessed(self, limit: int = BATCH) -> list[FetchedMail]:
        server = self._client.host
        typ, data = self._call(lambda: self._client.uid("SEARCH", "NOT", "KEYWORD",
                                                        DONE_KEYWORD))
        if typ != "OK":
            raise ConfigError(f"mail_folder {self.folder!r}: the search failed on {server}: "
                              f"{_text(data[0])[:120]}", field="mail_folder")
        uids = sorted(int(u) for u in _text(data[0]).split())[:limit]
        return [mail for uid in uids if (mail := self._fetch(uid)) is not None]

    def _fetch(self, uid: int) -> FetchedMail | None:
        # Two commands: the sizes first (no literal), then the bytes, so the reply's order of
        # items never matters to the parsing.
        typ, data = self._call(lambda: self._client.uid(
            "FETCH", str(uid), "(UID RFC822.SIZE INTERNALDATE)"))
        meta: dict[int, bytes] = {}
        for part in data if typ == "OK" else ():
            for match in _META.finditer(part if isinstance(part, bytes) else b""):
                for i, value in enumerate(match.groups()):
                    if value is not None:
                        meta[i] = value
        if 0 not in meta or int(meta[0]) != uid:
            return None  # gone since the search (another client took it)
        typ, data = self._call(lambda: self._client.uid(
            "FETCH", str(uid), f"(BODY.PEEK[]<0.{FETCH_MAX_BYTES}>)"))
        raw = b"".join(p[1] for p in data if isinstance(p, tuple)) if typ == "OK" else b""
        size = int(meta.get(1, b"0")) or len(raw)
        return FetchedMail(uid=uid, uidvalidity=self.uidvalidity, size=size, raw=raw,
                           arrived=_internal_date(meta[2]) if 2 in meta else None)

    def mark_done(self, mail: FetchedMail) -> None:
        if mail.uidvalidity != self.uidvalidity:
            return  # the folder was rebuilt: that UID is another mail now; the next poll sees it
        if self.can_move:
            self._ensure_done_folder()
            typ, data = self._call(lambda: self._client.uid(
                "MOVE", str(mail.uid), _quote(self.done_folder)))
        else:
            typ, data = self._call(lambda: self._client.uid(
                "STORE", str(mail.uid), "+FLAGS.SILENT", f"(\\Seen {DONE_KEYWORD})"))
        if typ != "OK":
            raise ConfigError(f"mail_done_folder {self.done_folder!r}: the server would not "
                              f"take mail {mail.uid} there ({_text(data[0])[:120]})",
                              field="mail_done_folder")

    def _ensure_done_folder(self) -> None:
        if self._done_ready:
            return
        typ, data = self._call(lambda: self._client.list('""', _quote(self.done_folder)))
        if typ == "OK" and not any(data):  # no such folder: [None]
            typ, data = self._call(lambda: self._client.create(_quote(self.done_folder)))
            if typ != "OK":
                raise ConfigError(f"mail_done_folder {self.done_folder!r}: cannot be created "
                                  f"({_text(data[0])[:120]})", field="mail_done_folder")
        self._done_ready = True

    def _call(self, command: Callable[[], tuple[str, Sequence[object]]]
              ) -> tuple[str, Sequence[object]]:
        return _guarded(self._client.host, command)

    def close(self) -> None:
        _logout(self._client)


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"mail_ca_file {str(ca_file)[:80]!r}: not a readable PEM certificate "
                          f"file ({exc})", field="mail_ca_file") from None


def _open(server: MailServer, context: ssl.SSLContext, timeout: float) -> imaplib.IMAP4:
    if server.scheme == "imaps":
        return imaplib.IMAP4_SSL(server.host, server.port, ssl_context=context, timeout=timeout)
    client = imaplib.IMAP4(server.host, server.port, timeout=timeout)
    try:
        if "STARTTLS" not in client.capabilities:
            raise ConfigError(f"mail_server {server}: the server offers no STARTTLS, and the "
                              "password is never sent in clear; use imaps:// or another server",
                              field="mail_server")
        client.starttls(context)
    except BaseException:
        _logout(client)
        raise
    return client


def _login(client: imaplib.IMAP4, server: MailServer, user: str, password: str) -> None:
    try:
        client.login(user, password)
    except imaplib.IMAP4.abort:
        raise  # the connection broke: `_guarded` says so
    except imaplib.IMAP4.error as exc:  # NO: the server refused these credentials
        raise ConfigError(
            f"{server} refused the login of mail_user {user!r} ({_text(exc.args[0])[:120]}); "
            "check the mail_user setting and the password "
            "(`dispatch-desk intake set-mail-password`)", field=MAIL_PASSWORD) from None


def _guarded(server: object, call: Callable[[], T]) -> T:
    """`call`, with the network's and the server's failures said as what to fix."""
    try:
        return call()
    except ssl.SSLCertVerificationError as exc:
        raise ConfigError(f"mail_server {server}: its certificate is not trusted "
                          f"({exc.verify_message}); give its CA in mail_ca_file",
                          field="mail_ca_file") from None
    except (imaplib.IMAP4.abort, OSError) as exc:  # TimeoutError and SSLError are OSErrors
        raise ConfigError(f"mail_server {server}: cannot talk to the server "
                          f"({exc.__class__.__name__}: {exc}); check the host and port, "
                          "and that it is up", field="mail_server") from None
    except imaplib.IMAP4.error as exc:
        raise ConfigError(f"mail_server {server}: the server refused a command "
                          f"({_text(exc.args[0] if exc.args else exc)[:160]})",
                          field="mail_server") from None


def _logout(client: imaplib.IMAP4) -> None:
    with suppress(imaplib.IMAP4.error, OSError):  # the session is gone either way
        client.logout()
