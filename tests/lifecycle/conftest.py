"""Fixtures of the lifecycle tests."""
from __future__ import annotations

import pytest

from reciprocal.intake import pot
from reciprocal.lifecycle import run, views
from tests.conftest import DEMO_DATA, ROUND_DAY


@pytest.fixture
def week1(db, scheme) -> dict[str, int]:
    """The demo pot and its first round: request ref -> proposal id (RQ-0101..RQ-0104, RQ-0107)."""
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv", approved_on=ROUND_DAY)
    outcome = run.run_round(db, scheme, ROUND_DAY)
    return {p["request"]: p["id"] for p in views.round_view(db, outcome.round_id)["proposals"]}
