"""Reading the intake rules file (TOML) for `app.services.intake.rules`, which judges it.

The file sits beside the policies (the `intake_rules` setting; default: the shipped
`app/defaults/intake_rules.toml`, which documents every key). A file that cannot be read or
parsed is a ConfigError naming the file; a wrong key names its place in the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from app.errors import ConfigError
from app.services.intake.rules import IntakeRules, parse_intake_rules
from app.services.rules import DispatchRules

DEFAULT_INTAKE_RULES = Path(__file__).resolve().parent / "defaults" / "intake_rules.toml"


def parse_intake_text(text: str, source: str, rules: DispatchRules | None = None) -> IntakeRules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    categories = [c.key for c in rules.categories] if rules is not None else None
    return parse_intake_rules(data, source, categories)


def load_intake_rules(path: Path | str | None = None,
                      rules: DispatchRules | None = None) -> IntakeRules:
    """The intake rules in `path` (default: the shipped file), checked against the dispatch
    rules' categories when `rules` is given. The shipped file is not: a site whose own
    policies name other categories must still start; a shipped rule whose category it lacks
    leaves its items in the tray for a person (logged), it registers nothing wrong."""
    if not path:
        rules = None
    p = Path(path) if path else DEFAULT_INTAKE_RULES
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the intake rules file {p}: {exc.strerror or exc}",
                          field="intake_rules") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read the intake rules file {p}: it is not UTF-8 text; save "
                          "it as UTF-8", field="intake_rules") from None
    return parse_intake_text(text, p.name, rules)
