"""Small, self-contained SVG charts for HTML reports: no JavaScript, no network, no plotting library.

Each function returns one `<svg>` element as a string, ready to drop into an HTML page:

- `line_chart(series, ...)`: several series over a shared x axis (e.g. each provider's ledger
  balance week by week), with optional horizontal reference lines (e.g. the debt limit);
- `histogram(values, bins, ...)`: counts of values per bin (e.g. weeks from request to move);
- `box_plot(groups, ...)`: one box per named group (quartiles, median, whiskers to min and max);
- `html_page(title, body)`: a minimal self-contained page (inline CSS) to hold them;
- `nothing_to_draw(why)`: what every chart above returns when it has no value to draw;
- `date_axis(start, span)`: tick labels that turn day numbers into dates;
- `members_that_matter(series, limits)`: which of many members' balance lines to draw (those past
  their limit, then the largest balances), and how many are left out.

Charts meant to be compared side by side (small multiples) should be given the same `y_range`,
`bins` and `y_max`, so that equal heights mean equal values. Every text is escaped; nothing a
caller passes is read as markup. Pure standard library; it imports nothing from the engine, so any
report (simulation, fairness audit) can use it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Callable, Mapping, Optional, Sequence

# Colour-blind-safe categorical palette (Okabe & Ito), then greys for long tails of series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
AXIS = "#444"
GRID = "#e3e3e3"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"


@dataclass(frozen=True)
class Series:
    """One line of a line chart. `values[k]` is drawn at x = `x_values[k]` (None: a gap)."""

    name: str
    values: Sequence[Optional[float]]
    color: Optional[str] = None  # default: from PALETTE by position
    width: float = 1.5
    dash: Optional[str] = None  # SVG stroke-dasharray, e.g. "4 3"


@dataclass(frozen=True)
class ReferenceLine:
    """A horizontal line across a chart at `y`, labelled at its right end."""

    y: float
    label: str = ""
    color: str = "#B00020"
    dash: str = "5 4"


@dataclass(frozen=True)
class _Frame:
    """The plotting area inside the margins, and the maps from data to pixels."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (value - self.x0) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.height - self.bottom - (value - self.y0) / span * (self.height - self.top - self.bottom)


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi = lo + 1
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, round(step))
    first = math.floor(lo / step) * step
    ticks = []
    k = 0
    while first + k * step <= hi + step * 1e-9:
        ticks.append(round(first + k * step, 10))
        k += 1
    return ticks


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg_open(width: int, height: int, title: str) -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" style="{FONT}">']
    if title:
        parts.append(f"<title>{escape(title)}</title>")
        parts.append(f'<text x="{width / 2:.1f}" y="15" text-anchor="middle" font-size="13" '
                     f'font-weight="600" fill="#222">{escape(title)}</text>')
    return parts


def _axes(f: _Frame, x_ticks: Sequence[float], y_ticks: Sequence[float], x_label: str, y_label: str,
          x_tick_labels: Optional[Sequence[str]] = None) -> list[str]:
    parts = []
    for t in y_ticks:
        y = f.y(t)
        parts.append(f'<line x1="{f.left}" y1="{y:.1f}" x2="{f.width - f.right}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{f.left - 5}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
                     f'fill="{AXIS}">{escape(_fmt(t))}</text>')
    base = f.height - f.bottom
    parts.append(f'<line x1="{f.left}" y1="{base}" x2="{f.width - f.right}" y2="{base}" stroke="{AXIS}"/>')
    parts.append(f'<line x1="{f.left}" y1="{f.top}" x2="{f.left}" y2="{base}" stroke="{AXIS}"/>')
    for k, t in enumerate(x_ticks):
        x = f.x(t)
        label = x_tick_labels[k] if x_tick_labels is not None else _fmt(t)
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="{AXIS}"/>')
        # A label centred on the first or last tick would be cut by the chart's edge (a browser
        # showed "30 No"): it ends, or starts, at its tick instead.
        half = len(label) * 3.2  # about half its width at 10px
        anchor = "end" if x + half > f.width - 1 else "start" if x - half < 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{base + 15}" text-anchor="{anchor}" font-size="10" '
                     f'fill="{AXIS}">{escape(label)}</text>')
    if x_label:
        parts.append(f'<text x="{(f.left + f.width - f.right) / 2:.1f}" y="{f.height - 4}" '
                     f'text-anchor="middle" font-size="11" fill="{AXIS}">{escape(x_label)}</text>')
    if y_label:
        cy = (f.top + base) / 2
        parts.append(f'<text x="12" y="{cy:.1f}" text-anchor="middle" font-size="11" fill="{AXIS}" '
                     f'transform="rotate(-90 12 {cy:.1f})">{escape(y_label)}</text>')
    return parts


def line_chart(series: Sequence[Series], *, x_values: Optional[Sequence[float]] = None,
               title: str = "", x_label: str = "", y_label: str = "", width: int = 420,
               height: int = 240, y_range: Optional[tuple[float, float]] = None,
               reference_lines: Sequence[ReferenceLine] = (), legend_limit: int = 8,
               step: bool = False, x_tick_label: Optional[Callable[[float], str]] = None,
               x_range: Optional[tuple[float, float]] = None, empty: str = "no values") -> str:
    """Several series over one x axis.

    `x_values` default to 0, 1, 2, ...; `y_range` defaults to the data's range (with any reference
    lines). With `step=True` lines are drawn as steps (a value holds until the next one), which is
    right for counts such as ledger balances. A legend is drawn when there are at most
    `legend_limit` series; above that (e.g. 80 providers) the lines speak as a band and the caller
    should say what they are in the title.

    `x_tick_label` turns an x value into its tick's text (e.g. a day number into a date, see
    `date_axis`); `x_range` widens the axis to a stated period. With no value to draw, the chart
    is a frame that says "nothing to draw: `empty`".
    """
    n = max((len(s.values) for s in series), default=0)
    xs = list(x_values) if x_values is not None else list(range(n))
    values = [v for s in series for v in s.values if v is not None]
    if not values:
        return nothing_to_draw(empty, title=title, width=width, height=height)
    values += [r.y for r in reference_lines]
    lo, hi = y_range if y_range is not None else ((min(values), max(values)) if values else (0.0, 1.0))
    y_ticks = nice_ticks(lo, hi, 5, integer=all(float(v).is_integer() for v in values))
    lo, hi = min(lo, y_ticks[0]), max(hi, y_ticks[-1])
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_range is not None:
        x_lo, x_hi = min(x_lo, x_range[0]), max(x_hi, x_range[1])
    show_legend = 0 < len(series) <= legend_limit
    f = _Frame(width, height, 44, 12, 24,
               34 + (14 * math.ceil(len(series) / 3) if show_legend else 0), x_lo, x_hi, lo, hi)
    parts = _svg_open(width, height, title)
    x_ticks = [t for t in nice_ticks(x_lo, x_hi, 4 if x_tick_label else 6, integer=True) if x_lo <= t <= x_hi]
    parts += _axes(f, x_ticks, y_ticks, x_label, y_label,
                   [x_tick_label(t) for t in x_ticks] if x_tick_label else None)
    for k, s in enumerate(series):
        color = s.color or PALETTE[k % len(PALETTE)]
        points: list[str] = []
        runs: list[list[str]] = []
        last_y = 0.0
        for x, v in zip(xs, s.values):
            if v is None:
                if points:
                    runs.append(points)
                points = []
                continue
            if step and points:  # hold the previous value until this x
                points.append(f"{f.x(x):.1f},{last_y:.1f}")
            last_y = f.y(v)
            points.append(f"{f.x(x):.1f},{last_y:.1f}")
        if points:
            runs.append(points)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        for run in runs:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="{s.width}" '
                         f'stroke-opacity="0.85"{dash} points="{" ".join(run)}">'
                         f"<title>{escape(s.name)}</title></polyline>")
    for r in reference_lines:
        y = f.y(r.y)
        parts.append(f'<line x1="{f.left}" y1="{y:.1f}" x2="{width - f.right}" y2="{y:.1f}" '
                     f'stroke="{r.color}" stroke-width="1.2" stroke-dasharray="{r.dash}"/>')
        if r.label:
            parts.append(f'<text x="{width - f.right - 2}" y="{y - 3:.1f}" text-anchor="end" '
                         f'font-size="10" fill="{r.color}">{escape(r.label)}</text>')
    if show_legend:
        top = height - 14 * math.ceil(len(series) / 3) - 4
        col_w = (width - f.left - f.right) / 3
        for k, s in enumerate(series):
            color = s.color or PALETTE[k % len(PALETTE)]
            x = f.left + (k % 3) * col_w
            y = top + (k // 3) * 14
            parts.append(f'<rect x="{x:.1f}" y="{y - 8}" width="10" height="3" fill="{color}"/>')
            parts.append(f'<text x="{x + 14:.1f}" y="{y - 4}" font-size="10" fill="#222">'
                         f"{escape(s.name)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def bin_edges(values: Sequence[float], bins: int = 10) -> list[float]:
    """`bins` equal-width edges covering the values (a shared set of edges for small multiples)."""
    if not values:
        return [0.0, 1.0]
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1
    width = (hi - lo) / bins
    return [lo + k * width for k in range(bins)] + [hi]


def histogram(values: Sequence[float], *, bins: int | Sequence[float] = 10, title: str = "",
              x_label: str = "", y_label: str = "count", width: int = 420, height: int = 220,
              color: str = PALETTE[0], y_max: Optional[float] = None, note: str = "",
              empty: str = "no values") -> str:
    """Counts of `values` per bin. `bins` is a number of equal bins or the edges themselves (a value
    equal to the last edge falls in the last bin; values outside the edges are not counted).
    `note` is written in the top-right corner (e.g. "n = 120, median 6.1")."""
    if not values:
        return nothing_to_draw(empty, title=title, width=width, height=height)
    edges = list(bins) if not isinstance(bins, int) else bin_edges(values, bins)
    counts = [0] * (len(edges) - 1)
    for v in values:
        if v < edges[0] or v > edges[-1]:
            continue
        k = next((i for i in range(len(counts)) if v < edges[i + 1]), len(counts) - 1)
        counts[k] += 1
    top = y_max if y_max is not None else max(counts, default=0)
    y_ticks = nice_ticks(0, max(1.0, top), 4, integer=True)
    f = _Frame(width, height, 44, 12, 24, 34, edges[0], edges[-1], 0, max(y_ticks[-1], top))
    parts = _svg_open(width, height, title)
    x_ticks = nice_ticks(edges[0], edges[-1], 6)
    x_ticks = [t for t in x_ticks if edges[0] <= t <= edges[-1]]
    parts += _axes(f, x_ticks, y_ticks, x_label, y_label)
    for k, c in enumerate(counts):
        if not c:
            continue
        x0, x1 = f.x(edges[k]), f.x(edges[k + 1])
        y = f.y(c)
        parts.append(f'<rect x="{x0 + 0.5:.1f}" y="{y:.1f}" width="{max(0.5, x1 - x0 - 1):.1f}" '
                     f'height="{f.y(0) - y:.1f}" fill="{color}" fill-opacity="0.8">'
                     f"<title>{escape(_fmt(edges[k]))} to {escape(_fmt(edges[k + 1]))}: {c}</title></rect>")
    if note:
        parts.append(f'<text x="{width - f.right}" y="{f.top + 10}" text-anchor="end" font-size="10" '
                     f'fill="#222">{escape(note)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (the usual 'type 7' definition)."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def box_plot(groups: Mapping[str, Sequence[float]], *, title: str = "", y_label: str = "",
             width: int = 420, height: int = 240, y_range: Optional[tuple[float, float]] = None,
             colors: Optional[Sequence[str]] = None, empty: str = "no values") -> str:
    """One box per group, in the mapping's order: the box spans the quartiles, the bar inside is
    the median, the whiskers reach the minimum and maximum; `n` is written under each group's name.
    An empty group is drawn as its name and "n = 0"; with every group empty the chart says
    "nothing to draw: `empty`"."""
    names = list(groups)
    data = {k: sorted(float(v) for v in groups[k]) for k in names}
    everything = [v for vs in data.values() for v in vs]
    if not everything:
        return nothing_to_draw(empty, title=title, width=width, height=height)
    lo, hi = y_range if y_range is not None else ((min(everything), max(everything)) if everything
                                                  else (0.0, 1.0))
    y_ticks = nice_ticks(lo, hi, 5)
    f = _Frame(width, height, 44, 12, 24, 40, 0, max(1, len(names)), min(lo, y_ticks[0]),
               max(hi, y_ticks[-1]))
    parts = _svg_open(width, height, title)
    parts += _axes(f, [], y_ticks, "", y_label)
    slot = (width - f.left - f.right) / max(1, len(names))
    for k, name in enumerate(names):
        vs = data[name]
        cx = f.left + slot * (k + 0.5)
        color = (colors or PALETTE)[k % len(colors or PALETTE)]
        parts.append(f'<text x="{cx:.1f}" y="{height - f.bottom + 14}" text-anchor="middle" '
                     f'font-size="10" fill="#222">{escape(name)}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{height - f.bottom + 26}" text-anchor="middle" '
                     f'font-size="9" fill="{AXIS}">n = {len(vs)}</text>')
        if not vs:
            continue
        q1, med, q3 = (_quantile(vs, q) for q in (0.25, 0.5, 0.75))
        half = min(28.0, slot * 0.3)
        summary = (f"{name}: n {len(vs)}, min {_fmt(vs[0])}, quartiles {_fmt(round(q1, 2))} / "
                   f"{_fmt(round(med, 2))} / {_fmt(round(q3, 2))}, max {_fmt(vs[-1])}")
        parts.append(f'<line x1="{cx:.1f}" y1="{f.y(vs[0]):.1f}" x2="{cx:.1f}" y2="{f.y(vs[-1]):.1f}" '
                     f'stroke="{color}" stroke-width="1.2"/>')
        for end in (vs[0], vs[-1]):
            parts.append(f'<line x1="{cx - half / 2:.1f}" y1="{f.y(end):.1f}" x2="{cx + half / 2:.1f}" '
                         f'y2="{f.y(end):.1f}" stroke="{color}" stroke-width="1.2"/>')
        parts.append(f'<rect x="{cx - half:.1f}" y="{f.y(q3):.1f}" width="{2 * half:.1f}" '
                     f'height="{max(1.0, f.y(q1) - f.y(q3)):.1f}" fill="{color}" fill-opacity="0.25" '
                     f'stroke="{color}"><title>{escape(summary)}</title></rect>')
        parts.append(f'<line x1="{cx - half:.1f}" y1="{f.y(med):.1f}" x2="{cx + half:.1f}" '
                     f'y2="{f.y(med):.1f}" stroke="{color}" stroke-width="2.5"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def nothing_to_draw(why: str, *, title: str = "", width: int = 420, height: int = 120) -> str:
    """A chart with nothing in it: its frame and title, and "nothing to draw: `why`" in words, so
    that an empty chart is never mistaken for a broken one."""
    height = min(height, 120)
    parts = _svg_open(width, height, title)
    parts.append(f'<rect x="1" y="22" width="{width - 2}" height="{height - 24}" fill="none" '
                 f'stroke="{GRID}"/>')
    parts.append(f'<text x="{width / 2:.1f}" y="{(height + 22) / 2 + 4:.1f}" text-anchor="middle" '
                 f'font-size="12" fill="{AXIS}">nothing to draw: {escape(why)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def date_axis(start: date, span_days: float) -> Callable[[float], str]:
    """Tick labels for an x axis counted in days from `start`: "23 Nov" within a year, "Nov 2026"
    over longer spans (the page states the period with its years)."""
    fmt = "%d %b" if span_days <= 200 else "%b %Y"

    def label(days: float) -> str:
        return (start + timedelta(days=round(days))).strftime(fmt).lstrip("0")
    return label


@dataclass(frozen=True)
class Selection:
    """The members a chart draws when there are too many to draw them all."""

    shown: list[str]  # in the order given
    others: int  # how many are left out
    others_within: int  # every left-out member's balance stayed within +/- this


def members_that_matter(series: Mapping[str, Sequence[Optional[float]]],
                        limits: Mapping[str, Optional[float]], keep: int = 12) -> Selection:
    """All members when there are at most `keep`; otherwise those that went past their debt limit
    (`limits[name]`, a positive number of homes), then the largest absolute balance ever reached,
    until `keep` are chosen (past the limit are always kept, even beyond `keep`). The rest are
    counted, with the largest absolute balance any of them reached."""
    names = list(series)
    if len(names) <= keep:
        return Selection(names, 0, 0)

    def peak(name: str) -> float:
        return max((abs(v) for v in series[name] if v is not None), default=0)

    def past_limit(name: str) -> bool:
        limit = limits.get(name)
        return limit is not None and any(v is not None and v < -limit for v in series[name])

    chosen = {n for n in names if past_limit(n)}
    for name in sorted(names, key=lambda n: (-peak(n), n)):
        if len(chosen) >= keep:
            break
        chosen.add(name)
    rest = [n for n in names if n not in chosen]
    within = max((peak(n) for n in rest), default=0)
    return Selection([n for n in names if n in chosen], len(rest), int(within) if float(within).is_integer()
                     else within)


def html_page(title: str, body: str, style: str = "") -> str:
    """A complete, self-contained HTML page: inline CSS only, no scripts, no external requests.
    `body` is inserted as is (callers escape their own text); `style` is CSS added after the
    page's own."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ {FONT}; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 28px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 8px; }}
.note {{ color: #555; font-size: 13px; max-width: 900px; }}
.tech {{ color: #777; font-size: 11px; }}
svg {{ max-width: 100%; height: auto; }}
@media (max-width: 640px) {{ table {{ display: block; overflow-x: auto; max-width: 100%; }} }}
{style}</style>
</head>
<body>
{body}
</body>
</html>
"""
