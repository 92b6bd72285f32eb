"""Rich rendering of rounds, the pot and the ledger. Data cells are escaped: a note with square
brackets is shown as typed, never read as markup."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from cli.context import out
from reciprocal.errors import printable


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return escape(printable(str(value)))


def table(title: str, columns: list[str], rows: list[list]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[_cell(v) for v in r])
    out.print(t)


def round_view(view: dict) -> None:
    out.print(f"[bold]Round {view['round']}[/bold] on {view['on']}")
    rows = []
    for p in view["proposals"]:
        why = _short_why(p)
        if p["status"] in ("refused", "lapsed", "cancelled"):
            why = f"{p['status']}: " + ", ".join(x for x in (p.get("refusal_reason"), p.get("decline_reason")) if x)
        rows.append([p["id"], p["request"], p["offer"], p["from_provider"], p["to_provider"],
                     p["status"], p.get("due_on") or "", why])
    table(f"Proposals ({len(rows)})", ["id", "request", "offer", "from", "to", "stage", "due", "why"], rows)
    offered_for = view.get("for_request") or []
    if offered_for:
        table(f"Homes offered for a household ({len(offered_for)})", ["offer", "for", "proposed", "why"],
              [[f["offer"], f["request"], f["proposed"], f["reason"]] for f in offered_for])
    table(f"Unmatched requests ({len(view['unmatched'])})", ["request", "reason"],
          [[u["request"], u["reason"]] for u in view["unmatched"]])
    objectives(view["objectives"], view["solve_seconds"])


def _short_why(p: dict) -> str:
    reasons = p.get("reasons", [])
    priority = reasons[1] if len(reasons) > 1 else ""
    offered = "offered for this household; " if p.get("for_request") else ""
    if "preferences_met" not in p:  # withheld from a member's view (reciprocal.scope)
        return f"{offered}{priority}"
    prefs = ", ".join(p["preferences_met"]) or "no preference met"
    return f"{offered}{priority}; {prefs}"


def objectives(levels: list[dict], seconds: float) -> None:
    rows = [[i + 1, o["name"], o["sense"], o["value"], o["bound"], f"{o.get('gap', 0):.2%}",
             o.get("status", "")] for i, o in enumerate(levels)]
    pinned = max((o.get("pinned_pairs", 0) for o in levels), default=0)
    given = f"; optimal given the {pinned} home(s) offered for their household" if pinned else ""
    table(f"Objectives, in order (solve {seconds:.3f} s{given})",
          ["#", "objective", "sense", "value", "proven bound", "gap", "status"], rows)


def balances(data: dict) -> None:
    bands = sorted({b for p in data["providers"] for b in p["by_band"]})
    rows = [[p["provider"], p["given"], p["received"], f"{p['balance']:+d}", p["max_debt"],
             *[p["by_band"].get(b, 0) for b in bands]] for p in data["providers"]]
    table("Ledger balances (given - received)",
          ["provider", "given", "received", "balance", "max_debt", *bands], rows)
    out.print(f"Sum of balances: {data['sum_of_balances']} (always 0)")


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
