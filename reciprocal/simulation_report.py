"""Tables, JSON and HTML made from the simulation's typed results (`reciprocal.simulation`).

The models compute and return results (`SimulationResult`, the plain figures of the staged,
circulation and debt-rule comparisons); this module shows them: the year's comparison as a
Markdown table (or an aligned one within a terminal's width), its JSON and its HTML report (inline
SVG charts from `reciprocal.charts`); the tables of `compare_gives` and `compare_circulation`.
The command line prints what these return and writes the HTML through `audits.exports.write_private`.
"""
from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from pathlib import Path
from typing import Optional

import numpy as np

from reciprocal.simulation.circulating import LONDON_VOLUME, MEASURES
from reciprocal.simulation.ranges import overlap
from reciprocal.simulation.simulate import POLICY_LABELS, SimulationResult

# -- the year's comparison (`reciprocal.simulation.simulate.simulate`) ------------------------------

ROWS = (  # (measure key, label, format)
    ("households_moved", "households moved", "int"),
    ("high_risk_moved", "high-risk households moved", "int"),
    ("median_weeks_to_move", "median weeks from request to move", "weeks"),
    ("p90_weeks_to_move", "90th percentile weeks to move", "weeks"),
    ("median_weeks_to_move_high_risk", "median weeks to move, high risk", "weeks"),
    ("p90_weeks_to_move_high_risk", "90th percentile weeks, high risk", "weeks"),
    ("still_waiting", "requests still waiting at the end", "int"),
    ("requests_withdrawn", "requests withdrawn", "int"),
    ("offers_arrived", "offers arrived", "int"),
    ("declines", "proposals declined", "int"),
    ("held_back_by_debt_limit", "accepted, held back by the debt limit", "int"),
    ("max_abs_balance", "max absolute provider balance", "int"),
    ("weeks_beyond_debt_limit", "weeks any provider beyond its debt limit", "int"),
    ("total_relative_deviation", "total relative deviation", "percent"),
    ("price_of_fairness", "price of fairness (moves lost vs no ledger)", "int"),
)


def _cell(value, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if kind == "weeks":
        return f"{value:.1f}"
    return str(value)


def table_rows(result: SimulationResult) -> tuple[list[str], list[list[str]]]:
    """Column headers (measure, then one per policy) and rows, as text."""
    policies = list(result.measures)
    header = ["measure"] + [POLICY_LABELS[p] for p in policies]
    rows = [[label] + [_cell(result.measures[p][key], kind) for p in policies] for key, label, kind in ROWS]
    return header, rows


def headline(result: SimulationResult) -> str:
    return (f"{result.scheme_name} ({result.scheme_id}), setting {result.setting}, seed {result.seed}: "
            f"{result.weeks} weekly rounds from {result.start.isoformat()}, {result.requests_arrived} "
            f"requests arrived ({result.high_risk_arrived} high risk)")


def render_table(result: SimulationResult, width: Optional[int] = None) -> str:
    """The comparison as a Markdown table (readable in a terminal, pasteable into docs), with the
    headline above and the notes below. Given a `width` the Markdown does not fit (a terminal of
    80 columns), the same figures as an aligned plain table with short policy names and a key,
    every line within `width`, so that the terminal never breaks a row into fragments."""
    header, rows = table_rows(result)
    markdown = _markdown(header, rows)
    if width is None or max(len(line) for line in markdown) <= width:
        text = [headline(result), ""] + markdown + [""] + [f"- {n}" for n in result.notes]
        return "\n".join(text) + "\n"
    short = [SHORT_LABELS.get(h, h) for h in header]
    key = "; ".join(f"{SHORT_LABELS[h]}: {SHORT_KEY.get(h, h)}" for h in header[1:] if h in SHORT_LABELS)
    text = _wrap(headline(result), width) + [""] + aligned_table(short, rows, width) + [""]
    if key:
        text += _wrap(key + ".", width)
    for n in result.notes:
        text += _wrap(n, width, "- ", "  ")
    return "\n".join(text) + "\n"


# Policy names short enough for an 80-column terminal, with the full ones given in a key.
SHORT_LABELS = {"first come, first served": "FCFS", "engine, no ledger": "no ledger",
                "random order": "random"}
SHORT_KEY = {"engine, no ledger": "the engine with no debt limit"}


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


def to_json(result: SimulationResult, series: bool = True) -> dict:
    """Everything as plain JSON-able data; `series` adds balances per week and each move's wait."""
    data = {
        "scheme": {"id": result.scheme_id, "name": result.scheme_name},
        "setting": result.setting, "seed": result.seed, "weeks": result.weeks,
        "start": result.start.isoformat(),
        "rates": dataclasses.asdict(result.rates),
        "requests_arrived": result.requests_arrived, "high_risk_arrived": result.high_risk_arrived,
        "policies": {p: {"label": POLICY_LABELS[p], **m} for p, m in result.measures.items()},
        "notes": result.notes,
    }
    if series:
        data["providers"] = result.providers
        data["max_debt"] = result.max_debt
        data["scheme_max_debt"] = result.scheme_max_debt
        for p, run in result.runs.items():
            data["policies"][p]["balances_by_week"] = run.balances
            data["policies"][p]["weeks_waited"] = [m.weeks_waited for m in run.moves]
    return data


# The HTML page's plain words for measures whose terminal label is technical (the technical name
# follows in small print).
HTML_LABELS = {
    "p90_weeks_to_move": ("weeks within which 9 in 10 households moved", "90th percentile"),
    "p90_weeks_to_move_high_risk": ("weeks within which 9 in 10 high-risk households moved",
                                    "90th percentile, high risk"),
    "max_abs_balance": ("the most homes any member owed or was owed", "max absolute provider balance"),
    "total_relative_deviation": ("homes still owed at the end, per household moved",
                                 "total relative deviation: sum of |balance| at the end / moves"),
    "price_of_fairness": ("moves the ledger cost, against the engine with no ledger", "price of fairness"),
}


def write_html(result: SimulationResult, path: Path | str) -> Path:
    """`html_report` written to `path` (the command writes it through `audits.exports.write_private`)."""
    path = Path(path)
    path.write_text(html_report(result), encoding="utf-8")
    return path


def html_report(result: SimulationResult) -> str:
    """One self-contained HTML file (inline SVG, no scripts): the table, balances over the weeks
    per policy, and the waiting-time distribution per policy. Time axes are the rounds' dates over
    the period the page states; with more than twelve members, each balance chart draws those that
    matter (`charts.members_that_matter`) and counts the rest; an empty chart says so."""
    from html import escape

    from reciprocal import charts
    policies = list(result.runs)
    last_round = result.start + timedelta(days=7 * (result.weeks - 1))
    period = f"{result.start.isoformat()} to {last_round.isoformat()}"
    header = ["measure"] + [POLICY_LABELS[p] for p in result.measures]
    body = [f"<h1>Simulation: {escape(result.scheme_name)}</h1>",
            f'<p class="note">{escape(headline(result))}; the last round on {last_round.isoformat()}.</p>',
            "<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for key, label, kind in ROWS:
        plain, tech = HTML_LABELS.get(key, (label, ""))
        cells = [_cell(result.measures[p][key], kind) for p in result.measures]
        body.append(f"<tr><td>{escape(plain)}" + (f' <span class="tech">({escape(tech)})</span>' if tech else "")
                    + "</td>" + "".join(f"<td>{'none' if c == '-' else escape(c)}</td>" for c in cells) + "</tr>")
    body.append("</tbody></table>")
    body += [f'<p class="note">{escape(n)}</p>' for n in result.notes]

    days = [7 * k for k in range(result.weeks)]  # each round's day, counted from the first
    dates = charts.date_axis(result.start, days[-1])
    x_range = (0, max(days[-1], 1))
    everything = [b for run in result.runs.values() for week in run.balances for b in week]
    limit = result.scheme_max_debt
    lo = min(everything + [-limit]) if everything else -limit
    hi = max(everything + [1]) if everything else 1
    own = sorted({d for d in result.max_debt.values() if d != limit})
    label = f"debt limit -{limit}" + (f" (own limits: {', '.join(f'-{d}' for d in own)})" if own else "")
    limit_line = [charts.ReferenceLine(-limit, label)]
    body.append(f"<h2>Each member's balance after each round, {escape(period)}</h2>")
    body.append('<p class="note">Homes given minus households housed by others; the dashed line is the '
                "debt limit.</p>")
    body.append('<div class="grid">')
    for p in policies:
        run = result.runs[p]
        by_member = {provider: [week[k] for week in run.balances] for k, provider in enumerate(result.providers)}
        chosen = charts.members_that_matter(by_member, result.max_debt, keep=12)
        series = [charts.Series(name, by_member[name], width=1.2) for name in chosen.shown]
        legend = len(series) <= 8
        chart = charts.line_chart(series, x_values=days, title=POLICY_LABELS[p], y_label="balance (homes)",
                                  y_range=(lo, hi), step=True, reference_lines=limit_line,
                                  legend_limit=8 if legend else 0, width=290,
                                  height=230 + (14 * math.ceil(len(series) / 3) if legend else 0),
                                  x_tick_label=dates, x_range=x_range, empty="no round was run")
        caption = ""
        if chosen.others:
            caption = (f"Drawn: {len(chosen.shown)} of {len(by_member)} members (any past its debt limit, "
                       f"then the largest balances); the other {chosen.others} stayed within "
                       f"&plusmn;{chosen.others_within}.")
        if not legend:
            caption += " Point at a line for its member's name."
        body.append(f'<figure style="margin:0">{chart}<figcaption class="note" style="max-width:290px">'
                    f"{caption}</figcaption></figure>")
    body.append("</div>")
    body.append(f"<h2>The most homes any member owed or was owed, round by round, {escape(period)}</h2>")
    worst = [charts.Series(POLICY_LABELS[p], [max((abs(b) for b in week), default=0)
                                              for week in result.runs[p].balances], width=2)
             for p in policies]
    body.append(charts.line_chart(worst, x_values=days, y_label="homes", step=True, width=600, height=280,
                                  x_tick_label=dates, x_range=x_range, empty="no round was run"))

    body.append("<h2>Weeks from request to move</h2>")
    waits = {p: [m.weeks_waited for m in result.runs[p].moves] for p in policies}
    pooled = [w for ws in waits.values() for w in ws]
    top = max(pooled, default=1.0)
    edges = [float(x) for x in charts.nice_ticks(0, max(4.0, top), 16)]
    if edges[-1] < top:
        edges.append(edges[-1] + (edges[1] - edges[0]))
    counts_max = 0
    for ws in waits.values():
        for k in range(len(edges) - 1):
            counts_max = max(counts_max, sum(1 for w in ws if edges[k] <= w < edges[k + 1]
                                             or (k == len(edges) - 2 and w == edges[-1])))
    body.append('<div class="grid">')
    for k, p in enumerate(policies):
        ws = waits[p]
        note = f"n = {len(ws)}" + (f", median {np.median(ws):.1f}" if ws else "")
        body.append(charts.histogram(ws, bins=edges, title=POLICY_LABELS[p], x_label="weeks from request to move",
                                     y_label="households", y_max=counts_max,
                                     color=charts.PALETTE[k % len(charts.PALETTE)], width=290, height=200,
                                     note=note, empty="no household moved"))
    body.append("</div>")
    body.append(charts.box_plot({POLICY_LABELS[p]: waits[p] for p in policies},
                                title="All households moved", y_label="weeks to move", width=600, height=260,
                                empty="no household moved under any policy"))
    high = {POLICY_LABELS[p]: [m.weeks_waited for m in result.runs[p].moves if m.high_risk] for p in policies}
    body.append(charts.box_plot(high, title="High-risk households moved", y_label="weeks to move",
                                width=600, height=260, empty="no high-risk household moved under any policy"))
    return charts.html_page(f"Simulation: {result.scheme_name}", "\n".join(body))


# -- pot only against pot and circulation (`reciprocal.simulation.circulating`) ------------------

def _seed_figure(data: dict, key: str) -> str:
    """The seed figure beside a measure, where the setting is calibrated to one."""
    if data["setting"] == "default" and data["weeks"] == 52:
        year = data["seed_figures"]["cambridgeshire_year"]
        return str(year.get({"circulated": "circulated", "offers": "offers", "moves": "moves",
                             "referrals": "referrals"}.get(key, ""), ""))
    if data["setting"] in LONDON_VOLUME and key == "moves_per_circulated":
        return f"{data['seed_figures']['london_moves_per_request']} (London)"
    return ""


def render_circulation(data: dict) -> str:
    """The comparison as a Markdown table: medians over the seeds with their 5-95% ranges, a mark
    where the two columns' ranges overlap, the seed figure beside."""
    seed_column = "Cambridgeshire 2019/20" if data["setting"] == "default" else "London 2016-24"
    lines = [f"{data['scheme']}, setting {data['setting']}: {data['weeks']} weeks, median over "
             f"{data['seeds']} seeds (1..{data['seeds']}) with its 5th to 95th percentile; the engine in "
             f"both columns", "",
             f"| measure | pot only | pot and circulation | {seed_column} |", "|---|---:|---:|---:|"]
    marked = False
    for key, label in MEASURES:
        pot, circ = data["ranges"]["pot"][key], data["ranges"]["circulation"][key]
        mark = _uncertain(pot, circ)
        marked = marked or mark
        lines.append(f"| {label} | {_spread_cell(pot)} | {_spread_cell(circ, mark)} | {_seed_figure(data, key)} |")
    if marked:
        lines += ["", f"{OVERLAP_MARK} the two columns' 5-95% ranges overlap: the difference may be the seeds', "
                  f"not the way homes are offered."]
    a = data["assumptions"]
    lines += ["", f"Rates: {data['rates']}.",
              f"Assumptions (reciprocal/simulation/answers.py): a referral is approved and circulated "
              f"with probability {a['approved_share']:.2f} (Cambridgeshire's 11 of 17); an even member "
              f"keeps {a['answer_share']:.0%} of its homes back for a household on its circulation "
              f"list, more the more it owes ({a['balance_response']:g} per home), for up to "
              f"{a['hold_weeks']} weeks, then puts it into the pot; the homes drawn are the same in "
              f"both columns."]
    return "\n".join(lines) + "\n"


# -- rule 9's choices of gives_count_from (`reciprocal.simulation.gives`) -----------------------

# The table of `compare_gives`: one row per measure, one column per choice of
# `fairness.gives_count_from`, each cell the median over seeds and its 5-95% range (Markdown, the form
# docs/simulation.md quotes).
GIVES_LABELS = {"households_moved": "households moved (signed)",
                "high_risk_moved": "high-risk households moved",
                "median_weeks_to_tenancy_start": "median weeks, request to tenancy start",
                "worst_homes_past_limit": "worst homes past a limit",
                "median_homes_past_limit": "median homes past a limit, when past",
                "member_weeks_past_limit": "member-weeks past a limit",
                "lowest_ledger_headroom": "lowest headroom the ledger reached"}


# Marks a figure whose 5-95% range overlaps the one it is compared with (`reciprocal.simulation.ranges`).
OVERLAP_MARK = "~"


def _uncertain(a: dict, b: dict) -> bool:
    """Two figures whose medians differ but whose 5-95% ranges overlap."""
    return a["median"] != b["median"] and overlap(a, b)


def _spread_cell(s: dict, mark: bool = False) -> str:
    """The median over seeds, with its 5th to 95th percentile when they differ."""
    if s["median"] is None:
        return "-"
    text = _number(s["median"])
    if s["p5"] != s["p95"]:
        text += f" ({_number(s['p5'])} to {_number(s['p95'])})"
    return text + (f" {OVERLAP_MARK}" if mark else "")


def _number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2g}" if abs(value) < 1 else f"{value:,.1f}"
    return f"{int(value):,}"


def render_gives(data: dict) -> str:
    requests = data["requests_arrived"]
    intro = (f"{data['scheme']}, setting {data['setting']}, seeds 1-{data['seeds']}, {data['weeks']} weeks "
             f"(a round every week), {_spread_cell(requests)} requests arrived; median over seeds (5th to "
             f"95th percentile); rule 9 counts a home a member gives from the stage named in each column")
    return "\n".join([intro, ""] + _choices_table(data)) + "\n"


def render_replay(data: dict) -> str:
    """`reciprocal.simulation.replay.replay`: the same table as `render_gives`, on the stored year."""
    left = ", ".join(f"{n} {why}" for why, n in data["left_out"].items() if n)
    intro = (f"{data['scheme']}: the stored requests and offers replayed, a round every week from "
             f"{data['since']} to {data['until']} ({data['weeks']} weeks): "
             f"{_spread_cell(data['requests_arrived'])} requests and {data['offers_arrived']} offers arrived"
             + (f" (left out, never in a pot: {left})" if left else "")
             + f"; answer times drawn by seeds 1-{data['seeds']}, median (5th to 95th percentile); rule 9 "
             f"counts a home a member gives from the stage named in each column. Nothing was written "
             f"to the database.")
    return "\n".join([intro, ""] + _choices_table(data)) + "\n"


def _choices_table(data: dict) -> list[str]:
    """One row per measure, one column per choice; a figure is marked where its 5-95% range
    overlaps the column to its left (the neighbouring stage) though their medians differ."""
    choices = list(data["choices"])
    lines = ["| measure | " + " | ".join(choices) + " |", "|---|" + "---:|" * len(choices)]
    marked = False
    for key, label in GIVES_LABELS.items():
        cells = [data["choices"][c][key] for c in choices]
        marks = [False] + [_uncertain(left, right) for left, right in zip(cells, cells[1:])]
        marked = marked or any(marks)
        lines.append(f"| {label} | " + " | ".join(_spread_cell(c, m) for c, m in zip(cells, marks)) + " |")
    if marked:
        lines += ["", f"{OVERLAP_MARK} its 5-95% range overlaps the column to its left: the difference may be "
                  f"the seeds', not the rule's."]
    return lines
