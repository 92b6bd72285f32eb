"""MoU configs: strict, typed loading of `scheme.yaml` and `providers/<id>.yaml`.

Every problem in every file is collected before anything is reported, each with file, line and
key path (`reciprocal config validate`). The result is a `Scheme`: the area graph, the members and
the scheme-wide terms the rules and objectives read. Nothing here is specific to one scheme.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reciprocal.domain import Account, Risk
from reciprocal.errors import ConfigError, Problem
from reciprocal.yaml_source import YamlDocument, dotted, read_yaml

OBJECTIVE_NAMES = ("high_risk_moved", "households_moved", "longest_waiting", "ledger_imbalance",
                   "preference_fit")
ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
# A plausible address, no more: one @, no spaces or angle brackets, a dot in the domain. A member's
# contact is a role mailbox (housing-options@...), never a person's, and packs are sent to it.
EMAIL_PATTERN = r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class SchemeInfo(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)


class AreaConfig(Strict):
    name: str = Field(min_length=1)
    neighbours: list[str] = Field(default_factory=list)


class TenancyKind(Strict):
    rank: int = Field(ge=0, description="security of tenure: higher is more secure")
    description: str = ""


class Band(Strict):
    name: str = Field(min_length=1)
    min_bedrooms: int = Field(ge=0)
    max_bedrooms: int = Field(ge=0)


class FairnessTerms(Strict):
    max_debt: int = Field(ge=0, description="homes a provider may owe the scheme at most")
    bands: list[Band] = Field(default_factory=list)
    band_max_debt: int | None = Field(
        default=None, ge=0,
        description="if set, homes a provider may owe the scheme at most in each bedroom band too "
                    "(needs bands); null: the limit is on the total only")
    board_after_weeks_at_limit: int = Field(
        default=8, ge=0, le=520, strict=True,
        description="a member at its debt limit (owing homes, no headroom left) for more than this "
                    "many whole weeks is listed for the board in `audit fairness` and the "
                    "quarterly report")


class MatchingTerms(Strict):
    objectives: list[str] = Field(default_factory=lambda: list(OBJECTIVE_NAMES), min_length=1)
    safety_buffer_hops: int = Field(default=1, ge=0, le=10)
    max_bedrooms_over_need: int = Field(default=1, ge=0)
    time_limit_seconds: float = Field(default=60.0, gt=0, le=3600)
    reach_hops: int | None = Field(
        default=None, ge=0, le=50,
        description="if set, a household with preferred areas is only proposed homes within this "
                    "many hops of one of them (for large schemes); null: anywhere safe")

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in OBJECTIVE_NAMES]
        if unknown:
            raise ValueError(f"unknown objective(s) {', '.join(unknown)}; "
                             f"known: {', '.join(OBJECTIVE_NAMES)}")
        if len(set(value)) != len(value):
            raise ValueError("an objective is listed twice")
        return value


class PriorityTerms(Strict):
    risk_levels: list[Risk] = Field(default_factory=lambda: [Risk.high, Risk.medium, Risk.standard])
    risk_gate: Risk | None = Field(
        default=None, description="if set, only requests at this risk level or higher are matched; "
                                  "if null, risk is a priority only")


class RoundTerms(Strict):
    offer_horizon_days: int = Field(default=28, ge=0, le=365)


DEFAULT_REFUSAL_REASONS = ("unsuitable_property", "too_far_from_support", "safety_concern",
                           "household_circumstances_changed", "nomination_not_accepted", "other")


class LifecycleTerms(Strict):
    """How long each proposal stage may take, in working days (England and Wales bank holidays
    do not count), and what refusals mean (SPEC section 6)."""

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


class OfferCommitment(Strict):
    offers_per_year: int = Field(ge=0)


class ProviderConfig(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    kind: Literal["local_authority", "housing_association"]
    areas: list[str] = Field(min_length=1)
    grants: dict[str, str] = Field(
        min_length=1, description="tenancy granted to an incoming tenant, by the tenancy they hold now")
    accepts_perpetrator_moves: bool = False
    max_debt: int | None = Field(default=None, ge=0)
    offer_commitment: OfferCommitment | None = None
    status: Literal["active", "suspended"] = "active"
    joined: date
    left: date | None = None
    contact: str | None = Field(default=None, description="a role mailbox (not a person) that the "
                                "member's packs are sent to")

    @field_validator("contact")
    @classmethod
    def _plausible_email(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 254 or not re.match(EMAIL_PATTERN, value)):
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
            out: set[str] = set()
            for area in key[0]:
                if area in self.area_graph:
                    out.update(nx.single_source_shortest_path_length(self.area_graph, area, cutoff=hops))
            cached = self._buffers[key] = frozenset(out)
        return cached

    @cached_property
    def _buffers(self) -> dict:
        return {}

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

    def is_active(self, provider: str, on: date) -> bool:
        p = self.providers.get(provider)
        if p is None or p.status != "active" or p.joined > on:
            return False
        return p.left is None or p.left > on

    def band_of(self, bedrooms: int) -> str:
        for band in self.config.fairness.bands:
            if band.min_bedrooms <= bedrooms <= band.max_bedrooms:
                return band.name
        return "all"

    def days_for(self, stage) -> int:
        """Working days a proposal may stay in a live stage before it lapses."""
        terms = self.config.lifecycle
        return {"proposed": terms.days_to_confirm_nomination, "nomination_confirmed": terms.days_to_view,
                "viewing": terms.days_to_answer, "accepted": terms.days_to_sign}[getattr(stage, "value", stage)]

    def risk_rank(self, risk: Risk) -> int:
        """0 for the most urgent level, as listed in `priority.risk_levels`."""
        return self.config.priority.risk_levels.index(risk)


def default_config_dir() -> Path:
    """`$RECIPROCAL_CONFIG_DIR`, else `./mou_configs` if present, else the shipped example."""
    env = os.environ.get("RECIPROCAL_CONFIG_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "mou_configs"
    if (local / "scheme.yaml").exists():
        return local
    return Path(__file__).resolve().parent.parent / "mou_configs"


def _validation_problems(doc: YamlDocument, exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
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


def load_scheme(config_dir: Path | str | None = None) -> Scheme:
    """Load and cross-check every MoU config in `config_dir`; raise ConfigError listing all problems."""
    root = Path(config_dir) if config_dir is not None else default_config_dir()
    problems: list[Problem] = []
    scheme_path = root / "scheme.yaml"
    if not scheme_path.is_file():
        raise ConfigError([Problem(str(scheme_path), "scheme.yaml not found")])
    scheme_cfg: SchemeConfig | None = None
    doc, found = read_yaml(scheme_path, _rel(scheme_path, root))
    problems += found
    if doc is not None:
        try:
            scheme_cfg = SchemeConfig.model_validate(doc.data)
        except ValidationError as exc:
            problems += _validation_problems(doc, exc)
        if scheme_cfg is not None:
            problems += _check_scheme(scheme_cfg, doc)

    # Providers are cross-checked against the scheme's areas and tenancy kinds even when
    # scheme.yaml has other problems, so that one run reports everything.
    known = _known_names(scheme_cfg, doc)
    providers: dict[str, ProviderConfig] = {}
    provider_docs: dict[str, YamlDocument] = {}
    provider_dir = root / "providers"
    files = sorted(provider_dir.glob("*.yaml")) + sorted(provider_dir.glob("*.yml"))
    if not files:
        problems.append(Problem(_rel(provider_dir, root), "no provider files (providers/<id>.yaml)"))
    for path in files:
        pdoc, found = read_yaml(path, _rel(path, root))
        problems += found
        if pdoc is None:
            continue
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
    if problems:
        raise ConfigError(problems, f"{len(problems)} problem(s) in the MoU configs in {root}")
    assert scheme_cfg is not None
    return Scheme(scheme_cfg, providers, str(root))


def _check_scheme(cfg: SchemeConfig, doc: YamlDocument) -> list[Problem]:
    problems = []
    for area, spec in cfg.areas.items():
        for i, n in enumerate(spec.neighbours):
            path = ("areas", area, "neighbours", i)
            if n not in cfg.areas:
                problems.append(Problem(doc.source, f"unknown area '{n}'", doc.line_of(path), dotted(path)))
            elif n == area:
                problems.append(Problem(doc.source, "an area is not its own neighbour",
                                        doc.line_of(path), dotted(path)))
            elif area not in cfg.areas[n].neighbours:
                problems.append(Problem(doc.source, f"neighbours must be symmetric: '{n}' does not list "
                                        f"'{area}'", doc.line_of(path), dotted(path)))
    for i, band in enumerate(cfg.fairness.bands):
        if band.min_bedrooms > band.max_bedrooms:
            path = ("fairness", "bands", i)
            problems.append(Problem(doc.source, "min_bedrooms is above max_bedrooms",
                                    doc.line_of(path), dotted(path)))
    if cfg.fairness.band_max_debt is not None and not cfg.fairness.bands:
        problems.append(Problem(doc.source, "band_max_debt needs bands",
                                doc.line_of(("fairness", "band_max_debt")), "fairness.band_max_debt"))
    bands = sorted(cfg.fairness.bands, key=lambda b: b.min_bedrooms)
    for a, b in zip(bands, bands[1:]):
        if b.min_bedrooms <= a.max_bedrooms:
            problems.append(Problem(doc.source, f"bands '{a.name}' and '{b.name}' overlap",
                                    doc.line_of(("fairness", "bands")), "fairness.bands"))
    if len(set(cfg.priority.risk_levels)) != len(Risk) :
        problems.append(Problem(doc.source, "risk_levels must list high, medium and standard once each",
                                doc.line_of(("priority", "risk_levels")), "priority.risk_levels"))
    return problems


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
