"""The table of `reciprocal.simulation.gives.compare_gives`: one row per measure, one column per
choice of `fairness.gives_count_from`, each cell the median over seeds and the range (Markdown, the
form docs/simulation.md quotes)."""
from __future__ import annotations

LABELS = {"households_moved": "households moved (signed)",
          "high_risk_moved": "high-risk households moved",
          "median_weeks_to_tenancy_start": "median weeks, request to tenancy start",
          "worst_homes_past_limit": "worst homes past a limit",
          "median_homes_past_limit": "median homes past a limit, when past",
          "member_weeks_past_limit": "member-weeks past a limit",
          "lowest_ledger_headroom": "lowest headroom the ledger reached"}


def _cell(s: dict) -> str:
    if s["median"] is None:
        return "-"
    if s["min"] == s["max"]:
        return _number(s["median"])
    return f"{_number(s['median'])} ({_number(s['min'])} to {_number(s['max'])})"


def _number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def render_gives(data: dict) -> str:
    choices = list(data["choices"])
    requests = data["requests_arrived"]
    lines = [f"{data['scheme']}, setting {data['setting']}, seeds 1-{data['seeds']}, {data['weeks']} weeks "
             f"(a round every week), {_cell(requests)} requests arrived; median over seeds (lowest to "
             f"highest); rule 9 counts a home a member gives from the stage named in each column", "",
             "| measure | " + " | ".join(choices) + " |", "|---|" + "---:|" * len(choices)]
    for key, label in LABELS.items():
        lines.append(f"| {label} | " + " | ".join(_cell(data["choices"][c][key]) for c in choices) + " |")
    return "\n".join(lines) + "\n"
