"""`reciprocal pack`: each member's pack for the week, one file per member and format (README: Weeks of rounds, worked)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cli.context import day_or_today, out, parse_date, settings

# reciprocal.audits.packs.FORMATS, spelled out so that loading the command does not load the
# audits (tests/cli/test_startup.py checks that they agree).
PACK_FORMATS = ("md", "html", "csv", "json", "xlsx")


def pack(ctx: typer.Context,
         to: Path = typer.Option(Path("packs"), "--to", help="The folder to write into (created, owner-only, "
                                 "if new)."),
         for_provider: Optional[List[str]] = typer.Option(None, "--for-provider", help="A member's pack "
                                                          "(repeat for several; default: every active member)."),
         on: Optional[str] = typer.Option(None, "--on", help="The pack's day, YYYY-MM-DD (default: today)."),
         format: str = typer.Option(",".join(PACK_FORMATS), "--format", help="Formats, comma-separated: "
                                    "md, html, csv, json, xlsx (the answers workbook)."),
         since: Optional[str] = typer.Option(None, "--since", help="Show what changed from this day, YYYY-MM-DD "
                                             "(default: since each member's last pack, or the week)."),
         send: bool = typer.Option(False, "--send", help="Also email each pack to its member's contact "
                                   "(RECIPROCAL_SMTP_* settings).")):
    """Each member's pack: proposals, requests waiting on it, circulation list, balance and commitment."""
    from reciprocal.audits import pack_email, packs
    formats = tuple(dict.fromkeys(f.strip() for f in format.split(",") if f.strip()))
    s = settings(ctx)
    scheme = s.scheme()
    smtp = pack_email.SmtpSettings.from_env() if send else None  # before anything is written
    db = s.database(scheme=scheme)
    built = packs.packs(db, scheme, day_or_today(on), for_provider or None,
                        parse_date(since, "--since") if since else None)
    written = packs.write_packs(built, to, formats, scheme)
    recorded = packs.record_pack_days(db, built)
    # One line for the lot: sixteen members in four formats would be sixty-four lines.
    out.print(f"Wrote {len(written)} file(s) to {to}: {len(built)} member(s) x {', '.join(formats)} "
              f"({written[0].name if written else 'none'}, ...), readable by their owner only.",
              markup=False, soft_wrap=True)
    if recorded:
        out.print(f"Recorded {built[0]['on']} as the pack day of {len(recorded)} member(s): their next packs and "
                  f"`due` show what changed since.", markup=False, soft_wrap=True)
    if smtp is not None:
        for result in pack_email.send_packs(built, scheme, smtp):
            status = f"sent to {result['to']}" if result["status"] == "sent" else result["status"]
            out.print(f"{result['member']}: {status}", markup=False)
