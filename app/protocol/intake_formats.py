"""The monitoring doors' formats: a webhook body in, `Alert`s out (pure; no I/O, no clock).

    parse(kind, body, integration, now) -> list[Alert]

* ``webhook`` -- Dispatch Desk's own generic shape (README, "Point Alertmanager and Grafana at
  the store"): one object or ``{"alerts": [...]}``; ``summary`` is required. Our own shape,
  so it is judged strictly: an unknown field, a wrong type or an over-long value is refused.
* ``alertmanager`` -- Prometheus Alertmanager's webhook, payload ``version: "4"``: a group of
  alerts with ``status``, ``labels``, ``annotations``, ``startsAt``, ``generatorURL`` and
  ``fingerprint``.
* ``grafana`` -- Grafana Alerting's webhook contact point: the same group shape, alerts with
  ``silenceURL``, ``dashboardURL``, ``panelURL`` and ``values``/``valueString``.

The two foreign formats are judged on structure (objects, lists, text, statuses, the version),
never on the length or line breaks of what their users wrote in an annotation: such text is
fitted (one line, cut with an ellipsis), since Alertmanager does not resend a notification
that was refused. Fields we do not read are ignored (both add fields from release to release).
Every problem is a `ValidationError` whose field is the JSON path (``alerts[2].labels.team``);
one bad alert refuses the whole body.

A sender's dedup key is kept under the integration's name (``NAME:KEY``); without one it is
`derive_key` of what names the alert (the ``fingerprint`` and labels). `occurrence_key` names
one occurrence, so that a replayed body (a retry after a lost reply, a re-notification of an
alert still firing) is recognised as such.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from app.errors import ValidationError
from app.protocol.catalogue import ALERT_STATUSES, KINDS_OF_WORK, check_payload
from app.protocol.intake import Alert, derive_key
from app.protocol.text import text_problem

#: The largest body a door reads (the store's BodyCap and the desk's local door use it too).
MAX_BODY_BYTES = 1024 * 1024
#: Alerts in one body: Alertmanager's `max_alerts` (README) keeps a group below this.
MAX_ALERTS = 1000
MAX_LABELS = 64
MAX_LINKS = 20
# The catalogue's limits for the fields an Alert carries (INTAKE_PAYLOADS["intake.received"]).
_LIMITS = {"summary": 300, "details": 4000, "source": 200, "node": 200, "metric": 200,
           "severity": 40, "site": 200, "category": 200, "dedup_key": 200}
_LABEL_KEY, _LABEL_VALUE, _LINK = 100, 1000, 2000
_KEY_CHARS = re.compile(r"[A-Za-z0-9_-]{16,128}")
_WS = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Alertmanager's "no end yet" and Go's zero time.
_ZERO_TIME = "0001-01-01T00:00:00Z"
_ISO = re.compile(r"(?P<head>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?P<frac>\.\d+)?"
                  r"(?P<zone>[Zz]|[+-]\d\d:\d\d)")
_TIME_MIN = datetime(2020, 1, 1, tzinfo=UTC)
_TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)
#: The doors this module reads (heartbeat, email and sms have doors of their own).
FORMAT_KINDS = ("webhook", "alertmanager", "grafana")


class Sender(Protocol):
    """What a normalizer needs of an integration (this module's `Integration`, or the
    desk's richer one in app.services.intake)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def site(self) -> str: ...
    @property
    def kind_of_work(self) -> str: ...


@dataclass(frozen=True)
class Integration:
    """One sender with its own key, as an ``integration.added`` entry describes it."""

    name: str
    kind: str  # one of INTEGRATION_KINDS
    key_hash: str = ""  # sha256 hex of the key (`hash_key`); the key itself is never stored
    category: str = ""
    site: str = ""
    kind_of_work: str = ""
    every_min: int | None = None  # heartbeats: how often it must check in
    note: str = ""

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Integration:
        every = payload.get("every_min")
        return cls(str(payload["name"]), str(payload["kind"]), str(payload["key_hash"]),
                   str(payload.get("category", "")), str(payload.get("site", "")),
                   str(payload.get("kind_of_work", "")),
                   int(every) if isinstance(every, int) else None, str(payload.get("note", "")))


def hash_key(key: str) -> str:
    """What is stored of an integration key: 256 random bits need no slow hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_shape_ok(key: str) -> bool:
    """Whether `key` could be a key (`secrets.token_urlsafe`): anything else is refused
    unread, before a database is asked."""
    return bool(_KEY_CHARS.fullmatch(key))


def occurrence_key(alert: Alert) -> str:
    """One occurrence of an alert: the same alert, status and start (and text) is the same
    occurrence, whoever delivered it and however often. A generic sender that wants two
    identical alerts counted twice gives each its own ``started_at``."""
    parts = (alert.integration, alert.dedup_key, alert.status, alert.fields.get("started_at", ""),
             alert.summary, alert.details)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# -- reading untrusted JSON ---------------------------------------------------------------

def _fail(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path}: {message}", field=path)


def load_body(body: bytes | Mapping[str, Any]) -> dict[str, Any]:
    """The body as a JSON object; ValidationError naming ``body`` if it is not one."""
    if isinstance(body, Mapping):
        return dict(body)
    if len(body) > MAX_BODY_BYTES:
        raise _fail("body", f"is {len(body):,} bytes; send at most {MAX_BODY_BYTES:,}")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
        raise _fail("body", "is not valid JSON (send Content-Type: application/json)") from None
    if not isinstance(data, dict):
        raise _fail("body", "must be a JSON object")
    return data


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "must be an object")
    return value


def _str(data: Mapping[str, Any], key: str, path: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _fail(f"{path}.{key}" if path else key, "must be text")
    return value


def _strings(value: Any, path: str) -> dict[str, str]:
    """Labels or annotations: an object of text."""
    if value is None:
        return {}
    data = _obj(value, path)
    for key, item in data.items():
        if not isinstance(item, str):
            raise _fail(f"{path}.{str(key)[:40]}", "must be text")
    return data


def _clean(value: str) -> str:
    return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", value))


def fit_line(value: str, limit: int) -> str:
    """Foreign text as one stored line: whitespace runs become one space, control characters
    go, and an over-long value is cut with an ellipsis."""
    one = _WS.sub(" ", _clean(value)).strip()
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "\u2026"


def fit_text(value: str, limit: int) -> str:
    text = _clean(value.replace("\r\n", "\n")).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _fit_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """At most MAX_LABELS (by name, so the choice is the same every time), names one line."""
    fitted: dict[str, str] = {}
    for key in sorted(labels)[:MAX_LABELS]:
        name = fit_line(key, _LABEL_KEY)
        if name:
            fitted[name] = fit_line(labels[key], _LABEL_VALUE)
    return fitted


def _links(*candidates: str) -> tuple[str, ...]:
    """Only http(s) links reach a tray (a javascript: link must never be one click away)."""
    seen: list[str] = []
    for link in candidates:
        link = link.strip()
        if link.startswith(("http://", "https://")) and len(link) <= _LINK \
                and not text_problem(link) and link not in seen:
            seen.append(link)
    return tuple(seen[:MAX_LINKS])


def _status(value: Any, path: str) -> str:
    if value not in ALERT_STATUSES:
        raise _fail(path, f"must be one of {', '.join(ALERT_STATUSES)}")
    return str(value)


def _when(value: str, path: str, *, strict: bool = False) -> str:
    """A sender's ISO-8601 time as the intake form keeps it (UTC, '' for none). Go writes
    nanoseconds; Python reads at most microseconds, so the rest is dropped. A time outside
    2020-2200 is refused from our own shape and left out from a foreign one."""
    if not value or value == _ZERO_TIME:
        return ""
    match = _ISO.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        when = datetime.fromisoformat(match["head"] + (match["frac"] or "")[:7]
                                      + match["zone"].replace("z", "Z"))
        utc = when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _fail(path, "must be an ISO-8601 time with a zone, such as "
                          "2026-11-23T02:10:00Z") from None
    if not _TIME_MIN <= utc < _TIME_MAX:
        if strict:
            raise _fail(path, "must lie between 2020 and 2200")
        return ""
    return utc.isoformat()


def _alerts(data: Mapping[str, Any]) -> list[Any]:
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise _fail("alerts", "must be a list of alerts")
    if not alerts:
        raise _fail("alerts", "is empty; send at least one alert")
    if len(alerts) > MAX_ALERTS:
        raise _fail("alerts", f"holds {len(alerts):,} alerts; send at most {MAX_ALERTS:,} "
                              "per request (Alertmanager: max_alerts)")
    return alerts


# -- Alertmanager and Grafana: the same group shape ----------------------------------------

def _group_alert(raw: Any, path: str, integration: Sender, channel: str,
                 now: datetime, extra_links: tuple[str, ...]) -> Alert:
    alert = _obj(raw, path)
    status = _status(alert.get("status"), f"{path}.status")
    labels = _strings(alert.get("labels"), f"{path}.labels")
    notes = _strings(alert.get("annotations"), f"{path}.annotations")
    fingerprint = _str(alert, "fingerprint", path)
    started = _when(_str(alert, "startsAt", path), f"{path}.startsAt")
    _when(_str(alert, "endsAt", path), f"{path}.endsAt")
    name = labels.get("alertname", "")
    node = labels.get("instance") or labels.get("host") or labels.get("node") or ""
    summary = (notes.get("summary") or notes.get("title") or notes.get("message")
               or (f"{name} on {node}" if name and node else name) or f"{channel} alert")
    details = notes.get("description") or notes.get("message") or ""
    if channel == "grafana":
        values = alert.get("values")
        shown = _str(alert, "valueString", path) or (
            json.dumps(values, sort_keys=True) if isinstance(values, dict) else "")
        details = f"{details}\n\nValues: {shown}".strip() if shown else details
    links = _links(_str(alert, "generatorURL", path), notes.get("runbook_url", ""),
                   *(_str(alert, k, path) for k in ("dashboardURL", "panelURL", "silenceURL",
                                                     "imageURL") if channel == "grafana"),
                   *extra_links)
    identity = "\x1f".join(f"{k}={labels[k]}" for k in sorted(labels))
    return Alert(
        integration=integration.name, channel=channel,
        dedup_key=derive_key(integration.name, fingerprint, identity), summary=fit_line(
            summary, _LIMITS["summary"]) or f"{channel} alert",
        received_at=now, status=status, details=fit_text(details, _LIMITS["details"]),
        source=channel, node=fit_line(node, _LIMITS["node"]),
        metric=fit_line(name, _LIMITS["metric"]),
        severity=fit_line(labels.get("severity", ""), _LIMITS["severity"]),
        site=fit_line(labels.get("site", ""), _LIMITS["site"]) or integration.site,
        category=fit_line(labels.get("category", ""), _LIMITS["category"])
        or integration.category,
        kind_of_work=integration.kind_of_work, links=links, labels=_fit_labels(labels),
        fields={"started_at": started} if started else {},
    )


def parse_alertmanager(data: Mapping[str, Any], integration: Sender,
                       now: datetime) -> list[Alert]:
    version = data.get("version")
    if version != "4":
        raise _fail("version", f"is {str(version)[:20]!r}; this door reads Alertmanager's "
                               "webhook version \"4\" (Alertmanager 0.16 or later)")
    external = _links(_str(data, "externalURL", ""))
    return [_group_alert(raw, f"alerts[{i}]", integration, "alertmanager", now, external)
            for i, raw in enumerate(_alerts(data))]


def parse_grafana(data: Mapping[str, Any], integration: Sender,
                  now: datetime) -> list[Alert]:
    version = data.get("version", "1")
    if version != "1":
        raise _fail("version", f"is {str(version)[:20]!r}; this door reads Grafana "
                               "Alerting's webhook version \"1\"")
    if "alerts" not in data and "evalMatches" in data:
        raise _fail("alerts", "is missing: this is legacy Grafana alerting; use a Grafana "
                              "Alerting webhook contact point (Grafana 8 or later)")
    return [_group_alert(raw, f"alerts[{i}]", integration, "grafana", now, ())
            for i, raw in enumerate(_alerts(data))]


# -- the generic webhook: our own shape, judged strictly ------------------------------------

_GENERIC_LINES = ("summary", "source", "node", "metric", "severity", "site", "category",
                  "dedup_key")
_GENERIC_FIELDS = frozenset((*_GENERIC_LINES, "details", "status", "links", "labels",
                             "kind_of_work", "started_at"))


def _strict(value: str, path: str, limit: int, *, multiline: bool = False) -> str:
    if len(value) > limit:
        raise _fail(path, f"is {len(value):,} characters; keep it to {limit:,}")
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise _fail(path, problem)
    return value.strip()


def _generic_alert(raw: Any, path: str, integration: Sender, now: datetime) -> Alert:
    data = _obj(raw, path or "body")
    prefix = f"{path}." if path else ""
    unknown = sorted(str(k) for k in data if k not in _GENERIC_FIELDS)
    if unknown:
        raise _fail(f"{prefix}{unknown[0][:40]}", "is not a field of the generic webhook "
                    f"(fields: {', '.join(sorted(_GENERIC_FIELDS))})")
    values = {name: _strict(_str(data, name, path), f"{prefix}{name}", _LIMITS[name])
              for name in _GENERIC_LINES}
    if not values["summary"]:
        raise _fail(f"{prefix}summary", "is missing; say in one line what is wrong")
    details = _strict(_str(data, "details", path), f"{prefix}details", _LIMITS["details"],
                      multiline=True)
    status = _status(data.get("status", "firing"), f"{prefix}status")
    kind_of_work = _str(data, "kind_of_work", path)
    if kind_of_work and kind_of_work not in KINDS_OF_WORK:
        raise _fail(f"{prefix}kind_of_work", f"must be one of {', '.join(KINDS_OF_WORK)}")
    started = _when(_str(data, "started_at", path), f"{prefix}started_at", strict=True)
    links = data.get("links", [])
    if not isinstance(links, list) or len(links) > MAX_LINKS:
        raise _fail(f"{prefix}links", f"must be a list of at most {MAX_LINKS} links")
    for i, link in enumerate(links):
        if not isinstance(link, str) or _links(link) != (link.strip(),):
            raise _fail(f"{prefix}links[{i}]", f"must be an http:// or https:// URL of at most "
                                               f"{_LINK} characters")
    labels = _strings(data.get("labels"), f"{prefix}labels")
    if len(labels) > MAX_LABELS:
        raise _fail(f"{prefix}labels", f"holds {len(labels)} labels; send at most {MAX_LABELS}")
    for key, value in labels.items():
        _strict(key, f"{prefix}labels key", _LABEL_KEY)
        _strict(value, f"{prefix}labels.{key[:40]}", _LABEL_VALUE)
    given = values.pop("dedup_key")
    identity = (values["source"], values["node"], values["metric"] or values["summary"])
    return Alert(
        integration=integration.name, channel="webhook",
        dedup_key=f"{integration.name}:{given}" if given else derive_key(integration.name,
                                                                         *identity),
        received_at=now, status=status, details=details,
        summary=values["summary"], source=values["source"], node=values["node"],
        metric=values["metric"], severity=values["severity"],
        site=values["site"] or integration.site,
        category=values["category"] or integration.category,
        kind_of_work=kind_of_work or integration.kind_of_work,
        links=tuple(link.strip() for link in links), labels=dict(labels),
        fields={"started_at": started} if started else {},
    )


def parse_webhook(data: Mapping[str, Any], integration: Sender,
                  now: datetime) -> list[Alert]:
    if "alerts" in data:
        if set(data) != {"alerts"}:
            extra = sorted(str(k) for k in data if k != "alerts")[0][:40]
            raise _fail(extra, "a batch body holds only \"alerts\"")
        return [_generic_alert(raw, f"alerts[{i}]", integration, now)
                for i, raw in enumerate(_alerts(data))]
    return [_generic_alert(data, "", integration, now)]


FORMATS: dict[str, Callable[[Mapping[str, Any], Sender, datetime], list[Alert]]] = {
    "webhook": parse_webhook, "alertmanager": parse_alertmanager, "grafana": parse_grafana,
}


def parse(kind: str, body: bytes | Mapping[str, Any], integration: Sender,
          now: datetime) -> list[Alert]:
    """The alerts in one body posted to the `kind` door by `integration`. Raises
    ValidationError naming the JSON path of the first problem; returns at least one alert."""
    reader = FORMATS.get(kind)
    if reader is None:
        raise _fail("kind", f"{kind[:40]!r} is not a monitoring door; use one of "
                            f"{', '.join(FORMAT_KINDS)}")
    if integration.kind != kind:
        raise _fail("kind", f"the key of {integration.name!r} is for the {integration.kind} "
                            f"door; post to /v1/intake/{integration.kind}")
    alerts = reader(load_body(body), integration, now)
    for i, alert in enumerate(alerts):
        # The catalogue has the last word: what it would refuse never leaves a door.
        try:
            check_payload("intake.received", "00000000-0000-4000-8000-000000000001",
                          alert.received_payload(), f"{int(now.timestamp() * 1000):015d}.0")
        except ValidationError as exc:
            where = f"alerts[{i}]" if kind != "webhook" or len(alerts) > 1 else "body"
            raise _fail(where, exc.message) from None
    return alerts
