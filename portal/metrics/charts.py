"""Chart geometry for server-made SVG: bars, grouped columns and lines, scaled to round ticks.

The templates draw what these functions lay out (templates/metrics/_charts.html), so the pages
need no JavaScript and no chart library, and every chart comes with its figures as a table.
Missing values (None) draw nothing: no bar, a gap in a line. Pure: no app, no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

Number = int | float | Decimal
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


@dataclass(frozen=True)
class Tick:
    position: float  # px along the value axis
    value: int | Decimal

    @property
    def label(self) -> str:
        """Return the value as a short label: 2,500 or 0.05."""
        if isinstance(self.value, Decimal):
            return f"{self.value.normalize():,f}"
        return f"{self.value:,}"


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number | None
    x: float
    y: float
    width: float
    height: float
    series: int = 0  # index of the series, for its colour


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per label, with an optional reference line (such as an average)."""

    width: int
    height: int
    left: int  # where the plot starts; labels sit left of it
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    reference: Tick | None

    @property
    def is_empty(self) -> bool:
        return all(b.value is None for b in self.bars)


@dataclass(frozen=True)
class ColumnChart:
    """Grouped vertical columns: one group per category, one column per series."""

    width: int
    height: int
    left: int
    top: int
    bottom: int  # y of the value axis' zero
    columns: tuple[Bar, ...]
    categories: tuple[tuple[float, str], ...]  # (x of the group's middle, label)
    ticks: tuple[Tick, ...]
    series: tuple[str, ...]
    values: tuple[tuple[Number | None, ...], ...]  # per series, per category

    @property
    def is_empty(self) -> bool:
        return all(c.value is None for c in self.columns)


@dataclass(frozen=True)
class Line:
    label: str
    path: str  # SVG path data, broken where values are missing
    points: tuple[tuple[float, float, Number, str], ...]  # x, y, value, category label
    values: tuple[Number | None, ...]  # per category


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    top: int
    bottom: int
    lines: tuple[Line, ...]
    categories: tuple[tuple[float, str], ...]
    ticks: tuple[Tick, ...]

    @property
    def is_empty(self) -> bool:
        return not any(line.points for line in self.lines)


def nice_ticks(maximum: Number | None, count: int = 4) -> list[int | Decimal]:
    """Return round tick values from 0 up to at least `maximum`: 0, 250, 500, 750, 1000 for 930.

    Whole numbers come back as int, fractions as Decimal (0, 0.025, 0.05 …).
    """
    top = Decimal(str(maximum)) if maximum else Decimal(0)
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = Decimal(10) ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in NICE_STEPS if s * magnitude >= raw)
    ticks = [Decimal(0)]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    if step == step.to_integral_value():
        return [int(t) for t in ticks]
    return ticks


def _scale(value: Number, top: Decimal, length: float) -> float:
    return float(Decimal(str(value)) / top) * length if top else 0.0


def bar_chart(
    items: Sequence[tuple[str, Number | None]],
    *,
    reference: Number | None = None,
    width: int = 640,
    left: int = 110,
    row: int = 30,
) -> BarChart:
    """Lay out one horizontal bar per (label, value)."""
    known = [v for _label, v in items if v is not None]
    ticks = nice_ticks(max([*known, reference or 0], default=0))
    plot, top = width - left - 56, ticks[-1]
    bars = tuple(
        Bar(label, value, left, 8 + i * row, _scale(value, top, plot) if value is not None else 0, row - 10)
        for i, (label, value) in enumerate(items)
    )
    return BarChart(
        width=width,
        height=len(items) * row + 34,
        left=left,
        bars=bars,
        ticks=tuple(Tick(left + _scale(t, top, plot), t) for t in ticks),
        reference=None if reference is None else Tick(left + _scale(reference, top, plot), reference),
    )


def column_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    *,
    width: int = 640,
    height: int = 240,
    left: int = 64,
) -> ColumnChart:
    """Lay out, for each category, one column per (series label, values)."""
    top, bottom = 12, height - 28
    known = [v for _label, values in series for v in values if v is not None]
    ticks = nice_ticks(max(known, default=0))
    group = (width - left - 8) / max(len(categories), 1)
    column = group * 0.8 / max(len(series), 1)
    columns = []
    for s, (_label, values) in enumerate(series):
        for c, value in enumerate(values):
            size = _scale(value, ticks[-1], bottom - top) if value is not None else 0
            x = left + c * group + group * 0.1 + s * column
            columns.append(Bar(categories[c], value, x, bottom - size, column - 2, size, s))
    return ColumnChart(
        width=width,
        height=height,
        left=left,
        top=top,
        bottom=bottom,
        columns=tuple(columns),
        categories=tuple((left + (c + 0.5) * group, label) for c, label in enumerate(categories)),
        ticks=tuple(Tick(bottom - _scale(t, ticks[-1], bottom - top), t) for t in ticks),
        series=tuple(label for label, _values in series),
        values=tuple(tuple(values) for _label, values in series),
    )


def line_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    *,
    width: int = 640,
    height: int = 240,
    left: int = 64,
) -> LineChart:
    """Lay out one line per (series label, values) over the categories; None breaks the line."""
    top, bottom = 12, height - 28
    known = [v for _label, values in series for v in values if v is not None]
    ticks = nice_ticks(max(known, default=0))
    step = (width - left - 24) / max(len(categories) - 1, 1)
    xs = [left + 12 + i * step for i in range(len(categories))]
    lines = []
    for label, values in series:
        points, path, pen_down = [], [], False
        for x, category, value in zip(xs, categories, values, strict=True):
            if value is None:
                pen_down = False
                continue
            y = bottom - _scale(value, ticks[-1], bottom - top)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            points.append((x, y, value, category))
            pen_down = True
        lines.append(Line(label, " ".join(path), tuple(points), tuple(values)))
    return LineChart(
        width=width,
        height=height,
        left=left,
        top=top,
        bottom=bottom,
        lines=tuple(lines),
        categories=tuple(zip(xs, categories, strict=True)),
        ticks=tuple(Tick(bottom - _scale(t, ticks[-1], bottom - top), t) for t in ticks),
    )
