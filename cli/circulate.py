"""`reciprocal circulate`: each member's circulation list (README: Weeks of rounds, worked)."""
from __future__ import annotations

from typing import Optional

import typer
from rich.text import Text

from cli.context import FORMAT_HELP, day_or_today, out, parse_format, print_json, settings
from cli.render import ALL_HELP, LIMIT, LIMIT_HELP, signed, table


def circulate(ctx: typer.Context,
              for_provider: Optional[str] = typer.Option(None, "--for-provider", help="One member's list, "
                                                         "as that member may see it."),
              on: Optional[str] = typer.Option(None, "--on", help="The day, YYYY-MM-DD (default: today)."),
              format: str = typer.Option("table", "--format", help=FORMAT_HELP),
              limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
              all_rows: bool = typer.Option(False, "--all", help=ALL_HELP)):
    """The active requests each member's stock could serve, most urgent first, with its balance."""
    from reciprocal.lifecycle.circulate import balance_words
    from reciprocal.lifecycle.circulate import circulate as circulation_of
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    data = circulation_of(s.reader(scheme=scheme), scheme, day_or_today(on), for_provider)
    if fmt == "json":
        print_json(data)
        return
    if for_provider is None:
        waiting = [m for m in data["members"] if m["requests"]]
        if not all_rows and len(waiting) > limit:
            # At scale one table per member is thousands of lines: one line per member instead
            # (those that owe the scheme first), each member's own list a command away.
            _members_table(waiting, limit)
            _unserved(data["no_member_can_serve"], limit)
            return
    for m in [data["member"]] if for_provider else data["members"]:
        if for_provider is None and not m["requests"]:
            continue
        title = Text.assemble(f"{m['name']} ({m['member']}): ", signed(m["balance"], balance_words(m["balance"])),
                              f"; {len(m['requests'])} household(s) waiting for a home in your areas")
        table(title,
              ["request", "landlord", "risk", "bedrooms", "step free", "wheelchair", "weeks waiting", "safe areas"],
              [[r["request"], r["landlord"] + (" (at debt limit)" if r.get("landlord_at_debt_limit") else ""),
                r["risk"], r["bedrooms_needed"], r["needs_step_free"],
                r["needs_wheelchair"], r["weeks_waiting"], r["safe_areas"]] for r in m["requests"]],
              None if all_rows else limit)
        if any(r.get("landlord_at_debt_limit") for r in m["requests"]):
            out.print("  (at debt limit): that landlord has no headroom (rule 9); a home offered for its "
                      "household now goes into the pot.", markup=False)
    if for_provider is None:
        _unserved(data["no_member_can_serve"], None if all_rows else limit)


def _members_table(waiting: list[dict], limit: int) -> None:
    households = len({r["request"] for m in waiting for r in m["requests"]})
    out.print(f"{len(waiting)} member(s) could serve {households} waiting household(s): one line a member,\n"
              f"those owing the scheme first. One member's list: --for-provider MEMBER;\n"
              f"every list: --all or --format json.", markup=False)
    table("Members and the households their stock could serve",
          ["member", "balance", "max debt", "households", "high risk", "longest wait (weeks)"],
          [[m["member"], signed(m["balance"]), m["max_debt"], len(m["requests"]),
            sum(r["risk"] == "high" for r in m["requests"]),
            max(r["weeks_waiting"] for r in m["requests"])] for m in waiting], limit)


def _unserved(refs: list[str], limit: int | None) -> None:
    if not refs:
        out.print("Requests no member could serve: none.", markup=False)
        return
    shown = refs if limit is None else refs[:limit]
    rest = f", and {len(refs) - len(shown)} more (--all or --format json)" if len(shown) < len(refs) else ""
    out.print(f"Requests no member could serve ({len(refs)}): {', '.join(shown)}{rest}.", markup=False)
