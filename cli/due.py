"""`reciprocal due`: everything due or overdue in the next N working days, by member."""
from __future__ import annotations

from typing import Optional

import typer

from cli.context import FORMAT_HELP, day_or_today, parse_date, parse_format, print_json, settings
from cli.render import ALL_HELP, LIMIT, LIMIT_HELP, stage, table


def due(ctx: typer.Context,
        within: int = typer.Option(5, "--within", min=0, max=260, help="Working days ahead to look."),
        on: Optional[str] = typer.Option(None, "--on", help="The day to look from, YYYY-MM-DD (default: today)."),
        for_provider: Optional[str] = typer.Option(None, "--for-provider", help="Only what that member must "
                                                   "do, as it may see it."),
        since: Optional[str] = typer.Option(None, "--since", help="Show households and homes updated from "
                                            "this day, YYYY-MM-DD (default: since each member's last pack)."),
        format: str = typer.Option("table", "--format", help=FORMAT_HELP),
        limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
        all_rows: bool = typer.Option(False, "--all", help=ALL_HELP)):
    """What is due or overdue, by the member who must act: proposal stages, holds to look at again, and
    households and homes updated since the member's last pack."""
    from reciprocal.lifecycle import views
    from reciprocal.working_days import add_working_days
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    day = day_or_today(on)
    until = add_working_days(day, within)
    rows = views.due_for(s.reader(scheme=scheme), scheme, day, until, for_provider,
                         parse_date(since, "--since") if since else None)
    if fmt == "json":
        print_json({"on": day.isoformat(), "until": until.isoformat(), "for_provider": for_provider,
                    "items": rows})
        return
    table(f"Due by {until.isoformat()} ({within} working day(s) from {day.isoformat()}): {len(rows)}",
          ["member", "what", "ref", "request", "offer", "stage", "due", "overdue", "to do"],
          [[r["member"], r["what"], r["ref"], r["request"], r["offer"] or "", stage(r["status"]), r["due_on"],
            stage("OVERDUE") if r["overdue"] else "", r["action"]] for r in rows], None if all_rows else limit,
          empty=f"Nothing due by {until.isoformat()} ({within} working day(s) from {day.isoformat()})"
                + (f" for {for_provider}." if for_provider else "."))
