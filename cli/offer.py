"""`reciprocal offer ...`: import, list, withdraw, add, update, show."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reciprocal.domain import OFFER_FIELDS, OfferStatus

from cli.context import FORMAT_HELP, ON_HELP, day_or_today, parse_format, settings
from cli.render import ALL_HELP, LIMIT, LIMIT_HELP
from cli.render import outcome as render_outcome
from cli.pot import (BY_HELP, FOR_PROVIDER_HELP, STATUS_HELP, UPDATE_FILE_HELP, _add, _import, _list, _show,
                     _update, _withdraw)

offer_app = typer.Typer(help="Empty homes members put into the pot.", no_args_is_help=True)


@offer_app.command("import")
def offer_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX file of offers.")):
    """Import offers from CSV/XLSX: all rows or none; every bad row is listed."""
    _import(ctx, file, "offer")


@offer_app.command("list")
def offer_list(ctx: typer.Context, status: str = typer.Option("available", help=STATUS_HELP),
               provider: Optional[str] = typer.Option(None, help="Only this provider's offers."),
               for_provider: Optional[str] = typer.Option(None, "--for-provider", help=FOR_PROVIDER_HELP),
               format: str = typer.Option("table", "--format", help=FORMAT_HELP),
               limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
               all_rows: bool = typer.Option(False, "--all", help=ALL_HELP)):
    """List offers."""
    _list(ctx, "offer", status, provider, format, for_provider, None if all_rows else limit)


@offer_app.command("withdraw")
def offer_withdraw(ctx: typer.Context, ref: str = typer.Argument(..., help="The offer's ref."),
                   on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                   format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Withdraw an available offer (a live proposal of it is cancelled, and says so)."""
    _withdraw(ctx, "offer", ref, on, parse_format(format))


@offer_app.command("let-outside")
def offer_let_outside(ctx: typer.Context, ref: str = typer.Argument(..., help="The offer's ref."),
                      on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                      format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """The home was let outside the scheme (a live proposal of it is cancelled, and says so)."""
    from reciprocal.lifecycle import run
    s = settings(ctx)
    scheme = s.scheme()
    outcome = run.offer_change(s.database(scheme=scheme), scheme, ref, day_or_today(on),
                               OfferStatus.let_outside_scheme)
    render_outcome(outcome, parse_format(format), f"Offer {ref} was already let outside the scheme; nothing changed.")


@offer_app.command("add")
def offer_add(ctx: typer.Context,
              ref: str = typer.Option(..., help="The offer's case code (letters, digits, - _ / .; no "
                                      "address)."),
              provider: str = typer.Option(..., help="The member offering the home (its id in the MoU "
                                           "config)."),
              area: str = typer.Option(..., help="The home's area (an area id in the MoU config)."),
              bedrooms: str = typer.Option(..., help="Number of bedrooms, 0 to 10."),
              property_type: str = typer.Option(..., help="flat, house, bungalow, maisonette or studio."),
              available_from: str = typer.Option(..., help="The first day the home can be let, YYYY-MM-DD."),
              floor: Optional[str] = typer.Option(None, help="The floor it is on, -1 to 60 (0: ground; "
                                                  "optional)."),
              step_free: Optional[str] = typer.Option(None, help="yes or no: reachable without steps "
                                                      "(default no)."),
              wheelchair_accessible: Optional[str] = typer.Option(None, help="yes or no: usable from a "
                                                                  "wheelchair (default no)."),
              tenancy_offered: Optional[str] = typer.Option(None, help="The tenancy granted, a tenancy kind "
                                                            "of the MoU config, e.g. secure, assured "
                                                            "(default: from the provider's grants)."),
              weekly_rent: Optional[str] = typer.Option(None, help="Weekly rent in pounds, e.g. 112.50 "
                                                        "(optional)."),
              restrictions: Optional[str] = typer.Option(None, help="Conditions on who may be housed there, "
                                                         "separated by ;: no_perpetrator, age_55_plus, "
                                                         "age_65_plus (optional)."),
              notes: Optional[str] = typer.Option(None, help="Free text for the coordinators (no names or "
                                                  "addresses)."),
              available_until: Optional[str] = typer.Option(None, help="The last day the home may be "
                                                             "proposed, YYYY-MM-DD (optional)."),
              for_request: Optional[str] = typer.Option(None, help="The request this home is offered "
                                                        "for (answering circulation): proposed to that "
                                                        "household first if every hard rule allows.")):
    """Add one offer (fields as in the CSV)."""
    values = dict(locals())
    values.pop("ctx")
    _add(ctx, "offer", {k: values[k] for k in OFFER_FIELDS})


@offer_app.command("update")
def offer_update(ctx: typer.Context,
                 ref: Optional[str] = typer.Argument(None, help="The offer's ref (or --file)."),
                 available_from: Optional[str] = typer.Option(None, help="The first day the home can be let "
                                                              "now, YYYY-MM-DD (rule 8)."),
                 available_until: Optional[str] = typer.Option(None, help="The last day it may be proposed, "
                                                               "YYYY-MM-DD, or none."),
                 bedrooms: Optional[str] = typer.Option(None, help="Number of bedrooms, 0 to 10 (rule 3)."),
                 property_type: Optional[str] = typer.Option(None, help="flat, house, bungalow, maisonette or "
                                                             "studio."),
                 floor: Optional[str] = typer.Option(None, help="The floor it is on, -1 to 60, or none."),
                 step_free: Optional[str] = typer.Option(None, help="yes or no: reachable without steps, e.g. "
                                                         "after an adaptation (rule 4)."),
                 wheelchair_accessible: Optional[str] = typer.Option(None, help="yes or no: usable from a "
                                                                     "wheelchair (rule 4)."),
                 restrictions: Optional[str] = typer.Option(None, help="Every condition on who may be housed "
                                                            "there, separated by ;: no_perpetrator, "
                                                            "age_55_plus, age_65_plus; none for none (rule 6)."),
                 tenancy_offered: Optional[str] = typer.Option(None, help="The tenancy granted, a tenancy kind "
                                                               "of the MoU config, or none for the provider's "
                                                               "grants (rule 5)."),
                 file: Optional[Path] = typer.Option(None, "--file", help=UPDATE_FILE_HELP),
                 by: str = typer.Option("coordinator", "--by", help=BY_HELP),
                 on: Optional[str] = typer.Option(None, "--on", help=ON_HELP),
                 format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """A home's facts changed (its date slipped, it was adapted): update them in place (the change
    goes in the trail). Its live proposal is judged again by every hard rule and cancelled, naming
    the rule, if it now breaks one."""
    cells = {k: v for k, v in dict(locals()).items() if k not in ("ctx", "ref", "file", "by", "on", "format")}
    _update(ctx, "offer", ref, cells, file, None, by, on, parse_format(format))


@offer_app.command("show")
def offer_show(ctx: typer.Context, ref: str = typer.Argument(..., help="The offer's ref."),
               format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """An offer's facts, its proposals and its history of updates (before and after, when, by whom)."""
    _show(ctx, "offer", ref, parse_format(format))
