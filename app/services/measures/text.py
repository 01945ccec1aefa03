"""The report in words and in tables: the summary a person reads (the text output and the
PDF's first page) and one table per figure (the CSV files and the PDF's last pages). A
missing fact reads "not recorded", the same everywhere."""

from __future__ import annotations

from datetime import timedelta

from app.services.cards.rules import PRIORITIES
from app.services.measures.build import REPORT_CLOCKS, Report
from app.services.measures.clocks import Share
from app.services.measures.figures import DURATION_LABELS, DURATIONS

NOT_RECORDED = "not recorded"
# The summary names at most this many repeats and causes; the rest are in the table (CSV).
SHOWN = 8
Table = tuple[tuple[str, ...], list[list[str]]]


def minutes(delta: timedelta | None) -> str:
    """'7 min', '1 h 05', or '-' for none: how durations read on the board and on paper."""
    if delta is None:
        return "-"
    total = int(delta.total_seconds() // 60)
    if abs(total) < 60:
        return f"{total} min"
    sign = "-" if total < 0 else ""
    return f"{sign}{abs(total) // 60} h {abs(total) % 60:02d}"


def whole_minutes(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() // 60)


def percent(share: float | None) -> str:
    return NOT_RECORDED if share is None else f"{share * 100:.0f}%"


def share_text(share: Share) -> str:
    if not share.decided:
        return f"{NOT_RECORDED} (no decided clocks)"
    return f"{percent(share.share)} breached ({share.breached} of {share.decided})"


def _dur(delta: timedelta | None) -> str:
    return NOT_RECORDED if delta is None else minutes(delta)


def summary_lines(report: Report) -> list[str]:
    p = report.period
    lines = [f"Report {p.label} ({p.tz.key}): {len(report.cards)} cards, "
             f"{report.closed} closed"]
    for name in REPORT_CLOCKS:
        lines.append(f"SLA {name}:")
        lines += [f"  {label:<6} {share_text(s)}" for label, s in report.breaches[name].items()]
    lines.append(f"Reaction time: median {_dur(report.reaction_median)}, "
                 f"p90 {_dur(report.reaction_p90)} ({report.reactions} acknowledged)")
    for name in DURATIONS[1:]:
        s = report.durations[name]
        lines.append(f"{DURATION_LABELS[name]} time: median {_dur(s.median)}, p90 "
                     f"{_dur(s.p90)}, max {_dur(s.max)} ({s.count} cards)")
    msgs = report.messages
    lines.append("Status updates on time: " + (
        f"{NOT_RECORDED} (no update deadline decided)" if not msgs.decided else
        f"{msgs.met} of {msgs.decided} deadlines ({percent(1 - (msgs.share or 0))})"))
    if not report.repeats and not report.causes_recorded:
        lines.append(f"Repeat incidents within 7 days: {NOT_RECORDED} (no closure cause)")
    else:
        lines.append(f"Repeat incidents within 7 days: {len(report.repeats)} "
                     f"({report.causes_recorded} closed cards with a cause)")
        causes = list(report.repeats_by_cause.items())
        lines += [f"  {n} x {cause}" for cause, n in causes[:SHOWN]]
        if len(causes) > SHOWN:
            lines.append(f"  + {len(causes) - SHOWN} more causes (repeats.csv)")
        lines += [f"  {f.number} repeats {f.repeat_of} ({f.site}: {f.cause or f.category})"
                  for f in report.repeats[:SHOWN]]
        if len(report.repeats) > SHOWN:
            lines.append(f"  + {len(report.repeats) - SHOWN} more repeats (repeats.csv)")
    # DOMAIN.md: "escalations caused by an unavailable on-call person": nobody to page, a
    # page that failed, or the paged person declining (`ladder.declined`, a decline reply).
    lines.append(f"Escalated past tier 1: {report.escalated}; because the on-call person was "
                 f"unavailable: {report.escalated_on_call_unavailable}; no answer: "
                 f"{report.escalated_no_answer}")
    lines.append(f"  unavailable: unreachable or page failed {report.escalated_unavailable}, "
                 f"declined {report.escalated_declined}")
    lines.append(f"Category changed after registration: {report.bounced_cards} cards "
                 f"({report.bounces} changes); classified right first time: "
                 f"{percent(report.classification_accuracy)}")
    lines.append(f"Reopened after Restored or Closed: {report.reopened} cards")
    overdue = report.reviews_overdue
    lines.append(f"Post-incident reviews overdue: {len(overdue)}"
                 + (f" ({', '.join(f.number for f in overdue[:10])}"
                    + (", ..." if len(overdue) > 10 else "") + ")" if overdue else ""))
    return lines


CSV_HEADER = (
    "number", "priority", "kind_of_work", "category", "site", "registered",
    "reaction_min", "reaction", "recovery_min", "recovery", "cause", "repeat_of",
    "category_changes", "escalated", "escalated_unavailable",
    "first_page_min", "acknowledgement_min", "unattended_min", "status", "escalation",
    "top_tier", "updates_on_time", "updates_missed", "reopened", "review",
)


def _opt(value: object) -> str:
    return NOT_RECORDED if value is None else str(value)


def csv_rows(report: Report, limit: int | None = None) -> list[list[str]]:
    """One row per card (the first `limit` only, for paper)."""
    tz = report.period.tz
    return [
        [f.number, f.priority, f.kind_of_work, f.category, f.site,
         f.registered_at.astimezone(tz).isoformat(timespec="minutes"),
         _opt(whole_minutes(f.reaction)), f.reaction_state,
         _opt(whole_minutes(f.recovery)), f.recovery_state,
         _opt(f.cause), f.repeat_of or "", str(f.bounces),
         "yes" if f.escalated else "no", "yes" if f.unavailable else "no",
         _opt(whole_minutes(f.time("first_page"))),
         _opt(whole_minutes(f.time("acknowledgement"))),
         _opt(whole_minutes(f.time("unattended"))), f.status, f.escalation or "-",
         str(f.top_tier), str(f.update_met), str(f.update_missed), str(f.reopened),
         f.review or "-"]
        for f in report.cards[:limit]
    ]


def tables(report: Report, limit: int | None = None) -> dict[str, Table]:
    """file stem -> (header, rows): every table of the report; `limit` cuts the long ones
    (cards, repeats, reviews overdue) for paper, the CSV files get every row."""
    tz = report.period.tz

    def share_row(s: Share) -> list[str]:
        return [str(s.breached), str(s.decided), percent(s.share)]

    out: dict[str, Table] = {
        "breaches": (("clock", "priority", "breached", "decided", "breach_share"),
                     [[clock, label, *share_row(s)] for clock, by in report.breaches.items()
                      for label, s in by.items()]),
        "durations": (("measure", "cards", "median_min", "p90_min", "max_min"),
                      [[name, str(s.count), _opt(whole_minutes(s.median)),
                        _opt(whole_minutes(s.p90)), _opt(whole_minutes(s.max))]
                       for name, s in report.durations.items()]),
        # One row a week (a year is 53 rows): per priority breached / decided and the share.
        "weeks": (("week_from", "week_to", *(f"{p}_{x}" for p in PRIORITIES
                                            for x in ("breached", "decided", "share"))),
                  [[str(w.period.first_day), str(w.period.last_day),
                    *(v for s in w.shares.values() for v in share_row(s))]
                   for w in report.weeks]),
        "categories": (("category", "breaches"),
                       [[c, str(n)] for c, n in report.breaches_by_category.items()]),
        "escalation_depth": (("top_tier", "cards"),
                             [[str(t), str(n)] for t, n in report.depth.items()]),
        "escalation_reasons": (("reason", "cards"), [
            ["unavailable: unreachable or page failed", str(report.escalated_unavailable)],
            ["unavailable: declined", str(report.escalated_declined)],
            ["no answer", str(report.escalated_no_answer)]]),
        "repeats": (("number", "repeats", "same", "site", "category", "cause", "registered"),
                    [[f.number, f.repeat_of or "", f.repeat_via, f.site, f.category,
                      _opt(f.cause),
                      f.registered_at.astimezone(tz).isoformat(timespec="minutes")]
                     for f in report.repeats[:limit]]),
        "reviews_overdue": (("number", "priority", "site", "category", "status"),
                            [[f.number, f.priority, f.site, f.category, f.review]
                             for f in report.reviews_overdue[:limit]]),
        "cards": (CSV_HEADER, csv_rows(report, limit)),
    }
    return out


def as_json(report: Report) -> dict[str, object]:
    """The figures for machines (`--json`): minutes as numbers, None where not recorded."""
    p = report.period

    def share(s: Share) -> dict[str, object]:
        return {"breached": s.breached, "decided": s.decided, "share": s.share}

    return {
        "from": str(p.first_day), "to": str(p.last_day), "timezone": p.tz.key,
        "now": report.now.isoformat(), "cards": len(report.cards), "closed": report.closed,
        "breaches": {clock: {label: share(s) for label, s in by.items()}
                     for clock, by in report.breaches.items()},
        "durations_min": {name: {"count": s.count, "median": whole_minutes(s.median),
                                 "p90": whole_minutes(s.p90), "max": whole_minutes(s.max)}
                          for name, s in report.durations.items()},
        "weeks": [{"from": str(w.period.first_day), "to": str(w.period.last_day),
                   **{prio: share(s) for prio, s in w.shares.items()}} for w in report.weeks],
        "breaches_by_category": dict(report.breaches_by_category),
        "repeats": [{"number": f.number, "repeats": f.repeat_of, "same": f.repeat_via,
                     "site": f.site,
                     "category": f.category, "cause": f.cause} for f in report.repeats],
        "repeats_by_cause": dict(report.repeats_by_cause),
        "escalated": report.escalated, "escalated_unavailable": report.escalated_unavailable,
        "escalated_declined": report.escalated_declined,
        "escalated_on_call_unavailable": report.escalated_on_call_unavailable,
        "escalated_no_answer": report.escalated_no_answer,
        "escalation_depth": {str(t): n for t, n in report.depth.items()},
        "bounced_cards": report.bounced_cards, "bounces": report.bounces,
        "classification_accuracy": report.classification_accuracy,
        "reopened": report.reopened,
        "status_updates": share(report.messages),
        "reviews_overdue": [f.number for f in report.reviews_overdue],
    }
