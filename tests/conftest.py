"""Shared fixtures: the example scheme, fresh databases, and tiny hand-built offers and requests."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from reciprocal.config import Scheme, load_scheme
from reciprocal.domain import Offer, PropertyType, Request, RequestKind, Risk
from reciprocal.storage import Database, resolve_url

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "mou_configs"
DEMO_DATA = ROOT / "reciprocal" / "demo_data"
ROUND_DAY = date(2026, 11, 23)


@pytest.fixture(scope="session")
def scheme() -> Scheme:
    return load_scheme(CONFIG_DIR)


@pytest.fixture
def db(tmp_path, scheme) -> Database:
    database = Database(resolve_url(str(tmp_path / "test.db")))
    database.create(scheme.id)
    return database


def make_offer(**overrides) -> Offer:
    """A 2-bed Cambridge City flat in Cambridge, available now, no restrictions."""
    base = Offer(ref="OF-1", provider="cambridge_city", area="cambridge", bedrooms=2,
                 property_type=PropertyType.flat, available_from=date(2026, 11, 20))
    return replace(base, **overrides)


def make_request(**overrides) -> Request:
    """A standard-risk Fenland survivor household on a secure tenancy needing 2 bedrooms."""
    base = Request(ref="RQ-1", provider="fenland", kind=RequestKind.survivor,
                   current_tenancy="secure", bedrooms_needed=2, referred_on=date(2026, 10, 1),
                   risk=Risk.standard)
    return replace(base, **overrides)
