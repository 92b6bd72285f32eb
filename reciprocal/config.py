"""MoU configs: strict, typed loading of `scheme.yaml` and `providers/<id>.yaml`.

Every problem in every file is collected before anything is reported, each with file, line and
key path (`reciprocal config validate`). The result is a `Scheme`: the area graph, the members and
the scheme-wide terms the rules and objectives read. Nothing here is specific to one scheme.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from reciprocal.domain import MAX_BEDROOMS, Account, Risk
from reciprocal.errors import ConfigError, IntegrityError, Problem, printable
from reciprocal.yaml_source import YamlDocument, dotted, read_yaml

# networkx is imported by the methods that walk the area graph: a command that reads no buffer
# (most reads) does not pay for it.
if TYPE_CHECKING:
    import networkx as nx

OBJECTIVE_NAMES = ("high_risk_moved", "households_moved", "longest_waiting", "ledger_imbalance",
                   "preference_fit")
ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
# The largest count a scheme may set (debt limits, ranks, band sizes, offers a year): far beyond
# any real scheme, and far inside the 64-bit integers the solver works in (10**23 was accepted
# once and crashed the round).
MAX_NUMBER = 10_000
# A plausible address, no more: one @, no spaces or angle brackets, a dot in the domain. A member's
# contact is a role mailbox (housing-options@...), never a person's, and packs are sent to it.
EMAIL_PATTERN = r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+$"


def not_one_line(value: str) -> str | None:
    """Why `value` is not one line of plain text, or None. A name or description is one line: a
    line break (CR, LF, U+2028...), a control or a bidirectional format character would split
    an email header or a report's line, or drive a terminal, wherever the name is shown or sent."""
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is None:
        return None
    return f"holds the control character \\u{ord(bad):04x}; write it on one line of plain text"


def _one_line(value: str) -> str:
    found = not_one_line(value)
    if found:
        raise ValueError(found)
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class SchemeInfo(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: OneLine = Field(min_length=1)


class AreaConfig(Strict):
    name: OneLine = Field(min_length=1)
    neighbours: list[str] = Field(default_factory=list)


class TenancyKind(Strict):
    rank: int = Field(ge=0, le=MAX_NUMBER, description="security of tenure: higher is more secure")
    description: OneLine = ""


class Band(Strict):
    name: OneLine = Field(min_length=1)
    min_bedrooms: int = Field(ge=0, le=MAX_NUMBER)
    max_bedrooms: int = Field(ge=0, le=MAX_NUMBER)


# Without `fairness.bands`, one band named "all" holds every size: declared here, shown by
# `config show`, never a silent fallback.
DEFAULT_BANDS = ({"name": "all", "min_bedrooms": 0, "max_bedrooms": MAX_BEDROOMS},)


# Rule 9: the stages from which a live proposal's give counts (reciprocal.domain.GIVES_COUNT_FROM).
GivesCountFrom = Literal["proposed", "nomination_confirmed", "accepted", "signed"]


class FairnessTerms(Strict):
    max_debt: int = Field(ge=0, le=MAX_NUMBER, description="homes a provider may owe the scheme at most")
    bands: list[Band] = Field(
        default_factory=lambda: [Band(**b) for b in DEFAULT_BANDS], min_length=1,
        description=f"ledger bedroom bands; together they must cover 0 to {MAX_BEDROOMS} bedrooms "
                    f"exactly once (default: one band 'all')")
    band_max_debt: int | None = Field(
        default=None, ge=0, le=MAX_NUMBER,
        description="if set, homes a provider may owe the scheme at most in each bedroom band too "
                    "(needs bands); null: the limit is on the total only")
    gives_count_from: GivesCountFrom = Field(
        default="proposed",
        description="the proposal stage from which a home a member gives counts towards its debt "
                    "headroom (rule 9): proposed (a member's gives fund its placements, even in "
                    "the same round), nomination_confirmed, accepted, or signed (the hard "
                    "guarantee: no balance ever passes -max_debt, at the cost of most moves). "
                    "Placements always count from proposed")
    board_after_weeks_at_limit: int = Field(
        default=8, ge=0, le=520, strict=True,
        description="a member at its debt limit (owing homes, no headroom left) for more than this "
                    "many whole weeks is listed for the board in `audit fairness` and the "
                    "quarterly report")


class MatchingTerms(Strict):
    objectives: list[str] = Field(default_factory=lambda: list(OBJECTIVE_NAMES), min_length=1)
    safety_buffer_hops: int = Field(default=1, ge=0, le=10)
    max_bedrooms_over_need: int = Field(default=1, ge=0, le=MAX_BEDROOMS)
    time_limit_seconds: float = Field(default=60.0, gt=0, le=3600)
    reach_hops: int | None = Field(
        default=None, ge=0, le=50,
        description="if set, a household with preferred areas is only proposed homes within this "
                    "many hops of one of them (for large schemes); null: anywhere safe")

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, value: list[str]) -> list[str]:
        reasons = []
        unknown = [v for v in value if v not in OBJECTIVE_NAMES]
        if unknown:
            reasons.append(f"unknown objective(s) {', '.join(unknown)}; known: {', '.join(OBJECTIVE_NAMES)}")
        twice = sorted({v for v in value if value.count(v) > 1}, key=value.index)
        if twice:
            reasons.append(f"an objective is listed twice: {', '.join(twice)}")
        if reasons:
            raise ValueError("; ".join(reasons))
        return value


# Most urgent first. Fixed by the product: the risk gate (only requests at `risk_gate` or more
# urgent) and the priority order (who is pinned and circulated first) read it, beside the
# high_risk_moved objective's `high`; a reversed list once gated out the high-risk households (issue 12).
RISK_ORDER = tuple(Risk)


class PriorityTerms(Strict):
    risk_levels: list[Risk] = Field(
        default_factory=lambda: list(RISK_ORDER),
        description=f"may be left out; if given, exactly [{', '.join(r.value for r in RISK_ORDER)}]: "
                    f"the order is fixed by the product")
    risk_gate: Risk | None = Field(
        default=None, description="if set, only requests at this risk level or higher are matched; "
                                  "if null, risk is a priority only")

    @field_validator("risk_levels")
    @classmethod
    def _fixed_order(cls, value: list[Risk]) -> list[Risk]:
        if tuple(value) != RISK_ORDER:
            fixed = ", ".join(r.value for r in RISK_ORDER)
            raise ValueError(
                f"must be [{fixed}] (most urgent first) or left out: the order is fixed by the product, "
                f"because the risk gate and the priority order read it, and another order would match "
                f"less urgent households first (got [{', '.join(r.value for r in value)}])")
        return value


class RoundTerms(Strict):
    offer_horizon_days: int = Field(default=28, ge=0, le=365)


DEFAULT_REFUSAL_REASONS = ("unsuitable_property", "too_far_from_support", "safety_concern",
                           "household_circumstances_changed", "nomination_not_accepted", "other")


class LifecycleTerms(Strict):
    """How long each proposal stage may take, in working days (England and Wales bank holidays
    do not count), and what refusals mean (docs/config.md, lifecycle)."""

    days_to_confirm_nomination: int = Field(
        default=3, ge=1, le=60, description="working days for the offering landlord to confirm the nomination")
    days_to_view: int = Field(default=10, ge=1, le=60,
                              description="working days from the confirmed nomination to a viewing")
    days_to_answer: int = Field(default=5, ge=1, le=60,
                                description="working days for the household to answer after the viewing")
    days_to_sign: int = Field(default=20, ge=1, le=120,
                              description="working days from acceptance to the tenancy being signed")
    reasonable_refusals: int = Field(
        default=2, ge=0, le=20,
        description="household refusals of reasonable offers a request may have; reaching it puts "
                    "the request in review for the coordinator")
    reconfirm_days: int | None = Field(
        default=90, ge=7, le=3650,
        description="a request not reconfirmed within this many days goes stale and is skipped by "
                    "rounds until reconfirmed; null: requests never go stale")
    refusal_reasons: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REFUSAL_REASONS), min_length=1,
        description="the reason codes a refusal may give (free text goes beside the code)")
    on_suspension: Literal["continue", "cancel"] = Field(
        default="continue",
        description="what a member's suspension (or leaving) does to its live proposals: continue "
                    "(they go on to signing, and every command says so) or cancel (each is cancelled "
                    "at the start of the next command or round, naming the member)")

    @field_validator("refusal_reasons")
    @classmethod
    def _reason_codes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", v)]
        if bad:
            raise ValueError(f"reason codes are lower-case letters, digits and _: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("a reason code is listed twice")
        return value


class SchemeConfig(Strict):
    scheme: SchemeInfo
    areas: dict[str, AreaConfig] = Field(min_length=1)
    tenancy_kinds: dict[str, TenancyKind] = Field(min_length=1)
    fairness: FairnessTerms
    matching: MatchingTerms = Field(default_factory=MatchingTerms)
    priority: PriorityTerms = Field(default_factory=PriorityTerms)
    rounds: RoundTerms = Field(default_factory=RoundTerms)
    lifecycle: LifecycleTerms = Field(default_factory=LifecycleTerms)

    @model_validator(mode="after")
    def _consistent(self) -> "SchemeConfig":
        # The same checks `load_scheme` reports one by one with their lines; here they keep a
        # scheme built in code from existing with them (load_scheme drops this summary).
        found = scheme_checks(self.model_dump(exclude_unset=True))
        if found:
            raise PydanticCustomError(SCHEME_CHECK, "{problems}",
                                      {"problems": "; ".join(f"{dotted(p)}: {m}" for p, m in found)})
        return self


class OfferCommitment(Strict):
    offers_per_year: int = Field(ge=0, le=MAX_NUMBER)


class ProviderConfig(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: OneLine = Field(min_length=1)
    kind: Literal["local_authority", "housing_association"]
    areas: list[str] = Field(min_length=1)
    grants: dict[str, str] = Field(
        min_length=1, description="tenancy granted to an incoming tenant, by the tenancy they hold now")
    accepts_perpetrator_moves: bool = False
    max_debt: int | None = Field(default=None, ge=0, le=MAX_NUMBER)
    offer_commitment: OfferCommitment | None = None
    status: Literal["active", "suspended"] = "active"
    joined: date
    left: date | None = None
    contact: str | None = Field(default=None, description="a role mailbox (not a person) that the "
                                "member's packs are sent to")

    @field_validator("contact")
    @classmethod
    def _plausible_email(cls, value: str | None) -> str | None:
        # fullmatch: `$` alone also matches before a trailing newline, which an address must not hold
        if value is not None and (len(value) > 254 or not re.fullmatch(EMAIL_PATTERN, value)):
            raise ValueError("not an email address (give a role mailbox, such as housing-options@example.gov.uk)")
        return value


@dataclass(frozen=True)
class Scheme:
    """A loaded, validated scheme: terms, members and the area graph."""

    config: SchemeConfig
    providers: dict[str, ProviderConfig]
    source: str = ""

    @property
    def id(self) -> str:
        return self.config.scheme.id

    @property
    def name(self) -> str:
        return self.config.scheme.name

    @cached_property
    def area_graph(self) -> nx.Graph:
        import networkx as nx
        graph = nx.Graph()
        graph.add_nodes_from(self.config.areas)
        for area, spec in self.config.areas.items():
            graph.add_edges_from((area, n) for n in spec.neighbours)
        return graph

    def within_buffer(self, areas: tuple[str, ...] | list[str], hops: int | None = None) -> frozenset[str]:
        """The areas themselves plus every area within `hops` neighbour hops of them."""
        hops = self.config.matching.safety_buffer_hops if hops is None else hops
        key = (tuple(sorted(areas)), hops)
        cached = self._buffers.get(key)
        if cached is None:
            if len(key[0]) == 1:
                cached = self._walk(key[0][0], hops)
            else:  # the union of each area's own buffer, each searched once per scheme
                cached = frozenset().union(*(self.within_buffer((area,), hops) for area in key[0]))
            self._buffers[key] = cached
        return cached

    @cached_property
    def _buffers(self) -> dict:
        return {}

    @cached_property
    def _neighbours(self) -> dict[str, set[str]]:
        """Each area of `area_graph` and its neighbours, both ways (the graph is undirected)."""
        out: dict[str, set[str]] = {area: set() for area in self.config.areas}
        for area, spec in self.config.areas.items():
            for n in spec.neighbours:
                out[area].add(n)
                out.setdefault(n, set()).add(area)
        return out

    def _walk(self, area: str, hops: int | None) -> frozenset[str]:
        """`area` and every area within `hops` neighbour hops of it (None: any number), breadth
        first: what `networkx.single_source_shortest_path_length` with that cutoff finds on
        `area_graph`, without importing networkx (0.2 s, more than a whole read command's budget)."""
        if area not in self._neighbours:
            return frozenset()
        seen, frontier, step = {area}, [area], 0
        while frontier and (hops is None or step < hops):
            frontier = list({n for a in frontier for n in self._neighbours[a]} - seen)
            seen.update(frontier)
            step += 1
        return frozenset(seen)

    def tenancy_rank(self, kind: str | None) -> int | None:
        spec = self.config.tenancy_kinds.get(kind or "")
        return None if spec is None else spec.rank

    def max_debt(self, provider: str) -> int:
        own = self.providers[provider].max_debt
        return self.config.fairness.max_debt if own is None else own

    def debt_limit(self, account: Account) -> int | None:
        """Rule 9's limit for a ledger account: the provider's max_debt for its total, the scheme's
        band_max_debt for a band account; None where no limit applies (a provider that is not in
        the configs, a band when the scheme sets no band limit)."""
        if account.provider not in self.providers:
            return None
        if account.band is None:
            return self.max_debt(account.provider)
        return self.config.fairness.band_max_debt

    @property
    def gives_count_from(self) -> str:
        """Rule 9: the proposal stage from which a home given counts (`fairness.gives_count_from`)."""
        return self.config.fairness.gives_count_from

    def is_active(self, provider: str, on: date) -> bool:
        return self.why_inactive(provider, on) is None

    def why_inactive(self, provider: str, on: date) -> str | None:
        """Why a member is not an active member on `on`, in words; None when it is."""
        p = self.providers.get(provider)
        if p is None:
            return f"{provider} is not a member in the scheme's configs"
        if p.status != "active":
            return f"{provider} is {p.status}"
        if p.joined > on:
            return f"{provider} joins the scheme on {p.joined.isoformat()}"
        if p.left is not None and p.left <= on:
            return f"{provider} left the scheme on {p.left.isoformat()}"
        return None

    def band_of(self, bedrooms: int) -> str:
        for band in self.config.fairness.bands:
            if band.min_bedrooms <= bedrooms <= band.max_bedrooms:
                return band.name
        # Unreachable: validation makes the bands cover 0..MAX_BEDROOMS and intake refuses more.
        raise IntegrityError(f"no ledger band of scheme '{self.id}' covers {bedrooms} bedrooms")

    def days_for(self, stage) -> int:
        """Working days a proposal may stay in a live stage before it lapses."""
        terms = self.config.lifecycle
        return {"proposed": terms.days_to_confirm_nomination, "nomination_confirmed": terms.days_to_view,
                "viewing": terms.days_to_answer, "accepted": terms.days_to_sign}[getattr(stage, "value", stage)]

    def risk_rank(self, risk: Risk) -> int:
        """0 for the most urgent level: `priority.risk_levels`, which validation holds to the
        product's fixed order (RISK_ORDER), so the gate and the objectives cannot be inverted."""
        return self.config.priority.risk_levels.index(risk)


# The shipped example scheme. Only `reciprocal demo` uses it without being pointed at it.
EXAMPLE_CONFIG_DIR = Path(__file__).resolve().parent.parent / "mou_configs"
CONFIG_ENV = "RECIPROCAL_CONFIG_DIR"


def default_config_dir() -> Path:
    """`$RECIPROCAL_CONFIG_DIR`, else `./mou_configs` if it holds a scheme.yaml; else ConfigError.

    Never the shipped example: a coordinator who ran a command in the wrong folder would otherwise
    match, or read, the example's members as if they were the scheme's."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path.cwd() / "mou_configs"
    if (local / "scheme.yaml").is_file():
        return local
    raise ConfigError(
        [Problem(str(local / "scheme.yaml"), f"not found (looked here: no --config given and ${CONFIG_ENV} "
                                             f"not set)")],
        f"No MoU configs: point at the scheme's folder with `reciprocal --config FOLDER ...` or "
        f"`export {CONFIG_ENV}=FOLDER` (or run in the folder holding mou_configs/); nothing was done")


def _validation_problems(doc: YamlDocument, exc: ValidationError, checked: bool = False) -> list[Problem]:
    """Pydantic's errors as problems; `checked`: scheme_checks has reported SchemeConfig's own
    summary one by one, with lines, so it is left out."""
    problems = []
    for err in exc.errors():
        if checked and err["type"] == SCHEME_CHECK:
            continue
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        msg = msg.removeprefix("Value error, ")
        problems.append(Problem(doc.source, msg, doc.line_of(loc), dotted(loc)))
    return problems


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


@dataclass
class ConfigReport:
    """Everything `check_configs` found: the scheme if it loaded, every problem otherwise, and the
    member ids the provider files name (even files with other problems)."""

    root: Path
    scheme: Scheme | None
    problems: list[Problem]
    provider_ids: frozenset[str]

    def error(self, more: list[Problem] = (), database: str | None = None) -> ConfigError | None:
        """All the problems as one error (None if there are none), with `more` found in `database`."""
        problems = [*self.problems, *more]
        if not problems:
            return None
        against = f" checked against the database {database}" if database else ""
        return ConfigError(problems, f"{len(problems)} problem(s) in the MoU configs in {self.root}{against}")


def load_scheme(config_dir: Path | str | None = None) -> Scheme:
    """Load and cross-check every MoU config in `config_dir`; raise ConfigError listing all problems."""
    report = check_configs(config_dir)
    error = report.error()
    if error is not None:
        raise error
    assert report.scheme is not None
    return report.scheme


def check_configs(config_dir: Path | str | None = None) -> ConfigReport:
    """Read and cross-check every MoU config in `config_dir`, collecting every problem. A large
    scheme read cleanly before, and unchanged since, comes from `reciprocal.config_cache`."""
    from reciprocal import config_cache
    root = Path(config_dir) if config_dir is not None else default_config_dir()
    files = [root / "scheme.yaml", *sorted((root / "providers").glob("*.yaml")),
             *sorted((root / "providers").glob("*.yml"))]
    key = config_cache.fingerprint(root, files) if len(files) >= config_cache.CACHE_FROM_FILES else None
    cached = config_cache.load(root, key) if key is not None else None
    if cached is not None:
        report = _cached_report(root, cached)
        if report is not None:
            return report
    report = _read_configs(root)
    if key is not None and report.scheme is not None:
        config_cache.store(root, key, {
            "scheme": report.scheme.config.model_dump(mode="json"),
            "providers": [p.model_dump(mode="json") for p in report.scheme.providers.values()],
            "provider_ids": sorted(report.provider_ids)})
    return report


def _cached_report(root: Path, cached: dict) -> ConfigReport | None:
    """The configs a clean read stored, validated again by the same models; None if they do not
    validate (a cache written by hand is read from the YAML instead)."""
    try:
        config = SchemeConfig.model_validate(cached["scheme"])
        providers = [ProviderConfig.model_validate(p) for p in cached["providers"]]
        named = frozenset(str(p) for p in cached["provider_ids"])
    except (ValidationError, KeyError, TypeError):
        return None
    return ConfigReport(root, Scheme(config, {p.id: p for p in providers}, str(root)), [], named)


def _read_configs(root: Path) -> ConfigReport:
    """Every MoU config in `root` read from its YAML and cross-checked, every problem collected."""
    problems: list[Problem] = []
    scheme_path = root / "scheme.yaml"
    if not scheme_path.is_file():
        return ConfigReport(root, None, [Problem(str(scheme_path), "scheme.yaml not found")], frozenset())
    scheme_cfg: SchemeConfig | None = None
    doc, found = read_yaml(scheme_path, _rel(scheme_path, root))
    problems += found
    if doc is not None:
        # The cross-field checks read each part they need on its own, so that a wrong type in
        # one section hides nothing in another.
        found = [Problem(doc.source, message, doc.line_of(path), dotted(path))
                 for path, message in scheme_checks(doc.data)]
        try:
            scheme_cfg = SchemeConfig.model_validate(doc.data)
        except ValidationError as exc:
            found += _validation_problems(doc, exc, checked=bool(found))
        problems += sorted(found, key=lambda p: p.line or 0)

    # Providers are cross-checked against the scheme's areas and tenancy kinds even when
    # scheme.yaml has other problems, so that one run reports everything.
    known = _known_names(scheme_cfg, doc)
    providers: dict[str, ProviderConfig] = {}
    provider_docs: dict[str, YamlDocument] = {}
    named: set[str] = set()
    provider_dir = root / "providers"
    files = sorted(provider_dir.glob("*.yaml")) + sorted(provider_dir.glob("*.yml"))
    if not files:
        problems.append(Problem(_rel(provider_dir, root), "no provider files (providers/<id>.yaml)"))
    for path in files:
        pdoc, found = read_yaml(path, _rel(path, root))
        problems += found
        if pdoc is None:
            named.add(path.stem)
            continue
        if isinstance(pdoc.data, dict) and isinstance(pdoc.data.get("id"), str):
            named.add(pdoc.data["id"])
        if known is not None:
            problems += _check_provider(pdoc.data, known, pdoc)
        try:
            provider = ProviderConfig.model_validate(pdoc.data)
        except ValidationError as exc:
            problems += _validation_problems(pdoc, exc)
            continue
        if provider.id in providers:
            problems.append(Problem(pdoc.source, f"provider id '{provider.id}' is also used by "
                                    f"{provider_docs[provider.id].source}", pdoc.line_of(("id",)), "id"))
            continue
        if path.stem != provider.id:
            problems.append(Problem(pdoc.source, f"file name must be {provider.id}.yaml to match its id",
                                    pdoc.line_of(("id",)), "id"))
        providers[provider.id] = provider
        provider_docs[provider.id] = pdoc
    scheme = Scheme(scheme_cfg, providers, str(root)) if scheme_cfg is not None and not problems else None
    return ConfigReport(root, scheme, problems, frozenset(named))


# -- cross-field checks of scheme.yaml ------------------------------------------------------------

# The error type SchemeConfig raises when scheme_checks finds something (load_scheme drops it and
# reports scheme_checks' own problems, each with its line).
SCHEME_CHECK = "scheme_check"
Check = tuple[tuple[str | int, ...], str]  # a key path and what is wrong there
_AREA = TypeAdapter(AreaConfig)
_BAND = TypeAdapter(Band)


def _raw(data: object, path: tuple[str, ...]) -> object:
    """The raw value at `path`, None if absent."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _valid(adapter: TypeAdapter, value: object):
    """`value` validated on its own, None if it does not validate (the model's errors say why)."""
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def scheme_checks(data: object) -> list[Check]:
    """Every cross-field problem of a scheme.yaml's raw data. Each area and each band is read on
    its own, so that a wrong type anywhere hides no other problem."""
    found: list[Check] = []
    raw_areas = _raw(data, ("areas",))
    areas = {str(k): _valid(_AREA, v) for k, v in raw_areas.items()} if isinstance(raw_areas, dict) else {}
    for area, spec in areas.items():
        if not re.fullmatch(ID_PATTERN, area):
            # A household lists the areas it must avoid in one cell, split on ; , and |: an area
            # whose id held one could never be avoided, a safety rule that could not be written.
            found.append((("areas", area), f"area id '{printable(area)}': ids are lower-case letters, "
                                           f"digits, _ and - (never ; , | or a space, which split "
                                           f"the lists of areas a household avoids or prefers)"))
        for i, n in enumerate(spec.neighbours if spec is not None else []):
            path = ("areas", area, "neighbours", i)
            if n not in areas:
                found.append((path, f"unknown area '{n}'"))
            elif n == area:
                found.append((path, "an area is not its own neighbour"))
            elif areas[n] is not None and area not in areas[n].neighbours:
                found.append((path, f"neighbours must be symmetric: '{n}' does not list '{area}'"))
    raw_bands = _raw(data, ("fairness", "bands"))
    if isinstance(raw_bands, list):
        found += _band_checks([_valid(_BAND, b) for b in raw_bands])
    fairness = _raw(data, ("fairness",))
    if isinstance(fairness, dict) and fairness.get("band_max_debt") is not None and "bands" not in fairness:
        found.append((("fairness", "band_max_debt"), "band_max_debt needs bands"))
    return found


def _band_checks(bands: list[Band | None]) -> list[Check]:
    """Bands must hold every size an offer may have, 0..MAX_BEDROOMS, exactly once: a gap would
    book a move in no band, an overlap in whichever band comes first. (None: a band that does not
    validate; the others are still checked against each other.)"""
    found: list[Check] = []
    valid: list[tuple[int, Band]] = []
    names: dict[str, int] = {}
    for i, band in enumerate(bands):
        if band is None:
            continue
        if band.name in names:
            found.append((("fairness", "bands", i, "name"), f"band name '{band.name}' is also used by "
                                                           f"fairness.bands[{names[band.name]}]"))
        names.setdefault(band.name, i)
        if band.min_bedrooms > band.max_bedrooms:
            found.append((("fairness", "bands", i), "min_bedrooms is above max_bedrooms"))
        else:
            valid.append((i, band))
    for k, (i, a) in enumerate(valid):
        for j, b in valid[k + 1:]:
            lo, hi = max(a.min_bedrooms, b.min_bedrooms), min(a.max_bedrooms, b.max_bedrooms)
            if lo <= hi:
                found.append((("fairness", "bands", j), f"bands '{a.name}' and '{b.name}' overlap: both "
                              f"cover {_sizes(lo, hi)}; each size must be in exactly one band"))
    covered = {n for _, b in valid for n in range(b.min_bedrooms, b.max_bedrooms + 1)}
    missing = [] if None in bands else [n for n in range(MAX_BEDROOMS + 1) if n not in covered]
    for lo, hi in _runs(missing):
        found.append((("fairness", "bands"), f"no band covers {_sizes(lo, hi)}; bands must cover 0 to "
                                             f"{MAX_BEDROOMS} bedrooms exactly once"))
    return found


def _sizes(lo: int, hi: int) -> str:
    if lo == hi:
        return f"{lo} bedroom" + ("" if lo == 1 else "s")
    return f"{lo} to {hi} bedrooms"


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as runs of consecutive ones: [0, 4, 5] -> [(0, 0), (4, 5)]."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _known_names(cfg: SchemeConfig | None, doc: YamlDocument | None
                 ) -> tuple[list[str], list[str]] | None:
    if cfg is not None:
        return list(cfg.areas), list(cfg.tenancy_kinds)
    data = doc.data if doc is not None else None
    if isinstance(data, dict) and isinstance(data.get("areas"), dict) and isinstance(
            data.get("tenancy_kinds"), dict):
        return [str(a) for a in data["areas"]], [str(t) for t in data["tenancy_kinds"]]
    return None


def _check_provider(data: object, known: tuple[list[str], list[str]], doc: YamlDocument
                    ) -> list[Problem]:
    """Cross-check a provider file's areas and grants against the scheme (on the raw data, so
    that it runs even when the file has other problems)."""
    if not isinstance(data, dict):
        return []
    areas, tenancies = known
    problems = []
    raw_areas = data.get("areas")
    for i, area in enumerate(raw_areas if isinstance(raw_areas, list) else []):
        if isinstance(area, str) and area not in areas:
            problems.append(Problem(doc.source, f"unknown area '{area}' (the scheme has: "
                                    f"{', '.join(areas)})", doc.line_of(("areas", i)), f"areas[{i}]"))
    grants = data.get("grants")
    for held, granted in (grants.items() if isinstance(grants, dict) else []):
        for value, what in ((held, "key"), (granted, "value")):
            if isinstance(value, str) and value not in tenancies:
                problems.append(Problem(doc.source, f"unknown tenancy kind '{value}' ({what}); the "
                                        f"scheme has: {', '.join(tenancies)}",
                                        doc.line_of(("grants", held)), f"grants.{held}"))
    joined, left = data.get("joined"), data.get("left")
    if isinstance(joined, date) and isinstance(left, date) and left < joined:
        problems.append(Problem(doc.source, "left is before joined", doc.line_of(("left",)), "left"))
    return problems


def json_schema() -> str:
    """A JSON Schema for editors, covering both file kinds."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Managed reciprocal MoU configs",
        "oneOf": [{"$ref": "#/$defs/SchemeConfig"}, {"$ref": "#/$defs/ProviderConfig"}],
        "$defs": {},
    }
    for model in (SchemeConfig, ProviderConfig):
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        schema["$defs"].update(sub.pop("$defs", {}))
        schema["$defs"][model.__name__] = sub
    return json.dumps(schema, indent=2, sort_keys=True)
