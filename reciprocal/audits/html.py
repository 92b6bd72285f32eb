"""The fairness audit as one self-contained HTML file: tables and inline SVG charts, no script, no
network, so it opens offline in any browser and can be mailed to the board as it is.

Charts: each member's balance over the period the page states, dated (small multiples on one
scale, with its debt limit; above twelve members, those that matter, the rest counted), and the
moves between members as a matrix (old landlord down, new landlord across). A chart with nothing
to draw says so. Labels are in the board's words, with a measure's technical name in small print;
an empty cell reads "none". Line charts come from `reciprocal.charts`; the matrix is drawn here.
"""
from __future__ import annotations

from datetime import date
from html import escape

from reciprocal.audits.fairness import board_table, board_title
from reciprocal.charts import (PALETTE, ReferenceLine, Series, date_axis, html_page, line_chart,
                               members_that_matter, nice_ticks, nothing_to_draw)

CELL = 30


def _td(value) -> str:
    if value is None or value == "" or value == []:
        return '<td class="none">none</td>'
    if isinstance(value, bool):
        return f'<td class="{"ok" if value else "bad"}">{"yes" if value else "no"}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(columns: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def moves_matrix_svg(moves_between: list[dict], origins: list[str], destinations: list[str],
                     title: str = "Moves between providers") -> str:
    """A heat-map matrix: one row per old landlord, one column per new landlord, the number of
    households moved in each cell (darker is more). Empty rows and columns are kept so that the
    grid is the same for every period."""
    counts = {(m["from_provider"], m["to_provider"]): m["moves"] for m in moves_between}
    top = max(counts.values(), default=0)
    label_w = 8 + 7 * max((len(p) for p in origins), default=4)
    head_h = 24 + int(5.2 * max((len(p) for p in destinations), default=4))
    # Room on the right for the last column's slanted label.
    width = label_w + CELL * len(destinations) + 20 + int(3.5 * max((len(p) for p in destinations),
                                                                    default=4))
    height = head_h + CELL * len(origins) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'style="font-family:system-ui,sans-serif">', f"<title>{escape(title)}</title>"]
    for j, to in enumerate(destinations):
        x = label_w + CELL * j + CELL / 2
        parts.append(f'<text x="{x:.1f}" y="{head_h - 6}" font-size="10" fill="#222" '
                     f'transform="rotate(-60 {x:.1f} {head_h - 6})">{escape(to)}</text>')
    for i, origin in enumerate(origins):
        y = head_h + CELL * i
        parts.append(f'<text x="{label_w - 6}" y="{y + CELL / 2 + 4:.1f}" text-anchor="end" '
                     f'font-size="10" fill="#222">{escape(origin)}</text>')
        for j, to in enumerate(destinations):
            n = counts.get((origin, to), 0)
            x = label_w + CELL * j
            shade = "#f4f4f4" if origin == to else "#ffffff"
            opacity = 0.15 + 0.85 * n / top if n and top else 0
            parts.append(f'<rect x="{x}" y="{y}" width="{CELL - 1}" height="{CELL - 1}" fill="{shade}" '
                         f'stroke="#ddd"/>')
            if n:
                parts.append(f'<rect x="{x}" y="{y}" width="{CELL - 1}" height="{CELL - 1}" '
                             f'fill="{PALETTE[0]}" fill-opacity="{opacity:.2f}">'
                             f"<title>{escape(origin)} to {escape(to)}: {n}</title></rect>")
                colour = "#fff" if opacity > 0.55 else "#111"
                parts.append(f'<text x="{x + CELL / 2:.1f}" y="{y + CELL / 2 + 4:.1f}" '
                             f'text-anchor="middle" font-size="11" fill="{colour}">{n}</text>')
    parts.append(f'<text x="{label_w}" y="{height - 8}" font-size="10" fill="#444">rows: the '
                 f"household's old landlord; columns: its new landlord</text>")
    parts.append("</svg>")
    return "\n".join(parts)


KEEP = 12  # above this many members, the balance charts draw the members that matter


def balance_charts(report: dict) -> str:
    """One small step chart per member on a shared scale, with its debt limit, over the period the
    page states (dates on the axis). Above `KEEP` members, those past their limit and those with
    the largest balances are drawn and the rest are counted."""
    history = report["balance_history"]
    period = report["period"]
    since, until = date.fromisoformat(period["since"]), date.fromisoformat(period["until"])
    if not history["dates"] or not history["providers"]:
        return nothing_to_draw("no ledger entry in the period", title="Balances", width=420)
    days = [date.fromisoformat(d) for d in history["dates"]]
    origin = min(days[0], since)
    xs = [(d - origin).days for d in days]
    end = (max(until, days[-1]) - origin).days
    limits = {r["provider"]: r["max_debt"] for r in report["providers"]}
    values = [v for series in history["providers"].values() for v in series]
    values += [-m for p, m in limits.items() if m is not None and p in history["providers"]]
    ticks = nice_ticks(min(values + [0]), max(values + [1]), 4, integer=True)
    y_range = (ticks[0], ticks[-1])
    everyone = dict(sorted(history["providers"].items()))
    chosen = members_that_matter(everyone, limits, KEEP)
    label = date_axis(origin, end)
    charts = []
    for k, provider in enumerate(chosen.shown):
        series = list(everyone[provider])
        limit = limits.get(provider)
        refs = [ReferenceLine(-limit, f"limit -{limit}")] if limit is not None else []
        x_values = xs + ([end] if xs[-1] < end else [])  # the balance holds to the period's end
        series += [series[-1]] if xs[-1] < end else []
        charts.append(line_chart([Series(provider, series, color=PALETTE[k % 6], width=2)], x_values=x_values,
                                 title=provider, y_label="balance (homes)", width=280, height=180,
                                 y_range=y_range, reference_lines=refs, legend_limit=0, step=True,
                                 x_tick_label=label, x_range=(0, end)))
    note = ""
    if chosen.others:
        note = (f'<p class="note">Drawn: the {len(chosen.shown)} of {len(everyone)} members that matter '
                f"(any past its debt limit, then the largest balances). The other {chosen.others} are not "
                f"drawn: their balance stayed within &plusmn;{chosen.others_within} throughout.</p>")
    return note + '<div class="grid">\n' + "\n".join(charts) + "\n</div>"


# The scheme measures in the board's words; the technical name follows in small print.
MEASURES = {
    "moves": "households moved between members",
    "corrections": "moves corrected (their ledger entries reversed)",
    "sum_of_balances": "all balances added up (always 0)",
    "max_abs_balance": "the most homes any member owes or is owed",
    "gini_givings_vs_receivings": "how unevenly homes given match households housed (0: each member gives "
                                  "as much as it receives; 1: the givers and the receivers are different "
                                  "members)",
    "median_weeks_to_move": "median weeks from request to move",
    "providers_beyond_debt_limit": "members past their debt limit",
    "providers_short_of_offer_commitment": "members short of the homes they committed to offer",
    "providers_for_the_board": "members for the board",
    "providers_past_debt_limit": "members past their debt limit now, counting live proposals (a home they "
                                 "were giving fell through)",
    "checklist_outstanding": "post-move checklist items outstanding",
}


def measures_table(measures: dict) -> str:
    rows = []
    for key, value in measures.items():
        plain = MEASURES.get(key, key.replace("_", " "))
        tech = f' <span class="tech">({escape(key)})</span>' if key in MEASURES else ""
        shown = ", ".join(value) if isinstance(value, list) else value
        rows.append(f"<tr><td>{escape(plain)}{tech}</td>{_td(shown)}</tr>")
    return ("<table>\n<thead><tr><th>measure</th><th>value</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>")


def fairness_html(report: dict) -> str:
    """The whole report as one HTML page."""
    period = report["period"]
    scope = report.get("for_provider")
    title = f"Fairness audit: {report['scheme_name']}"
    m = report["scheme_measures"]
    parts = [f"<h1>{escape(title)}</h1>",
             f'<p class="note">Period {escape(period["since"])} to {escape(period["until"])}'
             + (f"; as provider <b>{escape(scope)}</b> may see it" if scope else "") + ".</p>",
             "<h2>Scheme measures</h2>", measures_table(m)]
    bands = report["bands"]
    columns = ["member", "homes given", "households housed", "balance", f"by band ({' / '.join(bands)})",
               "lowest balance", "debt limit (homes)", "debt limit met", "homes owed", "at limit since (weeks)",
               "counted balance", "past its limit (why)", "exposure",
               "offers made / expected", "commitment met", "offers owed",
               "households moved", "median weeks to move", "checklist outstanding"]
    rows = [[r["provider"], r["given"], r["received"], r["balance"],
             " / ".join(f"{r['balance_by_band'].get(b, 0):+d}" for b in bands), r["lowest_balance"],
             r["max_debt"], r["debt_limit_ok"], r["homes_owed"],
             r["at_limit_since"] and f"{r['at_limit_since']} ({r['weeks_at_limit']})",
             r["counted_balance"], r["why_past_limit"], r["exposure"],
             f"{r['offers_made']} / {'-' if r['offers_expected'] is None else r['offers_expected']}",
             r["offer_commitment_ok"], r["offers_owed"], r["households_moved"], r["median_weeks_to_move"],
             r["checklist_outstanding"]]
            for r in report["providers"]]
    parts += ["<h2>Members</h2>", '<div class="wide">' + _table(columns, rows) + "</div>"]
    parts += [f"<h2>{escape(board_title(report))}</h2>",
              '<p class="note">Members owing homes with no headroom left under the debt limit at the '
              "period's end (none of their tenants is placed until they give a home), longest first."
              "</p>", _table(*board_table(report["for_the_board"]))]
    parts += [f"<h2>Balance per member, {escape(period['since'])} to {escape(period['until'])}</h2>",
              '<p class="note">Homes given minus households housed by others, at the end of each '
              "day with a ledger entry; the dashed line is the member's debt limit.</p>",
              balance_charts(report)]
    providers = [r["provider"] for r in report["providers"]]
    destinations = [scope] if scope else providers
    parts += ["<h2>Moves between members</h2>",
              moves_matrix_svg(report["moves_between"], providers, destinations)
              if report["moves_between"] else
              nothing_to_draw("no household moved between members in the period", title="Moves between members")]
    items = report["checklist_outstanding"]
    parts += [f"<h2>Post-move checklist: {len(items)} item(s) outstanding</h2>",
              _table(["move", "request", "moved on", "item", "owner"],
                     [[i["move"], i["request"], i["moved_on"], i["item"], i["owner"]] for i in items])]
    parts += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in report["notes"]) + "</ul>"]
    style = ("<style>td.ok{color:#00683f}td.bad{color:#B00020;font-weight:600}td.none{color:#777}"
             ".wide{overflow-x:auto}.wide table{font-size:12px}.wide th{vertical-align:bottom}"
             ".wide td{white-space:nowrap}"
             "svg{background:#fff}</style>")
    return html_page(title, style + "\n" + "\n".join(parts))
