"""The whole-path benchmark (`python -m benchmarks.whole_path`) measures the instance the engine's
bench solves: its files read back through the product's own readers give the same scheme, homes
and households, each member's headroom is kept as its debt limit, and its check of a round's
answer catches a broken one. The benchmark itself runs at scale outside the suite."""
from __future__ import annotations

from benchmarks.whole_path import check_round, headroom_as_limits, write_path_instance
from reciprocal.config import load_scheme
from reciprocal.domain import debt_headroom
from reciprocal.intake.readers import read_offers, read_requests
from reciprocal.simulation.generator import generate


def test_the_written_instance_reads_back_as_generated(tmp_path):
    instance = generate("regional", 2)  # a synthetic scheme: 80 members, written as YAML
    config, offers, requests = write_path_instance(instance, tmp_path)
    scheme = load_scheme(config)
    assert set(scheme.providers) == set(instance.scheme.providers)
    assert scheme.config.areas == instance.scheme.config.areas
    assert [o for _, o in read_offers(offers, scheme)] == instance.offers
    assert [r for _, r in read_requests(requests, scheme)] == instance.requests
    # Starting at zero, each member has the headroom its generated balance gave it.
    limits = headroom_as_limits(instance)
    for p in scheme.providers:
        assert scheme.max_debt(p) == limits[p]
        assert debt_headroom(0, scheme.max_debt(p)) == debt_headroom(
            instance.balances.get(p, 0), instance.scheme.max_debt(p))


def test_the_check_catches_a_broken_round(tmp_path):
    instance = generate("pilot", 1)
    config, _, _ = write_path_instance(instance, tmp_path)
    request = instance.requests[0]
    same_member = next(o for o in instance.offers if o.provider == request.provider)
    shown = {"proposals": [{"request": request.ref, "offer": same_member.ref},
                           {"request": instance.requests[1].ref, "offer": same_member.ref}],
             "unmatched": [{"request": r.ref, "reason": "x"} for r in instance.requests[3:]]
             + [{"request": request.ref, "reason": "x"}],
             "objectives": [{"name": "households_moved", "status": "FEASIBLE"}]}
    problems = "\n".join(check_round(instance, config, shown))
    assert "cross_provider" in problems
    assert f"offer {same_member.ref} is in 2 proposals" in problems
    assert f"neither proposed nor given a reason, e.g. {instance.requests[2].ref}" in problems
    assert "both proposed and unmatched" in problems
    assert "households_moved is FEASIBLE, not proven optimal" in problems
