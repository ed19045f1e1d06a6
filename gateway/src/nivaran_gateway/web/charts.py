"""Charts drawn on the server: a Vega-Lite spec built with Altair, rendered to SVG by vl-convert.

The SVG goes inline into the page, so the page's CSP (self only, no inline script or style) holds: vl-convert writes
presentation attributes, never a style or a script. Its labels stay <text>, so the browser shapes Devanagari with
the page's fonts. The first render in a process starts vl-convert's engine (about two seconds); later ones take
milliseconds, and each runs in a worker thread so the event loop is not held.
"""

from __future__ import annotations

import asyncio
import math
import re
from html import escape
from typing import Any

import altair as alt
import vl_convert

BAR_COLOUR = "#0b4f9c"  # the pages' link colour: 8.6:1 on white
TEXT_COLOUR = "#1a1a1a"
# Lines at 3:1 or more on white (WCAG's non-text contrast), told apart by the legend too; at most this many lines.
LINE_COLOURS = ("#0b4f9c", "#b34700", "#1a7f37", "#6f42c1", "#a40e26", "#4d4d4d")
FONT = "Noto Sans, Noto Sans Devanagari, Mangal, sans-serif"
_ROOT = re.compile(r"<svg\b")


def bar_chart_spec(bars: list[tuple[str, int]], *, x_title: str, y_title: str, description: str) -> dict[str, Any]:
    """A horizontal bar chart of (label, count), the labels top to bottom in the order given (long Hindi labels fit a
    phone's width better beside the bars than under them); `x_title` names the labels, `y_title` the counts."""
    data = [{"label": label, "count": count} for label, count in bars]
    top = max((count for _, count in bars), default=0)
    step = max(1, math.ceil(top / 5))
    # Whole numbers only: cases are counted, and a fractional tick would round to a repeated label.
    ticks = list(range(0, top + step, step))
    chart = (
        alt.Chart(alt.InlineData(values=data), description=description)
        .mark_bar(color=BAR_COLOUR)
        .encode(
            y=alt.Y("label:N", sort=None, title=x_title, axis=alt.Axis(labelLimit=140)),
            x=alt.X(
                "count:Q",
                title=y_title,
                scale=alt.Scale(domain=[0, ticks[-1]]),
                axis=alt.Axis(values=ticks, format="d"),
            ),
            tooltip=[alt.Tooltip("label:N"), alt.Tooltip("count:Q")],
        )
        .properties(width=180, height=alt.Step(36))
        .configure_axis(
            labelColor=TEXT_COLOUR, titleColor=TEXT_COLOUR, labelFont=FONT, titleFont=FONT, labelFontSize=13
        )
        .configure_view(stroke=None)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def line_chart_spec(
    series: list[tuple[str, list[int]]], months: list[str], *, x_title: str, y_title: str, description: str
) -> dict[str, Any]:
    """Lines of counts per month (H4's category trends): one line per (name, counts in the order of `months`),
    told apart by colour and by the legend, with a point on each month so that a single month still shows."""
    data = [
        {"month": month, "series": name, "count": count}
        for name, counts in series
        for month, count in zip(months, counts, strict=True)
    ]
    top = max((count for _, counts in series for count in counts), default=0)
    step = max(1, math.ceil(top / 5))
    ticks = list(range(0, top + step, step))
    chart = (
        alt.Chart(alt.InlineData(values=data), description=description)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=x_title, sort=months, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(
                "count:Q",
                title=y_title,
                scale=alt.Scale(domain=[0, ticks[-1]]),
                axis=alt.Axis(values=ticks, format="d"),
            ),
            color=alt.Color(
                "series:N",
                sort=[name for name, _ in series],
                scale=alt.Scale(domain=[name for name, _ in series], range=list(LINE_COLOURS)),
                title=None,
                legend=alt.Legend(orient="bottom", columns=1, labelLimit=260, labelFont=FONT, labelFontSize=13),
            ),
            tooltip=[alt.Tooltip("series:N"), alt.Tooltip("month:O"), alt.Tooltip("count:Q")],
        )
        .properties(width=260, height=180)
        .configure_axis(
            labelColor=TEXT_COLOUR, titleColor=TEXT_COLOUR, labelFont=FONT, titleFont=FONT, labelFontSize=12
        )
        .configure_legend(labelColor=TEXT_COLOUR)
        .configure_view(stroke=None)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def _accessible(svg: str, label: str) -> str:
    # The chart repeats the table below it; screen readers get its one-line description instead of every mark.
    return _ROOT.sub(f'<svg role="img" aria-label="{escape(label)}" focusable="false"', svg, count=1)


async def render_svg(spec: dict[str, Any], label: str) -> str:
    """The spec as an inline SVG, labelled for screen readers."""
    svg = await asyncio.to_thread(vl_convert.vegalite_to_svg, spec)
    return _accessible(svg, label)
