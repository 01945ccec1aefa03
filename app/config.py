"""Every desk setting, declared once: name, type, default and meaning.

Settings come from, in order of precedence: command-line flags, the settings file
(`settings.toml` in the user config folder, or `--config PATH`), then these defaults.
Secrets (the store credential, Twilio's auth token) never live here: they go to the OS keyring.

A setting that the store or another desk would refuse later (an operator name over 80
characters, a control character in it) is refused here, at start, naming the setting and the
file it came from: a desk whose every entry is refused after the fact loses its work silently.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformdirs import user_config_path, user_data_path

from app.adapters.imap import parse_mail_server
from app.adapters.smtp import SmtpSettings, parse_smtp
from app.errors import ConfigError
from app.protocol.catalogue import OPERATOR_MAX
from app.protocol.text import text_problem
from app.services.alerts import parse_silenced

APP_NAME = "dispatch-desk"
ROLES = ("dispatcher", "shift_lead", "service_owner", "l1", "l2", "observer")
_PATHS = ("journal", "policies", "shifts", "ladder", "intake_rules", "mail_ca_file",
          "message_templates", "roles")
_TEXTS: tuple[str, ...] = (
    "desk_code", "operator", "role", "store_url", "twilio_api_url", "intake_listen",
    "mail_server", "mail_user", "mail_folder", "mail_done_folder", "silence")
# The Twilio client and the answers to pages (issue 12): checked in `_check_twilio`.
_TEXTS += ("twilio_api_base", "twilio_region", "twilio_edge", "twilio_callback_url")
_FLAGS = ("auto_register",)
_NUMBERS = {"font_scale": "1.25", "mail_poll_s": "30"}
_NUMBERS["reply_poll_s"] = "2"
_NUMBERS["lock_idle_minutes"] = "15"  # signing in at the window (issue 13)


def default_journal() -> Path:
    return user_data_path(APP_NAME, appauthor=False) / "journal.sqlite"


def default_settings_file() -> Path:
    return user_config_path(APP_NAME, appauthor=False) / "settings.toml"


@dataclass(frozen=True)
class Settings:
    #: The journal file (SQLite). Default: the user data folder.
    journal: Path | None = None
    #: Dispatch rules file (policies, categories, priority matrix). Default: the shipped one.
    policies: Path | None = None
    #: Shift times, overlap and site name (TOML). Default: the shipped 08:00/20:00 plan.
    shifts: Path | None = None
    #: Escalation ladder (TOML). Default: the shipped 4-tier ladder.
    ladder: Path | None = None
    #: Letter(s) that start this desk's card numbers (B-0042); unique per desk on a site.
    #: Empty: keep the code the journal already has ("A" for a new journal).
    desk_code: str = ""
    #: Who is at the desk, and their role (roles gate priority changes).
    operator: str = "dispatcher"
    role: str = "dispatcher"
    #: Multiplies the window's font size (1.0 = the system size).
    font_scale: float = 1.0
    #: Central store URL (empty: local only).
    store_url: str = ""
    #: Where the Twilio client sends its REST calls instead of https://api.twilio.com: a
    #: local stand-in on this machine (http://127.0.0.1:PORT) for drills and tests. Empty:
    #: Twilio itself.
    twilio_api_url: str = ""
    #: Where the Twilio client sends its REST calls instead of https://api.twilio.com:
    #: https://HOST (a test account's proxy) or http://127.0.0.1:PORT (a stand-in on this
    #: machine). Empty: Twilio itself (`twilio_api_url` is the older name of this setting).
    twilio_api_base: str = ""
    #: Twilio's region and edge (e.g. "ie1" and "dublin"): the API host becomes
    #: api.EDGE.REGION.twilio.com. Empty: Twilio's default (US1).
    twilio_region: str = ""
    twilio_edge: str = ""
    #: The store's address as Twilio reaches it (the store's --public-url, e.g.
    #: https://store.example.org): a voice page's keys (4 acknowledge, 5 escalate, 6 decline)
    #: are taken there. Empty: the call tells the person to answer the SMS instead.
    twilio_callback_url: str = ""
    #: How often SMS replies and call results are read back while a ladder is live (s);
    #: with none live, every 30 s.
    reply_poll_s: float = 2.0
    #: Intake rules (TOML): what each integration's alerts become. Default: the shipped rules.
    intake_rules: Path | None = None
    #: Roles and their rights (TOML; app/defaults/roles.toml documents it). Default: the
    #: DISPATCH_DESK_ROLES environment variable, else the shipped file. The store must use
    #: the same table, or it refuses what a looser desk allows.
    roles: Path | None = None
    #: The desk's own intake door, HOST:PORT (for example 127.0.0.1:8771), so monitoring on the
    #: LAN reaches the desk with the store gone. Empty: off.
    intake_listen: str = ""
    #: Whether this desk registers the cards the intake rules say to register at once. Keep it
    #: on at one desk per store (each desk that has it on would register its own card).
    auto_register: bool = True
    #: The mailbox polled for intake mail: imaps://HOST[:PORT] (empty: no mailbox). The
    #: password is in the keyring (`dispatch-desk intake set-mail-password`).
    mail_server: str = ""
    mail_user: str = ""
    mail_folder: str = "INBOX"
    #: Where processed mail is moved (created when missing).
    mail_done_folder: str = "Processed"
    mail_poll_s: float = 30.0
    #: Kinds of notice whose sound is off, comma-separated (breach, running_out, intake,
    #: last_tier, link_down). They are still listed and flashed; a new P1 is always heard.
    silence: str = ""
    #: The CA certificate (PEM) the mail server's certificate must chain to, for a server
    #: with its own CA. Empty: the system's CAs. The certificate is always checked.
    mail_ca_file: Path | None = None
    # -- messages to people who are informed, not paged (app/services/messages) ------------
    #: The messages file: customer, notice and status texts per kind of work, the time to
    #: live of each type, the per-number throttle. Default: the shipped, documented one.
    message_templates: Path | None = None
    #: E-mail out: the settings file's [smtp] table (host, port, security = starttls | ssl
    #: | none, user, from, timeout_s); the password is in the keyring (`dispatch-desk
    #: outbox set-smtp-password`). No host: no e-mail (SMS only).
    smtp: SmtpSettings = SmtpSettings()
    # -- signing in at the window (app/ui/sign_in.py, app/ui/desk_lock.py) -----------------
    #: Lock the window after this many minutes with no key or mouse event (the sign-in
    #: screen; open dialogs and drafts are kept). 0: never (a 24/7 desk decides). Only on a
    #: desk with operator accounts.
    lock_idle_minutes: float = 0.0

    @property
    def journal_path(self) -> Path:
        return self.journal or default_journal()

    def validated(self) -> Settings:
        code = self.desk_code.strip().upper()
        if code and not (len(code) <= 3 and code.isalpha() and code.isascii()):
            raise ConfigError(
                f"desk_code {self.desk_code!r}: use 1 to 3 letters (A-Z), unique per desk",
                field="desk_code",
            )
        if self.role not in ROLES:
            raise ConfigError(f"role {self.role!r}: use one of {', '.join(ROLES)}", field="role")
        operator = self.operator.strip()
        if not operator:
            raise ConfigError("operator: give the name of the person at the desk",
                              field="operator")
        if problem := text_problem(operator):
            raise ConfigError(f"operator {operator[:40]!r}: {problem}", field="operator")
        if len(operator) > OPERATOR_MAX:
            raise ConfigError(f"operator {operator[:40]!r}...: the name is {len(operator)} "
                              f"characters; keep it to {OPERATOR_MAX}", field="operator")
        url = self.store_url.strip()
        if problem := text_problem(url):
            raise ConfigError(f"store_url {url[:60]!r}: {problem}", field="store_url")
        twilio = self.twilio_api_url.strip()
        if twilio and not twilio.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ConfigError(f"twilio_api_url {twilio[:60]!r}: only a stand-in on this "
                              "machine (http://127.0.0.1:PORT), or empty for Twilio itself",
                              field="twilio_api_url")
        _check_twilio(self)
        if not 1.0 <= self.mail_poll_s <= 3600.0:
            raise ConfigError("mail_poll_s: use a number of seconds from 1 to 3600",
                              field="mail_poll_s")
        for key in ("intake_listen", "mail_server", "mail_user", "mail_folder",
                    "mail_done_folder"):
            if problem := text_problem(getattr(self, key)):
                raise ConfigError(f"{key}: {problem}", field=key)
        if self.mail_server:
            parse_mail_server(self.mail_server)  # a ConfigError naming mail_server
            if not self.mail_user.strip():
                raise ConfigError("mail_user: mail_server is set; give the mailbox's login "
                                  "name too", field="mail_user")
        parse_silenced(self.silence)
        if not 0.5 <= self.font_scale <= 4.0:
            raise ConfigError("font_scale: use a number from 0.5 to 4.0", field="font_scale")
        if not 0 <= self.lock_idle_minutes <= 1440:
            raise ConfigError("lock_idle_minutes: use minutes from 1 to 1440, or 0 for never",
                              field="lock_idle_minutes")
        return replace(self, desk_code=code, operator=operator, store_url=url,
                       twilio_api_url=twilio)


_TYPES: dict[str, Any] = {f.name: f.type for f in fields(Settings)}


def settings_from_args(args: Any) -> Settings:
    """The settings for a command line's global options (`--config`, `--journal`, ...):
    the file's, with each option given overriding its setting."""
    return load_settings(args.config, {
        "journal": args.journal, "policies": args.policies, "desk_code": args.desk_code,
        "operator": args.operator, "role": args.role,
    })


def load_settings(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the settings file (if it exists), then explicit overrides."""
    file = path or default_settings_file()
    values: dict[str, Any] = {}
    from_file: set[str] = set()
    if file.exists():
        values = _read_file(file)
        from_file = set(values)
    elif path is not None:
        raise ConfigError(f"settings file {file} does not exist")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            from_file.discard(key)
    try:
        return _settings(values)
    except ConfigError as exc:
        if exc.field in from_file:  # say where to fix it: the file, not a flag
            raise ConfigError(f"settings file {file}: {exc.message}", field=exc.field) from None
        raise


def _read_file(file: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(file.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"settings file {file}: cannot be read: {exc.strerror or exc}"
                          ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"settings file {file}: is not UTF-8 text; save it as UTF-8, or "
                          "give another file with --config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {file}: not valid TOML: {exc}; fix the syntax "
                          "there") from None
    for key in data:
        if key not in _TYPES:
            raise ConfigError(
                f"settings file {file}: unknown setting {key!r}; known: "
                + ", ".join(sorted(_TYPES)),
                field=key,
            )
    return data


def _settings(values: dict[str, Any]) -> Settings:
    for key in _PATHS:
        if values.get(key):
            if not isinstance(values[key], str | Path):
                raise ConfigError(f"{key}: expected a file path in quotes, got {values[key]!r}",
                                  field=key)
            # A NUL or line break is never part of a real path; it would fail later, deep in
            # SQLite or the OS, as a traceback. (Bytes that are not UTF-8 may be: kept.)
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in str(values[key])):
                raise ConfigError(f"{key}: the path {str(values[key])[:60]!r} holds a control "
                                  "character; re-type it", field=key)
            values[key] = Path(values[key]).expanduser()
    for key, example in _NUMBERS.items():
        if key in values:
            if isinstance(values[key], bool):
                raise ConfigError(f"{key}: use a number such as {example}", field=key)
            try:
                values[key] = float(values[key])
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{key}: use a number such as {example}", field=key) from exc
    for key in _FLAGS:
        if key in values and not isinstance(values[key], bool):
            raise ConfigError(f"{key}: use true or false (no quotes)", field=key)
    for key in _TEXTS:
        if key in values and not isinstance(values[key], str):
            raise ConfigError(f"{key}: expected text, got {values[key]!r}", field=key)
    if "smtp" in values and not isinstance(values["smtp"], SmtpSettings):
        values["smtp"] = parse_smtp(values["smtp"])
    return Settings(**values).validated()


_REGION = re.compile(r"^[a-z0-9-]{0,20}$")


def _check_twilio(s: Settings) -> None:
    """The Twilio settings, each refused naming itself: a page that cannot go out at 03:00
    because of a typo here is worse than a desk that will not start."""
    base = (s.twilio_api_base or s.twilio_api_url).strip()
    if base:
        parts = urlsplit(base)
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (parts.scheme == "https" or local):
            raise ConfigError(f"twilio_api_base {base[:60]!r}: use https://HOST, or "
                              "http://127.0.0.1:PORT for a stand-in on this machine",
                              field="twilio_api_base")
    for key in ("twilio_region", "twilio_edge"):
        if not _REGION.match(getattr(s, key)):
            raise ConfigError(f"{key} {getattr(s, key)[:30]!r}: a Twilio {key[7:]} name such "
                              "as ie1 or dublin (lower-case letters, digits, -)", field=key)
    callback = s.twilio_callback_url.strip()
    if callback:
        parts = urlsplit(callback)
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
        if not parts.hostname or not (parts.scheme == "https" or local) or parts.query:
            raise ConfigError(f"twilio_callback_url {callback[:60]!r}: the store's public "
                              "https:// address, as given to `dispatch-desk server "
                              "--public-url`", field="twilio_callback_url")
    if not 0.5 <= s.reply_poll_s <= 60.0:
        raise ConfigError("reply_poll_s: use a number of seconds from 0.5 to 60",
                          field="reply_poll_s")
