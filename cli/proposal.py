"""`reciprocal proposal ...`: a proposal's stages (docs/config.md, Lifecycle terms), one change at a time."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from reciprocal.domain import LIVE_PROPOSAL, ProposalStatus, RefusedBy, Role

from cli.context import (FORMAT_HELP, ON_HELP, Settings, day_or_today, out, parse_date, parse_format, print_json,
                         settings)
from cli.render import changes as print_changes
from cli.render import outcome as render_outcome
from cli.render import ALL_HELP, LIMIT, LIMIT_HELP, table
from cli.render import stage as stage_text

proposal_app = typer.Typer(help="Proposals through their stages: list, show, advance, refuse, sign, import.",
                           no_args_is_help=True)
STAGES = ", ".join(s.value for s in ProposalStatus)
ROLES = ", ".join(r.value for r in Role if r != Role.engine)


def _emit(result, fmt: str, empty: str) -> None:
    render_outcome(result, fmt, empty)


def _completed_ids(ctx: typer.Context, incomplete: str, stages: list[str] | None) -> list[tuple[str, str]]:
    """Shell completion of a proposal's id, with its pair and stage beside it. A database that
    is missing or unreadable completes nothing: completion never prints an error."""
    from reciprocal.lifecycle import views
    s = settings(ctx)
    db = s.db or ctx.find_root().params.get("db")
    try:
        rows = views.proposal_list(Settings(db=db).reader(), stages)
    except Exception:  # the shell shows nothing rather than a message in the middle of a line
        return []
    return [(str(r["id"]), f"{r['request']} -> {r['offer']}, {r['status']}") for r in rows
            if str(r["id"]).startswith(incomplete)]


def complete_any(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    return _completed_ids(ctx, incomplete, None)


def complete_live(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    return _completed_ids(ctx, incomplete, [s.value for s in LIVE_PROPOSAL])


def _proposal_id(complete):
    return typer.Argument(..., min=1, help="The proposal's id.", autocompletion=complete)


@proposal_app.command("list")
def proposal_list(ctx: typer.Context,
                  stage: Optional[list[str]] = typer.Option(None, "--stage", help=f"Only these stages ({STAGES}; "
                                                            f"'live' for every live stage). Repeatable."),
                  member: Optional[str] = typer.Option(None, "--member", help="Only proposals where this "
                                                       "member offers the home or referred the household."),
                  due_within: Optional[int] = typer.Option(None, "--due-within", min=0, max=3650,
                                                           help="Only proposals due within this many days."),
                  overdue: bool = typer.Option(False, "--overdue", help="Only proposals past their due date."),
                  on: Optional[str] = typer.Option(None, "--on", help="The day to judge due dates from "
                                                   "(default: today)."),
                  format: str = typer.Option("table", "--format", help=FORMAT_HELP),
                  limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
                  all_rows: bool = typer.Option(False, "--all", help=ALL_HELP)):
    """List proposals with their stage and due date, newest first."""
    from reciprocal.lifecycle import views
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    stages = None
    if stage:
        stages = []
        for value in stage:
            if value == "live":
                stages += [x.value for x in LIVE_PROPOSAL]
            elif value in {x.value for x in ProposalStatus}:
                stages.append(value)
            else:
                raise typer.BadParameter(f"'{value}' is not a stage ({STAGES}, live)", param_hint="--stage")
    if member is not None and member not in scheme.providers:
        raise typer.BadParameter(f"'{member}' is not a member of this scheme", param_hint="--member")
    day = day_or_today(on)
    from datetime import timedelta
    rows = views.proposal_list(s.reader(scheme=scheme), stages, member,
                               day + timedelta(days=due_within) if due_within is not None else None,
                               day if overdue else None)
    if fmt == "json":
        print_json(rows)
        return
    table(f"Proposals: {len(rows)}", ["id", "request", "offer", "from", "to", "stage", "since", "due"],
          [[r["id"], r["request"], r["offer"], r["from_provider"], r["to_provider"], stage_text(r["status"]),
            r["stage_on"], r["due_on"] or ""] for r in rows], None if all_rows else limit,
          empty="No proposals" + (" match those filters." if stage or member or due_within is not None or overdue
                                  else " yet: `reciprocal round run` makes them."))


@proposal_app.command("show")
def proposal_show(ctx: typer.Context, proposal_id: int = _proposal_id(complete_any),
                  format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Show one proposal: its stage, due date, reasons and its whole trail."""
    from reciprocal.lifecycle import views
    fmt = parse_format(format)
    view = views.proposal_view(settings(ctx).reader(), proposal_id)
    if fmt == "json":
        print_json(view)
        return
    out.print(f"Proposal {view['id']}: {view['request']} -> {view['offer']} ({view['from_provider']} -> "
              f"{view['to_provider']}), {view['status']} since {view['stage_on']}"
              + (f", due {view['due_on']}" if view["due_on"] else ""), markup=False)
    for reason in view.get("reasons", []):
        out.print(f"  {reason}", markup=False)
    table("Trail", ["#", "on", "from", "to", "role", "detail"],
          [[e["seq"], e["on"], e["from"] or "", e["to"], e["role"],
            ", ".join(f"{k} {v}" for k, v in e["detail"].items() if v is not None)] for e in view["trail"]])


@proposal_app.command("advance")
def proposal_advance(ctx: typer.Context, proposal_id: int = _proposal_id(complete_live),
                     to: Optional[str] = typer.Option(None, "--to", help="The stage it enters (default: the "
                                                      "next: nomination_confirmed, viewing, accepted)."),
                     viewing_on: Optional[str] = typer.Option(None, "--viewing-on",
                                                              help="The viewing's date, YYYY-MM-DD."),
                     by: str = typer.Option("coordinator", "--by", help=f"Who answered ({ROLES})."),
                     on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                     format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Move a proposal to its next stage (signing is `proposal sign`)."""
    from reciprocal.lifecycle import run
    fmt = parse_format(format)
    stage = _choice(ProposalStatus, to, "--to") if to else None
    role = _choice(Role, by, "--by")
    s = settings(ctx)
    scheme = s.scheme()
    outcome = run.advance(s.database(scheme=scheme), scheme, proposal_id, day_or_today(on), role, stage,
                          parse_date(viewing_on, "--viewing-on") if viewing_on else None)
    _emit(outcome, fmt, f"Proposal {proposal_id} is already {to}; nothing changed.")


@proposal_app.command("refuse")
def proposal_refuse(ctx: typer.Context, proposal_id: int = _proposal_id(complete_live),
                    by: str = typer.Option(..., "--by", help="Who refused: household, offering_landlord or "
                                           "referring_landlord."),
                    reason: str = typer.Option(..., "--reason", help="A reason code from the scheme's "
                                               "lifecycle.refusal_reasons."),
                    note: Optional[str] = typer.Option(None, "--note", help="Free text beside the code (no "
                                                       "names or addresses)."),
                    reasonable: Optional[bool] = typer.Option(None, "--reasonable/--not-reasonable",
                                                              help="For a household refusal: was the home a "
                                                                   "reasonable offer?"),
                    resolve: bool = typer.Option(True, help="Offer the freed home to the free pot's "
                                                 "households in the same week."),
                    on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                    format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """End a proposal as refused; the home and household go back to the pot."""
    from reciprocal.lifecycle import run
    fmt = parse_format(format)
    party = _choice(RefusedBy, by, "--by")
    s = settings(ctx)
    scheme = s.scheme()
    outcome = run.refuse(s.database(scheme=scheme), scheme, proposal_id, day_or_today(on), party, reason,
                         note or "", reasonable, resolve)
    _emit(outcome, fmt, f"Proposal {proposal_id} was already refused; nothing changed.")


@proposal_app.command("sign")
def proposal_sign(ctx: typer.Context, proposal_id: int = _proposal_id(complete_live),
                  tenancy_start: str = typer.Option(..., "--tenancy-start", help="The new tenancy's start "
                                                    "date, YYYY-MM-DD: the move's date."),
                  on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                  format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Record the signed tenancy: the move (ledger, checklist, home let, household moved); safe to repeat."""
    from reciprocal.lifecycle import run
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    outcome = run.sign(s.database(scheme=scheme), scheme, proposal_id,
                       parse_date(tenancy_start, "--tenancy-start"), day_or_today(on))
    _emit(outcome, fmt, f"Proposal {proposal_id} was already signed; nothing changed, no move doubled.")


def _choice(enum, value: str, option: str):
    try:
        return enum(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(e.value for e in enum)}",
                                 param_hint=option) from None


@proposal_app.command("import")
def proposal_import(ctx: typer.Context,
                    file: Path = typer.Argument(..., help="CSV or XLSX decisions file: proposal, action, on, "
                                                "and viewing_on, by, reason, note, reasonable, "
                                                "tenancy_start where the action needs them."),
                    format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Apply a decisions file (one row per proposal update): all rows or none; safe to repeat."""
    from reciprocal.lifecycle import decisions
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    result = decisions.import_decisions(s.database(scheme=scheme), scheme, file)
    if fmt == "json":
        print_json(result.to_json())
        return
    out.print(f"Imported {escape(file.name)}: {result.applied} decision(s) applied, {result.already} "
              f"already applied.")
    print_changes(result.changes, "Nothing changed.")
