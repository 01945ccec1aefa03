"""Every desk setting, declared once: name, type, default and meaning.

Settings come from, in order of precedence: command-line flags, the settings file
(`settings.toml` in the user config folder, or `--config PATH`), then these defaults.
Secrets (the store credential, Twilio's auth token) never live here: they go to the OS keyring.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from platformdirs import user_config_path, user_data_path

from app.errors import ConfigError

APP_NAME = "dispatch-desk"
ROLES = ("dispatcher", "shift_lead", "service_owner", "l1", "l2", "observer")


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
        if not self.operator.strip():
            raise ConfigError("operator: give the name of the person at the desk",
                              field="operator")
        if not 0.5 <= self.font_scale <= 4.0:
            raise ConfigError("font_scale: use a number from 0.5 to 4.0", field="font_scale")
        return replace(self, desk_code=code, operator=self.operator.strip())


_TYPES: dict[str, Any] = {f.name: f.type for f in fields(Settings)}


def load_settings(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the settings file (if it exists), then explicit overrides."""
    file = path or default_settings_file()
    values: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"settings file {file}: {exc}") from exc
        for key, value in data.items():
            if key not in _TYPES:
                raise ConfigError(
                    f"settings file {file}: unknown setting {key!r}; known: "
                    + ", ".join(sorted(_TYPES)),
                    field=key,
                )
            values[key] = value
    elif path is not None:
        raise ConfigError(f"settings file {file} does not exist")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    for key in ("journal", "policies", "shifts", "ladder"):
        if values.get(key):
            values[key] = Path(values[key]).expanduser()
    if "font_scale" in values:
        try:
            values["font_scale"] = float(values["font_scale"])
        except (TypeError, ValueError) as exc:
            raise ConfigError("font_scale: use a number such as 1.25", field="font_scale") from exc
    for key in ("desk_code", "operator", "role", "store_url"):
        if key in values and not isinstance(values[key], str):
            raise ConfigError(f"{key}: expected text, got {values[key]!r}", field=key)
    return Settings(**values).validated()
