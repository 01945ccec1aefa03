"""The words the desk sends to people who are informed, not paged, and how long each kind of
message may wait to go out: one TOML file (the shipped `app/defaults/messages.toml`
documents every key; the `message_templates` setting points at an admin's copy).

Customer texts have one template per kind of work (``emergency``, ``request``, ``planned``,
and ``default`` for the rest), so a burst pipe and a planned boiler service are not answered
with the same words. Every template is checked when the file is read: an unknown
placeholder, a line break in an SMS, a text too long for one message is a ConfigError naming
the key (`messages.toml.customer.eta.emergency: unknown placeholder {minutes}; use ...`), and
the desk does not start on it. Pure: the caller reads the file.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.errors import ConfigError
from app.protocol.catalogue import KINDS_OF_WORK, MESSAGE_TYPES
from app.protocol.text import text_problem
from app.services.cards.calendar import parse_duration

DEFAULT_MESSAGES = Path(__file__).resolve().parents[2] / "defaults" / "messages.toml"
#: One SMS body at most (Twilio splits longer texts into segments, up to 1,600 characters).
SMS_MAX = 1600
SUBJECT_MAX = 200
KIND_KEYS = ("default", *KINDS_OF_WORK)

#: The placeholders each template may use (README "Messages").
CUSTOMER_FIELDS = {
    "acknowledge": ("ref", "site", "channel"),
    "eta": ("eta", "number", "site"),
}
NOTICE_FIELDS = ("priority", "number", "site", "symptom", "category", "who", "within")
STATUS_FIELDS = ("number", "priority", "site", "text", "symptom")

_DEFAULT_TTL = {"notice": timedelta(minutes=30), "customer": timedelta(minutes=15),
                "status": timedelta(minutes=30)}


@dataclass(frozen=True)
class Templates:
    """The checked file: customer texts by kind of work, notice and status texts, the time
    to live of each type of message, and the least gap between two texts to one number."""

    customer: Mapping[str, Mapping[str, str]]  # "acknowledge"/"eta" -> kind -> text
    notice_sms: str
    notice_subject: str
    status_sms: str
    status_subject: str
    ttl: Mapping[str, timedelta]
    throttle: timedelta
    source: str = "messages.toml"

    def customer_text(self, which: str, kind_of_work: str, **values: Any) -> str:
        by_kind = self.customer[which]
        return by_kind.get(kind_of_work, by_kind["default"]).format(**values)

    def ttl_of(self, kind: str) -> timedelta:
        return self.ttl[kind]


def _where(source: str, *keys: str) -> str:
    return ".".join((source, *keys))


def _template(value: Any, where: str, allowed: tuple[str, ...], *, limit: int = SMS_MAX,
              one_line: bool = True) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected the text in quotes", field=where)
    text = value.strip()
    if one_line and "\n" in text:
        raise ConfigError(f"{where}: an SMS is one line; remove the line break", field=where)
    if problem := text_problem(text.replace("\n", " ")):
        raise ConfigError(f"{where}: {problem}", field=where)
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError:
        raise ConfigError(f"{where}: a lone brace; write {{{{ and }}}} for literal braces",
                          field=where) from None
    for name in names:
        if name not in allowed:
            raise ConfigError(f"{where}: unknown placeholder {{{name}}}; use "
                              + ", ".join(f"{{{a}}}" for a in allowed), field=where)
    # The longest a filled text gets is unknown; the template itself must leave room.
    if len(text) > limit:
        raise ConfigError(f"{where}: {len(text)} characters; keep it to {limit}", field=where)
    return text


def _duration(value: Any, where: str) -> timedelta:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a duration in quotes such as \"15m\"", field=where)
    delta, business = parse_duration(value, where=where)
    if business:
        raise ConfigError(f"{where}: use minutes or hours, not business days", field=where)
    return delta


def _table(data: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]
           ) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table [{key}]", field=where)
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; use {', '.join(allowed)}",
                          field=f"{where}.{unknown[0]}")
    return value


def parse_templates(text: str, source: str = "messages.toml") -> Templates:
    """Read and check a messages file; every mistake is a ConfigError naming the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    top = ("ttl", "throttle", "customer", "notice", "status")
    unknown = sorted(set(data) - set(top))
    if unknown:
        raise ConfigError(f"{source}.{unknown[0]}: unknown section; use {', '.join(top)}",
                          field=unknown[0])
    ttl_raw = _table(data, "ttl", _where(source, "ttl"), MESSAGE_TYPES)
    ttl = {k: _duration(ttl_raw[k], _where(source, "ttl", k)) if k in ttl_raw else d
           for k, d in _DEFAULT_TTL.items()}
    throttle_raw = _table(data, "throttle", _where(source, "throttle"), ("per_number",))
    throttle = _duration(throttle_raw.get("per_number", "30s"),
                         _where(source, "throttle", "per_number"))
    customer_raw = _table(data, "customer", _where(source, "customer"), tuple(CUSTOMER_FIELDS))
    customer: dict[str, dict[str, str]] = {}
    for which, fields in CUSTOMER_FIELDS.items():
        where = _where(source, "customer", which)
        by_kind = _table(customer_raw, which, where, KIND_KEYS)
        if "default" not in by_kind:
            raise ConfigError(f"{where}.default: missing; every customer text needs a "
                              "default for kinds of work not listed", field=f"{where}.default")
        customer[which] = {k: _template(v, f"{where}.{k}", fields) for k, v in by_kind.items()}
    for kind in customer["eta"].values():
        if "{eta}" not in kind:
            raise ConfigError(f"{source}.customer.eta: every text must say {{eta}} (the "
                              "minutes)", field="customer.eta")
    notice = _table(data, "notice", _where(source, "notice"), ("sms", "email_subject"))
    status = _table(data, "status", _where(source, "status"), ("sms", "email_subject"))

    def need(table: Mapping[str, Any], section: str, key: str, fields: tuple[str, ...],
             limit: int = SMS_MAX) -> str:
        where = _where(source, section, key)
        if key not in table:
            raise ConfigError(f"{where}: missing", field=where)
        return _template(table[key], where, fields, limit=limit)

    return Templates(
        customer=customer,
        notice_sms=need(notice, "notice", "sms", NOTICE_FIELDS),
        notice_subject=need(notice, "notice", "email_subject", NOTICE_FIELDS, SUBJECT_MAX),
        status_sms=need(status, "status", "sms", STATUS_FIELDS),
        status_subject=need(status, "status", "email_subject", STATUS_FIELDS, SUBJECT_MAX),
        ttl=ttl, throttle=throttle, source=source)
