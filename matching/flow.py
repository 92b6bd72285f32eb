"""The engine's solver: the round as a min-cost circulation, solved objective by objective.

Why a network: each move sends one unit from the requesting provider's node, through its
receiving gate, the request and the offer, to the offering provider's node. The gate's capacity is
the provider's debt headroom (rule 9: tenants placed count against it, homes given do not until
signed); conservation at a provider node says `received - given = s - t`, where `s` arrives from
a source arc and `t` leaves to a sink (their costs carry `ledger_imbalance`). So every hard rule
is either an eligible pair (an arc), a capacity of 1 (rule 10) or a gate capacity (rule 9), and
the problem is a network flow: totally unimodular, solved exactly by OR-Tools' min-cost flow in seconds at national scale,
where a general MIP of the same rounds stalls.

The objectives come in the order `scheme.yaml` lists them. Until the first non-linear level
(`ledger_imbalance`) the providers' balances do not matter and a provider node only passes flow on
(its source and sink arcs cost nothing and have room for any net flow its gate allows), so those
levels are solved on the core arcs with every provider node merged into the source and the sink
(in place, to save memory; put back before the first non-linear level): there, one move is one
unit of source -> sink flow. A level that counts moves is then a maximum flow (OR-Tools'
push-relabel `SimpleMaxFlow`, a fraction of a second at national scale where a min-cost flow of
the same level takes seconds: cost scaling does a phase per factor of the cost range, and
folded weights near 2^60 made the first stage the slowest of all):

- `households_moved` anywhere in that prefix: a maximum flow in the residual network of the
  previous level's flow, added to it, so it stays within the face kept so far, pins included;
- `high_risk_moved` as the first level: the same from the pins, every other request frozen at
  its pins (removing the other moves from any solution keeps it feasible, so the high-risk moves
  alone decide the level).

The other levels are min-cost flows; consecutive ones are folded into one weighted cost while
the weights provably separate them and stay far inside int64 (the moves are bounded by the gates'
total capacity, which keeps the weights small). Between stages the optimal face is kept exactly:
node potentials (shortest paths in the residual network of the optimal flow) give every arc's
reduced cost, and by complementary slackness an arc with positive reduced cost carries no flow in
any optimal solution, one with negative reduced cost is full in every optimal solution. Fixing
those and re-solving with the next stage's costs is therefore an exact lexicographic
optimisation, and each level's value is its proven optimum (bound = value). The potentials exist
only when no negative cycle is left, i.e. when the flow is optimal for the stage's cost, so
computing them also certifies every max-flow level (even the last). A request whose provider has
no headroom can never move; its arcs are left out from the start.

When gives fund placements (rule 9 from `proposed`) no level is a maximum flow, and a min-cost flow
over all 2 million pair arcs takes seconds per level. A level whose pair costs are alike per
request (every level but `preference_fit`) is then priced: solved first on FIRST_PAIRS (20) pair
arcs per request and per offer (and those carrying flow), after which the potentials of that
restricted optimum price every pair left out. None with a negative reduced cost proves the flow
optimal for the whole network; otherwise those pairs join and it solves again. The levels are then
one per stage (a restricted solve's time grows with the cost range, so folding them costs more
than it saves). The potentials that priced a stage's last restricted optimum already leave no
residual arc of the whole network with a negative reduced cost, so its face is fixed with them:
any such potentials are optimal duals, and complementary slackness fixes the same optimal face
with any of them (`_potentials` from a start: one pass proves them, where a search from zero takes
4 to 8). `ledger_imbalance`, whose pair arcs cost nothing (its costs sit on the members'
balances), starts instead from the pairs carrying flow alone (ZERO_COST_PAIRS_FROM_FLOW): the
previous level's moves need only a few changes, so at national scale it takes some seven solves
of 24,000 to 120,000 arcs, together about half the time of one solve from FIRST_PAIRS (366,000
arcs). `preference_fit` (pair costs 0 to -2 within a request) is solved on the whole face kept
before it: priced from the cheapest pairs of each request and offer it took three solves at
national scale, each as long as one whole solve (and five to nine, from the flowing pairs or the
cheapest, in 2026-12 measurements). Each request's cheapest free pair cost is carried by its one
arc in instead (`_cheapest_pair_on_gate`, GATE_CARRIES_CHEAPEST_PAIR): every flow costs the same,
and the solver meets about a thousand negative arcs instead of half a million, some 8% faster.

Before any of this, a member's offers that every rule and every linear objective treat alike (the
same requests eligible, the same weight for each at every level, none offered for a household)
are merged into one offer node whose arc to the member carries as many units as it has offers
(`_group_interchangeable_offers`, hashed, then checked exactly): a flow cannot tell them apart, so
every level's optimum is the same, and the moves are handed back one offer each. At national
scale 20,000 offers become about 9,200 nodes and the 2 million pair arcs about 1.2 million
(`preference_fit` then faces 0.8 million tied pairs instead of 1.3 million).

Where the time goes at national scale (seed 1, gives from `proposed`, load about 2,
2026-12-06): `solve_flow` 6.5 to 7 s CPU on this machine, of which OR-Tools' cost scaling 5 to 5.5
s: `high_risk_moved` 0.6 to 0.8 s (585,000 arcs), `households_moved` 0.6 to 0.9 s (480,000),
`longest_waiting` 1.2 to 1.7 s (472,000; costs span 540 days), `ledger_imbalance` 0.35 s in
seven small solves (the whole stage 0.6 s, where one solve from FIRST_PAIRS took 0.7 to 0.9 s and
the stage 0.9 to 1.15 s), `preference_fit` 1.3 to 1.45 s (0.8 million arcs; 1.5 to 1.65 s with
its costs on the pairs); grouping the offers 0.45 s, the potentials 0.35 s. The solver's own time is push-relabel work (in `perf`, NodeHasAdmissibleArc,
Relabel and Discharge take three quarters of it), not its feasibility max flow (0.02 to 0.15 s on
the same arcs) nor its phase count: costs five times as large (one more phase) add 0 to 0.15 s,
and four times as many isolated nodes nothing. Measured and not kept: the costs alike per request
carried by the request's arc in for every level (no gain), the residual network of the previous
level's flow with no supplies (within the noise), ordering the arcs, capping the big source, sink
and return arcs at their flows, restricted starts of 2 or 4 pairs each with the most negative
pairs entering a few at a time (more solves than they save: each solve starts cost scaling from
zero prices, and giving it the previous solve's potentials as reduced costs was no faster), and
the levels as linear programs (GLOP's primal simplex 92 s on `ledger_imbalance`, HiGHS' dual
simplex past 120 s). What would close the gap: a solve that starts from the previous level's flow
and prices (OR-Tools' price updates and warm start are not reachable from Python), since a
restricted network that already holds an optimal flow solves in 0.1 to 0.2 s where the same level
from FIRST_PAIRS takes 0.6 to 1.5 s. Around the solver (measured before, at load 2.3), judging
the pairs takes 0.7 s, the check 0.4 s, the explanations 0.5 s.

`ledger_imbalance` (sum of |balance after the round|) is convex in each provider's net flow and
is written as parallel arcs of cost -1/+1 around the provider's current balance.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from matching.instance import MatchingInstance
from matching.solution import LevelReport, Solution
from matching.objectives import HighRiskMoved, HouseholdsMoved, Objective
from reciprocal.domain import Account

# Keep |cost| * (nodes + 1) well inside int64: the solver scales costs by the node count.
COST_LIMIT = 2 ** 60
# Levels that count moves (all of them, or, first in the order, the high-risk ones) are solved as
# a maximum flow; False solves every level as a min-cost flow (the tests compare the two paths).
MAX_FLOW_LEVELS = True
# When gives fund placements, min-cost stages whose pair costs are the same for every pair of a
# request start from a few pair arcs per request and per offer and price the rest in
# (`_priced_min_cost_flow`); False gives every stage the whole network, folded as before (the
# tests compare the two paths).
PRICING = True
FIRST_PAIRS = 20
# A priced stage whose pair arcs all cost nothing (`ledger_imbalance`: only the members' balances
# carry its costs) starts from the pairs carrying flow alone instead of FIRST_PAIRS per request
# and per offer; False starts it like the others (the tests compare the two paths).
ZERO_COST_PAIRS_FROM_FLOW = True
# A stage solved on its whole network carries each request's cheapest free pair cost on the
# request's one arc in (`_cheapest_pair_on_gate`); False leaves every cost on its pair (the tests
# compare the two paths).
GATE_CARRIES_CHEAPEST_PAIR = True
# Offers of one member that every objective and every rule treat alike are solved as one node
# (`_group_interchangeable_offers`); False solves every offer as its own node (the tests compare
# the two paths).
GROUP_OFFERS = True


@dataclass
class Network:
    tail: np.ndarray
    head: np.ndarray
    cap: np.ndarray
    n_nodes: int
    n_pairs: int  # the first n_pairs arcs are the request -> offer arcs, in inst.pairs order
    provider_arcs: dict[str, list[tuple[int, str, int]]]  # provider -> (arc, "s"/"t", cost sign)
    # The first n_core arcs are pairs, gate -> request, offer -> provider, provider -> gate; the
    # rest are the source/sink arcs of the providers and, last, the return arc sink -> source.
    n_core: int = 0
    n_providers: int = 0
    source: int = 0
    sink: int = 0
    n_requests: int = 0


def _build(inst: MatchingInstance) -> Network:
    # Records of a provider no longer in the MoU configs have no eligible pair (providers_active)
    # but still need a node.
    providers = sorted(set(inst.scheme.providers) | {r.provider for r in inst.requests}
                       | {o.provider for o in inst.offers})
    p_index = {p: k for k, p in enumerate(providers)}
    n_p, n_r, n_o = len(providers), len(inst.requests), len(inst.offers)
    # Node numbers: providers, then each provider's receiving gate, requests, offers, source, sink.
    gate = n_p + np.arange(n_p, dtype=np.int64)
    req_node = 2 * n_p + np.arange(n_r, dtype=np.int64)
    off_node = 2 * n_p + n_r + np.arange(n_o, dtype=np.int64)
    source, sink = 2 * n_p + n_r + n_o, 2 * n_p + n_r + n_o + 1
    req_provider = np.array([p_index[r.provider] for r in inst.requests], dtype=np.int64)
    off_provider = np.array([p_index[o.provider] for o in inst.offers], dtype=np.int64)
    # Rule 9. When gives count only from a later stage than `proposed`, a home a provider gives in
    # this round does not fund its placements: every unit its requests draw passes its gate, whose
    # capacity is the headroom, and homes it gives arrive at the provider node, past the gate. When
    # gives count from `proposed`, gives and placements meet in the provider node (received -
    # given = s - t, and the source arcs hold s within the headroom), so the gate only shuts a
    # provider already past its limit.
    if inst.gives_fund:
        gate_cap = np.array([0 if Account(p) in inst.past_limit else n_r for p in providers], dtype=np.int64)
    else:
        gate_cap = np.array([inst.headroom.get(p, 0) for p in providers], dtype=np.int64)
    tails = [req_node[inst.pair_request], gate[req_provider], off_node, np.arange(n_p, dtype=np.int64)]
    heads = [off_node[inst.pair_offer], req_node, off_provider, gate]
    copies = np.ones(n_o, np.int64) if inst.offer_copies is None else inst.offer_copies
    caps = [np.ones(inst.n_pairs, np.int64), np.ones(n_r, np.int64), copies, gate_cap]
    offers_of = np.bincount(off_provider, weights=copies, minlength=n_p).astype(np.int64)
    # Provider arcs: source -> provider (net receiving, within headroom), provider -> sink (net
    # giving). Each split where |balance| changes slope, for ledger_imbalance.
    extra_t, extra_h, extra_c = [], [], []
    provider_arcs: dict[str, list[tuple[int, str, int]]] = {}
    next_arc = inst.n_pairs + n_r + n_o + n_p
    for p in providers:
        k = p_index[p]
        b = inst.balances.get(p, 0)
        room = inst.headroom.get(p, 0)
        give = int(offers_of[k])
        pieces: list[tuple[str, int, int]] = []  # (direction, capacity, imbalance cost sign)
        toward = min(max(b, 0), room)  # receiving while balance > 0 brings it towards zero
        pieces += [("s", toward, -1), ("s", room - toward, +1)]
        toward = min(max(-b, 0), give)  # giving while balance < 0 brings it towards zero
        pieces += [("t", toward, -1), ("t", give - toward, +1)]
        arcs = []
        for direction, cap, sign in pieces:
            if cap <= 0:
                continue
            extra_t.append(source if direction == "s" else k)
            extra_h.append(k if direction == "s" else sink)
            extra_c.append(cap)
            arcs.append((next_arc, direction, sign))
            next_arc += 1
        provider_arcs[p] = arcs
    circulation_cap = int(sum(extra_c)) + 1
    tails.append(np.array(extra_t + [sink], dtype=np.int64))
    heads.append(np.array(extra_h + [source], dtype=np.int64))
    caps.append(np.array(extra_c + [circulation_cap], dtype=np.int64))
    net = Network(np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), sink + 1,
                  inst.n_pairs, provider_arcs, inst.n_pairs + n_r + n_o + n_p, n_p, source, sink, n_r)
    return net


def _costs(inst: MatchingInstance, net: Network, obj: Objective,
           spread: bool = True) -> tuple[np.ndarray, int | None]:
    """Arc costs (to minimise) for one objective, and a bound on how far its total can vary (None
    without `spread`: only folding levels into one stage needs it, and at national scale it is a
    partition of 2 million weights)."""
    cost = np.zeros(len(net.tail), dtype=np.int64)
    # Every move passes its provider's gate, so the gates' capacities bound the moves too (at
    # national scale far tighter than the number of requests: smaller weights when folding).
    offers = len(inst.offers) if inst.offer_copies is None else int(inst.offer_copies.sum())
    most_moves = min(len(inst.requests), offers)
    if not inst.gives_fund:
        most_moves = min(most_moves, sum(max(0, h) for h in inst.headroom.values()))
    if obj.linear:
        weights = obj.pair_weights(inst)
        sign = -1 if obj.sense == "max" else 1
        cost[:net.n_pairs] = sign * weights
        if not spread:
            return cost, None
        magnitude = np.abs(weights)
        rest = len(magnitude) - most_moves
        if rest > 0:  # keep the largest most_moves of them
            magnitude = np.partition(magnitude, rest - 1)[rest:]
        spread = int(magnitude.sum())  # the level's total lies in [0, spread] (weights are >= 0)
        return cost, spread if (weights >= 0).all() else 2 * spread
    for arcs in net.provider_arcs.values():  # ledger_imbalance
        for arc, _direction, sign in arcs:
            cost[arc] = sign
    # Each move changes two balances by one: the total moves within +-2 per move.
    return cost, 4 * most_moves


def _potentials(net: Network, cost: np.ndarray, flow: np.ndarray, lower: np.ndarray,
                upper: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Node potentials under which no residual arc of `flow` within the bounds [lower, upper] has
    a negative reduced cost: shortest-path distances from a virtual root (Bellman-Ford on NumPy
    columns, each pass one unbuffered minimum over every residual arc: at national scale 4 to 8
    passes), or from `start` (distances already known to be close, such as a priced stage's: one
    pass then proves them). An optimal flow leaves no negative cycle, so this terminates; any such
    potentials are optimal duals of the stage, which is all its callers need."""
    fwd = flow < upper
    bwd = flow > lower
    tail = np.concatenate([net.tail[fwd], net.head[bwd]])
    head = np.concatenate([net.head[fwd], net.tail[bwd]])
    c = np.concatenate([cost[fwd], -cost[bwd]])
    dist = np.zeros(net.n_nodes, dtype=np.int64) if start is None else start.copy()
    if not len(c):
        return dist
    for _ in range(net.n_nodes + 1):
        best = dist.copy()
        np.minimum.at(best, head, dist[tail] + c)
        if np.array_equal(best, dist):
            return dist
        dist = best
    raise RuntimeError("negative cycle in the residual network: the flow was not optimal")


def solve_flow(inst: MatchingInstance, objectives: list[Objective]) -> Solution:
    start = time.perf_counter()
    grouped = _group_interchangeable_offers(inst, objectives) if GROUP_OFFERS else None
    if grouped is None:
        solution = _solve(inst, objectives)
    else:
        view, members = grouped
        solution = _solve(view, objectives)
        solution.chosen = _ungroup(solution.chosen, members)
    solution.seconds = time.perf_counter() - start
    return solution


def _group_interchangeable_offers(inst: MatchingInstance, objectives: list[Objective]
                                  ) -> tuple[MatchingInstance, list[list[int]]] | None:
    """The round with interchangeable offers merged, and each merged offer's members; None when
    no two offers are interchangeable.

    Two offers are interchangeable when they are the same member's, neither is offered for a
    household (`matching.pinning`), the same requests may take them (every pair rule said the
    same) and every linear objective weighs each of those pairs the same. Then any flow of the
    round moves the same households through the same members whichever of them a household gets:
    the offers merge into one node whose arc to its member carries as many units as it has members,
    with one pair arc per request, and every level's optimum is the same (at national scale some
    20,000 offers become about 9,200 nodes and the 2 million pair arcs about 1.2 million). Found
    by hashing each offer's requests and weights, then checked exactly: every pair of a member has
    its twin among the pairs of its group's first offer, with the same weights, and a member has
    as many pairs as that offer."""
    n_o, m = len(inst.offers), inst.n_pairs
    if n_o < 2 or not m or inst.offer_copies is not None:
        return None
    providers = {p: k for k, p in enumerate(sorted({o.provider for o in inst.offers}))}
    columns = [np.array([providers[o.provider] for o in inst.offers], dtype=np.uint64),
               np.bincount(inst.pair_offer, minlength=n_o).astype(np.uint64)]
    alone = np.zeros(n_o, dtype=np.uint64)  # an offer made for a household is a group of its own
    pinned_offers = inst.pair_offer[np.asarray(inst.pinned, dtype=np.int64)]
    alone[pinned_offers] = pinned_offers.astype(np.uint64) + 1
    columns.append(alone)
    rng = np.random.default_rng(24)
    weights = [obj.pair_weights(inst) for obj in objectives if obj.linear]
    for w in [None] + weights:
        salt = rng.integers(1, 2 ** 63, size=len(inst.requests), dtype=np.int64).astype(np.uint64)
        term = salt[inst.pair_request]
        if w is not None:
            term = term * (w.astype(np.uint64) + np.uint64(1))
        column = np.zeros(n_o, dtype=np.uint64)
        np.add.at(column, inst.pair_offer, term)
        columns.append(column)
    _, first, group = np.unique(np.stack(columns, axis=1), axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    if len(first) == n_o:
        return None
    # Number the groups in the order of their first offers, so the pairs stay sorted.
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(len(first))
    group, first = renumber[group], np.sort(first)
    # The exact check: each pair (r, o) has its twin (r, first offer of o's group), same weights.
    key = inst.pair_request.astype(np.int64) * n_o + inst.pair_offer
    twin_key = inst.pair_request.astype(np.int64) * n_o + first[group[inst.pair_offer]]
    if not (key[1:] > key[:-1]).all():
        return None  # not sorted by request and offer (never so from build_instance)
    twin = np.minimum(np.searchsorted(key, twin_key), m - 1)
    if not (key[twin] == twin_key).all() or any((w[twin] != w).any() for w in weights):
        return None  # a hash collision (never seen): solve every offer as its own node
    is_first = first[group[inst.pair_offer]] == inst.pair_offer
    index = np.cumsum(is_first) - 1
    members: list[list[int]] = [[] for _ in first]
    for j, g in enumerate(group.tolist()):
        members[g].append(j)
    view = dataclasses.replace(
        inst, offers=[inst.offers[j] for j in first.tolist()],
        pair_request=inst.pair_request[is_first], pair_offer=group[inst.pair_offer[is_first]].astype(np.int32),
        pinned=index[np.asarray(inst.pinned, dtype=np.int64)].tolist(), excluded={},
        offer_copies=np.array([len(g) for g in members], dtype=np.int64))
    # The weights already worked out, carried over rather than worked out again from the first
    # offers (the same numbers, as checked above): per request as they are, per pair those kept.
    for name in ("waiting", "high_risk"):
        if name in inst.__dict__:
            view.__dict__[name] = inst.__dict__[name]
    if "pair_preference" in inst.__dict__:
        view.__dict__["pair_preference"] = inst.__dict__["pair_preference"][is_first]
    return view, members


def _ungroup(chosen: list[tuple[int, int]], members: list[list[int]]) -> list[tuple[int, int]]:
    """The grouped view's moves (request, group) as moves (request, offer): each group's members
    in turn, to its requests in order."""
    taken = [0] * len(members)
    out = []
    for i, g in sorted(chosen):
        out.append((i, members[g][taken[g]]))
        taken[g] += 1
    return out


def _solve(inst: MatchingInstance, objectives: list[Objective]) -> Solution:
    net = _build(inst)
    # When gives fund placements the min-cost stages whose pair costs are alike per request are
    # priced (`_priced_min_cost_flow`), and then one level per stage is faster than folded weights
    # near 2^37: measured at national scale, a restricted solve's time grows with the cost range.
    pricing = PRICING and inst.gives_fund
    level_costs = [_costs(inst, net, obj, spread=not pricing) for obj in objectives]
    # Until the first non-linear level (ledger_imbalance), a provider's node only passes flow on:
    # its source and sink arcs have cost 0 and room for any net flow within its gate, so the
    # levels before it are solved on the core arcs with every provider node merged into the
    # source and sink, where a move is one unit of source -> sink flow.
    # When gives fund placements (rule 9 from `proposed`) a provider node limits received - given,
    # so it is never merged: every level is a min-cost flow on the whole network.
    first_nonlinear = next((k for k, obj in enumerate(objectives) if not obj.linear), len(objectives))
    if inst.gives_fund:
        first_nonlinear = 0
    core = _merge_providers(net) if not inst.gives_fund else net
    by_max_flow = [_by_max_flow(k, obj, first_nonlinear) for k, obj in enumerate(objectives)]

    # Fold consecutive levels into stages whose weighted costs separate them exactly; a level
    # solved as a maximum flow is a stage of its own.
    stages: list[list[int]] = []
    for k in range(len(objectives)):
        candidate = (stages[-1] + [k]) if stages else [k]
        if (stages and not pricing and not by_max_flow[k] and not by_max_flow[stages[-1][0]]
                and (stages[-1][-1] >= first_nonlinear or k < first_nonlinear)
                and _weights(candidate, level_costs, net) is not None):
            stages[-1] = candidate
        else:
            stages.append([k])

    n_core = net.n_core if not inst.gives_fund else len(net.tail)
    lower = np.zeros(n_core, dtype=np.int64)  # fixed part of each arc's flow
    # A home offered for its household (`matching.pinning`) carries its unit in every solution;
    # the pins were chosen within every gate's capacity, so the network stays feasible.
    pinned = np.asarray(inst.pinned, dtype=np.int64)
    lower[pinned] = 1
    upper = net.cap[:n_core].copy()
    # A request whose provider's gate is shut (no headroom) can never move: its arcs are left out
    # of every solve from the start.
    shut = upper[net.n_core - net.n_providers:net.n_core][net.tail[net.n_pairs:net.n_pairs + net.n_requests]
                                                          - net.n_providers] <= 0
    upper[:net.n_pairs][shut[inst.pair_request]] = 0
    upper[net.n_pairs:net.n_pairs + net.n_requests][shut] = 0
    # The pins alone: a feasible start for a max flow (never used when gives fund).
    flow = _core_flow(inst, net, pinned) if not inst.gives_fund else lower.copy()
    stage_seconds: list[float] = []
    methods: list[str] = []
    offered = _first_pairs(inst) if pricing else None
    for s, stage in enumerate(stages):
        t0 = time.perf_counter()
        dist = None  # potentials of this stage's optimum, when solving it gave them
        full = stage[-1] >= first_nonlinear
        if full and len(lower) == net.n_core:
            # From here on the providers' balances matter: back to the whole network, its source
            # and sink arcs free (nothing before fixed them).
            lower = np.concatenate([lower, np.zeros(len(net.tail) - n_core, dtype=np.int64)])
            upper = np.concatenate([upper, net.cap[n_core:]])
            _unmerge_providers(net, core)
        stage_net = net if full else core
        weights = _weights(stage, level_costs, net) or [1]
        cost = np.zeros(len(lower), dtype=np.int64)
        for w, k in zip(weights, stage):
            cost += w * level_costs[k][0][:len(lower)]
        if by_max_flow[stage[0]]:
            flow = _max_flow_level(inst, core, objectives[stage[0]], flow, lower, upper)
            methods.append("max_flow")
        elif pricing and _same_cost_per_request(inst, cost[:net.n_pairs]):
            start_from = offered
            if ZERO_COST_PAIRS_FROM_FLOW and not cost[:net.n_pairs].any():
                start_from = np.zeros(net.n_pairs, dtype=bool)
            flow, dist = _priced_min_cost_flow(stage_net, cost, lower, upper, flow, start_from)
            methods.append("min_cost_flow")
        else:
            if GATE_CARRIES_CHEAPEST_PAIR:
                cost = _cheapest_pair_on_gate(inst, net, cost, lower, upper)
            flow = _min_cost_flow(stage_net, cost, lower, upper)
            methods.append("min_cost_flow")
        if s < len(stages) - 1 or by_max_flow[stage[0]]:
            # Keep exactly the optimal face of this stage for the stages after it. The potentials
            # exist only if `flow` is optimal for `cost` (no negative cycle is left), so they also
            # certify a max-flow level's modelling, even as the last level.
            dist = _potentials(stage_net, cost, flow, lower, upper, start=dist)
            reduced = cost + dist[stage_net.tail] - dist[stage_net.head]
            upper = np.where(reduced > 0, lower, upper)
            lower = np.where(reduced < 0, upper, lower)
        stage_seconds.append(time.perf_counter() - t0)

    chosen_mask = flow[:net.n_pairs] > 0
    chosen = list(zip(inst.pair_request[chosen_mask].tolist(), inst.pair_offer[chosen_mask].tolist()))
    solution = Solution(chosen=chosen)
    for s, stage in enumerate(stages):
        for k in stage:
            obj = objectives[k]
            # A linear level's value from its pair weights (`Objective.pair_weights`, the same
            # numbers as `value`, in one pass instead of one call per move).
            value = int(obj.pair_weights(inst)[chosen_mask].sum()) if obj.linear else obj.value(inst, chosen)
            solution.levels.append(LevelReport(obj.name, obj.sense, value, value, "OPTIMAL",
                                               stage_seconds[s] / len(stage), method=methods[s]))
    return solution


def _by_max_flow(k: int, obj: Objective, first_nonlinear: int) -> bool:
    """Whether level k is solved as a maximum flow on the merged core network: the most moves
    before any non-linear level, or the most high-risk moves as the first level (where removing
    every other move keeps a solution feasible, so the high-risk moves alone can be maximised)."""
    if not MAX_FLOW_LEVELS or k >= first_nonlinear:
        return False
    return isinstance(obj, HouseholdsMoved) or (k == 0 and isinstance(obj, HighRiskMoved))


def _merge_providers(net: Network) -> Network:
    """The core arcs as a circulation with every provider node merged into the source: each
    provider's gate arc starts there and the arcs of the homes it gives end there. To save memory
    (2M arcs at national scale) the provider ends of `net` itself are rewritten in place and the
    core network is a view of its first n_core arcs; `_unmerge_providers` puts them back."""
    gates = slice(net.n_core - net.n_providers, net.n_core)
    gives = slice(net.n_pairs + net.n_requests, net.n_core - net.n_providers)
    core = Network(net.tail[:net.n_core], net.head[:net.n_core], net.cap[:net.n_core], net.n_nodes,
                   net.n_pairs, {"gates": net.tail[gates].copy(), "gives": net.head[gives].copy()},
                   net.n_core, net.n_providers, net.source, net.sink, net.n_requests)
    net.tail[gates] = net.source
    net.head[gives] = net.source
    return core


def _unmerge_providers(net: Network, core: Network) -> None:
    net.tail[net.n_core - net.n_providers:net.n_core] = core.provider_arcs["gates"]
    net.head[net.n_pairs + net.n_requests:net.n_core - net.n_providers] = core.provider_arcs["gives"]


def _core_flow(inst: MatchingInstance, net: Network, pairs: np.ndarray) -> np.ndarray:
    """The flow of every core arc when the pair arcs `pairs` carry one unit each."""
    n_r, n_p = net.n_requests, net.n_providers
    n_o = net.n_core - net.n_pairs - n_r - n_p
    requests = inst.pair_request[pairs]
    gate_of_request = net.tail[net.n_pairs + requests] - n_p
    return np.concatenate([np.bincount(pairs, minlength=net.n_pairs),
                           np.bincount(requests, minlength=n_r),
                           np.bincount(inst.pair_offer[pairs], minlength=n_o),
                           np.bincount(gate_of_request, minlength=n_p)]).astype(np.int64)


def _max_flow_level(inst: MatchingInstance, core: Network, obj: Objective, flow: np.ndarray,
                    lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The most moves (or high-risk moves) from `flow`, a feasible flow of the merged core network
    within [lower, upper]: a maximum flow from source to sink in its residual network (the arcs
    of the homes given end at the sink instead), added to it. For high-risk moves, the other
    requests keep the flow they have (their pins)."""
    open_ = upper > flow
    used = flow > lower
    if isinstance(obj, HighRiskMoved):
        others = ~inst.high_risk
        frozen = np.concatenate([others[inst.pair_request], others])
        open_[:len(frozen)] &= ~frozen
        used[:len(frozen)] &= ~frozen
    fwd = np.flatnonzero(open_)
    bwd = np.flatnonzero(used)
    del open_, used
    # In the merged core only the arcs of the homes given end at the source: they end at the
    # sink instead (and, reversed, start there).
    forward_head = core.head[fwd]
    forward_head[forward_head == core.source] = core.sink
    backward_tail = core.head[bwd]
    backward_tail[backward_tail == core.source] = core.sink
    tails = np.concatenate([core.tail[fwd], backward_tail])
    heads = np.concatenate([forward_head, core.tail[bwd]])
    del forward_head, backward_tail
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(tails, heads, np.concatenate([upper[fwd] - flow[fwd],
                                                                flow[bwd] - lower[bwd]]))
    del tails, heads
    if max(core.source, core.sink) >= solver.num_nodes():
        return flow  # nothing can leave the source or reach the sink
    status = solver.solve(core.source, core.sink)
    if status != solver.OPTIMAL:
        raise RuntimeError(f"max flow returned status {status}")
    augment = solver.flows(np.arange(len(fwd) + len(bwd), dtype=np.int64))
    del solver
    flow = flow.copy()
    flow[fwd] += augment[:len(fwd)]
    flow[bwd] -= augment[len(fwd):]
    return flow


def _weights(stage: list[int], level_costs, net: Network) -> list[int] | None:
    """Weights for the levels of one stage (in priority order) such that W_k exceeds the sum over
    later levels l of W_l * range_l, so the weighted optimum is the lexicographic optimum; None if
    the weighted costs would not stay inside COST_LIMIT."""
    m = len(stage)
    weights = [0] * m
    weights[-1] = 1
    for a in range(m - 2, -1, -1):
        weights[a] = 1 + sum(weights[b] * level_costs[stage[b]][1] for b in range(a + 1, m))
    biggest = 0
    for w, k in zip(weights, stage):
        arc_costs = level_costs[k][0]
        biggest += w * (int(np.abs(arc_costs).max()) if len(arc_costs) else 0)
    if biggest * (net.n_nodes + 1) >= COST_LIMIT:
        return None
    return weights


def _same_cost_per_request(inst: MatchingInstance, pair_cost: np.ndarray) -> bool:
    """Whether every pair of a request costs the same in this stage (true of every level but
    preference_fit: the offers of a request are then alike to the stage, and a few of them each
    are as good as all of them far more often than not)."""
    if not len(pair_cost):
        return True
    least = _least_per_request(inst, pair_cost, np.ones(len(pair_cost), dtype=bool))
    return bool((least[inst.pair_request] == pair_cost).all())


def _least_per_request(inst: MatchingInstance, pair_cost: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Each request's least pair cost among the pairs `among` (a mask); 0 for a request with none."""
    least = np.full(len(inst.requests), np.iinfo(np.int64).max)
    np.minimum.at(least, inst.pair_request[among], pair_cost[among])
    least[least == np.iinfo(np.int64).max] = 0
    return least


def _cheapest_pair_on_gate(inst: MatchingInstance, net: Network, cost: np.ndarray,
                           lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The stage's costs with each request's cheapest free pair cost moved onto its one arc in
    (gate -> request): every pair of the request costs that much less and the arc in that much
    more. A request node has no other arc, so the arc in carries exactly the flow its pairs carry
    out, and every flow costs the same as before: the same optimal flows, the same optimal face.
    Measured at national scale on `preference_fit` (pair costs 0 to -2 within a request), the
    solver then faces about a thousand negative arcs instead of half a million and takes some 10
    to 25% less time; on the levels whose pair costs are alike per request it gained nothing."""
    free = upper[:net.n_pairs] > lower[:net.n_pairs]
    cheapest = _least_per_request(inst, cost[:net.n_pairs], free)  # no free pair: nothing to move
    shifted = cost.copy()
    shifted[:net.n_pairs] -= cheapest[inst.pair_request]
    shifted[net.n_pairs:net.n_pairs + net.n_requests] += cheapest
    return shifted


def _first_pairs(inst: MatchingInstance) -> np.ndarray:
    """A mask of the pair arcs a priced stage starts from: for every request and every offer,
    FIRST_PAIRS of its pairs spread evenly over its list. Any choice is exact, since the stage
    prices the rest in (`_priced_min_cost_flow`); a good one only saves solves."""
    offered = np.zeros(inst.n_pairs, dtype=bool)
    for owner in (inst.pair_request, inst.pair_offer):
        order = _stable_order(owner)
        counts = np.bincount(owner)
        rank = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
        step = np.maximum(1, counts // FIRST_PAIRS)[owner[order]]
        offered[order[rank % step == 0]] = True
    return offered


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """np.argsort(keys, kind="stable"), faster: none when already sorted (the pairs are, by
    request), else on 16-bit keys where they fit, which NumPy sorts by radix in linear time."""
    if not len(keys) or (keys[1:] >= keys[:-1]).all():
        return np.arange(len(keys), dtype=np.int64)
    if keys.min() >= 0 and keys.max() < 1 << 16:
        keys = keys.astype(np.uint16)
    return np.argsort(keys, kind="stable")


def _priced_min_cost_flow(net: Network, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                          flow: np.ndarray, offered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An optimal flow for `cost` within [lower, upper], found on a few of the pair arcs, and the
    potentials that prove it optimal.

    At national scale some 2 million pair arcs are free and about 13,000 carry flow, and the
    solver's time grows with the arcs it is given. So it is given first only `offered` and the
    pairs carrying flow now (which keeps the previous stage's flow feasible). The potentials of
    that restricted optimum then price every pair left out: if none has a negative reduced cost,
    every residual arc of the whole network has a non-negative one, which proves the flow optimal
    for the whole network (the caller's potentials prove it again); otherwise those pairs join and
    it solves again. If the restricted network cannot carry the fixed flows, the whole one is
    solved."""
    free = upper > lower
    pairs = slice(0, net.n_pairs)
    given = free.copy()
    given[pairs] &= offered | (flow[pairs] > lower[pairs])
    # The pairs left out, priced after each solve (only they can enter: a stage started from the
    # flowing pairs alone takes several solves, and pricing the whole network each time cost more
    # than pricing these).
    left_out = np.flatnonzero(free & ~given)
    while True:
        bounds = np.where(given, upper, lower)
        solved = _min_cost_flow(net, cost, lower, bounds, feasible_only=len(left_out) > 0)
        if solved is None:
            given, left_out = free, left_out[:0]
            continue
        dist = _potentials(net, cost, solved, lower, bounds)
        reduced = cost[left_out] + dist[net.tail[left_out]] - dist[net.head[left_out]]
        entering = reduced < 0
        if not entering.any():
            return solved, dist
        given[left_out[entering]] = True
        left_out = left_out[~entering]


def _min_cost_flow(net: Network, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                   feasible_only: bool = False) -> np.ndarray | None:
    """Min-cost circulation with lower bounds: fixed flows become node supplies, and arcs with no
    freedom left are not given to the solver at all (after the first stage, most of them). With
    `feasible_only`, None when the bounds leave no flow (a restricted network); else that is an
    error."""
    supply = np.zeros(net.n_nodes, dtype=np.int64)
    fixed = np.flatnonzero(lower)
    np.add.at(supply, net.tail[fixed], -lower[fixed])
    np.add.at(supply, net.head[fixed], lower[fixed])
    free = np.flatnonzero(upper > lower)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(net.tail[free], net.head[free],
                                                (upper - lower)[free], cost[free])
    solver.set_nodes_supplies(np.arange(net.n_nodes, dtype=np.int64), supply)
    status = solver.solve()
    if feasible_only and status == solver.INFEASIBLE:
        return None
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow returned status {status}")
    flow = lower.copy()
    flow[free] += solver.flows(np.arange(len(free), dtype=np.int64))
    return flow
