"""E-mail out through SMTP (`smtplib`): the stakeholder status updates and notices sent by
e-mail. The ``[smtp]`` block of the settings file says where (README "Configuration"):

    [smtp]
    host = "mail.example.org"
    port = 587                 # 587 with starttls (default), 465 with ssl, 25 plain
    security = "starttls"      # "starttls", "ssl" or "none" (only on a loopback host)
    user = "dispatch@example.org"
    from = "Dispatch desk <dispatch@example.org>"
    timeout_s = 10

The password is in the OS keyring (service "dispatch-desk", name ``smtp_password``;
`dispatch-desk outbox set-smtp-password`), never in a file. Every failure becomes a
`MailError` (a PagerError) whose `retryable` says whether asking again later may work:
a server that is down or busy (4xx) is retried, a refused address or login (5xx) is not.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from app.errors import ConfigError, PagerError

SECRET_NAME = "smtp_password"
SECURITY = ("starttls", "ssl", "none")
_KEYS = ("host", "port", "security", "user", "from", "timeout_s")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class MailError(PagerError):
    def __init__(self, message: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(message, field="smtp")
        self.retryable, self.code = retryable, code


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    sender: str = ""
    timeout_s: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.host)


def parse_smtp(raw: Any, where: str = "smtp") -> SmtpSettings:
    """The settings file's ``[smtp]`` table, checked; a ConfigError names the key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table [smtp] with host, port, security, user, "
                          "from", field=where)
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; use {', '.join(_KEYS)}",
                          field=where)
    for key in ("host", "security", "user", "from"):
        value = raw.get(key, "")
        if not isinstance(value, str) or any(ord(c) < 0x20 for c in value):
            raise ConfigError(f"{where}.{key}: expected one line of text in quotes",
                              field=where)
    security = raw.get("security", "starttls")
    if security not in SECURITY:
        raise ConfigError(f"{where}.security: use one of {', '.join(SECURITY)}",
                          field=where)
    host = str(raw.get("host", "")).strip()
    if security == "none" and host and host not in _LOOPBACK:
        raise ConfigError(f"{where}.security = \"none\" sends the password and the mail in "
                          "clear; only for a server on this machine (127.0.0.1). Use "
                          "starttls or ssl", field=where)
    port = raw.get("port", 465 if security == "ssl" else 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}.port: a port number 1..65535", field=where)
    timeout = raw.get("timeout_s", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 120:
        raise ConfigError(f"{where}.timeout_s: seconds, 1 to 120", field=where)
    sender = str(raw.get("from", "")).strip()
    if host and "@" not in parseaddr(sender)[1]:
        raise ConfigError(f"{where}.from: the sender's address, e.g. \"Dispatch desk "
                          "<dispatch@example.org>\"", field=where)
    return SmtpSettings(host, port, security, str(raw.get("user", "")).strip(), sender,
                        float(timeout))


class SmtpSender:
    """Sends one plain-text mail per call, on a fresh connection (status updates are few;
    a connection kept open would only time out between them)."""

    def __init__(self, settings: SmtpSettings, password: str | None) -> None:
        if not settings.configured:
            raise ConfigError("e-mail is off: set [smtp] host in the settings file",
                              field="smtp.host")
        if settings.user and not password:
            raise ConfigError("the SMTP password is not in the keyring; run `dispatch-desk "
                              "outbox set-smtp-password`", field=SECRET_NAME)
        self.settings, self._password = settings, password

    def send(self, to: str, subject: str, body: str) -> str:
        """Send; returns the Message-ID. Raises MailError."""
        s = self.settings
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = s.sender, to, subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=(parseaddr(s.sender)[1].rpartition("@")[2]
                                               or None))
        msg.set_content(body)
        try:
            with self._connect() as smtp:
                if s.user:
                    smtp.login(s.user, self._password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"the SMTP server refused the login of {s.user!r} ({exc.smtp_code});"
                            " check smtp.user and the password in the keyring",
                            retryable=False, code=exc.smtp_code) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0] if exc.recipients else None
            raise MailError(f"the SMTP server refused the address {to} ({code})",
                            retryable=bool(code and 400 <= code < 500), code=code) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"the SMTP server answered {exc.smtp_code}: "
                            f"{_text(exc.smtp_error)[:200]}",
                            retryable=400 <= exc.smtp_code < 500, code=exc.smtp_code) from exc
        except ssl.SSLError as exc:
            raise MailError(f"TLS with {s.host}:{s.port} failed ({exc.reason}); check "
                            "smtp.security and smtp.port", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
            raise MailError(f"could not reach the SMTP server {s.host}:{s.port} ({exc})",
                            retryable=True) from exc
        if refused:
            raise MailError(f"the SMTP server refused {', '.join(refused)}", retryable=False)
        return str(msg["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        if s.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
