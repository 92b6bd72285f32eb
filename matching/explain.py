"""Reasons read off the instance and the solution: why each proposal, why each request unmatched.

The names are the rule and objective names of `matching.rules` and `matching.objectives`, so an
explanation, an audit line and a test name all say the same thing.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from matching.instance import MatchingInstance
from matching.objectives import Objective
from reciprocal.domain import Account
from matching.rules import FAIRNESS_DEBT_LIMIT, ONE_PROPOSAL_EACH, PAIR_RULES, risk_gate

NO_COMPATIBLE_OFFER = "no_compatible_offer"
WENT_TO_HIGHER_PRIORITY = "compatible_offers_went_to_higher_priority"
PROVIDER_AT_DEBT_LIMIT = "provider_at_debt_limit"
PROVIDER_PAST_DEBT_LIMIT = "provider_past_debt_limit"
NOT_CHOSEN = "not_chosen_by_objectives"
OFFERED_FOR_ANOTHER = "compatible_offers_offered_for_other_households"
LANDLORD_NOT_ACTIVE = "landlord_not_an_active_member"
BELOW_RISK_GATE = "below_the_risk_gate"


def explain_proposals(inst: MatchingInstance, chosen: list[tuple[int, int]], objectives: list[Objective],
                      balances_before: dict[str, int],
                      pinned: set[tuple[int, int]] | frozenset = frozenset()) -> list[dict]:
    """Each chosen pair's explanation, in the order given (`pinned`: the pairs offered for their
    household). What is the same for every proposal (the rules passed, how gives count, the
    objective weights' columns) is worked out once, not per proposal: a national round has 12,909."""
    passed = [rule.name for rule in PAIR_RULES] + [FAIRNESS_DEBT_LIMIT, ONE_PROPOSAL_EACH]
    passed_all = f"passed all hard rules ({', '.join(passed)})"
    stage = inst.scheme.gives_count_from
    counts = ("a home it gives counts from the proposal that gives it" if inst.gives_fund
              else f"a home it gives counts once that proposal is {stage}")
    rows = np.array([i for i, _ in chosen], dtype=np.int64)
    cols = np.array([j for _, j in chosen], dtype=np.int64)
    contributions = [(obj.name, obj.weights_at(inst, rows, cols).tolist()) for obj in objectives if obj.linear]
    weeks = (inst.waiting[rows] // 7).tolist() if len(chosen) else []
    max_debt: dict[str, int] = {}
    out = []
    for k, (i, j) in enumerate(chosen):
        request, offer = inst.requests[i], inst.offers[j]
        frm, to = request.provider, offer.provider
        b_from, b_to = balances_before.get(frm, 0), balances_before.get(to, 0)
        preferences = []
        if offer.area in request.preferred_areas:
            preferences.append("preferred_area")
        if offer.bedrooms == request.bedrooms_needed:
            preferences.append("exact_size")
        if frm not in max_debt:
            max_debt[frm] = inst.scheme.max_debt(frm)
        reasons = [passed_all,
                   f"{request.risk.value} risk, waiting {weeks[k]} week(s)",
                   f"{frm} balance {b_from:+d} -> {b_from - 1:+d} (its tenant is rehoused; its debt limit is "
                   f"-{max_debt[frm]}, and the balance counts the ledger and its live proposals: each placement "
                   f"from proposed, {counts}); {to} balance {b_to:+d} -> {b_to + 1:+d} once signed (gives a home)"]
        reasons.append("meets preferences: " + ", ".join(preferences) if preferences
                       else "meets no stated preference (area or exact size)")
        is_pinned = (i, j) in pinned
        if is_pinned:
            reasons.append(f"{to} offered this home for this household: proposed to it first")
        out.append({
            "for_request": is_pinned,
            "reasons": reasons,
            "rules_passed": list(passed),
            "balance_effect": {frm: {"before": b_from, "after": b_from - 1},
                               to: {"before": b_to, "after": b_to + 1}},
            "preferences_met": preferences,
            "objective_contributions": {name: weights[k] for name, weights in contributions},
        })
    return out


def explain_unmatched(inst: MatchingInstance, chosen: list[tuple[int, int]]) -> dict[int, dict]:
    """A reason for every request left unmatched, keyed by request index."""
    n_req = len(inst.requests)
    chosen_request = np.array([i for i, _ in chosen], dtype=np.int64)
    chosen_offer = np.array([j for _, j in chosen], dtype=np.int64)
    matched = np.zeros(n_req, dtype=bool)
    matched[chosen_request] = True
    compatible_count = np.bincount(inst.pair_request, minlength=n_req).tolist()
    used_offer = np.zeros(len(inst.offers), dtype=bool)
    used_offer[chosen_offer] = True
    free_pair = ~used_offer[inst.pair_offer]
    has_free_compatible = (np.bincount(inst.pair_request[free_pair], minlength=n_req) > 0).tolist()
    # Compatible offers that went to the household they were offered for (`matching.pinning`).
    pinned_offer = np.zeros(len(inst.offers), dtype=bool)
    pinned_offer[inst.pair_offer[np.asarray(inst.pinned, dtype=np.int64)]] = True
    pinned_away = np.bincount(inst.pair_request[pinned_offer[inst.pair_offer]], minlength=n_req).tolist()
    # Rule 9's rows over the chosen pairs alone (each of them chosen: x is all ones), not over the
    # 2 million eligible pairs at national scale: what a row binds depends only on those chosen.
    limits = {lim.account: lim for lim in inst.debt_limits((chosen_request, chosen_offer))}
    x = np.ones(len(chosen), dtype=bool)
    out: dict[int, dict] = {}
    n_offers = len(inst.offers)
    # Whether an account's rule 9 row binds, once per account (a national round leaves thousands
    # of households of the same 1,500 members unmatched).
    bound: dict[Account, bool] = {}

    spans: dict[str, np.ndarray] = {}  # the pairs' offers grouped by request, and where each request starts

    def compatible_offers(i: int) -> np.ndarray:
        # Only band schemes ask; the pairs are grouped by request (`build_instance`), so a
        # request's are found by bisection, set up once.
        if not spans:
            order = slice(None)
            if inst.n_pairs > 1 and not (inst.pair_request[1:] >= inst.pair_request[:-1]).all():
                order = np.argsort(inst.pair_request, kind="stable")
            spans["offers"] = inst.pair_offer[order]
            spans["starts"] = np.searchsorted(inst.pair_request[order], np.arange(n_req + 1))
        starts = spans["starts"]
        return spans["offers"][starts[i]:starts[i + 1]]

    def binds(limit) -> bool:
        if limit.account not in bound:
            bound[limit.account] = _binds(limit, x)
        return bound[limit.account]

    for i in np.flatnonzero(~matched).tolist():
        request = inst.requests[i]
        provider = request.provider
        compatible = compatible_count[i]
        plain = _household_cause(inst, request)
        if plain is not None:
            # A cause that holds whatever home is offered: say it plainly, not as rule counts.
            out[i] = {**plain, "compatible_offers": compatible}
            continue
        if compatible == 0:
            counts = inst.excluded.get(i, Counter())
            detail = ", ".join(f"{rule.name} excluded {counts[rule.name]}" for rule in PAIR_RULES
                               if counts.get(rule.name))
            several = " (an offer can fail several rules, so these add up to more)" \
                if sum(counts.values()) > n_offers else ""
            reason = (f"no compatible offer: of {n_offers} open offer(s), {detail}{several}") if n_offers \
                else "no compatible offer: there are no open offers this round"
            out[i] = {"reason": reason, "reason_code": NO_COMPATIBLE_OFFER,
                      "excluded_by": {k: v for k, v in counts.items() if v},
                      "open_offers": n_offers}
            continue
        total = limits.get(Account(provider))
        if total is not None and binds(total):
            balance = inst.balances.get(provider, 0)
            limit = inst.scheme.max_debt(provider)
            placed, given = total.placed.size, total.given.size  # the rows' pairs are all chosen
            if total.shut:
                reason = (f"its provider {provider} is past its debt limit by {-(balance + limit)} "
                          f"(counted balance {balance:+d}, max_debt {limit}): none of its tenants is placed "
                          f"until it is back within; "
                          f"{compatible} compatible offer(s) exist")
                code = PROVIDER_PAST_DEBT_LIMIT
            elif total.room == 0 and not given:
                reason = (f"its provider {provider} is at its debt limit (balance {balance:+d}, "
                          f"max_debt {limit}); {compatible} compatible offer(s) exist")
                code = PROVIDER_AT_DEBT_LIMIT
            else:
                gives = f", {given} home(s) it gives counted" if inst.gives_fund else ""
                reason = (f"its provider {provider} reached its debt limit in this round (balance "
                          f"{balance:+d}, max_debt {limit}, {placed} placed this round{gives}); "
                          f"{compatible} compatible offer(s) exist")
                code = PROVIDER_AT_DEBT_LIMIT
            out[i] = {"reason": reason, "reason_code": code, "compatible_offers": compatible}
        elif inst.band_headroom and _band_limit_binds(inst, i, x, limits, compatible_offers):
            out[i] = {"reason": f"its provider {provider} is at its debt limit in the bedroom band(s) "
                                f"of its {compatible} compatible offer(s) (band_max_debt "
                                f"{inst.scheme.config.fairness.band_max_debt})",
                      "reason_code": PROVIDER_AT_DEBT_LIMIT, "compatible_offers": compatible}
        elif has_free_compatible[i]:
            # Only possible when the scheme's objectives do not ask for the most households moved.
            out[i] = {"reason": f"{compatible} compatible offer(s) were left unused because the "
                                f"scheme's objectives ({', '.join(o for o in inst.objective_names)}) "
                                f"did not favour this move",
                      "reason_code": NOT_CHOSEN, "compatible_offers": compatible}
        elif pinned_away[i] == compatible:
            out[i] = {"reason": f"its {compatible} compatible offer(s) were each offered for another "
                                f"household and proposed to it first",
                      "reason_code": OFFERED_FOR_ANOTHER, "compatible_offers": compatible}
        else:
            out[i] = {"reason": f"its {compatible} compatible offer(s) went to households ranked "
                                f"higher by the scheme's objectives, in its order: "
                                f"{', '.join(inst.objective_names)}",
                      "reason_code": WENT_TO_HIGHER_PRIORITY, "compatible_offers": compatible}
    return out


def _household_cause(inst: MatchingInstance, request) -> dict | None:
    """Why a household cannot be matched at all this round, whatever the homes: its landlord is
    not an active member on the day, or its risk is below the scheme's risk gate."""
    scheme, on = inst.scheme, inst.ctx.on
    inactive = scheme.why_inactive(request.provider, on)
    if inactive is not None:
        return {"reason": f"its landlord {inactive}, so its households are not matched in this round",
                "reason_code": LANDLORD_NOT_ACTIVE}
    gate = scheme.config.priority.risk_gate
    if gate is not None and not risk_gate(inst.ctx, request, None):
        return {"reason": f"its risk ({request.risk.value}) is below the scheme's risk gate "
                          f"({gate.value}): only {gate.value} risk and above are matched",
                "reason_code": BELOW_RISK_GATE}
    return None


def _binds(limit, x: np.ndarray) -> bool:
    """Whether one more placement for the account would break its rule 9 row, given choice x."""
    return limit.room_left(x) <= 0


def _band_limit_binds(inst: MatchingInstance, i: int, x: np.ndarray, limits: dict, compatible_offers) -> bool:
    """True when every band of request i's compatible offers is full for its provider."""
    provider = inst.requests[i].provider
    band_of = inst.scheme.band_of
    bands = {band_of(inst.offers[j].bedrooms) for j in compatible_offers(i).tolist()}
    return all(Account(provider, band) in limits and _binds(limits[Account(provider, band)], x)
               for band in bands)
