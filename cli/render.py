"""Rich rendering of rounds, the pot and the ledger. Data cells are escaped: a note with square
brackets is shown as typed, never read as markup.

Tables fit the terminal without cutting a value: ids, names and dates never wrap and are never
shortened; free text (reasons, notes) wraps; a header longer than its values is broken at its
spaces. When the ids alone are wider than the terminal, each row is printed as a short block of
`column value` pairs instead (the stacked layout). Long lists show their first rows and say how
many more there are (`--limit N`, `--all`); JSON output is never cut. Colour marks what carries
meaning (stages, statuses, negative balances, overdue items); Rich drops it when the output is not
a terminal."""
from __future__ import annotations

import textwrap
from collections import Counter

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.context import out
from reciprocal.errors import printable

LIMIT = 20
LIMIT_HELP = f"Rows to list in each table (default {LIMIT}); JSON output always lists every one."
ALL_HELP = "List every row in the tables (as JSON does)."
BOUNDS_HELP = "Show the objectives table: each level's value, proven bound, gap and status."

# Free text that may wrap; every other column (ids, names, dates, numbers) keeps its values whole.
WRAPPING = {"why", "reason", "to do", "safe areas", "restrictions", "detail", "item", "value",
            "notes", "by band", "measure", "areas"}
# How many columns a wrapping column needs at least before the stacked layout is the better one.
MIN_TEXT = 16

STAGE_STYLES = {
    # proposals
    "proposed": "cyan", "nomination_confirmed": "cyan", "viewing": "cyan", "accepted": "green",
    "signed": "bold green", "refused": "red", "lapsed": "red", "cancelled": "dim",
    # offers
    "available": "green", "let": "bold green", "withdrawn": "dim", "let_outside_scheme": "dim",
    # requests
    "referred": "cyan", "active": "green", "on_hold": "yellow", "stale": "yellow", "review": "yellow",
    "moved": "bold green", "closed": "dim",
    # solver levels, audits
    "OPTIMAL": "green", "OVERDUE": "bold red", "BREACHED": "bold red", "met": "green",
}


def stage(value) -> Text | str:
    """A stage or status, coloured by what it means (no colour when piped)."""
    if value is None or value == "":
        return ""
    text = str(value)
    return Text(text, style=STAGE_STYLES.get(text, "bold red" if text.isupper() else ""))


def signed(value: int | None, text: str | None = None) -> Text:
    """A balance: red when the member owes homes."""
    if value is None:
        return Text("")
    return Text(text if text is not None else f"{value:+d}", style="red" if value < 0 else "")


def _cell(value) -> Text | str:
    if isinstance(value, Text):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return escape(printable(", ".join(str(v) for v in value)))
    return escape(printable(str(value)))


def _plain(cell) -> str:
    return cell.plain if isinstance(cell, Text) else Text.from_markup(cell).plain


def _header(name: str, cells: list[str], wrapping: bool) -> str:
    """A header no wider than its column's values: broken at its spaces when they are narrower."""
    widest = max((len(line) for c in cells for line in c.splitlines() or [""]), default=0)
    if wrapping or len(name) <= widest or " " not in name:
        return name
    lines, line = [], ""
    for word in name.split(" "):
        if line and len(line) + 1 + len(word) > max(widest, max(len(w) for w in name.split(" "))):
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join(lines + [line])


def more(shown: int, total: int, what: str = "") -> None:
    """The line under a cut list: how many were left out and how to see them."""
    if total > shown:
        noun = f" {what}" if what else ""
        out.print(f"... and {total - shown} more{noun}: --all to list every one, --limit N to list N.",
                  markup=False, highlight=False)


def table(title: str | Text, columns: list[str], rows: list[list], limit: int | None = None,
          width: int | None = None, empty: str | None = None) -> None:
    """A table of `rows` (the first `limit` of them, then a line saying how many more), laid out
    to fit the terminal: see the module's docstring. With no rows and an `empty` sentence, that
    sentence instead of a table with only its headers."""
    if not rows and empty is not None:
        out.print(empty, markup=False)
        return
    total = len(rows)
    rows = rows if limit is None else rows[:limit]
    cells = [[_cell(v) for v in r] for r in rows]
    plain = [[_plain(c) for c in r] for r in cells]
    wraps = [c in WRAPPING for c in columns]
    headers = [_header(c, [r[k] for r in plain], wraps[k]) for k, c in enumerate(columns)]
    need = 0
    for k, header in enumerate(headers):
        longest = max((len(line) for r in plain for line in r[k].splitlines() or [""]), default=0)
        head = max(len(line) for line in header.splitlines())
        if wraps[k]:
            words = max((len(w) for r in plain for w in r[k].split()), default=0)
            need += max(min(longest, MIN_TEXT), min(words, MIN_TEXT), min(head, MIN_TEXT))
        else:
            need += max(longest, head)
    room = width or out.width
    if rows and need + 3 * len(columns) + 1 > room and need + len(columns) > room:
        _stacked(title, columns, cells, room)
    else:
        # Borders cost three columns a column; without them (one space between columns) a wide
        # list still fits as a table.
        framed = need + 3 * len(columns) + 1 <= room
        t = Table(title=title, title_justify="left", show_lines=False,
                  **({} if framed else {"box": None, "padding": (0, 1, 0, 0), "pad_edge": False,
                                        "header_style": "bold underline"}))
        for header, wrap in zip(headers, wraps):
            t.add_column(header, no_wrap=not wrap, overflow="fold")
        for r in cells:
            t.add_row(*r)
        out.print(t)
    more(len(rows), total)


def _stacked(title: str | Text, columns: list[str], cells: list[list], room: int) -> None:
    """One block per row: `column value` pairs packed into lines no wider than the terminal, the
    first at the margin and the rest indented (a pair is never split unless it alone is wider)."""
    out.print(title if isinstance(title, Text) else Text.from_markup(title), soft_wrap=False)
    for r in cells:
        lines: list[Text] = []
        line = Text()
        for k, (name, cell) in enumerate(zip(columns, r)):
            value = cell if isinstance(cell, Text) else Text(_plain(cell))
            if not value.plain:
                continue
            pair = Text.assemble(Text(name, style="dim"), " ", value)
            if k == 0:
                pair.stylize("bold")
            if line.plain.strip() and line.cell_len + 3 + pair.cell_len > room:
                lines.append(line)
                line = Text("  ")
            elif line.plain.strip():
                line.append(" · ", style="dim")
            line.append_text(pair)
        lines.append(line)
        for text in lines:
            out.print(text, soft_wrap=False, overflow="fold")



def _counts(label: str, counter: Counter, limit: int | None) -> None:
    """`label: name n, name n, ...`, most first, wrapped between pairs, never inside one."""
    items = counter.most_common()
    shown = items if limit is None else items[:limit]
    pairs = [f"{k}\u00a0{n}," for k, n in shown]
    if len(items) > len(shown):
        pairs.append(f"and\u00a0{len(items) - len(shown)}\u00a0more")
    elif pairs:
        pairs[-1] = pairs[-1].rstrip(",")
    lines = textwrap.wrap(f"{label}: " + " ".join(pairs), max(out.width, 40), subsequent_indent="  ",
                          break_long_words=False, break_on_hyphens=False)
    for line in lines:
        out.print(line.replace("\u00a0", " "), markup=False, highlight=False)


def round_view(view: dict, limit: int | None = LIMIT, bounds: bool = False) -> None:
    """A round, summary first: counts of proposals and of unmatched requests by reason and by
    member, the objectives in one line (every level not proven optimal named), then the first
    `limit` proposals and unmatched requests (None: all), and the objectives table with `bounds`."""
    proposals, unmatched = view["proposals"], view["unmatched"]
    out.print(f"[bold]Round {view['round']}[/bold] on {view['on']}: {len(proposals)} proposal(s), "
              f"{len(unmatched)} request(s) unmatched.")
    if unmatched:
        _counts("Unmatched, by reason", Counter(u.get("reason_code") or "other" for u in unmatched), None)
        members = Counter(u["provider"] for u in unmatched if u.get("provider"))
        if members:
            _counts("Unmatched, by member", members, limit)
    objectives_line(view["objectives"], view["solve_seconds"])
    rows = []
    for p in proposals:
        why = _short_why(p)
        if p.get("made_on") and p["made_on"] != view["on"]:  # a re-offer, made after the round
            why = f"{p['made_by']}; {why}"
        if p["status"] in ("refused", "lapsed", "cancelled"):
            why = f"{p['status']}: " + ", ".join(x for x in (p.get("refusal_reason"), p.get("decline_reason")) if x)
        rows.append([p["id"], p["request"], p["offer"], p["from_provider"], p["to_provider"],
                     stage(p["status"]), p.get("due_on") or "", why])
    table(f"Proposals ({len(rows)})", ["id", "request", "offer", "from", "to", "stage", "due", "why"], rows,
          limit)
    offered_for = view.get("for_request") or []
    if offered_for:
        table(f"Homes offered for a household ({len(offered_for)})", ["offer", "for", "proposed", "why"],
              [[f["offer"], f["request"], f["proposed"], f["reason"]] for f in offered_for], limit)
    if unmatched:
        table(f"Unmatched requests ({len(unmatched)})", ["request", "reason"],
              [[u["request"], u["reason"]] for u in unmatched], limit)
    if bounds or not _all_optimal(view["objectives"]):
        objectives(view["objectives"], view["solve_seconds"])


def _short_why(p: dict) -> str:
    reasons = p.get("reasons", [])
    priority = reasons[1] if len(reasons) > 1 else ""
    offered = "offered for this household; " if p.get("for_request") else ""
    if "preferences_met" not in p:  # withheld from a member's view (reciprocal.scope)
        return f"{offered}{priority}"
    prefs = ", ".join(p["preferences_met"]) or "no preference met"
    return f"{offered}{priority}; {prefs}"


def _all_optimal(levels: list[dict]) -> bool:
    return all(o.get("status") == "OPTIMAL" for o in levels)


def objectives_line(levels: list[dict], seconds: float) -> None:
    """The solver's answer in one line when every level is proven optimal; otherwise each level
    that is not, named plainly with its value, bound and gap."""
    pinned = max((o.get("pinned_pairs", 0) for o in levels), default=0)
    given = f", given the {pinned} home(s) offered for their household" if pinned else ""
    if not levels:
        out.print("Objectives: none solved (nothing to match).", markup=False)
        return
    if _all_optimal(levels):
        out.print(f"Objectives: all {len(levels)} levels proven optimal{given} (solve {seconds:.3f} s; "
                  f"--bounds to see them).", markup=False, soft_wrap=False)
        return
    for k, o in enumerate(levels):
        if o.get("status") != "OPTIMAL":
            line = Text(f"Objective {k + 1} ({o['name']}) NOT proven optimal: {o.get('status') or 'no status'}, "
                        f"value {o['value']}, proven bound {o['bound']}, gap {o.get('gap', 0):.2%}."
                        + (f" {o['note'][0].upper()}{o['note'][1:]}." if o.get("note") else ""),
                        style="bold red")
            out.print(line, soft_wrap=False)


def objectives(levels: list[dict], seconds: float) -> None:
    rows = [[i + 1, o["name"], o["sense"], o["value"], o["bound"], f"{o.get('gap', 0):.2%}",
             stage(o.get("status", ""))] for i, o in enumerate(levels)]
    pinned = max((o.get("pinned_pairs", 0) for o in levels), default=0)
    given = f"; optimal given the {pinned} home(s) offered for their household" if pinned else ""
    table(f"Objectives, in order (solve {seconds:.3f} s{given})",
          ["#", "objective", "sense", "value", "proven bound", "gap", "status"], rows)


def balances(data: dict, limit: int | None = None) -> None:
    """The ledger's balances; a list longer than `limit` is cut, most owing first."""
    providers = data["providers"]
    title = "Ledger balances (given - received)"
    if limit is not None and len(providers) > limit:
        providers = sorted(providers, key=lambda p: (p["balance"], p["provider"]))
        title += ", most owing first"
    bands = sorted({b for p in providers for b in p["by_band"]})
    rows = [[p["provider"], p["given"], p["received"], signed(p["balance"]), p["max_debt"],
             *[_band(p["by_band"].get(b, 0)) for b in bands]] for p in providers]
    table(title, ["provider", "given", "received", "balance", "debt limit", *bands], rows, limit)
    out.print(f"Sum of balances: {data['sum_of_balances']} (always 0)")


def _band(value: int) -> Text:
    return Text(str(value), style="red" if value < 0 else "")


def changes(outcome_changes: list, empty: str = "Nothing changed.") -> None:
    """Every state change a command caused, one line each (nothing changes
    silently)."""
    if not outcome_changes:
        out.print(empty, markup=False)
    for change in outcome_changes:
        out.print("  " + change.line(), markup=False)


def outcome(result, fmt: str, empty: str) -> None:
    """A command's `Outcome`: its changes, one line each, or as JSON (the same changes)."""
    if fmt == "json":
        from cli.context import print_json
        print_json(result.to_json())
        return
    changes(result.changes, empty)
