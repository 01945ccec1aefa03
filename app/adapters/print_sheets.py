"""The three printouts as HTML for QTextDocument: the handover sheet, the ICS-214-style
activity log, and the break-glass packet.

Paper is read in a hurry and photocopied: black on white, bold for what must not be missed,
boxes for ticks and signatures, no colour that carries meaning on its own. Qt's rich text
knows a subset of HTML 4 and CSS; tables use attributes (border, cellpadding), not CSS.

Every text that goes into a sheet passes `_e`: cleaned by `for_display` (a right-to-left
override, U+202E, would make "gpj<RLO>exe.txt" print as "gpjtxt.exe" and run on into the
author after it on the activity log), then HTML-escaped; its remaining line breaks (multi-line
answers, indented by the timeline) stay breaks inside their own cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from app.adapters.printing import PrintJob
from app.protocol.text import for_display
from app.services.handover.breakglass import BreakGlassPacket
from app.services.handover.facts import OnCallLine
from app.services.handover.service import ActivityLog
from app.services.handover.sheet import CardBrief, HandoverSheet, hm
from app.services.roster.verification import UNVERIFIED_MARK

BOX = "&#9744;"  # an empty tick box
TICKED = "&#9745;"
_TABLE = '<table width="100%" border="1" cellspacing="0" cellpadding="3">'


def _e(text: object) -> str:
    return escape(for_display(text, multiline=True)).replace("\n", "<br>")


def _h(text: str) -> str:
    return f'<h3 style="margin-top:10px; margin-bottom:3px">{_e(text)}</h3>'


def _rows(head: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[int] = ()
          ) -> str:
    """A ruled table; with an all-empty `head`, a table of labelled rows without a header."""
    w = list(widths) + [0] * len(head)
    width = [f' width="{x}%"' if x else "" for x in w]
    cells = "".join(f'<th align="left"{width[i]} bgcolor="#e4e4e4">{_e(h)}</th>'
                    for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{width[i]}>{c}</td>" for i, c in enumerate(row))
                   + "</tr>" for row in rows)
    header = f"<tr>{cells}</tr>" if any(head) else ""
    return f"{_TABLE}{header}{body}</table>"


def _on_call(lines: Sequence[OnCallLine] | None, nxt: bool, tz: ZoneInfo,
             now: datetime) -> str:
    if lines is None:
        return "<p><i>No rota data at this desk: write on call now and next by hand.</i></p>"
    if not lines:
        return "<p>Nobody listed.</p>"
    rows = []
    for o in lines:
        when = o.starts if nxt else o.until
        mark = f" <i>{_e(UNVERIFIED_MARK)}</i>" if o.unverified else ""
        rows.append((_e(o.group), _e(o.role), f"<b>{_e(o.name)}</b>{mark}",
                     _e(" / ".join(p for p in (o.phone, o.backup_phone) if p) or "-"),
                     _e(hm(when, tz, now))))
    return _rows(("group", "role", "name", "phone / backup", "from" if nxt else "until"), rows,
                 (18, 14, 26, 26, 16))


def _card(b: CardBrief, sheet: HandoverSheet, read_back: bool) -> str:
    flags = []
    if b.breached:
        flags.append("<b>BREACHED</b>")
    elif b.breaching_soon:
        flags.append("<b>BREACHING SOON</b>")
    if b.entered_late:
        flags.append("entered late from paper")
    when = b.next_step_at
    if when is not None and when < sheet.drafted_at:
        step_time = f"overdue since {hm(when, sheet.tz, sheet.drafted_at)}"
    else:
        step_time = f"by {hm(when, sheet.tz, sheet.drafted_at)}"
    tick = TICKED if read_back else BOX
    head = (f'<tr><td colspan="4" bgcolor="#e4e4e4"><b style="font-size:11pt">{_e(b.number)} '
            f'&middot; {_e(b.priority)} &middot; {_e(b.status)}</b> &middot; since {_e(b.since)}'
            f'{" &middot; " + " &middot; ".join(flags) if flags else ""}'
            f'<span>&nbsp;&nbsp;&nbsp;{BOX} briefed'
            f'{f"&nbsp;&nbsp;{tick} read back" if b.critical else ""}</span></td></tr>')
    rows = [
        ("What happened", _e(b.what), "Affected", _e(b.affected)),
        ("Next step", f"<b>{_e(b.next_step)}</b> {_e(step_time)}", "Assignee",
         f"<b>{_e(b.assignee)}</b>"),
        ("Risks", _e(b.risks), "Involved", _e(b.involved)),
        ("Workaround", _e(b.workaround), "Owner", _e(b.owner)),
        ("Clocks", f"next deadline: {_e(b.next_deadline)}; next status update: "
         f"{_e(b.next_update)}", "Escalation", _e(b.escalation)),
        ("Contingency", f"<b>{_e(b.contingency)}</b>", "", ""),
    ]
    body = "".join(
        f'<tr><td width="13%"><i>{a}</i></td><td width="45%">{b_}</td>'
        f'<td width="11%"><i>{c}</i></td><td width="31%">{d}</td></tr>'
        for a, b_, c, d in rows)
    return f'{_TABLE}{head}{body}</table><p style="margin:2px"></p>'


def _signatures(labels: Sequence[str]) -> str:
    cells = "".join(
        f'<td width="{100 // len(labels)}%"><br><br>______________________________<br>'
        f"{_e(label)}</td>" for label in labels)
    return f'<table width="100%" cellpadding="4"><tr>{cells}</tr></table>'


def handover_html(sheet: HandoverSheet) -> str:
    tz, now = sheet.tz, sheet.drafted_at
    acc = sheet.acceptance
    read = set(acc.read_back) if acc else set()
    state = ("PENDING: responsibility stays with the outgoing shift until accepted" if acc is None
             else f"{acc.kind.upper()} at {hm(acc.at, tz, now)}")
    out = [
        f'<p style="font-size:14pt"><b>{_e(sheet.site)} &middot; desk {_e(sheet.desk)}</b></p>',
        _rows(("shift", "outgoing lead", "incoming lead", "handover"), [(
            f"<b>{_e(sheet.shift.label)}</b>", _e(sheet.outgoing_lead or "_" * 18),
            _e(sheet.incoming_lead or "_" * 18), f"<b>{_e(state)}</b>")], (34, 20, 20, 26)),
        "<p>" + "<br>".join(_e(x) for x in sheet.freshness) + "</p>",
        _h("Headline"),
        _rows(("", ""), [("Overall", f"<b>{_e(sheet.headline[0])}</b>"),
                         ("Biggest risk", f"<b>{_e(sheet.headline[1])}</b>"),
                         ("First thing to do", f"<b>{_e(sheet.headline[2])}</b>")], (18, 82)),
        _h(f"Open cards, riskiest first ({len(sheet.cards)})"),
    ]
    out += [_card(b, sheet, b.number in read) for b in sheet.cards] or ["<p>No open cards.</p>"]
    out.append(_h("At risk of breach in the next 4 hours"))
    out.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in sheet.at_risk) + "</ul>"
               if sheet.at_risk else "<p>None.</p>")
    out += [_h("On call now"), _on_call(sheet.on_call_now, False, tz, now),
            _h("On call next"), _on_call(sheet.on_call_next, True, tz, now),
            _h("Hazards"), "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in sheet.hazards) + "</ul>",
            _h(f"Rule changes this shift ({len(sheet.rule_changes)})"),
            # Who changed the rota, the rules, the accounts or the keys since the shift began:
            # the incoming lead asks about a page gone wrong before it happens again.
            "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in sheet.rule_changes) + "</ul>"
            if sheet.rule_changes else "<p>None.</p>",
            _h(f"Closed this shift ({len(sheet.closed)})")]
    out.append(_rows(("card", "prio", "what", "closed", "reaction", "recovery"),
                     [(_e(c.number), _e(c.priority), _e(c.what), _e(c.closed_at),
                       _e(c.reaction), _e(c.recovery)) for c in sheet.closed],
                     (10, 7, 47, 12, 12, 12)) if sheet.closed else "<p>None.</p>")
    out.append(_h("Checkpoint questions for the incoming shift"))
    out.append(_rows(("question", "from the journal", "incoming lead's answer"),
                     [(_e(q), _e(a), "") for q, a in sheet.questions], (34, 40, 26)))
    out.append(_h("Acceptance"))
    critical = sheet.critical_numbers
    ticks = " &nbsp; ".join(f"{TICKED if n in read else BOX} {_e(n)}" for n in critical)
    out.append(f"<p>Read back by the incoming lead (critical cards): {ticks or 'none'}</p>")
    if acc is not None:
        out.append(f"<p><b>{_e(acc.kind.capitalize())}</b> at {_e(hm(acc.at, tz, now))}: "
                   f"outgoing <b>{_e(acc.outgoing)}</b>, incoming "
                   f"<b>{_e(acc.incoming or 'incoming shift')}</b>"
                   f"{'; reason: ' + _e(acc.reason) if acc.reason else ''}. Ownership of "
                   f"{len(acc.card_ids)} open cards moved in one journal entry.</p>")
    else:
        out.append("<p>Responsibility moves only when the incoming lead accepts. Time accepted: "
                   "____:____</p>")
    out.append(_signatures(("Outgoing lead (name, signature)",
                            "Incoming lead (name, signature)", "Date and time")))
    return "".join(out)


def handover_job(sheet: HandoverSheet) -> PrintJob:
    return PrintJob("Shift handover", f"Shift {sheet.shift.label}",
                    f"{sheet.site} · desk {sheet.desk} · drafted "
                    f"{hm(sheet.drafted_at, sheet.tz)}", handover_html(sheet))


def activity_html(log: ActivityLog) -> str:
    tz = log.shift.tz
    a, b = log.shift.start.astimezone(tz), log.shift.end.astimezone(tz)
    out = [
        '<p style="font-size:14pt"><b>ACTIVITY LOG (ICS 214)</b></p>',
        _rows(("1. Incident name", "2. Operational period"), [(
            _e(f"{log.site}, dispatch desk {log.desk}"),
            _e(f"Date from {a:%d.%m.%Y} to {b:%d.%m.%Y}; time from {a:%H:%M} to {b:%H:%M} "
               f"{b:%Z}"))], (40, 60)),
        _rows(("3. Name", "4. ICS position", "5. Home agency (and unit)"),
              [(_e(log.lead or "_" * 20), "Shift lead", _e(log.site))], (34, 33, 33)),
        _h("6. Resources assigned"),
        _rows(("Name", "ICS position", "Home agency (and unit)"),
              [(_e(n), _e(p), _e(log.site)) for n, p in log.resources] or [("-", "", "")],
              (40, 30, 30)),
        _h("7. Activity log"),
        _rows(("Date/Time", "Notable activities"),
              [(_e(hm(at, tz, log.shift.start)), _e(text)) for at, text in log.lines]
              or [("-", "No activity recorded")], (14, 86)),
        _h("8. Prepared by"),
        _signatures(("Name", "Position/title", "Signature",
                     f"Date/time {hm(log.prepared_at, tz, log.shift.start)}")),
    ]
    return "".join(out)


def activity_job(log: ActivityLog) -> PrintJob:
    return PrintJob("Activity log (ICS 214)", f"Shift {log.shift.label}",
                    f"{log.site} · desk {log.desk} · printed {hm(log.prepared_at, log.shift.tz)}",
                    activity_html(log))


def breakglass_html(packet: BreakGlassPacket) -> str:
    tz, now = packet.shift.tz, packet.printed_at
    out = [
        f'<p style="font-size:14pt"><b>BREAK-GLASS PACKET &middot; {_e(packet.site)} &middot; '
        f"desk {_e(packet.desk)}</b></p>",
        f"<p>Printed {_e(hm(now, tz, now))} ({_e(packet.reason)}). Work from this paper while "
        "the desk or its link is down; enter every paper card later with its handwritten "
        "times (<i>card new --registered-at HH:MM</i>): it is kept and flagged "
        '"entered late".</p>',
        _h(f"Open cards ({len(packet.cards)})"),
        _rows(("card", "prio", "status", "what", "assignee", "next deadline"),
              [(f"<b>{_e(c.number)}</b>", _e(c.priority), _e(c.status), _e(c.what),
                _e(c.assignee), _e(c.next_deadline)) for c in packet.cards] or
              [("-", "", "", "No open cards", "", "")], (9, 6, 14, 41, 15, 15)),
        _h("On-call rota"),
        _on_call(packet.on_call, False, tz, now),
        _h("Contact tree (call in this order)"),
    ]
    if packet.contacts:
        out.append(_rows(("#", "name", "role", "phone", "backup phone", "note"),
                         [(str(i), f"<b>{_e(c.name)}</b>", _e(c.role), f"<b>{_e(c.phone)}</b>",
                           _e(c.backup_phone), _e(c.note)) for i, c in
                          enumerate(packet.contacts, 1)], (4, 22, 20, 18, 18, 18)))
    else:
        out.append("<p><i>No contact tree at this desk: write the shift lead's and each "
                   "on-call person's number here.</i></p>" + "<p>" + "_" * 90 + "</p>" * 1)
    for number in packet.blank_numbers:
        out.append(
            f'<p style="page-break-before:always"></p>{_TABLE}<tr><td colspan="2" '
            f'bgcolor="#e4e4e4"><b style="font-size:12pt">Paper card {_e(number)}</b></td></tr>'
            + "".join(f'<tr><td width="30%">{_e(label)}</td><td height="{h}"></td></tr>'
                      for label, h in PAPER_FIELDS) + "</table>")
    return "".join(out)


PAPER_FIELDS = (
    ("Time received (HH:MM)", 22), ("Priority (P1-P4) and reason", 30),
    ("Category / kind of work", 22), ("1. What is not working, for whom?", 44),
    ("2. Where (site, room, equipment)?", 30), ("3. Since when, what changed?", 30),
    ("4. Workaround? How urgent?", 30), ("5. Contact, who confirms recovery?", 30),
    ("Risk signs (smoke, leak, blocked access)", 22), ("Paged / called (who, time)", 44),
    ("Acknowledged by (who, time)", 22), ("Notes", 70), ("Entered into the journal as (card)",
                                                           22),
)


def breakglass_job(packet: BreakGlassPacket) -> PrintJob:
    return PrintJob("Break-glass packet", f"Shift {packet.shift.label}",
                    f"{packet.site} · desk {packet.desk} · printed "
                    f"{hm(packet.printed_at, packet.shift.tz)}", breakglass_html(packet))
