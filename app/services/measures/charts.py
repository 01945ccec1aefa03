"""The report's charts, drawn by matplotlib on its Agg canvas (never Qt): each function
returns a Figure that the PDF keeps as vector drawing. Black, greys and one red: they
survive a photocopier. Text from cards (categories, sites) is passed through `for_display`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.protocol.text import for_display
from app.services.cards.rules import PRIORITIES
from app.services.measures.build import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

A4_LANDSCAPE = (11.69, 8.27)
GREYS = {"P1": "#000000", "P2": "#555555", "P3": "#8c8c8c", "P4": "#bdbdbd"}
RED = "#c0392b"


def figure(title: str) -> Figure:
    # The Figure class directly: no pyplot, so no GUI backend is ever looked for.
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_LANDSCAPE)
    fig.suptitle(title, fontsize=15, fontweight="bold", x=0.05, ha="left")
    return fig


def _counts(ax: object) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # type: ignore[attr-defined]


def _empty(ax: object, what: str) -> None:
    ax.text(0.5, 0.5, what, ha="center", va="center",  # type: ignore[attr-defined]
            fontsize=13, transform=ax.transAxes)  # type: ignore[attr-defined]
    ax.set_axis_off()  # type: ignore[attr-defined]


def breach_share_by_week(report: Report) -> Figure:
    fig = figure("Breach share by priority per week (reaction and recovery clocks)")
    ax = fig.add_subplot(111)
    weeks = list(report.weeks)
    if not any(s.decided for w in weeks for s in w.shares.values()):
        _empty(ax, "not recorded (no clock decided in the period)")
        return fig
    labels = [f"{w.period.first_day:%d %b}" + (f"-{w.period.last_day:%d %b}"
              if w.period.last_day != w.period.first_day else "") for w in weeks]
    width = 0.8 / len(PRIORITIES)
    for i, prio in enumerate(PRIORITIES):
        values = [100 * (w.shares[prio].share or 0) for w in weeks]
        xs = [n + (i - 1.5) * width for n in range(len(weeks))]
        bars = ax.bar(xs, values, width, label=prio, color=GREYS[prio], edgecolor="black")
        if len(weeks) <= 8:  # room to say each bar's share, and "-" where nothing decided
            ax.bar_label(bars, [f"{v:.0f}%" if w.shares[prio].decided else "-"
                                for v, w in zip(values, weeks, strict=True)], fontsize=8)
    ax.set_xticks(range(len(weeks)), labels, rotation=45 if len(weeks) > 12 else 0)
    ax.set_ylabel("clocks breached, % of decided")
    ax.set_ylim(0, 100)
    ax.legend(title="priority")
    ax.grid(axis="y", color="#dddddd")
    return fig


def reaction_distribution(report: Report) -> Figure:
    fig = figure("Reaction time: distribution, median and 90th percentile")
    ax = fig.add_subplot(111)
    values = [v.total_seconds() / 60 for v in report.reaction_values]
    if not values:
        _empty(ax, "not recorded (no reaction in the period)")
        return fig
    ax.hist(values, bins=min(40, max(5, len(values) // 3)), color="#8c8c8c",
            edgecolor="black")
    for label, value, style in (("median", report.reaction_median, "-"),
                                ("p90", report.reaction_p90, "--")):
        if value is not None:
            m = value.total_seconds() / 60
            ax.axvline(m, color=RED, linestyle=style, linewidth=2,
                       label=f"{label} {m:.0f} min")
    ax.set_xlabel("minutes from registration to reaction")
    ax.set_ylabel("cards")
    _counts(ax)
    ax.legend()
    return fig


def breaches_by_category(report: Report) -> Figure:
    fig = figure("SLA breaches by category (clocks breached in the period)")
    ax = fig.add_subplot(111)
    items = list(report.breaches_by_category.items())[:15]
    if not items:
        _empty(ax, "none: no clock breached in the period")
        return fig
    names = [for_display(c)[:40] for c, _ in items][::-1]
    ax.barh(names, [n for _, n in items][::-1], color="#555555", edgecolor="black")
    ax.set_xlabel("clocks breached")
    return fig


def escalation_depth(report: Report) -> Figure:
    fig = figure("Escalation depth: the highest ladder tier each card reached")
    ax = fig.add_subplot(121)
    depth = report.depth
    if not depth:
        _empty(ax, "no card in the period")
    else:
        tiers = sorted(depth)
        ax.bar([str(t) if t else "not paged" for t in tiers], [depth[t] for t in tiers],
               color="#8c8c8c", edgecolor="black")
        ax.set_xlabel("top tier")
        ax.set_ylabel("cards")
        _counts(ax)
    why = fig.add_subplot(122)
    # The first two are "the on-call person was unavailable" (DOMAIN.md, "Measures").
    reasons = [("unreachable /\npage failed", report.escalated_unavailable),
               ("declined", report.escalated_declined), ("no answer", report.escalated_no_answer)]
    if not report.escalated:
        _empty(why, "none escalated past tier 1")
    else:
        why.bar([r for r, _ in reasons], [n for _, n in reasons], color="#555555",
                edgecolor="black")
        why.set_title(f"why past tier 1 ({report.escalated_on_call_unavailable} of "
                      f"{report.escalated}: on-call person unavailable)", fontsize=11)
        why.set_ylabel("cards")
        _counts(why)
    return fig


def repeat_list(report: Report) -> Figure:
    fig = figure("Repeat incidents within 7 days (same site and equipment; same category or "
                 "cause)")
    ax = fig.add_subplot(111)
    ax.set_axis_off()
    rows = [[f.number, f.repeat_of or "", for_display(f.site)[:30], for_display(f.category),
             for_display(f.cause or "not recorded")[:40]] for f in report.repeats[:25]]
    if not rows:
        _empty(ax, "none: no repeat in the period")
        return fig
    table = ax.table(cellText=rows, colLabels=["card", "repeats", "site", "category", "cause"],
                     loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    if len(report.repeats) > 25:
        ax.text(0, 0, f"+ {len(report.repeats) - 25} more in repeats.csv",
                transform=ax.transAxes)
    return fig


CHARTS = (breach_share_by_week, reaction_distribution, breaches_by_category,
          escalation_depth, repeat_list)


def png(fig: Figure, dpi: int = 64) -> bytes:
    """A chart as PNG bytes (Agg, no Qt): what a screen shows of it."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # the Agg canvas, whatever backend matplotlib would pick
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()
