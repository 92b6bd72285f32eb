"""`reciprocal offer ...` and `reciprocal request ...`: add, import, list, withdraw."""
from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from reciprocal import pot, purge, scope
from reciprocal.domain import OFFER_FIELDS, REQUEST_FIELDS
from reciprocal.intake import record_from_options

from .context import FORMAT_HELP, out, parse_date, parse_format, print_json, settings
from .render import table

offer_app = typer.Typer(help="Empty homes members put into the pot.", no_args_is_help=True)
request_app = typer.Typer(help="Property requests for members' households.", no_args_is_help=True)


def _plain(record) -> dict:
    data = asdict(record)
    for k, v in data.items():
        if isinstance(v, Enum):
            data[k] = v.value
        elif isinstance(v, tuple):
            data[k] = list(v)
        elif hasattr(v, "isoformat"):
            data[k] = v.isoformat()
    return data


def _import(ctx: typer.Context, file: Path, kind: str) -> None:
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    fn = pot.import_offers if kind == "offer" else pot.import_requests
    result = fn(db, scheme, file)
    out.print(f"Imported {escape(file.name)}: {result.added} new {kind}(s), {result.unchanged} "
              f"already stored unchanged.")


def _list(ctx: typer.Context, kind: str, status: str, provider: Optional[str], format: str,
          for_provider: Optional[str] = None) -> None:
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    scope.check_viewer(scheme, for_provider)
    status_filter = None if status == "all" else status
    records = (pot.list_offers if kind == "offer" else pot.list_requests)(db, status_filter, provider)
    visible = scope.offer_for if kind == "offer" else scope.request_for
    records = [r for r in records if visible(r, for_provider) is not None]
    rows = [_plain(r) for r in records]
    if fmt == "json":
        print_json(rows)
        return
    if kind == "offer":
        cols = ["ref", "provider", "area", "bedrooms", "property_type", "step_free",
                "wheelchair_accessible", "available_from", "restrictions", "status"]
    else:
        cols = ["ref", "provider", "kind", "risk", "bedrooms_needed", "needs_step_free",
                "needs_wheelchair", "referred_on", "status"]
    table(f"{kind.capitalize()}s ({status}): {len(rows)}", cols, [[r[c] for c in cols] for r in rows])


def _withdraw(ctx: typer.Context, kind: str, ref: str) -> None:
    s = settings(ctx)
    db = s.database()
    cancelled = (pot.withdraw_offer if kind == "offer" else pot.withdraw_request)(db, ref)
    extra = f"; {cancelled} live proposal(s) cancelled" if cancelled else ""
    out.print(f"{kind.capitalize()} {ref} withdrawn{extra}.")


def _add(ctx: typer.Context, kind: str, values: dict) -> None:
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    record = record_from_options(kind, values, scheme)
    result = pot.add_records(db, [record])
    out.print(f"{kind.capitalize()} {record.ref} " + ("added." if result.added else "already stored, unchanged."))


STATUS_HELP = "Which to list: open, or any status (let/moved/withdrawn), or all."
FOR_PROVIDER_HELP = "Only what this provider may see (its own records; SPEC section 7)."


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


@request_app.command("import")
def request_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX file of requests.")):
    """Import requests from CSV/XLSX: all rows or none; every bad row is listed."""
    _import(ctx, file, "request")


@request_app.command("list")
def request_list(ctx: typer.Context, status: str = typer.Option("open", help=STATUS_HELP),
                 provider: Optional[str] = typer.Option(None, help="Only this provider's requests."),
                 for_provider: Optional[str] = typer.Option(None, "--for-provider", help=FOR_PROVIDER_HELP),
                 format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """List requests."""
    _list(ctx, "request", status, provider, format, for_provider)


@request_app.command("withdraw")
def request_withdraw(ctx: typer.Context, ref: str = typer.Argument(..., help="The request's ref.")):
    """Withdraw an open request (a live proposal for it is cancelled)."""
    _withdraw(ctx, "request", ref)


@request_app.command("add")
def request_add(ctx: typer.Context,
                ref: str = typer.Option(...), provider: str = typer.Option(...),
                kind: str = typer.Option(...), current_tenancy: str = typer.Option(...),
                bedrooms_needed: str = typer.Option(...), risk: str = typer.Option(...),
                referred_on: str = typer.Option(...),
                max_bedrooms: Optional[str] = typer.Option(None),
                needs_step_free: Optional[str] = typer.Option(None),
                needs_wheelchair: Optional[str] = typer.Option(None),
                avoid_areas: Optional[str] = typer.Option(None, help="e.g. fenland;peterborough"),
                preferred_areas: Optional[str] = typer.Option(None),
                age: Optional[str] = typer.Option(None),
                survivor_area: Optional[str] = typer.Option(None),
                survivor_consent: Optional[str] = typer.Option(None),
                safety_decision_on: Optional[str] = typer.Option(None)):
    """Add one request (fields as in the CSV)."""
    values = dict(locals())
    values.pop("ctx")
    _add(ctx, "request", {k: values[k] for k in REQUEST_FIELDS})


@request_app.command("purge")
def request_purge(ctx: typer.Context,
                  closed_before: str = typer.Option(..., "--closed-before",
                                                    help="Purge requests moved or withdrawn before "
                                                         "this day, YYYY-MM-DD."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be purged."),
                  format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Remove closed households' details (data protection); moves and the ledger are kept whole."""
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
