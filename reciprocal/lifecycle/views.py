"""The round as scripts and the terminal see it (SPEC section 9), built in one place.

`round run --format json` and `round show N --format json` print `RoundView.to_json()`: `round`,
`on`, `status`, `proposals` (each with `id`, `request`, `offer`, `from_provider`, `to_provider`,
`status`, `decline_reason` and its explanation: `reasons`, `rules_passed`, `balance_effect`, ...),
`unmatched`, `objectives`, `solve_seconds`, `solves`. The report stored with a round
(`RoundRow.report`) is a `RoundReport`, written by the first solve and extended by each re-solve;
reading it back tolerates reports written by earlier releases.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlmodel import Session

from matching.engine import PROPOSAL_KEYS, RoundResult
from reciprocal.lifecycle.rounds import get_round, proposals_of
from reciprocal.storage import Database, ProposalRow, RoundRow


@dataclass(frozen=True)
class SolveReport:
    """One solve of a round: the first, or a re-solve after a decline."""

    objectives: list[dict]
    solve_seconds: float
    compatible_pairs: int
    proposals: int

    @classmethod
    def of(cls, result: RoundResult) -> SolveReport:
        return cls(result.objectives, result.solve_seconds, result.compatible_pairs, len(result.proposals))

    def to_json(self) -> dict:
        return {"objectives": self.objectives, "solve_seconds": self.solve_seconds,
                "compatible_pairs": self.compatible_pairs, "proposals": self.proposals}


@dataclass(frozen=True)
class RoundReport:
    """What a round's solves found, stored with the round: the first solve's objectives and time,
    a reason for every request left unmatched (updated by re-solves), and every solve."""

    objectives: list[dict] = field(default_factory=list)
    solve_seconds: float = 0.0
    compatible_pairs: int = 0
    unmatched: list[dict] = field(default_factory=list)
    solves: list[SolveReport] = field(default_factory=list)

    @classmethod
    def first(cls, result: RoundResult) -> RoundReport:
        return cls(result.objectives, result.solve_seconds, result.compatible_pairs, result.unmatched,
                   [SolveReport.of(result)])

    def resolved(self, result: RoundResult, unmatched: list[dict]) -> RoundReport:
        """After a re-solve: its unmatched reasons replace the old ones; the solve is appended."""
        return replace(self, unmatched=sorted(unmatched, key=lambda u: u["request"]),
                       solves=[*self.solves, SolveReport.of(result)])

    @classmethod
    def from_json(cls, data: dict | None) -> RoundReport:
        data = data or {}
        solves = [SolveReport(s.get("objectives", []), s.get("solve_seconds", 0.0),
                              s.get("compatible_pairs", 0), s.get("proposals", 0))
                  for s in data.get("solves", [])]
        return cls(data.get("objectives", []), data.get("solve_seconds", 0.0), data.get("compatible_pairs", 0),
                   data.get("unmatched", []), solves)

    def to_json(self) -> dict:
        return {"objectives": self.objectives, "solve_seconds": self.solve_seconds,
                "compatible_pairs": self.compatible_pairs, "unmatched": self.unmatched,
                "solves": [s.to_json() for s in self.solves]}


def proposal_row(round_id: int, proposal: dict) -> ProposalRow:
    """A proposal of `matching.engine.solve_round` as it is stored: its explanation is every key
    beyond the pair and its two providers."""
    explanation = {k: v for k, v in proposal.items() if k not in PROPOSAL_KEYS}
    return ProposalRow(round_id=round_id, request_ref=proposal["request"], offer_ref=proposal["offer"],
                       from_provider=proposal["from_provider"], to_provider=proposal["to_provider"],
                       explanation=explanation)


@dataclass(frozen=True)
class ProposalView:
    id: int
    request: str
    offer: str
    from_provider: str
    to_provider: str
    status: str
    decline_reason: str | None
    explanation: dict

    @classmethod
    def of(cls, row: ProposalRow) -> ProposalView:
        return cls(row.id, row.request_ref, row.offer_ref, row.from_provider, row.to_provider, row.status,
                   row.decline_reason, dict(row.explanation or {}))

    def to_json(self) -> dict:
        return {"id": self.id, "request": self.request, "offer": self.offer,
                "from_provider": self.from_provider, "to_provider": self.to_provider,
                "status": self.status, "decline_reason": self.decline_reason, **self.explanation}


@dataclass(frozen=True)
class RoundView:
    round: int
    on: str
    status: str
    proposals: list[ProposalView]
    report: RoundReport

    def to_json(self) -> dict:
        return {"round": self.round, "on": self.on, "status": self.status,
                "proposals": [p.to_json() for p in self.proposals], "unmatched": self.report.unmatched,
                "objectives": self.report.objectives, "solve_seconds": self.report.solve_seconds,
                "solves": [s.to_json() for s in self.report.solves]}


def view_of(session: Session, rnd: RoundRow, proposals: list[ProposalRow]) -> RoundView:
    return RoundView(rnd.id, rnd.on.isoformat(), rnd.status, [ProposalView.of(p) for p in proposals],
                     RoundReport.from_json(rnd.report))


def round_view(db: Database, round_id: int) -> dict:
    """The round as scripts see it (SPEC section 9), as a JSON-ready dict."""
    with db.reading() as session:
        rnd = get_round(session, round_id)
        return view_of(session, rnd, proposals_of(session, round_id)).to_json()
