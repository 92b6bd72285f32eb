"""What every solver of a round hands back: the pairs chosen and, for each objective level, its
value, its proven bound and how it was reached. Its own module so that the flow engine, which
needs no CP-SAT, loads no CP-SAT (`matching.cpsat` imports OR-Tools' CP-SAT and protobuf: about a
tenth of a second of every `round run`)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LevelReport:
    name: str
    sense: str
    value: int
    bound: int
    status: str
    seconds: float
    # Said plainly when the level is not proven optimal (a time limit reached, no solution found).
    note: str = ""
    # How the level was solved, for the benchmarks ("lp", "mip"; empty where there is one way).
    method: str = ""

    @property
    def gap(self) -> float:
        if self.value == self.bound:
            return 0.0
        return abs(self.bound - self.value) / max(1, abs(self.bound))

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"


@dataclass
class Solution:
    chosen: list[tuple[int, int]]
    levels: list[LevelReport] = field(default_factory=list)
    seconds: float = 0.0
