"""What the `offer` and `request` groups share: import, list, withdraw and add, for either kind."""
from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from reciprocal.domain import OfferStatus

from cli.context import day_or_today, err, out, parse_format, print_json, settings
from cli.progress import activity
from cli.render import outcome as render_outcome
from cli.render import stage, table

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


def _import(ctx: typer.Context, file: Path, kind: str, referred: bool = False, approved_on=None) -> None:
    from reciprocal.intake import pot
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    with activity() as say:  # a live status on a terminal: a big file takes a while
        if kind == "offer":
            result = pot.import_offers(db, scheme, file, progress=say)
        else:
            result = pot.import_requests(db, scheme, file, referred=referred, approved_on=approved_on,
                                         progress=say)
    out.print(f"Imported {escape(file.name)}: {result.added} new {kind}(s), {result.unchanged} "
              f"already stored unchanged.")
    days = scheme.config.lifecycle.reconfirm_days
    if kind == "request" and result.added and not referred and approved_on is None and days is not None:
        # Staleness counts from the days the scheme gave (issue 20): without --on, a household's
        # referral. Said, so that a waiting list imported today does not go stale by surprise.
        err.print(f"Note: no --on given, so staleness counts from each household's referral day: one "
                  f"referred more than {days} days before a round goes stale at it unless reconfirmed "
                  f"(`request reconfirm`) or imported with --on DAY (the day its landlord approved it).",
                  markup=False)


def _list(ctx: typer.Context, kind: str, status: str, provider: Optional[str], format: str,
          for_provider: Optional[str] = None, limit: Optional[int] = None) -> None:
    from reciprocal import scope
    from reciprocal.intake import listing
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    db = s.reader(scheme=scheme)
    scope.check_viewer(scheme, for_provider)
    status_filter = None if status == "all" else status
    records = (listing.list_offers if kind == "offer" else listing.list_requests)(db, status_filter, provider)
    visible = scope.offer_for if kind == "offer" else scope.request_for
    records = [r for r in records if visible(r, for_provider) is not None]
    rows = [_plain(r) for r in records]
    if fmt == "json":
        print_json(rows)
        return
    if kind == "offer":
        cols = ["ref", "provider", "area", "bedrooms", "property_type", "step_free",
                "wheelchair_accessible", "available_from", "restrictions", "for_request", "status"]
    else:
        cols = ["ref", "provider", "kind", "risk", "bedrooms_needed", "needs_step_free",
                "needs_wheelchair", "referred_on", "status"]
    table(f"{kind.capitalize()}s ({status}): {len(rows)}", [HEADERS.get(c, c) for c in cols],
          [[stage(r[c]) if c == "status" else r[c] for c in cols] for r in rows], limit,
          empty=f"No {kind}s ({status})" + (f" of {provider}." if provider else "."))


# Short headers, so that a list fits 80 columns with every ref and member name whole.
HEADERS = {"bedrooms": "beds", "property_type": "type", "step_free": "step free",
           "wheelchair_accessible": "wheelchair", "available_from": "available", "for_request": "for request",
           "bedrooms_needed": "beds", "needs_step_free": "step free", "needs_wheelchair": "wheelchair",
           "referred_on": "referred"}


def _withdraw(ctx: typer.Context, kind: str, ref: str, on: str | None = None, fmt: str = "table") -> None:
    from reciprocal.lifecycle import run
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    day = day_or_today(on)
    if kind == "offer":
        outcome = run.offer_change(db, scheme, ref, day, OfferStatus.withdrawn)
    else:
        outcome = run.request_change(db, scheme, "withdraw", ref, day)
    render_outcome(outcome, fmt, f"{kind.capitalize()} {ref} was already withdrawn; nothing changed.")


def _add(ctx: typer.Context, kind: str, values: dict, approved_on=None) -> None:
    from reciprocal.intake import pot
    from reciprocal.intake.readers import record_from_options
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    record = record_from_options(kind, values, scheme)
    result = pot.add_records(db, [record], scheme=scheme, approved_on=approved_on)
    out.print(f"{kind.capitalize()} {record.ref} " + ("added." if result.added else "already stored, unchanged."))


STATUS_HELP = ("Which to list: available offers / active requests (the default; `open` means the same), "
               "or any status (let, withdrawn, let_outside_scheme; referred, on_hold, stale, review, "
               "moved, closed), or all.")
FOR_PROVIDER_HELP = "Only what this provider may see (its own records; docs/audits.md)."


# -- `offer update`, `request update`, `offer show`, `request show` -------------------------------

BY_HELP = ("Who told the coordinator of the change, as the trail records it: coordinator (default), "
           "referring_landlord (a request) or offering_landlord (an offer).")
UPDATE_FILE_HELP = ("A CSV or XLSX file: a `ref` column and a column for each field that changes (a blank "
                    "cell leaves that field as it is; `none` clears an optional one); all rows or none.")


def _update(ctx: typer.Context, kind: str, ref: str | None, cells: dict, file: Path | None, reason: str | None,
            by: str, on: str | None, fmt: str) -> None:
    """Parse, call the one update function, print every change (and each proposal it cancelled)."""
    from reciprocal.domain import Role
    from reciprocal.lifecycle import run, updates
    try:
        role = Role(by)
    except ValueError:
        raise typer.BadParameter(f"'{by}' is not a role", param_hint="--by") from None
    given = {k: v for k, v in cells.items() if v is not None}
    if (ref is None) == (file is None):
        raise typer.BadParameter("name one ref, or give --file FILE", param_hint="REF")
    if file is not None and (given or reason):
        raise typer.BadParameter("with --file, the fields (and reason) are the file's columns", param_hint="--file")
    if ref is not None and not given:
        raise typer.BadParameter("give at least one field to change (see --help)", param_hint="REF")
    asked = updates.updates_from_file(file, kind) if file is not None else [updates.Update(ref, given, reason)]
    s = settings(ctx)
    scheme = s.scheme()
    result = run.update_cases(s.database(scheme=scheme), scheme, kind, asked, day_or_today(on), role)
    render_outcome(result, fmt, "Nothing changed: every field already had that value.")


def _show(ctx: typer.Context, kind: str, ref: str, fmt: str) -> None:
    from reciprocal.lifecycle import updates
    view = updates.case_view(settings(ctx).database(), kind, ref)
    if fmt == "json":
        print_json(view)
        return
    table(f"{kind} {ref}", ["field", "value"], [[k, "" if v is None else str(v)] for k, v in view["facts"].items()])
    if view["proposals"]:
        table("proposals", list(view["proposals"][0]), [list(p.values()) for p in view["proposals"]])
    out.print("History:" if view["history"] else "History: no updates since it was imported.", markup=False)
    def shown(values, field):
        if values is None:
            return "(purged)"
        value = values.get(field)
        return ";".join(value) or "(none)" if isinstance(value, list) else "(none)" if value is None else str(value)

    for h in view["history"]:
        changed = "; ".join(f"{f} {shown(h['before'], f)} -> {shown(h['after'], f)}" for f in h["fields"])
        reason = f" (reason: {h['reason']})" if h.get("reason") else ""
        out.print(f"  {h['on']} by the {h['role'].replace('_', ' ')} (trail event {h['seq']}): {changed}{reason}",
                  markup=False, soft_wrap=True)
