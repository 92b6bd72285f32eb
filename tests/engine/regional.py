"""The generated regional round as the flow engine sees it, shared by the engine's tests."""
from __future__ import annotations

from matching.instance import build_instance
from matching.objectives import objectives_for
from matching.pinning import choose_pins
from matching.rules import MatchContext
from reciprocal.simulation.generator import generate


def regional_round(seed: int = 1):
    """(the generated instance, its `MatchingInstance` with the homes offered for a household
    pinned, the scheme's objectives). Its scheme counts gives from `proposed`, so every level is a
    min-cost flow and all but `preference_fit` are priced."""
    instance = generate("regional", seed)
    inst = build_instance(MatchContext(instance.scheme, instance.on), instance.requests,
                          instance.offers, instance.balances)
    assert inst.gives_fund
    inst.pinned, _ = choose_pins(inst)
    return instance, inst, objectives_for(instance.scheme.config.matching.objectives)
