"""Reading the desk's rule files: the policies, the shift plan, the ladder, the intake rules.

The services judge text (`parse_rules`, `parse_shifts`, `parse_ladder`,
`parse_intake_rules`) and do no I/O; this module reads the files, so a file that cannot be
read, or is not UTF-8, is one clear ConfigError naming the file and the option that gives it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from app.errors import ConfigError
from app.services.cards.rules import DEFAULT_RULES, DispatchRules, parse_rules
from app.services.escalation.ladder import DEFAULT_LADDER, Ladder, parse_ladder
from app.services.handover.shifts import DEFAULT_SHIFTS, ShiftPlan, parse_shifts
from app.services.intake.rules import IntakeRules, parse_intake_rules
from app.services.messages.plan import NotificationPlan, parse_plan
from app.services.messages.templates import DEFAULT_MESSAGES, Templates, parse_templates

DEFAULT_INTAKE_RULES = Path(__file__).resolve().parent / "defaults" / "intake_rules.toml"


def read_text(path: Path, what: str, option: str) -> str:
    """A rule file's text, or a ConfigError that names it and the option to fix."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}",
                          field=option) from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read the {what} {path}: it is not UTF-8 text; save it as "
                          f"UTF-8, or give the right file with --{option.replace('_', '-')}",
                          field=option) from None


def load_rules(path: Path | str | None = None) -> DispatchRules:
    p = Path(path) if path else DEFAULT_RULES
    return parse_rules(read_text(p, "policy file", "policies"), source=p.name)


def load_shifts(path: Path | str | None = None) -> ShiftPlan:
    p = Path(path) if path else DEFAULT_SHIFTS
    return parse_shifts(read_text(p, "shift file", "shifts"), source=p.name)


def load_ladder(path: Path | str | None = None) -> Ladder:
    """The ladder file at ``path``, or the shipped default."""
    p = Path(path) if path else DEFAULT_LADDER
    return parse_ladder(read_text(p, "ladder file", "ladder"), str(p))


def parse_intake_text(text: str, source: str, rules: DispatchRules | None = None) -> IntakeRules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    categories = [c.key for c in rules.categories] if rules is not None else None
    return parse_intake_rules(data, source, categories)


def load_intake_rules(path: Path | str | None = None,
                      rules: DispatchRules | None = None) -> IntakeRules:
    """The intake rules in `path` (default: the shipped file, which documents every key),
    checked against the dispatch rules' categories when `rules` is given. The shipped file is
    not: a site whose own policies name other categories must still start; a shipped rule
    whose category it lacks leaves its items in the tray for a person (logged)."""
    if not path:
        rules = None
    p = Path(path) if path else DEFAULT_INTAKE_RULES
    return parse_intake_text(read_text(p, "intake rules file", "intake_rules"), p.name, rules)


def load_templates(path: Path | str | None = None) -> Templates:
    """The messages file (customer, notice and status texts, time to live per type): the
    `message_templates` setting's, or the shipped one, which documents every key."""
    p = Path(path) if path else DEFAULT_MESSAGES
    return parse_templates(read_text(p, "messages file", "message_templates"), p.name)


def load_notification_plan(path: Path | str | None = None,
                           rules: DispatchRules | None = None) -> NotificationPlan:
    """The policies file's [notification_plan]; a file without one uses the shipped plan."""
    p = Path(path) if path else DEFAULT_RULES
    text = read_text(p, "policy file", "policies")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p.name}: not valid TOML: {exc}") from None
    if "notification_plan" not in data and p != DEFAULT_RULES:
        return load_notification_plan(None, rules)
    categories = [c.key for c in rules.categories] if rules is not None else None
    return parse_plan(data.get("notification_plan", {}), p.name, categories)
