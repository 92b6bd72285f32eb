"""`reciprocal config init`: the files a new scheme starts from, written so that they validate.

`plan` turns ids into the text of every file (scheme.yaml, one providers/<id>.yaml per member, and
templates/ with the offers and requests CSV headers); `write` writes them, refusing to overwrite
anything. The scheme-wide terms are the models' own defaults (`reciprocal.config`), so a new
scheme starts from exactly what a scheme.yaml that leaves them out would get, written out with a
comment each; docs/config.md describes every key.
"""
from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reciprocal.config import (ID_PATTERN, FairnessTerms, LifecycleTerms, MatchingTerms, PriorityTerms,
                               RoundTerms)
from reciprocal.errors import Problem, ProblemsError, printable
from reciprocal.intake.readers import OFFER_COLUMNS, REQUEST_COLUMNS, Column

DEFAULT_AREAS = ("area_one", "area_two")
DEFAULT_MEMBERS = ("member_one", "member_two")
# The tenancy kinds most English schemes meet, by security rank (as the example scheme has them).
TENANCY_KINDS = (
    ("secure", 3, "council lifetime tenancy"),
    ("assured", 3, "housing association lifetime (assured) tenancy"),
    ("flexible", 2, "council fixed-term tenancy"),
    ("fixed_term_assured", 2, "housing association fixed-term assured tenancy"),
    ("introductory", 1, "council introductory tenancy"),
    ("starter", 1, "housing association starter tenancy"),
)
# What a council grants an incoming tenant, by the tenancy the tenant holds now.
COUNCIL_GRANTS = (("secure", "secure"), ("assured", "secure"), ("flexible", "flexible"),
                  ("fixed_term_assured", "flexible"), ("introductory", "introductory"),
                  ("starter", "introductory"))
# Bedroom bands that cover 0..10 bedrooms exactly once (the ledger counts moves by band).
BANDS = (("0-1 bed", 0, 1), ("2 bed", 2, 2), ("3+ bed", 3, 10))


class ScaffoldError(ProblemsError):
    """`config init` was given bad ids or would overwrite a file."""

    what = "config init"


@dataclass(frozen=True)
class Plan:
    """Every file `config init` writes, by its path relative to the folder."""

    files: dict[str, str]


def parse_ids(text: str | None, option: str, default: tuple[str, ...]) -> tuple[list[str], list[Problem]]:
    """A comma-separated list of ids, each checked as config ids are (lower-case letters, digits,
    `_` and `-`, starting with a letter or digit); duplicates refused."""
    if text is None:
        return list(default), []
    ids = [part.strip() for part in text.split(",") if part.strip()]
    problems = [Problem(option, f"'{i[:40]}' is not an id: use lower-case letters, digits, _ and -, "
                                "starting with a letter or digit") for i in ids if not re.match(ID_PATTERN, i)]
    problems += [Problem(option, f"'{i}' is listed twice") for i in sorted({i for i in ids if ids.count(i) > 1})]
    if not ids:
        problems.append(Problem(option, "give at least one id"))
    return ids, problems


def title(identifier: str) -> str:
    return re.sub(r"[_\-]+", " ", identifier).strip().title() or identifier


def _q(text: str) -> str:
    """A YAML scalar that stays a string whatever it holds (`no`, `1`, `null`): JSON's quoting."""
    return json.dumps(text)


def _flow(items) -> str:
    return "[" + ", ".join(_q(i) if isinstance(i, str) else str(i) for i in items) + "]"


def _c(code: str, comment: str) -> str:
    """A line of YAML with its comment, the comments of a block in one column."""
    return f"{code:<30} # {comment}"


def _null(value) -> str:
    return "null" if value is None else str(getattr(value, "value", value))


def scheme_yaml(scheme_id: str, name: str, areas: list[str]) -> str:
    matching, priority, rounds, life = MatchingTerms(), PriorityTerms(), RoundTerms(), LifecycleTerms()
    board = FairnessTerms.model_fields["board_after_weeks_at_limit"].default
    gives = FairnessTerms.model_fields["gives_count_from"].default
    lines = [
        f"# {name}: scheme-wide MoU terms, written by `reciprocal config init`.",
        "# Every key is described in the reciprocal project's docs/config.md.",
        "# Check the folder with: reciprocal --config FOLDER config validate",
        "scheme:",
        f"  id: {_q(scheme_id)}",
        f"  name: {_q(name)}",
        "",
        "# Areas (districts or boroughs where homes are) and their neighbours: fill each",
        "# `neighbours` list with the areas that share a border with it, symmetrically (if a lists b,",
        "# b lists a). The safety buffer around a household's avoided areas is counted in these hops.",
        "areas:",
    ]
    for area in areas:
        lines += [f"  {_q(area)}:", f"    name: {_q(title(area))}", "    neighbours: []"]
    lines += [
        "",
        "# Security of tenure: a move never grants a less secure tenancy (lower rank) than the one",
        "# held now. Rename or add kinds to match the members' tenancies; grants in providers/ name them.",
        "tenancy_kinds:",
    ]
    lines += [f"  {kind}: {{rank: {rank}, description: {_q(text)}}}" for kind, rank, text in TENANCY_KINDS]
    lines += [
        "",
        "fairness:",
        _c("  max_debt: 2", "homes a member may owe the scheme at most (a provider may set its own)"),
        "  # Bedroom bands: the ledger counts moves by band; together they cover 0 to 10 bedrooms once.",
        "  bands:",
    ]
    lines += [f"    - {{name: {_q(n)}, min_bedrooms: {lo}, max_bedrooms: {hi}}}" for n, lo, hi in BANDS]
    lines += [
        _c("  band_max_debt: null", "homes a member may owe in each band too; null: total only"),
        _c(f"  gives_count_from: {gives}", "a home given counts towards headroom from this stage: "
           "proposed, nomination_confirmed, accepted or signed"),
        _c(f"  board_after_weeks_at_limit: {board}", "weeks at the debt limit before the board is told"),
        "",
        "matching:",
        "  # Lexicographic: each objective is optimised, then held, before the next.",
        "  objectives:",
    ]
    lines += [f"    - {objective}" for objective in matching.objectives]
    lines += [
        _c(f"  safety_buffer_hops: {matching.safety_buffer_hops}", "avoided areas and areas this many hops from them are never offered"),
        _c(f"  max_bedrooms_over_need: {matching.max_bedrooms_over_need}", "default max_bedrooms = bedrooms_needed + this"),
        _c(f"  time_limit_seconds: {matching.time_limit_seconds:g}", "the solver's limit per objective level"),
        _c(f"  reach_hops: {_null(matching.reach_hops)}", "homes only this many hops from a preferred area; null: anywhere safe"),
        "",
        "priority:",
        _c(f"  risk_levels: {_flow(r.value for r in priority.risk_levels)}", "fixed by the product: most urgent first"),
        _c(f"  risk_gate: {_null(priority.risk_gate)}", "null: risk is a priority only; or a level below which requests are not matched"),
        "",
        "rounds:",
        _c(f"  offer_horizon_days: {rounds.offer_horizon_days}", "an offer available within this many days of the round may be matched"),
        "",
        "# Proposals live across weekly rounds; each stage is due a number of working days after it",
        "# began (England and Wales bank holidays do not count) and lapses at the next round after.",
        "lifecycle:",
        _c(f"  days_to_confirm_nomination: {life.days_to_confirm_nomination}", "the offering landlord confirms the nomination"),
        _c(f"  days_to_view: {life.days_to_view}", "a viewing is set"),
        _c(f"  days_to_answer: {life.days_to_answer}", "the household answers after the viewing"),
        _c(f"  days_to_sign: {life.days_to_sign}", "the tenancy is signed (the move)"),
        _c(f"  reasonable_refusals: {life.reasonable_refusals}", "refusals of reasonable offers before the coordinator reviews"),
        _c(f"  reconfirm_days: {_null(life.reconfirm_days)}", "a request not reconfirmed for this many days goes stale; null: never"),
        _c("  refusal_reasons:", "the reason codes a refusal may give"),
    ]
    lines += [f"    - {reason}" for reason in life.refusal_reasons]
    return "\n".join(lines) + "\n"


def provider_yaml(member: str, areas: list[str], joined: date) -> str:
    lines = [
        f"# {title(member)}: this member's MoU terms (docs/config.md describes every key).",
        _c(f"id: {_q(member)}", "must match the file name"),
        f"name: {_q(title(member))}",
        _c("kind: local_authority", "or housing_association"),
        "# Areas where this member holds stock: keep only its own.",
        f"areas: {_flow(areas)}",
        "# The tenancy granted to an incoming tenant, by the tenancy the tenant holds now. A housing",
        "# association grants assured, fixed_term_assured or starter instead.",
        "grants:",
    ]
    lines += [f"  {held}: {granted}" for held, granted in COUNCIL_GRANTS]
    lines += [
        _c("accepts_perpetrator_moves: false", "true: this member may rehouse a perpetrator (opt-in)"),
        _c("max_debt: null", "null: the scheme's fairness.max_debt"),
        _c("offer_commitment: null", "or {offers_per_year: N}: homes it commits to offer a year"),
        _c("status: active", "or suspended"),
        f"joined: {joined.isoformat()}",
        "left: null",
        _c("contact: null", "a role mailbox for its packs (housing-options@...), never a person"),
    ]
    return "\n".join(lines) + "\n"


def csv_header(columns: list[Column]) -> str:
    """Every column, the required ones first, each group in the readers' order."""
    names = [c.name for c in columns if c.required] + [c.name for c in columns if not c.required]
    return ",".join(names) + "\r\n"


def templates_readme() -> str:
    def listed(columns: list[Column]) -> str:
        required = ", ".join(c.name for c in columns if c.required)
        optional = ", ".join(c.name for c in columns if not c.required)
        return f"  required: {required}\n  optional: {optional}\n"
    return (
        "Offers and requests for `reciprocal offer import` and `reciprocal request import`.\n\n"
        "offers.csv and requests.csv hold every column the engine reads, required ones first, and no\n"
        "rows: add one row per home or household (CSV UTF-8, or save the sheet as XLSX). Optional\n"
        "columns may be left empty or deleted; no other column is accepted, and a file with a personal\n"
        "data column (names, addresses, postcodes, dates of birth, contact details) is refused: refs\n"
        "are pseudonymous case codes.\n\n"
        "Dates are YYYY-MM-DD; yes/no cells take yes/no, y/n, true/false, 1/0 (empty is no); list\n"
        "cells (restrictions, avoid_areas, preferred_areas) separate items with ;. Areas, providers and\n"
        "tenancy kinds are the ids in scheme.yaml and providers/.\n\n"
        "offers.csv\n" + listed(OFFER_COLUMNS) + "requests.csv\n" + listed(REQUEST_COLUMNS) + "\n"
        "docs/config.md in the reciprocal project describes every column and its allowed values.\n"
    )


def plan(scheme_id: str, name: str | None, areas: list[str], members: list[str], joined: date) -> Plan:
    files = {"scheme.yaml": scheme_yaml(scheme_id, name or f"{title(scheme_id)} Managed Reciprocal", areas)}
    for member in members:
        files[f"providers/{member}.yaml"] = provider_yaml(member, areas, joined)
    files["templates/offers.csv"] = csv_header(OFFER_COLUMNS)
    files["templates/requests.csv"] = csv_header(REQUEST_COLUMNS)
    files["templates/README.txt"] = templates_readme()
    return Plan(files)


def scheme_id_for(folder: Path) -> str:
    """A scheme id from a folder's name (`My Scheme/` is `my-scheme`)."""
    return re.sub(r"[^a-z0-9_\-]+", "-", folder.resolve().name.lower()).strip("-_") or "scheme"


def write(folder: Path, made: Plan) -> list[Path]:
    """Write every file of `made` under `folder`. Everything is checked first (a file or a link,
    even a dangling one, where a file or a folder would go: each named), and a failure while
    writing removes what this call wrote: it writes everything or nothing."""
    targets = [(folder / relative, text) for relative, text in made.files.items()]
    problems = _clashes(folder, [path for path, _ in targets])
    if problems:
        raise ScaffoldError(problems, f"{len(problems)} problem(s): config init wrote nothing")
    made_folders: list[Path] = []
    written: list[Path] = []
    try:
        for path, text in targets:
            for parent in reversed([path.parent, *path.parent.parents]):
                if not parent.exists():
                    parent.mkdir()
                    made_folders.append(parent)
            with path.open("x", encoding="utf-8", newline="") as handle:
                written.append(path)
                handle.write(text)
    except OSError as exc:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        for parent in reversed(made_folders):
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise ScaffoldError([Problem(printable(str(exc.filename or folder)),
                                     f"cannot write: {exc.strerror or 'the system refused'}")],
                            "config init wrote nothing") from None
    return written


def _clashes(folder: Path, paths: list[Path]) -> list[Problem]:
    """What stands where `config init` would write: a file or a link (followed nowhere) where a
    file goes, anything but a folder where a folder goes."""
    problems = []
    folders = sorted({parent for path in paths for parent in [path.parent, *path.parent.parents]
                      if parent == folder or folder in parent.parents})
    for place in folders:
        if place.is_symlink() or (place.exists() and not place.is_dir()):
            problems.append(Problem(printable(str(place)), "is a file or a link, not a folder; config init "
                                                           "writes only into real folders"))
    for path in paths:
        if path.is_symlink() or path.exists():
            what = "a symbolic link" if path.is_symlink() else "a file"
            problems.append(Problem(printable(str(path)), f"already exists ({what}); config init never "
                                                          f"overwrites a file (choose a new folder, or move "
                                                          f"it away)"))
    return problems
