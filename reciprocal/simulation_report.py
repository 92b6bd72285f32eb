"""Tables, JSON and HTML made from the simulation's typed results (`reciprocal.simulation`).

The model computes and returns results (`compare.Comparison`, `replay.Replay`, `calibration.Check`
and `calibration.Sensitivity`); this module shows them: Markdown tables (or aligned ones within a
terminal's width) of medians over seeds with their 5-95% ranges, and the HTML report (inline SVG
charts from `reciprocal.charts`). The command line prints what these return and writes the HTML
through `audits.exports.write_private`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from reciprocal.simulation.compare import HEADLINE, MEASURES, Comparison
from reciprocal.simulation.ranges import overlap

def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[k]) for r in [header] + rows) for k in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if k == 0 else c.rjust(w)
                                 for k, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join(("-" * (w + 2)) if k == 0 else ("-" * (w + 1) + ":")
                          for k, w in enumerate(widths)) + "|"
    return [line(header), rule] + [line(r) for r in rows]


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    import textwrap
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [""]


def aligned_table(header: list[str], rows: list[list[str]], width: int) -> list[str]:
    """A plain table within `width`: figures right-aligned, two spaces apart; the first column
    (the measure) takes what is left and wraps onto further lines when it must."""
    figures = [max(len(r[k]) for r in [header] + rows) for k in range(1, len(header))]
    label = max(12, min(max(len(r[0]) for r in [header] + rows), width - sum(w + 2 for w in figures)))

    def lines(cells: list[str]) -> list[str]:
        parts = _wrap(cells[0], label)
        first = parts[0].ljust(label) + "".join("  " + c.rjust(w) for c, w in zip(cells[1:], figures))
        return [first.rstrip()] + [p for p in parts[1:]]

    rule = "-" * min(width, label + sum(w + 2 for w in figures))
    return lines(header) + [rule] + [line for r in rows for line in lines(r)]




# Marks a figure whose 5-95% range overlaps the one it is compared with (`reciprocal.simulation.ranges`).
OVERLAP_MARK = "~"


def _uncertain(a: dict, b: dict) -> bool:
    """Two figures whose medians differ as shown but whose 5-95% ranges overlap."""
    if a["median"] is None or b["median"] is None:
        return False
    return _number(a["median"]) != _number(b["median"]) and overlap(a, b)


def _spread_cell(s: dict, mark: bool = False, compact: bool = False) -> str:
    """The median over seeds, with its 5th to 95th percentile when they differ ("4 (1 to 7) ~";
    `compact`, for a narrow terminal: "4 (1-7)~", keeping " to " between negative figures)."""
    if s["median"] is None:
        return "-"
    text = _number(s["median"])
    if s["p5"] != s["p95"]:
        joint = "-" if compact and s["p5"] >= 0 and s["p95"] >= 0 else " to "
        text += f" ({_number(s['p5'])}{joint}{_number(s['p95'])})"
    return text + ((OVERLAP_MARK if compact else f" {OVERLAP_MARK}") if mark else "")


def _number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2g}" if abs(value) < 1 else f"{value:,.1f}"
    return f"{int(value):,}"




def _compact(s: dict, mark: bool = False) -> str:
    """`_spread_cell` for a narrow terminal: "4 (1-7)"."""
    return _spread_cell(s, mark, compact=True)


def _own(comparison: Comparison) -> Optional[str]:
    """The column the others are compared with: the engine under the scheme's own rule 9."""
    return comparison.own() or (comparison.columns[0].key if comparison.columns else None)


def _short(label: str) -> str:
    return (label.replace("today's practice", "today").replace("first come, first served", "FCFS")
            .replace("engine, waiting for every answer, gives from ", "wait:")
            .replace("engine, gives from ", "").replace("nomination_confirmed", "nominated")
            .replace(" (the scheme's)", "*"))


def comparison_table(comparison: Comparison, width: Optional[int] = None, every: bool = False) -> list[str]:
    """One row per measure (the headline measures, or `every` one), one column per policy: the
    median over seeds with its 5-95% range, marked where the range overlaps the scheme's engine's
    though the medians differ. Markdown; an aligned table with short names and a key when the
    Markdown is wider than `width`."""
    spreads = comparison.spreads()
    own = _own(comparison)
    cols = comparison.columns
    rows, compact, marked = [], [], False
    for key, label in (MEASURES if every else HEADLINE):
        base = spreads[own][key]
        marks = [c.key != own and _uncertain(spreads[c.key][key], base) for c in cols]
        marked = marked or any(marks)
        rows.append([label] + [_spread_cell(spreads[c.key][key], m) for c, m in zip(cols, marks)])
        compact.append([label] + [_compact(spreads[c.key][key], m) for c, m in zip(cols, marks)])
    lines = _markdown(["measure"] + [c.label for c in cols], rows)
    reference = next(c.label for c in cols if c.key == own)
    note = (f"{OVERLAP_MARK} its 5-95% range overlaps that of {reference}: "
            f"the difference may be the seeds', not the policy's.")
    if width is not None and max(len(line) for line in lines) > width:
        lines = _terminal(["measure"] + [_short(c.label) for c in cols], compact, width)
    if not lines[0].startswith("|"):  # a terminal's table: short names, and a key
        key = "; ".join(f"{_short(c.label)}: {c.label}" for c in cols if _short(c.label) != c.label)
        if any(c.label.endswith("(the scheme's)") for c in cols):
            key += "; * the scheme's own rule 9"
        lines += [""] + _wrap(key + ".", width)
        if marked:
            lines += _wrap(note, width)
    elif marked:
        lines += ["", note]
    return lines


def differences_table(comparison: Comparison, width: Optional[int] = None) -> list[str]:
    """The headline measures' paired differences from the scheme's engine, one column per other
    policy (nothing when there is no such engine column or no other column)."""
    differences = comparison.differences()
    cols = [c for c in comparison.columns if c.key in differences]
    if not cols:
        return []
    rows = [[label] + [_signed(_spread_cell(differences[c.key][key])) for c in cols] for key, label in HEADLINE]
    lines = _markdown(["measure"] + [c.label for c in cols], rows)
    if width is not None and max(len(line) for line in lines) > width:
        compact = [[label] + [_signed(_compact(differences[c.key][key])) for c in cols] for key, label in HEADLINE]
        lines = _terminal(["measure"] + [_short(c.label) for c in cols], compact, width)
    return lines


def _terminal(header: list[str], rows: list[list[str]], width: int) -> list[str]:
    """A table within `width`: one line per measure while the measure's name keeps at least 24
    characters beside the figures; else each measure's medians and ranges on two lines."""
    figures = sum(max(len(r[k]) for r in [header] + rows) + 2 for k in range(1, len(header)))
    if width - figures >= 24:
        return aligned_table(header, rows, width)
    return _stacked(header, rows, width)


def _signed(cell: str) -> str:
    """A difference with its sign: "+2 (0 to 4)"; "0" and "-" as they are."""
    return cell if cell in ("-", "0") or cell.startswith("-") or cell.startswith("0 ") else "+" + cell


def _stacked(header: list[str], rows: list[list[str]], width: int) -> list[str]:
    """A narrow table: each measure's medians on one line and their ranges on the next; columns
    that do not fit beside each other go into a second table below."""
    split = [[r[0]] + [c.split(" ", 1)[0] for c in r[1:]] for r in rows]
    ranges = [[""] + [c.split(" ", 1)[1] if " " in c else "" for c in r[1:]] for r in rows]
    figures = [max(len(r[k]) for r in [header] + split + ranges) for k in range(1, len(header))]
    label_min = 16
    groups, now = [], []
    for k, w in enumerate(figures):
        if now and label_min + sum(figures[j] + 1 for j in now) + w + 1 > width:
            groups.append(now)
            now = []
        now.append(k)
    groups.append(now)
    out: list[str] = []
    for group in groups:
        label = max(label_min, width - sum(figures[k] + 1 for k in group))
        if out:
            out.append("")

        def line(first: str, cells: list[str]) -> str:
            return (first.ljust(label) + "".join(" " + cells[k + 1].rjust(figures[k]) for k in group)).rstrip()

        out += [line(header[0], header), "-" * min(width, label + sum(figures[k] + 1 for k in group))]
        for top, low in zip(split, ranges):
            parts = _wrap(top[0], label)
            second = line(parts[1] if len(parts) > 1 else "", low)
            out += [line(parts[0], top)] + ([second] if second else []) + parts[2:]
    return out


def intro(comparison: Comparison) -> str:
    requests = _spread_cell(_over_seeds(comparison, "referrals"))
    return (f"{comparison.scheme_name} ({comparison.scheme}), setting {comparison.setting}: "
            f"{comparison.weeks} weekly rounds, seeds {comparison.first_seed}-{comparison.first_seed + comparison.seeds - 1}, "
            f"{requests} referrals a run; "
            f"each figure the median over the seeds with its 5th to 95th percentile.")


def _over_seeds(comparison: Comparison, key: str) -> dict:
    first = comparison.columns[0].key
    return comparison.spreads()[first][key]


def render_comparison(comparison: Comparison, width: Optional[int] = None, every: bool = False) -> str:
    """The comparison for a terminal or for docs: intro, the table, what the columns are, the
    rates, and where the assumptions live."""
    text = _wrap(intro(comparison), width or 10_000) + [""] + comparison_table(comparison, width, every)
    paired = differences_table(comparison, width)
    if paired:
        text += [""] + _wrap("Against the engine under the scheme's own rule, seed by seed (a policy's figure "
                             "minus the engine's on the same stream): the median difference with its 5th to "
                             "95th percentile.", width or 10_000) + [""] + paired
    notes = [f"Rates: {comparison.rates.basis}.",
             "Every column ran on the same streams (referrals, homes drawn, answers); the engine's "
             "columns differ only in the stage from which rule 9 counts a home a member gives "
             "(fairness.gives_count_from). Today's practice: the first suitable home offered wins "
             "(a home offered for a household goes to it); first come, first served: the oldest "
             "request takes the first suitable home, each week. Every policy keeps every hard rule.",
             "Assumptions: reciprocal/simulation/assumptions.py (--format json lists each with its "
             "source; change one with --assume NAME=VALUE)."]
    text.append("")
    for n in notes:
        text += _wrap(n, width or 10_000, "- ", "  ")
    return "\n".join(text) + "\n"


def render_replay(replay, width: Optional[int] = None) -> str:
    """`reciprocal.simulation.replay.replay`: the comparison on the scheme's stored year."""
    comparison = replay.comparison
    left = ", ".join(f"{n} {why}" for why, n in replay.left_out.items() if n)
    head = (f"{comparison.scheme_name} ({comparison.scheme}): the stored requests and homes replayed, a "
            f"round every week from {replay.since.isoformat()} to {replay.until.isoformat()} "
            f"({comparison.weeks} weeks)" + (f"; left out: {left}" if left else "")
            + f"; a pair the scheme really proposed is answered as the trail says (the same working days, "
            f"refusal or lapse), any other pair's answers drawn by seeds 1-{comparison.seeds}; each figure "
            f"the median with its 5th to 95th percentile. Holds and reconfirmations are not replayed. "
            f"Nothing was written to the database.")
    text = _wrap(head, width or 10_000) + [""] + comparison_table(comparison, width, every=True)
    paired = differences_table(comparison, width)
    if paired:
        text += ["", "Against the engine under the scheme's own rule, seed by seed:", ""] + paired
    return "\n".join(text) + "\n"


def _fitted(header: list[str], rows: list[list[str]], width: Optional[int]) -> list[str]:
    """Markdown, or a terminal's table when the Markdown is wider than `width`."""
    lines = _markdown(header, rows)
    if width is not None and max(len(line) for line in lines) > width:
        return _terminal(header, rows, width)
    return lines


def render_calibration(checks, width: Optional[int] = None) -> str:
    """Each seed figure beside the model's range (today's practice at that volume)."""
    rows = [[c.label, _number(c.seed_figure), _spread_cell(c.model), "yes" if c.inside else "**no**"]
            for c in checks]
    return "\n".join(_fitted(["seed figure", "seed year", "model: median (5th to 95th)", "inside"], rows,
                              width)) + "\n"


def render_sensitivity(base: dict, rows, width: Optional[int] = None) -> str:
    """Moves at both volumes with each assumption halved and doubled."""
    def cell(s: dict) -> str:
        return _spread_cell(s)
    header = ["assumption", "value", "Cambridgeshire moves, halved", "doubled", "London moves a year, halved",
              "doubled"]
    table = [["(as assumed)", "", cell(base["default"]), "", cell(base["stress"]), ""]]
    table += [[r.name, r.value, cell(r.moves["default"]["halved"]), cell(r.moves["default"]["doubled"]),
               cell(r.moves["stress"]["halved"]), cell(r.moves["stress"]["doubled"])] for r in rows]
    return "\n".join(_fitted(header, table, width)) + "\n"


def write_html(comparison: Comparison, path: Path | str) -> Path:
    path = Path(path)
    path.write_text(html_report(comparison), encoding="utf-8")
    return path


def html_report(comparison: Comparison) -> str:
    """One self-contained HTML file (inline SVG, no scripts): the table of every measure, households
    moved over the year per policy (median over the seeds), the spread of households moved over
    the seeds, the waiting-time distribution per policy (every seed's moves), and each member's
    balance over the year under the scheme's engine (seed 1)."""
    from html import escape

    from reciprocal import charts
    cols = comparison.columns
    spreads = comparison.spreads()
    own = _own(comparison)
    body = [f"<h1>Simulation: {escape(comparison.scheme_name)}</h1>", f'<p class="note">{escape(intro(comparison))}</p>',
            "<table><thead><tr><th>measure</th>" + "".join(f"<th>{escape(c.label)}</th>" for c in cols)
            + "</tr></thead><tbody>"]
    for key, label in MEASURES:
        body.append(f"<tr><td>{escape(label)}</td>" + "".join(
            f"<td>{escape(_spread_cell(spreads[c.key][key], c.key != own and _uncertain(spreads[c.key][key], spreads[own][key])))}</td>"
            for c in cols) + "</tr>")
    body.append("</tbody></table>")
    body.append(f'<p class="note">{OVERLAP_MARK} its 5-95% range overlaps that of '
                f"{escape(next(c.label for c in cols if c.key == own))}. Rates: {escape(comparison.rates.basis)}.</p>")
    differences = comparison.differences()
    others = [c for c in cols if c.key in differences]
    if others:
        body.append("<h2>Against the engine under the scheme's own rule, seed by seed</h2>")
        body.append('<p class="note">A policy\'s figure minus the engine\'s on the same stream: the median '
                    "difference over the seeds with its 5th to 95th percentile.</p>")
        body.append("<table><thead><tr><th>measure</th>" + "".join(f"<th>{escape(c.label)}</th>" for c in others)
                    + "</tr></thead><tbody>")
        for key, label in HEADLINE:
            body.append(f"<tr><td>{escape(label)}</td>" + "".join(
                f"<td>{escape(_signed(_spread_cell(differences[c.key][key])))}</td>" for c in others) + "</tr>")
        body.append("</tbody></table>")
    weeks = list(range(1, comparison.weeks + 1))
    body.append("<h2>Households moved over the year</h2>")
    body.append('<p class="note">Households whose tenancy was signed by each week: the median over the '
                "seeds, per policy.</p>")
    series = []
    for c in cols:
        by_week = [f["moved_by_week"] for f in comparison.per_seed[c.key]]
        series.append(charts.Series(_short(c.label), [_median_at(by_week, w) for w in range(comparison.weeks)],
                                    width=2))
    body.append(charts.line_chart(series, x_values=weeks, x_label="week", y_label="households moved",
                                  width=640, height=300, legend_limit=8, empty="no household moved"))
    body.append("<h2>Households moved, seed by seed</h2>")
    body.append(charts.box_plot({_short(c.label): [f["households_moved"] for f in comparison.per_seed[c.key]]
                                 for c in cols}, title=f"{comparison.seeds} seeds", y_label="households moved",
                                width=640, height=260, empty="no seed ran"))
    body.append("<h2>Weeks from referral to tenancy start</h2>")
    body.append(charts.box_plot({_short(c.label): [w for f in comparison.per_seed[c.key] for w in f["waits"]]
                                 for c in cols}, title="every household moved, over every seed",
                                y_label="weeks", width=640, height=260, empty="no household moved"))
    run = comparison.first_runs.get(own)
    if run is not None and comparison.providers:
        body.append(f"<h2>Each member's balance over the year (seed {comparison.first_seed}, "
                    f"{escape(next(c.label for c in cols if c.key == own))})</h2>")
        body.append('<p class="note">Homes given minus households housed by others, after each week.</p>')
        by_member = {p: [week[k] for week in run.balances] for k, p in enumerate(comparison.providers)}
        chosen = charts.members_that_matter(by_member, {p: None for p in by_member}, keep=12)
        lines = [charts.Series(name, by_member[name], width=1.2) for name in chosen.shown]
        body.append(charts.line_chart(lines, x_values=weeks, x_label="week", y_label="balance (homes)", step=True,
                                      width=640, height=300, legend_limit=12, empty="no round was run"))
        if chosen.others:
            body.append(f'<p class="note">Drawn: {len(chosen.shown)} of {len(by_member)} members (the largest '
                        f"balances); the other {chosen.others} stayed within &plusmn;{chosen.others_within}.</p>")
    return charts.html_page(f"Simulation: {comparison.scheme_name}", "\n".join(body))


def _median_at(series: list[list[int]], week: int) -> float:
    import statistics
    values = [s[week] for s in series if week < len(s)]
    return statistics.median(values) if values else 0
