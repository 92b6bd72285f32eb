"""The simulation with proposals that take weeks (`reciprocal.simulation.stages`)."""
from __future__ import annotations

import pytest

from reciprocal.errors import IntegrityError
from reciprocal.simulation import stages
from reciprocal.simulation.stages import compare_flows


@pytest.fixture(scope="module")
def stress(scheme):
    return compare_flows(scheme, weeks=26, seed=3, setting="stress")


def test_every_proposal_ends_signed_refused_lapsed_or_is_still_live(stress):
    for flow, m in stress["flows"].items():
        ended = (m["households_moved"] + m["refused_by_household"] + m["refused_by_offering_landlord"]
                 + m["lapsed"] + m["live_at_end"])
        assert ended == m["proposals"], (flow, m)
        assert m["lapsed"] == sum(m["lapsed_at_stage"].values())


def test_no_member_is_ever_past_its_limit_counting_every_live_proposal(stress):
    for m in stress["flows"].values():
        assert m["lowest_headroom"] >= 0


def test_waiting_for_every_answer_runs_fewer_rounds(stress):
    weekly, wait = stress["flows"]["weekly"], stress["flows"]["wait"]
    assert wait["rounds"] < weekly["rounds"] <= 26
    assert weekly["proposals"] >= wait["proposals"]


def test_the_same_stream_gives_the_same_figures(scheme, stress):
    assert compare_flows(scheme, weeks=26, seed=3, setting="stress") == stress


def test_every_round_is_checked_against_the_hard_rules(scheme, monkeypatch):
    real = stages.solve_round

    def careless(*args, **kwargs):
        result = real(*args, **kwargs)
        if result.proposals:  # the same household twice: breaks one_proposal_each
            result.proposals.append(dict(result.proposals[0], offer=result.proposals[-1]["offer"]))
        return result

    monkeypatch.setattr(stages, "solve_round", careless)
    with pytest.raises(IntegrityError, match="one_proposal_each"):
        compare_flows(scheme, weeks=26, seed=3, setting="stress")


def test_the_products_rule_never_lets_the_ledger_pass_a_limit(stress):
    for m in stress["flows"].values():
        assert m["lowest_ledger_headroom"] >= 0
    # The comparison rule (gives counted before they are signed) is measured, not guaranteed.
    assert "lowest_ledger_headroom" in stress["weekly_with_gives_counted_in_advance"]
