"""docs/config.md, the scheme author's reference, says everything the code accepts, and says it as
the code does.

Every key of `scheme.yaml` and `providers/<id>.yaml` (found by walking the pydantic models,
nested models, lists and dicts of models included) has its row, with the model's default and
range; every objective id with its `describe()` text; every restriction, age band, yes/no
spelling, personal-data column, offers, requests and decisions column. A key added to a model
without a row here fails `test_every_config_key_has_its_row` (and
`test_the_walk_finds_a_key_added_to_a_model` proves the walk would see it)."""
from __future__ import annotations

import re
import typing
from enum import Enum
from typing import Iterator

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from matching.objectives import OBJECTIVES
from matching.rules import FAIRNESS_DEBT_LIMIT, ONE_PROPOSAL_EACH, PAIR_RULES
from reciprocal.config import OBJECTIVE_NAMES, FairnessTerms, ProviderConfig, SchemeConfig
from reciprocal.domain import AGE_BANDS, RESTRICTIONS, PropertyType, RefusedBy, RequestKind, Risk
from reciprocal.intake.readers import FALSE, OFFER_COLUMNS, PERSONAL_DATA_COLUMNS, REQUEST_COLUMNS, TRUE
from reciprocal.lifecycle import decisions

from tests.conftest import ROOT

DOC = ROOT / "docs" / "config.md"
SCHEME_SECTION = "scheme.yaml"
PROVIDER_SECTION = "providers/<id>.yaml"


# -- reading the page ---------------------------------------------------------------------------

def section(title: str, level: str = "##") -> str:
    """The text under the heading `title` at `level`, up to the next heading of that level or above."""
    text = DOC.read_text(encoding="utf-8")
    heading = f"\n{level} {title}\n"
    assert heading in text, f"docs/config.md has no {heading.strip()!r} section"
    body = text.split(heading, 1)[1]
    stop = re.search(rf"^#{{1,{len(level)}}} ", body, flags=re.M)
    return body[:stop.start()] if stop else body


def keys_table(title: str) -> str:
    """A config file's section up to its first subsection: the table of its keys."""
    return section(title).split("\n### ", 1)[0]


def rows(text: str) -> dict[str, list[str]]:
    """Table rows whose first cell is one `code` span, by that code: the row's cells."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\| `([^`]+)` \|(.*)\|\s*$", line)
        if match:
            found[match.group(1)] = [c.strip() for c in re.split(r"(?<!\\)\|", match.group(2))]
    return found


def codes(text: str) -> set[str]:
    """The `code` spans of `text` (fenced blocks left out)."""
    return set(re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S)))


# -- walking the models -------------------------------------------------------------------------

def field_paths(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every key path of `model`: nested models as `a.b`, dict-of-model values as `a.*.b`, list
    items as `a[].b` (an optional model is walked like the model)."""
    for name, info in model.model_fields.items():
        path = prefix + name
        yield path, info
        yield from _inner(info.annotation, path)


def _inner(annotation, path: str) -> Iterator[tuple[str, FieldInfo]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from field_paths(annotation, path + ".")
        return
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict:
        yield from _inner(args[1], path + ".*")
    elif origin is list:
        yield from _inner(args[0], path + "[]")
    else:  # Optional / Union
        for arg in args:
            if arg is not type(None):
                yield from _inner(arg, path)


def _yaml(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Enum):
        return value.value
    if value == "":
        return '""'
    if isinstance(value, BaseModel):  # as YAML's flow style writes it: {name: all, min_bedrooms: 0}
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.model_dump().items()) + "}"
    return str(value)


def _range(info: FieldInfo) -> str | None:
    bounds = {type(m): m for m in info.metadata if isinstance(m, (Ge, Gt, Le, Lt))}
    ge, gt, le = bounds.get(Ge), bounds.get(Gt), bounds.get(Le)
    if ge is not None and le is not None:
        return f"{ge.ge}..{le.le}"
    if gt is not None and le is not None:
        return f"> {_yaml(gt.gt)}, <= {_yaml(le.le)}"
    if ge is not None:
        return f">= {ge.ge}"
    if gt is not None:
        return f"> {_yaml(gt.gt)}"
    return None


def _choices(annotation) -> list[str]:
    """The values a Literal or an Enum (also inside Optional or list) allows."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [m.value for m in annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [c for arg in typing.get_args(annotation) for c in _choices(arg)]


def row_problems(model: type[BaseModel], text: str) -> list[str]:
    """What the rows under `text` miss for `model`: a key without a row, a default or range the
    row does not state as the model has it."""
    table = rows(text)
    problems = []
    for path, info in field_paths(model):
        row = table.get(path)
        if row is None:
            problems.append(f"`{path}` has no row")
            continue
        _type, default, allowed = row[0], row[1], row[2]
        if info.is_required():
            if default != "required":
                problems.append(f"`{path}` is required, the row says {default!r}")
        elif info.default_factory is not None:
            made = info.default_factory()
            if made == []:
                expected = "`[]`"
            elif isinstance(made, BaseModel):
                expected = "every default below"
            else:
                assert isinstance(made, list)
                missing = [item for item in made if _yaml(item) not in codes(DOC.read_text())]
                if missing:
                    problems.append(f"`{path}` default items not on the page: {missing}")
                expected = None
            if expected and expected not in default:
                problems.append(f"`{path}` default is {expected}, the row says {default!r}")
        elif info.default is not PydanticUndefined and f"`{_yaml(info.default)}`" != default:
            problems.append(f"`{path}` default is `{_yaml(info.default)}`, the row says {default!r}")
        span = _range(info)
        if span is not None and span not in allowed:
            problems.append(f"`{path}` allows {span}, the row says {allowed!r}")
        for choice in _choices(info.annotation):
            if f"`{choice}`" not in allowed:
                problems.append(f"`{path}` allows `{choice}`, the row does not say so")
    return problems


# -- config keys --------------------------------------------------------------------------------

def test_every_config_key_has_its_row():
    problems = row_problems(SchemeConfig, keys_table(SCHEME_SECTION))
    problems += row_problems(ProviderConfig, keys_table(PROVIDER_SECTION))
    assert not problems, "docs/config.md is behind reciprocal/config.py:\n" + "\n".join(problems)


def test_the_walk_reaches_nested_lists_and_dicts_of_models():
    paths = {p for p, _ in field_paths(SchemeConfig)} | {p for p, _ in field_paths(ProviderConfig)}
    assert {"fairness.max_debt", "fairness.band_max_debt", "fairness.bands[].min_bedrooms",
            "areas.*.neighbours", "tenancy_kinds.*.rank", "matching.reach_hops", "priority.risk_gate",
            "lifecycle.refusal_reasons", "offer_commitment.offers_per_year", "contact"} <= paths


def test_the_walk_finds_a_key_added_to_a_model():
    """The page fails as soon as a key is added without a row, at the top or nested."""
    class MoreFairness(FairnessTerms):
        surprise_nested: int = Field(default=3, ge=0)

    class MoreScheme(SchemeConfig):
        surprise_top: bool = False
        fairness: MoreFairness

    problems = row_problems(MoreScheme, keys_table(SCHEME_SECTION))
    assert [p for p in problems if "surprise" in p] == ["`fairness.surprise_nested` has no row",
                                                        "`surprise_top` has no row"]


def test_no_row_names_a_key_the_models_lack():
    for model, title in ((SchemeConfig, SCHEME_SECTION), (ProviderConfig, PROVIDER_SECTION)):
        extra = set(rows(keys_table(title))) - {p for p, _ in field_paths(model)}
        assert not extra, f"docs/config.md {title} documents keys the model lacks: {sorted(extra)}"


# -- objectives ---------------------------------------------------------------------------------

def test_every_objective_id_with_what_it_rewards_in_the_default_order():
    table = rows(section("Objectives", "###"))
    assert set(OBJECTIVES) == set(OBJECTIVE_NAMES)
    assert list(table) == list(OBJECTIVE_NAMES), "objectives are listed in their default order"
    for name, objective in OBJECTIVES.items():
        assert table[name][0].replace("\\|", "|") == objective.describe(), name


# -- hard rules ---------------------------------------------------------------------------------

def test_every_hard_rule_with_its_number_and_what_it_checks():
    table = rows(section("The hard rules"))
    for rule in PAIR_RULES:
        number = str(rule.spec_rule) if rule.spec_rule else "scheme option"
        assert table.get(rule.name, [None])[:2] == [number, rule.passed], rule.name
    assert table[FAIRNESS_DEBT_LIMIT][0] == "9" and table[ONE_PROPOSAL_EACH][0] == "10"
    assert set(table) == {r.name for r in PAIR_RULES} | {FAIRNESS_DEBT_LIMIT, ONE_PROPOSAL_EACH}


# -- offers and requests ------------------------------------------------------------------------

def test_every_offer_and_request_column_with_required_or_optional():
    for title, columns in (("Offer columns", OFFER_COLUMNS), ("Request columns", REQUEST_COLUMNS)):
        table = rows(section(title, "###"))
        assert list(table) == [c.name for c in columns if c.required] + \
            [c.name for c in columns if not c.required], f"{title}: every column, required ones first"
        for column in columns:
            assert table[column.name][0] == ("required" if column.required else "optional"), column.name


def test_choice_columns_list_every_value():
    offers, requests = rows(section("Offer columns", "###")), rows(section("Request columns", "###"))
    for cell, values in ((offers["property_type"][2], PropertyType), (requests["kind"][2], RequestKind),
                         (requests["risk"][2], Risk)):
        assert [f"`{v.value}`" for v in values] == re.findall(r"`[^`]+`", cell)


def test_every_restriction_and_age_band():
    assert list(rows(section("Restrictions", "###"))) == list(RESTRICTIONS)
    bands = [c for c in re.findall(r"`([^`]+)`", section("Age bands", "###")) if c[0].isdigit()]
    assert bands == list(AGE_BANDS)


def test_every_yes_no_spelling_the_reader_accepts_and_the_list_separator_and_dates():
    text = section("Offers and requests files")
    line = next(p for p in text.split("\n- ") if p.startswith("**yes/no**"))
    assert {c.lower() for c in codes(line)} == (TRUE | FALSE) - {""}
    assert "empty cell is no" in line
    assert "`;`" in text and "`YYYY-MM-DD`" in text and "`DD/MM/YYYY`" in text


def test_every_personal_data_column_that_is_refused():
    missing = PERSONAL_DATA_COLUMNS - codes(section("Offers and requests files"))
    assert not missing, f"refused columns not on the page: {sorted(missing)}"


# -- decisions files ----------------------------------------------------------------------------

def test_every_decisions_column_action_and_spelling():
    table = rows(section("Decisions files"))
    assert list(table) == list(decisions.COLUMNS)
    for column in decisions.REQUIRED:
        assert table[column][0] == "required", column
    assert codes(table["action"][1]) == set(decisions.ACTIONS)
    assert codes(table["by"][1]) == {b.value for b in RefusedBy}
    spelled = codes(table["reasonable"][1])
    for word in (TRUE | FALSE) - {""}:  # what the page says is exactly what the file reader takes
        try:
            decisions._yes_no(word)
            accepted = True
        except ValueError:
            accepted = False
        assert (word in spelled) == accepted, word
