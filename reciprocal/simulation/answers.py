"""How members answer circulation in the simulated weekly process.

In the real schemes most homes are found because a member sees a circulated request and offers a
home *for* that household (README, Weeks of rounds, worked; Cambridgeshire's year: 17 referrals, 11 requests
circulated, 4 offers, 4 moves). The simulation models it so:

- A referral is circulated only once its landlord approves it: each is approved with probability
  `approved_share` (Cambridgeshire's 11 circulated of 17 referrals), drawn once per household; the
  rest leave by another route before approval and are never in the pot (the same draw for every
  policy).
- Every week, each member's circulation list is what `matching.circulation` would send it: the
  waiting households its stock could serve, most urgent first.
- A member's homes arrive by `Arrivals.offer_count` (Poisson draws shared by every policy, whose
  rate rises the more the member owes the scheme). Each home is
  kept back for a household on the member's list with probability `answer_probability(balance)`
  (`answer_share` for a member that is even, more the more it owes, at most 1); the rest go into
  the pot at once (`answer_share=0`: every home into the pot, no circulation answered). A kept home is offered, as soon as the member's list
  holds a household no home has yet been offered for, for the most urgent such household; one not
  used within `hold_weeks` goes into the pot as drawn. The home offered is one the member
  would offer that household: in one of the areas its list names as safe, of the bedrooms it
  needs, meeting its access needs, available now, no restrictions, on the member's own grants.

`approved_share` comes from the seed; `answer_share`, `answer_response` and `hold_weeks` are
assumptions (`reciprocal.simulation.assumptions`); docs/simulation.md checks the result against
Cambridgeshire's year and London's scheme.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from reciprocal.domain import Offer, PropertyType, Request
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.draws import uniform as _uniform


@dataclass
class Answering:
    """One run's homes kept back by members for households on their lists."""

    terms: Assumptions
    kept: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # member -> (week, k)

    def holds(self, seed: int, week: int, provider: str, k: int, balance: int) -> bool:
        """Whether the member keeps its k-th home of the week for a circulated household."""
        u = _uniform(seed, "answer", week, provider, k)
        if u < self.terms.answer_probability(balance):
            self.kept.setdefault(provider, []).append((week, k))
            return True
        return False

    def answer(self, seed: int, week: int, on: date, lists: dict, pot: dict
               ) -> tuple[list[Offer], list[tuple[int, str, int]]]:
        """Homes made for households on the members' lists this week, one per kept home; and the
        kept homes whose time ran out (week, member, k), which go into the pot as drawn."""
        answered = {o.for_request for o in pot.values() if o.for_request}
        made = []
        expired = []
        for provider in sorted(self.kept):
            kept = [(w, k) for w, k in self.kept[provider] if week - w < self.terms.hold_weeks]
            expired += [(w, provider, k) for w, k in self.kept[provider] if week - w >= self.terms.hold_weeks]
            for item in lists.get(provider, []):
                if not kept:
                    break
                if item.request.ref in answered:
                    continue
                w, k = kept.pop(0)
                rng = random.Random(f"reciprocal-sim/{seed}/answer/{w}/{provider}/{k}")
                made.append(home_for(f"OF-{w + 1:03d}-{provider}-{k}-for", provider, item.request,
                                     item.areas, on, rng))
                answered.add(item.request.ref)
            self.kept[provider] = kept
        return made, expired


def home_for(ref: str, provider: str, request: Request, areas: tuple[str, ...], on: date,
             rng: random.Random) -> Offer:
    """The home a member offers for a circulated household."""
    kind = rng.choice((PropertyType.flat, PropertyType.house)) if request.bedrooms_needed else PropertyType.studio
    step_free = request.needs_step_free or request.needs_wheelchair or rng.random() < 0.2
    return Offer(ref=ref, provider=provider, area=rng.choice(sorted(areas)), bedrooms=request.bedrooms_needed,
                 property_type=kind, available_from=on, floor=0 if step_free else 1, step_free=step_free,
                 wheelchair_accessible=request.needs_wheelchair, for_request=request.ref)
