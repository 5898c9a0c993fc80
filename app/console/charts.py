"""Bar charts as inline SVG, computed here and drawn by a Jinja macro (no JavaScript, no CDN).

Labels go through Jinja's autoescape like any other text, so a hostile label stays text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    max_value: float
    label_every: int

    @property
    def empty(self) -> bool:
        return all(bar.value == 0 for bar in self.bars)


def bar_chart(points: Sequence[tuple[str, float]], *, width: int = 640, height: int = 180,
              percent: bool = False) -> BarChart:
    """Lay out one bar per (label, value); the tallest bar fills the plot height."""
    top, bottom = 16.0, 28.0
    plot = height - top - bottom
    top_value = max((value for _, value in points), default=0.0) or 1.0
    slot = width / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = plot * (value / top_value)
        text = f"{value:.0%}" if percent else f"{value:g}"
        bars.append(Bar(x=index * slot + slot * 0.15, y=top + plot - bar_height, width=slot * 0.7,
                        height=bar_height, label=label, value=value, text=text))
    # Show at most ~12 axis labels so they do not overlap.
    every = max(1, len(points) // 12 + (1 if len(points) % 12 else 0)) if len(points) > 12 else 1
    return BarChart(width=width, height=height, baseline=top + plot, bars=bars,
                    max_value=top_value, label_every=every)
