"""`reciprocal audit ...`: fairness (a report in five formats) and verify (the hash chain)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from reciprocal.errors import AuditFailed

from cli.context import OUT_HELP, err, one_out, out, parse_date, parse_format, print_json, settings, write_out
from cli.render import signed, stage, table

audit_app = typer.Typer(help="Audits: fairness report, ledger verification.", no_args_is_help=True)

REPORT_FORMAT_HELP = "Output format: table, json, csv, md (Markdown) or html (a self-contained page)."
FOR_PROVIDER_HELP = "Only what this provider may see (docs/audits.md)."
OUTPUT_HELP = OUT_HELP


def emit(text: str, output: Optional[Path]) -> None:
    """Print a rendered export, or write it to a file only its owner can read."""
    from reciprocal.audits.exports import write_private
    if output is None:
        write_out(text if text.endswith("\n") else text + "\n")
        return
    write_private(output, text)
    err.print(f"Wrote {output} (readable by its owner only).", markup=False)


def json_text(data) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"


@audit_app.command("fairness")
def audit_fairness(ctx: typer.Context,
                   since: Optional[str] = typer.Option(None, help="First day, YYYY-MM-DD (default: "
                                                       "the first day anything was recorded)."),
                   until: Optional[str] = typer.Option(None, help="Last day, YYYY-MM-DD (default: "
                                                       "today or the last round, whichever is later)."),
                   for_provider: Optional[str] = typer.Option(None, "--for-provider", help=FOR_PROVIDER_HELP),
                   format: str = typer.Option("table", "--format", help=REPORT_FORMAT_HELP),
                   output: Optional[Path] = typer.Option(None, "--out", help=OUTPUT_HELP),
                   old_output: Optional[Path] = typer.Option(None, "--output", "-o", hidden=True,
                                                             help="Old spelling of --out.")):
    """Per provider: given, received, balance (total and by band), debt limit and offer
    commitment, homes owed and weeks at the limit, weeks to move; scheme measures; members for
    the board; moves between providers; outstanding checklist."""
    from reciprocal import audits
    from reciprocal.audits.exports import csv_text
    from reciprocal.audits.html import fairness_html
    fmt = parse_format(format, ("table", "json", "csv", "md", "html"))
    output = one_out(output, old_output, "--output")
    start = parse_date(since, "--since") if since else None
    end = parse_date(until, "--until") if until else None
    s = settings(ctx)
    scheme = s.scheme()
    report = audits.fairness(s.database(scheme=scheme), scheme, start, end, for_provider)
    columns, rows = audits.fairness_table(report)
    if fmt == "json":
        emit(json_text(report), output)
    elif fmt == "csv":
        emit(csv_text(columns, rows), output)
    elif fmt == "md":
        emit(_markdown(report, columns, rows), output)
    elif fmt == "html":
        emit(fairness_html(report), output)
    elif output is not None:
        raise typer.BadParameter("--out needs --format json, csv, md or html", param_hint="--out")
    else:
        _render(report)


def _measures(report: dict) -> list[list]:
    return [[k, ", ".join(v) if isinstance(v, list) else v] for k, v in report["scheme_measures"].items()]


def _markdown(report: dict, columns, rows) -> str:
    from reciprocal import audits
    from reciprocal.audits.exports import markdown_table
    p = report["period"]
    scope = f" (as {report['for_provider']} may see it)" if report["for_provider"] else ""
    parts = [f"# Fairness audit: {report['scheme_name']}{scope}\n",
             f"Period {p['since']} to {p['until']}.\n", "## Scheme measures\n",
             markdown_table(["measure", "value"], _measures(report)), "## Providers\n",
             markdown_table(columns, rows), f"## {audits.board_title(report)}\n",
             markdown_table(*audits.board_table(report["for_the_board"])),
             "## Moves between providers\n",
             markdown_table(["from_provider", "to_provider", "moves"],
                            [[m["from_provider"], m["to_provider"], m["moves"]]
                             for m in report["moves_between"]]),
             "## Post-move checklist: outstanding\n",
             markdown_table(["move", "request", "moved_on", "item", "owner"],
                            [[i["move"], i["request"], i["moved_on"], i["item"], i["owner"]]
                             for i in report["checklist_outstanding"]]),
             "## Notes\n", "".join(f"- {n}\n" for n in report["notes"])]
    return "\n".join(parts)


def _ok(value, gives_count_from: str = "signed") -> str:
    """The ledger's lowest balance against -max_debt. Only when gives count once signed is a
    ledger below the limit a breach of what the scheme promised; otherwise it is what a give that
    fell through leaves (shown as past, with why, in `past_limit_by`)."""
    if value is None:
        return ""
    return "met" if value else ("BREACHED" if gives_count_from == "signed" else "past")


def _render(report: dict) -> None:
    from reciprocal import audits
    p = report["period"]
    scope = f", as {report['for_provider']} may see it" if report["for_provider"] else ""
    out.print(f"[bold]Fairness audit[/bold] {p['since']} to {p['until']}{scope}")
    # The terminal gets the essentials; --format csv/md/html/json carry every column.
    table("Providers", ["provider", "given", "received", "balance", "by band", "lowest", "max_debt",
                        "debt limit", "owes", "wks at limit", "past limit by", "exposure",
                        "offers made/expected",
                        "weeks to move", "checklist open"],
          [[r["provider"], r["given"], r["received"], signed(r["balance"]),
            " ".join(f"{n:+d}" for n in r["balance_by_band"].values()), signed(r["lowest_balance"], str(r["lowest_balance"])),
            r["max_debt"], stage(_ok(r["debt_limit_ok"], report.get("gives_count_from", "signed"))), r["homes_owed"],
            r["weeks_at_limit"], r["past_limit_by"] or "", r["exposure"] or "",
            r["offers_made"] if r["offers_expected"] is None else f"{r['offers_made']}/{r['offers_expected']}",
            r["median_weeks_to_move"], r["checklist_outstanding"]] for r in report["providers"]])
    out.print(f"by band: {', '.join(report['bands'])}", markup=False)
    table("Scheme measures", ["measure", "value"], _measures(report))
    past = [r for r in report["providers"] if r["why_past_limit"]]
    if past:
        table("Past their debt limit (none of their tenants is placed until back within)",
              ["provider", "why"], [[r["provider"], r["why_past_limit"]] for r in past])
    table(audits.board_title(report), *audits.board_table(report["for_the_board"]))
    table("Moves between providers", ["from", "to", "moves"],
          [[m["from_provider"], m["to_provider"], m["moves"]] for m in report["moves_between"]])
    items = report["checklist_outstanding"]
    table(f"Post-move checklist: {len(items)} outstanding", ["move", "request", "moved_on", "item", "owner"],
          [[i["move"], i["request"], i["moved_on"], i["item"], i["owner"]] for i in items])


def _scheme_if_any(s):
    """The scheme when MoU configs are given or found; None when none are (the chains and the
    invariants need no configs; the debt-limit replay does, and the result says it was skipped).
    Configs that are given but broken are an error as in every command."""
    from reciprocal.config import default_config_dir
    from reciprocal.errors import ConfigError
    if s.config is None:
        try:
            default_config_dir()
        except ConfigError:
            return None
    return s.scheme()


@audit_app.command("verify")
def audit_verify(ctx: typer.Context,
                 anchor: Optional[str] = typer.Option(None, help="An anchor printed by an earlier verify "
                                                      "(ledger:N:HASH,trail:M:HASH): fail unless both chains "
                                                      "still hold those heads."),
                 format: str = typer.Option("table", "--format", help="Output format: table or json.")):
    """Recompute the ledger's and the proposal trail's hash chains and invariants; name the first record that fails."""
    from reciprocal import audits
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = _scheme_if_any(s)
    result = audits.verify(s.reader(), anchor, scheme)
    if scheme is None:
        result.notes.append("rule 9 (no proposal made past its member's debt limit) was not checked: no "
                            "MoU configs were given or found (--config FOLDER or $RECIPROCAL_CONFIG_DIR)")
    if fmt == "json":
        print_json(result.as_dict())
    elif result.ok:
        out.print(f"OK: {result.entries} ledger entries, {result.moves} moves, {result.corrections} "
                  f"correction(s); chain intact, every move has both legs, no home let twice, "
                  f"balances sum to 0; proposal trail intact, every change of stage allowed, every "
                  f"proposal and move agrees with its trail" + ("; no proposal made past its member's "
                  "debt limit." if scheme is not None else "."), markup=False)
        out.print(f"Anchor: {result.anchor} (the heads of the ledger, entry {result.head or 0}, and of the "
                  f"proposal trail, event {result.trail_head or 0}: record it; check later with --anchor)",
                  markup=False)
    if fmt != "json":
        for note in result.notes:
            err.print(f"Note: {note}", markup=False)
    if not result.ok:
        failures = sorted(result.failures, key=lambda f: f.sort_key())
        lines = [f"ledger verification FAILED at {result.first}"]
        if len(failures) > 1:
            lines += [f"{len(failures)} problems:"] + [f"  {f}" for f in failures]
        raise AuditFailed("\n".join(lines))
