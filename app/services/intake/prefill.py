"""What an intake item fills in for the dispatcher: the card's intake fields (DOMAIN.md:
"alerts from monitoring fill fields themselves: source, node, metric or alert, time,
location, assumed service, initial priority, attachments") and the timeline notes written
when an item becomes a card or repeats on one."""

from __future__ import annotations

from typing import Any

from app.protocol.catalogue import INTAKE_FIELDS, MULTILINE_INTAKE
from app.protocol.intake import RESOLVED, Alert
from app.services.cards.rules import DispatchRules
from app.services.intake.rules import Classification
from app.services.intake.tray import TrayItem

SIMILAR_REPORTS = 3  # DOMAIN.md: three matching reports within 10 minutes (as CardService)

_LINE_MAX, _TEXT_MAX, _NOTE_MAX = 300, 4000, 8000
# What a rule that registers at once answers for the questions nobody was asked.
_NOT_ASKED = "not asked: registered at once by the intake rules"


def alert_of(item: TrayItem) -> Alert:
    """The item's first alert again, for the rules (which judge alerts)."""
    return Alert(integration=item.integration, channel=item.channel, dedup_key=item.dedup_key,
                 summary=item.summary, received_at=item.received_at, status=item.status,
                 details=item.details, source=item.source, node=item.node, metric=item.metric,
                 severity=item.severity, site=item.site, category=item.category,
                 kind_of_work=item.kind_of_work, callback=item.callback, links=item.links,
                 labels=item.labels, fields=item.fields)


def _clip(name: str, value: str) -> str:
    if name in MULTILINE_INTAKE:
        return value[:_TEXT_MAX]
    return " ".join(value.split())[:_LINE_MAX]


def prefill_fields(item: TrayItem, cls: Classification, rules: DispatchRules, *,
                   auto: bool = False, probable: bool = False) -> dict[str, str]:
    """The intake form's fields for `item`; the sender's own `fields` win over what is
    derived here. With `auto`, the questions nobody could answer say so, so that the card
    can be registered without a person. A `probable` emergency (three similar reports within
    minutes, DOMAIN.md) proposes the raise; the dispatcher confirms or changes it."""
    local = item.received_at.astimezone(rules.tz).strftime("%Y-%m-%d %H:%M")
    site = item.site or cls.site
    where = ", ".join(p for p in (site, item.node) if p)
    what = item.summary if not item.metric else f"{item.summary} ({item.metric})"
    out: dict[str, Any] = {
        "source_channel": f"{item.channel}: {item.integration}",
        "symptom": item.summary,
        "q_what": what,
        "q_when": f"since {local} ({rules.timezone}), reported by {item.integration}",
        "started_at": item.received_at.isoformat(),
        "kind_of_work": item.kind_of_work or cls.kind_of_work or "request",
    }
    for name, value in (("site", site), ("category", item.category or cls.category),
                        ("equipment", item.node), ("q_where", where),
                        ("reporter", item.callback or item.source),
                        ("q_contact", item.callback), ("impact", cls.impact),
                        ("urgency", cls.urgency)):
        if value:
            out[name] = value
    if cls.impact and cls.urgency:
        because = f"rule {cls.rule}" if cls.rule else "the intake defaults"
        severity = f"{item.severity} " if item.severity else ""
        out["priority_reason"] = (f"{severity}{item.channel} alert from {item.integration}; "
                                  f"impact {cls.impact}, urgency {cls.urgency} by {because}")
    if auto:
        out.setdefault("q_where", site or _NOT_ASKED)
        out.setdefault("q_contact", f"the sender ({item.integration})")
        out["q_workaround"] = _NOT_ASKED
    if probable:
        out.update(impact="high", urgency="high", priority_reason=(
            f"probable emergency: {SIMILAR_REPORTS} or more similar reports from "
            f"{item.site or 'one site'} within minutes"))
    out.update({k: v for k, v in item.fields.items() if k in INTAKE_FIELDS})
    return {k: _clip(k, str(v)) for k, v in out.items() if str(v).strip()}


def card_note(item: TrayItem) -> str:
    """The card's first note: what the form has no field for (details, links, labels)."""
    lines = [f"From the tray: {item.channel} {item.integration}, {item.count} alert(s), "
             f"first {item.received_at.isoformat()}, key {item.dedup_key}"]
    if item.details:
        lines.append(item.details)
    if item.links:
        lines.append("Links:")
        lines += [f"- {link}" for link in item.links]
    if item.labels:
        lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(item.labels.items())))
    if item.callback:
        lines.append(f"Callback: {item.callback}")
    return "\n".join(lines)[:_NOTE_MAX]


def repeat_note(item: TrayItem, alert: Alert) -> str:
    """The timeline line a repeat adds to the card its item became."""
    if alert.status == RESOLVED:
        head = f"Resolved at the source ({alert.channel} {alert.integration})"
    else:
        head = f"Repeat {item.count} ({alert.channel} {alert.integration})"
    text = f"{head}: {alert.summary}"
    return (text if not alert.details else f"{text}\n{alert.details}")[:_NOTE_MAX]
