"""The matching objectives, applied lexicographically in the order `scheme.yaml` lists them.

Each objective is a small object: `describe()` says what it rewards, `value()` computes it for a
set of chosen pairs independently of any solver (so reports and tests can check the model), and
linear objectives give a weight per eligible pair. `ledger_imbalance` is the one non-linear
objective (a sum of absolute balances) and the model builds it specially.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from matching.instance import MatchingInstance
from reciprocal.domain import Balances, ledger_effect

Pairs = list[tuple[int, int]]


@dataclass(frozen=True)
class Objective:
    name: str
    sense: Literal["max", "min"]
    linear: bool = True

    def describe(self) -> str:
        raise NotImplementedError

    def pair_weight(self, inst: MatchingInstance, i: int, j: int) -> int:
        raise NotImplementedError

    def value(self, inst: MatchingInstance, chosen: Pairs) -> int:
        if not chosen:
            return 0
        rows, cols = (np.array(side, dtype=np.int64) for side in zip(*chosen))
        return int(self.weights_at(inst, rows, cols).sum())

    def pair_weights(self, inst: MatchingInstance) -> np.ndarray:
        """`pair_weight` for every eligible pair at once (int64), in `inst.pairs` order."""
        return self.weights_at(inst, inst.pair_request, inst.pair_offer)

    def weights_at(self, inst: MatchingInstance, requests: np.ndarray, offers: np.ndarray) -> np.ndarray:
        """`pair_weight` of each pair (requests[k], offers[k]) at once (int64)."""
        return np.array([self.pair_weight(inst, i, j) for i, j in zip(requests.tolist(), offers.tolist())],
                        dtype=np.int64)


class HighRiskMoved(Objective):
    def describe(self) -> str:
        return "most high-risk households moved"

    def pair_weight(self, inst, i, j):
        return int(inst.is_high_risk(i))

    def weights_at(self, inst, requests, offers):
        return inst.high_risk[requests].astype(np.int64)


class HouseholdsMoved(Objective):
    def describe(self) -> str:
        return "most households moved"

    def pair_weight(self, inst, i, j):
        return 1

    def weights_at(self, inst, requests, offers):
        return np.ones(len(requests), dtype=np.int64)


class LongestWaiting(Objective):
    def describe(self) -> str:
        return "longest waiting served first (total days waited by the households moved)"

    def pair_weight(self, inst, i, j):
        return inst.waiting_days(i)

    def weights_at(self, inst, requests, offers):
        return inst.waiting[requests]


class LedgerImbalance(Objective):
    def describe(self) -> str:
        return "smallest ledger imbalance (sum over providers of |balance| after the round)"

    def value(self, inst, chosen):
        return sum(abs(b) for b in final_balances(inst, chosen).values())


class PreferenceFit(Objective):
    def describe(self) -> str:
        return "best fit: homes in preferred areas and of exactly the size needed"

    def pair_weight(self, inst, i, j):
        return inst.preference_score(i, j)

    def pair_weights(self, inst):
        return inst.pair_preference

    def weights_at(self, inst, requests, offers):
        return inst.preference_at(requests, offers)


OBJECTIVES: dict[str, Objective] = {
    "high_risk_moved": HighRiskMoved("high_risk_moved", "max"),
    "households_moved": HouseholdsMoved("households_moved", "max"),
    "longest_waiting": LongestWaiting("longest_waiting", "max"),
    "ledger_imbalance": LedgerImbalance("ledger_imbalance", "min", linear=False),
    "preference_fit": PreferenceFit("preference_fit", "max"),
}


def objectives_for(names: list[str]) -> list[Objective]:
    return [OBJECTIVES[n] for n in names]


def final_balances(inst: MatchingInstance, chosen: Pairs) -> dict[str, int]:
    effect = ledger_effect((inst.requests[i].provider, inst.offers[j].provider, None) for i, j in chosen)
    return Balances({p: inst.balances.get(p, 0) for p in inst.scheme.providers}).after(effect).total
