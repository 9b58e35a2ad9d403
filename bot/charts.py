"""Pictures for Slack: the threshold's impact and the run trend as PNG charts.

A pure renderer: values in, PNG bytes out. Matplotlib draws on its Agg canvas (no display, no
``pyplot`` state shared between threads) with the fonts it ships; every chart has a fixed size
and resolution and is saved without metadata, so the same values give the same bytes.

Each chart has its alt text beside it (:func:`threshold_alt`, :func:`trend_alt`): the numbers a
screen reader says instead of the picture. The text messages the charts illustrate still carry
every figure; a chart only adds the shape.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync.api import RunTrend, ThresholdImpact

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Every chart: 8 × 4.5 inches at 120 dots per inch, 960 × 540 pixels.
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 120
PIXELS = (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))

#: Slack refuses alt text longer than this.
MAX_ALT = 1000

INK = "#1d1c1d"  # Slack's text colour
MUTED = "#616061"
GRID = "#dddddd"
SELL = "#2a7ab0"  # would enter Sell
SELL_NOW = "#0b4f80"  # the bar of the threshold in force
PROPOSED = "#e8912d"
TOMBSTONED = "#b9c7d3"
RUNS = "#5b8db8"
CHANGES = "#2eb67d"
FAILURES = "#e01e5a"


@dataclass(frozen=True)
class Chart:
    """A rendered chart and what Slack shows with it."""

    png: bytes
    filename: str
    title: str
    alt: str


def _figure() -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
    return fig


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    out = io.BytesIO()
    # A fixed size (no tight bounding box) and no metadata: the same values, the same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _style(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # members and runs come whole
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=MUTED, labelsize=9)
    ax.yaxis.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _alt(text: str) -> str:
    return text if len(text) <= MAX_ALT else text[: MAX_ALT - 1] + "…"


# --------------------------------------------------------------------------- threshold


def threshold_chart(impact: ThresholdImpact) -> Chart:
    """Members that would enter Sell at the threshold in force and at nearby values (the
    tombstoned ones on top, lighter: they qualify but are never re-created)."""
    fig = _figure()
    ax = fig.add_axes((0.09, 0.14, 0.88, 0.66))
    _style(ax)
    rows = impact.rows
    xs = list(range(len(rows)))
    enter = [r.to_import for r in rows]
    tombs = [r.qualifying - r.to_import for r in rows]
    colours = [
        SELL_NOW
        if r.threshold == impact.current
        else PROPOSED
        if r.threshold == impact.proposed
        else SELL
        for r in rows
    ]
    bars = ax.bar(xs, enter, color=colours, width=0.66, label="would enter Sell")
    if any(tombs):
        ax.bar(xs, tombs, bottom=enter, color=TOMBSTONED, width=0.66, label="tombstoned")
        ax.legend(loc="upper right", frameon=False, fontsize=9, labelcolor=INK)
    ax.bar_label(bars, labels=[f"{n:,}" for n in enter], padding=3, fontsize=9, color=INK)
    labels = []
    for r in rows:
        marks = []
        if r.threshold == impact.current:
            marks.append("current")
        if impact.proposed is not None and r.threshold == impact.proposed:
            marks.append("proposed")
        labels.append(f"{r.threshold:,}" + ("\n" + ", ".join(marks) if marks else ""))
    ax.set_xticks(xs, labels)
    ax.set_xlabel("engagement-score threshold", color=MUTED, fontsize=9)
    ax.set_ylabel("members not yet linked", color=MUTED, fontsize=9)
    top = max([e + t for e, t in zip(enter, tombs, strict=True)] + [1])
    ax.set_ylim(0, top * 1.18)
    fig.text(
        0.09, 0.92, "Who would enter Sell, by threshold", fontsize=13, color=INK, weight="bold"
    )
    fig.text(
        0.09,
        0.86,
        f"{impact.members:,} list members · {impact.linked:,} already linked "
        "(they sync whatever their score)",
        fontsize=9,
        color=MUTED,
    )
    return Chart(
        _png(fig),
        "threshold-impact.png",
        f"Threshold impact (now {impact.current:,})"
        if impact.proposed is None
        else f"Threshold impact ({impact.proposed:,} proposed, now {impact.current:,})",
        threshold_alt(impact),
    )


def threshold_alt(impact: ThresholdImpact) -> str:
    parts = []
    for r in impact.rows:
        marks = [
            word
            for word, value in (("current", impact.current), ("proposed", impact.proposed))
            if r.threshold == value
        ]
        note = f" ({', '.join(marks)})" if marks else ""
        parts.append(f"{r.threshold:,}{note}: {r.to_import:,}")
    return _alt(
        f"Bar chart: list members that would enter Sell at each threshold. "
        f"{'; '.join(parts)}. {impact.members:,} list members, {impact.linked:,} already linked."
    )


# --------------------------------------------------------------------------- run trend


def trend_chart(trend: RunTrend) -> Chart:
    """Records changed per day above; runs and failures per day below."""
    fig = _figure()
    days = trend.days
    xs = list(range(len(days)))
    labels = [f"{d.day:%a}\n{d.day:%d %b}" for d in days]
    top = fig.add_axes((0.09, 0.50, 0.89, 0.32))
    bottom = fig.add_axes((0.09, 0.13, 0.89, 0.30), sharex=top)
    for ax in (top, bottom):
        _style(ax)
        changes = top.bar(xs, [d.changes for d in days], color=CHANGES, width=0.7)
    top.bar_label(
        changes,
        labels=[f"{d.changes:,}" if d.changes else "" for d in days],
        padding=2,
        fontsize=8,
        color=INK,
    )
    top.set_ylim(0, max([d.changes for d in days] + [1]) * 1.25)
    top.set_ylabel("records changed", color=MUTED, fontsize=9)
    top.tick_params(labelbottom=False)
    half = 0.36
    bottom.bar(
        [x - half / 2 for x in xs], [d.runs for d in days], color=RUNS, width=half, label="runs"
    )
    bottom.bar(
        [x + half / 2 for x in xs],
        [d.failures for d in days],
        color=FAILURES,
        width=half,
        label="failures (failed runs and record writes)",
    )
    bottom.set_ylim(0, max([max(d.runs, d.failures) for d in days] + [1]) * 1.3)
    bottom.set_ylabel("runs", color=MUTED, fontsize=9)
    bottom.legend(loc="upper left", frameon=False, fontsize=8, ncols=2, labelcolor=INK)
    bottom.set_xticks(xs, labels)
    bottom.tick_params(axis="x", labelsize=8)
    span = f"{days[0].day:%d %b} – {days[-1].day:%d %b %Y}" if days else ""
    fig.text(
        0.09, 0.92, f"The last {len(days)} days of syncs", fontsize=13, color=INK, weight="bold"
    )
    fig.text(
        0.09,
        0.86,
        f"{span} (UTC) · {trend.runs:,} runs · {trend.changes:,} records changed · "
        f"{trend.failures:,} failures",
        fontsize=9,
        color=MUTED,
    )
    return Chart(
        _png(fig), "sync-trend.png", f"Syncs over the last {len(days)} days", trend_alt(trend)
    )


def trend_alt(trend: RunTrend) -> str:
    busy = [d for d in trend.days if d.runs or d.changes or d.failures]
    per_day = "; ".join(
        f"{d.day:%d %b}: {_n(d.runs, 'run')}, {_n(d.changes, 'change')}, "
        f"{_n(d.failures, 'failure')}"
        for d in busy
    )
    return _alt(
        f"Bar charts of the last {len(trend.days)} days: {_n(trend.runs, 'run')}, "
        f"{_n(trend.changes, 'record')} changed, {_n(trend.failures, 'failure')} in all. "
        + (per_day + "." if per_day else "Nothing ran.")
    )


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


__all__: Sequence[str] = [
    "PIXELS",
    "Chart",
    "png_size",
    "threshold_alt",
    "threshold_chart",
    "trend_alt",
    "trend_chart",
]
