"""`reciprocal request ...`: import, list, withdraw, add, update, show, purge."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reciprocal.domain import REQUEST_FIELDS, RequestOutcome

from cli.context import FORMAT_HELP, ON_HELP, day_or_today, out, parse_date, parse_format, print_json, settings
from cli.render import ALL_HELP, LIMIT, LIMIT_HELP
from cli.render import outcome as render_outcome
from cli.pot import (BY_HELP, FOR_PROVIDER_HELP, STATUS_HELP, UPDATE_FILE_HELP, _add, _import, _list, _show,
                     _update, _withdraw)

APPROVED_HELP = ("The day their landlord approved the requests, YYYY-MM-DD: staleness "
                 "(`reconfirm_days`) counts from it when it is later than a household's referral. "
                 "Default: from each household's referral day, never the day of the import.")

request_app = typer.Typer(help="Property requests for members' households.", no_args_is_help=True)


@request_app.command("import")
def request_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX file of requests."),
                   referred: bool = typer.Option(False, "--referred", help="The requests await their "
                                                 "landlord's approval (`request approve REF`) before "
                                                 "they join the pot; default: active."),
                   on: Optional[str] = typer.Option(None, "--on", help=APPROVED_HELP)):
    """Import requests from CSV/XLSX: all rows or none; every bad row is listed."""
    _import(ctx, file, "request", referred, parse_date(on, "--on") if on is not None else None)



@request_app.command("list")
def request_list(ctx: typer.Context, status: str = typer.Option("active", help=STATUS_HELP),
                 provider: Optional[str] = typer.Option(None, help="Only this provider's requests."),
                 for_provider: Optional[str] = typer.Option(None, "--for-provider", help=FOR_PROVIDER_HELP),
                 format: str = typer.Option("table", "--format", help=FORMAT_HELP),
                 limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
                 all_rows: bool = typer.Option(False, "--all", help=ALL_HELP)):
    """List requests."""
    _list(ctx, "request", status, provider, format, for_provider, None if all_rows else limit)


@request_app.command("withdraw")
def request_withdraw(ctx: typer.Context, ref: str = typer.Argument(..., help="The request's ref."),
                     on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                     format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Withdraw a request: closed with outcome `withdrawn` (a live proposal for it is cancelled)."""
    _withdraw(ctx, "request", ref, on, parse_format(format))


def _change(ctx: typer.Context, action: str, ref: str, on: Optional[str], fmt: str, empty: str,
            **kwargs) -> None:
    from reciprocal.lifecycle import run
    s = settings(ctx)
    scheme = s.scheme()
    outcome = run.request_change(s.database(scheme=scheme), scheme, action, ref, day_or_today(on), **kwargs)
    render_outcome(outcome, fmt, empty)


@request_app.command("approve")
def request_approve(ctx: typer.Context, ref: str = typer.Argument(..., help="The request's ref."),
                    on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                    format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """A referred request approved by its landlord: active, in the pot and circulated."""
    _change(ctx, "approve", ref, on, parse_format(format), f"Request {ref} is already active; nothing changed.")


@request_app.command("hold")
def request_hold(ctx: typer.Context, ref: str = typer.Argument(..., help="The request's ref."),
                 reason: str = typer.Option(..., "--reason", help="Why it is on hold (no names)."),
                 until: str = typer.Option(..., "--until", help="The day to look again, YYYY-MM-DD."),
                 on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                 format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Put a request on hold (its live proposal, if any, is cancelled)."""
    _change(ctx, "hold", ref, on, parse_format(format), "Nothing changed.", reason=reason, until=parse_date(until, "--until"))


@request_app.command("resume")
def request_resume(ctx: typer.Context, ref: str = typer.Argument(..., help="The request's ref."),
                   on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                   format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Back in the pot after a hold or a review."""
    _change(ctx, "resume", ref, on, parse_format(format), f"Request {ref} is already active; nothing changed.")


@request_app.command("reconfirm")
def request_reconfirm(ctx: typer.Context,
                      refs: Optional[list[str]] = typer.Argument(None, help="The requests' refs."),
                      file: Optional[Path] = typer.Option(None, "--file", help="A CSV or XLSX file with a "
                                                          "`ref` (or `request`) column: every household "
                                                          "in it."),
                      on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                      format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Their landlords confirm the households still need to move (stale requests return to the
    pot): one or many refs, or a file; all or none, every ref that cannot be named at once."""
    from reciprocal.intake.readers import read_refs
    from reciprocal.lifecycle import run
    if not refs and file is None:
        raise typer.BadParameter("name one or more refs, or --file FILE", param_hint="REFS")
    named = [(ref, ("--option", None, None)) for ref in refs or []]
    if file is not None:
        named += [(ref, (file.name, line, column)) for line, ref, column in read_refs(file)]
    s = settings(ctx)
    scheme = s.scheme()
    outcome = run.reconfirm_many(s.database(scheme=scheme), scheme, named, day_or_today(on))
    render_outcome(outcome, parse_format(format), "Nothing changed.")


@request_app.command("close")
def request_close(ctx: typer.Context, ref: str = typer.Argument(..., help="The request's ref."),
                  outcome: str = typer.Option(..., "--outcome", help="moved_other_route, "
                                              "no_longer_needs_to_move, lost_contact or withdrawn."),
                  on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                  format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Close a request with its outcome (a live proposal for it is cancelled)."""
    try:
        value = RequestOutcome(outcome)
    except ValueError:
        raise typer.BadParameter(f"'{outcome}' is not an outcome ({', '.join(o.value for o in RequestOutcome)})",
                                 param_hint="--outcome") from None
    _change(ctx, "close", ref, on, parse_format(format), f"Request {ref} is already closed ({outcome}); nothing changed.",
            outcome=value)


@request_app.command("add")
def request_add(ctx: typer.Context,
                ref: str = typer.Option(..., help="The request's pseudonymous case code (letters, "
                                        "digits, - _ / .; no names)."),
                provider: str = typer.Option(..., help="The household's current landlord (a member id in "
                                             "the MoU config)."),
                kind: str = typer.Option(..., help="survivor or perpetrator."),
                current_tenancy: str = typer.Option(..., help="The tenancy held now, a tenancy kind of the "
                                                    "MoU config, e.g. secure, assured; a move never "
                                                    "grants a less secure one."),
                bedrooms_needed: str = typer.Option(..., help="Bedrooms the household needs, 0 to 10."),
                risk: str = typer.Option(..., help="high, medium or standard."),
                referred_on: str = typer.Option(..., help="The day the household was referred, YYYY-MM-DD."),
                max_bedrooms: Optional[str] = typer.Option(None, help="The most bedrooms it may be offered, "
                                                           "0 to 10 (default: the scheme's terms)."),
                needs_step_free: Optional[str] = typer.Option(None, help="yes or no: needs a home without "
                                                              "steps (default no)."),
                needs_wheelchair: Optional[str] = typer.Option(None, help="yes or no: needs a wheelchair-"
                                                               "accessible home (default no)."),
                avoid_areas: Optional[str] = typer.Option(None, help="Areas unsafe for this household, "
                                                          "separated by ; e.g. fenland;peterborough."),
                preferred_areas: Optional[str] = typer.Option(None, help="Areas the household would "
                                                              "rather live in, separated by ; (optional)."),
                age: Optional[str] = typer.Option(None, help="Age band where an offer's restriction needs "
                                                  "it: 16-24, 25-34, 35-44, 45-54, 55-64 or 65+."),
                survivor_area: Optional[str] = typer.Option(None, help="Perpetrator request: the area where "
                                                            "the survivor stays (never placed there or "
                                                            "near)."),
                survivor_consent: Optional[str] = typer.Option(None, help="Perpetrator request: yes or no, "
                                                               "the survivor consents to the move."),
                safety_decision_on: Optional[str] = typer.Option(None, help="Perpetrator request: the day "
                                                                 "the multi-agency decision found the move "
                                                                 "safe, YYYY-MM-DD."),
                on: Optional[str] = typer.Option(None, "--on", help=APPROVED_HELP)):
    """Add one request (fields as in the CSV)."""
    values = dict(locals())
    values.pop("ctx")
    _add(ctx, "request", {k: values[k] for k in REQUEST_FIELDS},
         parse_date(on, "--on") if on is not None else None)


@request_app.command("purge")
def request_purge(ctx: typer.Context,
                  closed_before: str = typer.Option(..., "--closed-before",
                                                    help="Purge requests moved or withdrawn before "
                                                         "this day, YYYY-MM-DD."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be purged."),
                  format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Remove closed households' details (data protection); moves and the ledger are kept whole."""
    from reciprocal.intake import purge
    fmt = parse_format(format)
    day = parse_date(closed_before, "--closed-before")
    result = purge.purge_closed(settings(ctx).database(), day, dry_run=dry_run)
    if fmt == "json":
        print_json(result.as_dict())
        return
    verb = "would purge" if dry_run else "purged"
    out.print(f"Closed before {day.isoformat()}: {verb} the details of {len(result.purged)} "
              f"household(s); {result.already_purged} already purged. Moves and the ledger are kept.",
              markup=False, soft_wrap=True)
    if result.purged:
        out.print("  " + ", ".join(result.purged), markup=False, soft_wrap=True)


@request_app.command("update")
def request_update(ctx: typer.Context,
                   ref: Optional[str] = typer.Argument(None, help="The request's ref (or --file)."),
                   risk: Optional[str] = typer.Option(None, help="high, medium or standard: a risk raised to "
                                                      "high takes effect in the next round's priority."),
                   bedrooms_needed: Optional[str] = typer.Option(None, help="Bedrooms the household needs now, "
                                                                 "0 to 10 (rule 3)."),
                   max_bedrooms: Optional[str] = typer.Option(None, help="The most bedrooms it may be offered, "
                                                              "0 to 10, or none for the scheme's terms (rule 3)."),
                   needs_step_free: Optional[str] = typer.Option(None, help="yes or no: needs a home without "
                                                                 "steps (rule 4)."),
                   needs_wheelchair: Optional[str] = typer.Option(None, help="yes or no: needs a wheelchair-"
                                                                  "accessible home (rule 4)."),
                   avoid_areas: Optional[str] = typer.Option(None, help="Every area now unsafe for the "
                                                             "household, separated by ; or , (the whole list, "
                                                             "not an addition; none for no area) (rule 2)."),
                   preferred_areas: Optional[str] = typer.Option(None, help="Every area the household would "
                                                                 "rather live in, separated by ; or , (the whole "
                                                                 "list; none for none) (best fit, reach)."),
                   survivor_area: Optional[str] = typer.Option(None, help="Perpetrator request: the area where "
                                                               "the survivor stays now (rule 7)."),
                   survivor_consent: Optional[str] = typer.Option(None, help="Perpetrator request: yes or no, "
                                                                  "the survivor consents (rule 7)."),
                   safety_decision_on: Optional[str] = typer.Option(None, help="Perpetrator request: the day the "
                                                                    "multi-agency decision found the move safe, "
                                                                    "YYYY-MM-DD, or none (rule 7)."),
                   current_tenancy: Optional[str] = typer.Option(None, help="The tenancy held now, a tenancy "
                                                                 "kind of the MoU config (rule 5)."),
                   age: Optional[str] = typer.Option(None, help="Age band: 16-24, 25-34, 35-44, 45-54, 55-64 or "
                                                     "65+, or none (an offer's age restriction, rule 6)."),
                   referred_on: Optional[str] = typer.Option(None, help="The referral day, YYYY-MM-DD: the "
                                                             "household's waiting time counts from it, so it "
                                                             "changes only with --reason."),
                   reason: Optional[str] = typer.Option(None, help="Why --referred-on changes (no names)."),
                   file: Optional[Path] = typer.Option(None, "--file", help=UPDATE_FILE_HELP),
                   by: str = typer.Option("coordinator", "--by", help=BY_HELP),
                   on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                   format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """A household's circumstances changed: update its facts in place (its waiting time and
    history are kept; the change goes in the trail). Its live proposal is judged again by every
    hard rule and cancelled, naming the rule, if it now breaks one."""
    cells = {k: v for k, v in dict(locals()).items()
             if k not in ("ctx", "ref", "reason", "file", "by", "on", "format")}
    _update(ctx, "request", ref, cells, file, reason, by, on, parse_format(format))


@request_app.command("show")
def request_show(ctx: typer.Context, ref: str = typer.Argument(..., help="The request's ref."),
                 format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """A request's facts, its proposals and its history of updates (before and after, when, by whom)."""
    _show(ctx, "request", ref, parse_format(format))
