"""A member's pack (`reciprocal pack`): everything one member must act on this
week, as files a coordinator can send, one per member and format, readable by their owner only.

A pack for member M on day D holds:

- its balance ("you owe the scheme 2 home(s)"), read from the ledger as `circulate` reads it, and
  its debt limit: its counted balance (rule 9's, `reciprocal.ledger.counted`), whether it is past
  its limit, since when and why, and its exposure (how far past it would be if every counted give
  of its fell through);
- its offer commitment: offers a year, offers made this financial year (1 April to D) and offers
  expected to date, from the fairness audit over that period;
- the proposals where M offers the home or referred the household: every live one, with its
  stage, its due date, who must act next and what; and those that ended (signed, refused, lapsed,
  cancelled) in the pack's week, the 7 days up to and including D, so a pack is the week and not
  the whole history. Each passes through `reciprocal.scope.proposal_for`: where M referred the
  household it never learns the offering member, the home or its area;
- M's own requests that wait on it: stale, on hold or in review, with what to do;
- what changed since M's last pack (`reciprocal.lifecycle.since_pack`): its households and homes
  updated, and the households and homes of its live proposals as it may see them (the offering
  member learns only that the household's circumstances changed); `packs(..., since=DAY)` counts
  from a day instead. Writing the packs records their day for each member (`record_pack_days`);
- its circulation list, exactly `circulate(..., for_provider=M)`'s.

Formats: the answers workbook (`xlsx`, `reciprocal.audits.workbook`: where the member answers,
with its answer sheets' CSV twins `<member>-<day>-proposals|households|waiting.csv` beside it);
Markdown; HTML (one self-contained page, no script and no network, one column that reads
on a phone: each table row becomes a card on a narrow screen); CSV (one table with a `section`
column, cells safe to open in a spreadsheet); JSON (the pack as it is built here).
Files are `<member>-<day>.<ext>`, created 0600 whatever the umask, in a folder created 0700.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from pathlib import Path

from reciprocal.audits.exports import csv_text, markdown_table, write_private_files
from reciprocal.audits.fairness import fairness
from reciprocal.charts import html_page
from reciprocal.config import Scheme
from reciprocal.errors import InputFileError, Problem
from reciprocal.ledger import counted
from reciprocal.lifecycle import since_pack, views
from reciprocal.lifecycle.changes import Change
from reciprocal.lifecycle.circulate import balance_words, circulate
from reciprocal.scope import check_viewer
from reciprocal.storage import Database

# The formats a pack is written in; the workbook needs the scheme (its reason codes, the member's areas).
TEXT_FORMATS = ("md", "html", "csv", "json")
FORMATS = (*TEXT_FORMATS, "xlsx")
WEEK_DAYS = 7


def financial_year_start(on: date) -> date:
    """1 April of the UK financial year `on` falls in."""
    return date(on.year if on.month >= 4 else on.year - 1, 4, 1)


def _commitment(row: dict, since: date) -> dict:
    return {"since": since.isoformat(), "offers_per_year": row["offers_per_year"],
            "offers_made": row["offers_made"], "offers_expected": row["offers_expected"],
            "met": row["offer_commitment_ok"]}


@dataclass
class _Week:
    """What every member's pack reads, read once for all of them (at national scale, 1,500
    members each re-reading the scheme's circulation and proposals took hours)."""

    circulation: dict[str, dict]  # member -> its `circulate` entry
    commitment: dict[str, dict]  # member -> its row of the fairness audit since 1 April
    proposals: dict[str, list[dict]]  # member -> the proposals it offers the home for or referred, newest first
    requests: dict[str, list[dict]]  # member -> its requests that wait on it
    owners: views.Owners
    limits: dict[str, counted.Position]  # member -> its standing against rule 9 on the day
    changed: dict[str, since_pack.Changed]  # member -> what changed since its last pack

    @classmethod
    def read(cls, db: Database, scheme: Scheme, on: date, members: list[str], since: date | None = None) -> _Week:
        year = financial_year_start(on)
        listed = circulate(db, scheme, on, members=members)["members"]
        # A member's own row of the audit: the same scoped or not (scoping hides others' rows).
        report = fairness(db, scheme, since=year, until=on, today=on)
        with db.reading() as session:
            owners = views.Owners.read(session)
            limits = counted.positions(session, scheme, on)
            changed = since_pack.changes_for(session, members, on, since, owners=owners)
        # Each member's proposals picked out once here: each member filtering every proposal of
        # the scheme took 1,500 x 13,000 comparisons at national scale.
        chosen = set(members)
        proposals: dict[str, list[dict]] = {m: [] for m in members}
        for p in views.proposal_list(db):
            for m in {p["from_provider"], p["to_provider"]} & chosen:
                proposals[m].append(p)
        return cls({m["member"]: m for m in listed},
                   {r["provider"]: _commitment(r, year) for r in report["providers"]},
                   proposals, views.members_requests(db, members), owners, limits, changed)


def member_pack(db: Database, scheme: Scheme, member: str, on: date, week: _Week | None = None,
                since: date | None = None) -> dict:
    """One member's pack on day `on`, as a JSON-ready dict (see the module docstring)."""
    check_viewer(scheme, member)
    week = week or _Week.read(db, scheme, on, [member], since)
    listed = week.circulation[member]
    return {
        "scheme": scheme.id, "scheme_name": scheme.name, "member": member,
        "name": scheme.providers[member].name, "on": on.isoformat(),
        "balance": {"balance": listed["balance"], "owes": listed["owes"], "max_debt": listed["max_debt"],
                    "in_words": balance_words(listed["balance"])},
        "debt_limit": {"max_debt": listed["max_debt"], **week.limits[member].to_json()},
        "offer_commitment": week.commitment[member],
        "proposals": [_with_side(p, member) for p in
                      views.member_proposals(db, member, on - timedelta(days=WEEK_DAYS - 1),
                                             week.proposals[member], week.owners)],
        "requests": week.requests[member],
        "circulation": listed["requests"],
        "changed_since": week.changed[member].since.to_json(),
        "changes": week.changed[member].changes,
    }


def _with_side(proposal: dict, member: str) -> dict:
    side = "you offer the home" if proposal["to_provider"] == member else "your household"
    return {"your_side": side, **proposal, "must_act": "you" if proposal["must_act"] == member else proposal["must_act"]}


def packs(db: Database, scheme: Scheme, on: date, members: list[str] | None = None,
          since: date | None = None) -> list[dict]:
    """The packs of `members` (default: every active member), in member order; what changed
    counted from each member's last pack, or from the day `since`."""
    for m in members or []:
        check_viewer(scheme, m)
    chosen = sorted(set(members or [p.id for p in scheme.providers.values()
                                    if p.status == "active" and (p.left is None or p.left >= on)]))
    week = _Week.read(db, scheme, on, chosen, since)
    return [member_pack(db, scheme, m, on, week) for m in chosen]


def record_pack_days(db: Database, packs_: list[dict]) -> list[Change]:
    """After the packs are written: their day recorded for each member, so that its next pack and
    `due` show what changed since (`since_pack.record`)."""
    with db.transaction() as session:
        return [c for day in sorted({p["on"] for p in packs_})
                for c in since_pack.record(session, [p["member"] for p in packs_ if p["on"] == day],
                                           date.fromisoformat(day))]


# -- the tables every format shares ---------------------------------------------------------------

PROPOSAL_COLUMNS = ["proposal", "request", "your side", "home", "stage", "due", "who acts", "to do",
                    "tenancy start"]
REQUEST_COLUMNS = ["request", "status", "hold reason", "look again on", "reconfirmed on", "to do"]
CHANGE_COLUMNS = ["case", "ref", "proposal", "on", "what changed"]
CIRCULATION_COLUMNS = ["request", "landlord", "risk", "bedrooms", "step free", "wheelchair",
                       "weeks waiting", "safe areas"]


def _tables(pack: dict) -> list[tuple[str, str, list[str], list[list]]]:
    """(key, title, columns, rows) of each section."""
    proposals = [[p["id"], p["request"], p["your_side"], p.get("offer", ""), p["status"], p.get("due_on"),
                  p.get("must_act"), p.get("action"), p.get("tenancy_start")] for p in pack["proposals"]]
    requests = [[r["request"], r["status"], r["hold_reason"], r["look_again_on"], r["reconfirmed_on"],
                 r["action"]] for r in pack["requests"]]
    circulation = [[r["request"], r["landlord"] + (" (at debt limit: a home offered goes to the pot)"
                                                   if r.get("landlord_at_debt_limit") else ""),
                    r["risk"], r["bedrooms_needed"], r["needs_step_free"],
                    r["needs_wheelchair"], r["weeks_waiting"], r["safe_areas"]] for r in pack["circulation"]]
    changes = [[c["what"], c["ref"], c["proposal"], c["on"], c["change"]] for c in pack.get("changes", [])]
    return [
        ("changes", f"Changed since {_since_words(pack)} ({len(changes)})", CHANGE_COLUMNS, changes),
        ("proposals", f"Proposals: live, and ended in the week to {pack['on']} ({len(proposals)})", PROPOSAL_COLUMNS,
         proposals),
        ("requests", f"Your requests waiting on you: stale, on hold or in review ({len(requests)})", REQUEST_COLUMNS,
         requests),
        ("circulation", f"Circulation: households waiting for a home in your areas ({len(circulation)})",
         CIRCULATION_COLUMNS, circulation),
    ]


def _since_words(pack: dict) -> str:
    since = pack.get("changed_since") or {}
    if since.get("pack_of"):
        return f"your pack of {since['pack_of']}"
    return since.get("from_day") or "the week"


def _summary(pack: dict) -> list[tuple[str, str]]:
    b, c = pack["balance"], pack["offer_commitment"]
    commitment = ("no offer commitment in your MoU terms" if c["offers_per_year"] is None else
                  f"{c['offers_per_year']} offer(s) a year; {c['offers_made']} made since {c['since']}, "
                  f"{c['offers_expected']} expected to date ({'met' if c['met'] else 'short'})")
    d = pack.get("debt_limit")  # a pack built by hand (a test) may leave it out
    limit = f"{b['max_debt']} home(s)"
    if d is not None:
        where = (f"you are {d['why_past_limit']}: none of your tenants is placed until you are back within"
                 if d["past_limit_by"] else "within it")
        limit += (f"; counted balance {d['counted_balance']:+d} (the ledger and your live proposals as the "
                  f"scheme counts them); {where}; exposure {d['exposure']} (how far past it you would be "
                  f"if every home you are giving, as counted, fell through)")
    return [("Balance", f"{b['in_words']} (balance {b['balance']:+d})"),
            ("Debt limit", limit),
            ("Offer commitment", commitment)]


def _title(pack: dict) -> str:
    return f"{pack['scheme_name']}: pack for {pack['name']} ({pack['member']}), {pack['on']}"


# -- the formats ----------------------------------------------------------------------------------

def pack_markdown(pack: dict) -> str:
    lines = [f"# {_title(pack)}", ""]
    lines += [f"- **{label}:** {text}" for label, text in _summary(pack)]
    for _, title, columns, rows in _tables(pack):
        lines += ["", f"## {title}", ""]
        lines.append(markdown_table(columns, rows) if rows else "None.\n")
    return "\n".join(lines)


PHONE_CSS = """
.pack { max-width: 900px; }
.pack table { width: 100%; }
.pack th, .pack td { text-align: left; overflow-wrap: anywhere; vertical-align: top; }
@media (max-width: 640px) {
  .pack thead { display: none; }
  .pack tr { display: block; border-bottom: 2px solid #bbb; padding: 6px 0; }
  .pack td { display: block; border: none; padding: 2px 0; }
  .pack td::before { content: attr(data-label) ": "; font-weight: 600; }
}
"""


def _html_cell(value) -> str:
    if value is None or value == "":
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return escape(str(value))


def _html_table(columns: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f'<td data-label="{escape(c)}">{_html_cell(v)}</td>'
                                      for c, v in zip(columns, row)) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def pack_html(pack: dict) -> str:
    parts = ['<div class="pack">', f"<h1>{escape(_title(pack))}</h1>", "<ul>"]
    parts += [f"<li><strong>{escape(label)}:</strong> {escape(text)}</li>" for label, text in _summary(pack)]
    parts.append("</ul>")
    for _, title, columns, rows in _tables(pack):
        parts.append(f"<h2>{escape(title)}</h2>")
        parts.append(_html_table(columns, rows) if rows else "<p>None.</p>")
    parts.append("</div>")
    return html_page(_title(pack), "\n".join(parts), PHONE_CSS)


def pack_csv(pack: dict) -> str:
    rows = [["summary", label, text] for label, text in _summary(pack)]
    for key, _, columns, section in _tables(pack):
        rows.append([key, *columns])  # each section's own header
        rows += [[key, *row] for row in section]
    width = max(len(PROPOSAL_COLUMNS), len(REQUEST_COLUMNS), len(CIRCULATION_COLUMNS), len(CHANGE_COLUMNS))
    rows = [r + [""] * (width + 1 - len(r)) for r in rows]
    header = ["section"] + [f"column {i}" for i in range(1, width + 1)]
    return csv_text(header, rows)


def pack_json(pack: dict) -> str:
    return json.dumps(pack, indent=2, default=str) + "\n"


RENDER = {"md": pack_markdown, "html": pack_html, "csv": pack_csv, "json": pack_json}


def pack_file_name(pack: dict, fmt: str) -> str:
    return f"{pack['member']}-{pack['on']}.{fmt}"


# -- writing --------------------------------------------------------------------------------------

def _private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by its owner only; an existing folder is
    left as it is; a path that is not a folder is refused before anything is written."""
    if folder.exists() and not folder.is_dir():
        raise InputFileError([Problem("--to", f"{folder} is not a folder")], "nothing was written")
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    for p in reversed(missing):
        if p.exists() or p.is_symlink():
            continue
        try:
            p.mkdir(mode=0o700)
        except NotADirectoryError:
            raise InputFileError([Problem("--to", f"{p.parent} is not a folder")], "nothing was written") from None
        os.chmod(p, 0o700)  # whatever the umask


def write_packs(packs_: list[dict], folder: Path, formats: tuple[str, ...] | None = None,
                scheme: Scheme | None = None) -> list[Path]:
    """Every pack in every format, one file each; returns the paths written. Every file is
    rendered before the first is written. The default formats are every text format, and the
    answers workbook when the scheme is given."""
    formats = formats if formats is not None else FORMATS if scheme is not None else TEXT_FORMATS
    bad = [f for f in formats if f not in FORMATS or (f == "xlsx" and scheme is None)]
    if bad:
        raise InputFileError([Problem("--format", f"'{f}' is not one of {', '.join(FORMATS)}") for f in bad],
                             "nothing was written")
    files = {pack_file_name(p, f): RENDER[f](p).encode("utf-8") for p in packs_ for f in formats if f != "xlsx"}
    if "xlsx" in formats:
        from reciprocal.audits.workbook import twins_bytes, workbook_bytes
        for p in packs_:
            files[pack_file_name(p, "xlsx")] = workbook_bytes(p, scheme)
            files.update(twins_bytes(p))  # the same sheets as CSV, for a member who answers in CSV
    folder = Path(folder)
    _private_folder(folder)
    return write_private_files({folder / name: data for name, data in files.items()}, "--to")
