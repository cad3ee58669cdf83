"""A server-rendered SVG line chart of hourly counts: no script, no CDN, readable at a glance.

Every series is drawn with its points, the y axis carries numbered grid lines and
the legend the series' totals over the window, so nothing needs hovering.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # class of the line and the legend swatch (colours live in the stylesheet)
    values: list[int]


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^n at or above value (at least 1): round grid lines."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def hourly_chart(*, hours: list[datetime], series: list[Series], title: str) -> SafeString:
    """An SVG line chart, one point per hour; `title` is its accessible name."""
    top_value = _nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(hours), 1)

    # Coordinates as text with one decimal: format_html takes no format codes.
    def x(i: int) -> str:
        return f"{LEFT + plot_w * (i + 0.5) / n:.1f}"

    def y(v: int) -> str:
        return f"{TOP + plot_h - plot_h * v / top_value:.1f}"

    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart-tick" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, y(v), y(v), LEFT - 6, f"{float(y(v)) + 4:.1f}", f"{v:,}")
            for v in (0, top_value // 2, top_value)
        ),
    )
    # An hour label every few points, so labels never overlap.
    every = max(1, -(-n // 8))
    labels = format_html_join(
        "",
        '<text class="chart-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((x(i), HEIGHT - 8, f"{h:%H:00}") for i, h in enumerate(hours) if i % every == 0),
    )
    lines = []
    for s in series:
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(s.values))
        dots = format_html_join(
            "",
            '<circle class="chart-dot {}" cx="{}" cy="{}" r="3"/>',
            ((s.css, x(i), y(v)) for i, v in enumerate(s.values)),
        )
        lines.append(
            format_html(
                '<polyline class="chart-line {}" fill="none" points="{}"/>{}', s.css, points, dots
            )
        )
    legend = format_html_join(
        "",
        '<li><span class="chart-swatch {}"></span>{} <strong>{}</strong></li>',
        ((s.css, s.label, f"{sum(s.values):,}") for s in series),
    )
    return format_html(
        '<figure class="chart" data-testid="hourly-chart">'
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}{}</svg>'
        '<figcaption><ul class="chart-legend">{}</ul></figcaption></figure>',
        WIDTH,
        HEIGHT,
        title,
        grid,
        labels,
        mark_safe("".join(lines)),  # noqa: S308 - each part built by format_html above
        legend,
    )
