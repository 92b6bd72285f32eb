"""`reciprocal offer ...`: import, list, withdraw, add."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from reciprocal.domain import OFFER_FIELDS

from cli.context import FORMAT_HELP
from cli.pot import FOR_PROVIDER_HELP, STATUS_HELP, _add, _import, _list, _withdraw

offer_app = typer.Typer(help="Empty homes members put into the pot.", no_args_is_help=True)


@offer_app.command("import")
def offer_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX file of offers.")):
    """Import offers from CSV/XLSX: all rows or none; every bad row is listed."""
    _import(ctx, file, "offer")


@offer_app.command("list")
def offer_list(ctx: typer.Context, status: str = typer.Option("open", help=STATUS_HELP),
               provider: Optional[str] = typer.Option(None, help="Only this provider's offers."),
               for_provider: Optional[str] = typer.Option(None, "--for-provider", help=FOR_PROVIDER_HELP),
               format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """List offers."""
    _list(ctx, "offer", status, provider, format, for_provider)


@offer_app.command("withdraw")
def offer_withdraw(ctx: typer.Context, ref: str = typer.Argument(..., help="The offer's ref.")):
    """Withdraw an open offer (a live proposal of it is cancelled)."""
    _withdraw(ctx, "offer", ref)


@offer_app.command("add")
def offer_add(ctx: typer.Context,
              ref: str = typer.Option(...), provider: str = typer.Option(...),
              area: str = typer.Option(...), bedrooms: str = typer.Option(...),
              property_type: str = typer.Option(...), available_from: str = typer.Option(...),
              floor: Optional[str] = typer.Option(None), step_free: Optional[str] = typer.Option(None),
              wheelchair_accessible: Optional[str] = typer.Option(None),
              tenancy_offered: Optional[str] = typer.Option(None),
              weekly_rent: Optional[str] = typer.Option(None),
              restrictions: Optional[str] = typer.Option(None, help="e.g. no_perpetrator;age_55_plus"),
              notes: Optional[str] = typer.Option(None)):
    """Add one offer (fields as in the CSV)."""
    values = dict(locals())
    values.pop("ctx")
    _add(ctx, "offer", {k: values[k] for k in OFFER_FIELDS})
