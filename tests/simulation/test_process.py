"""The simulated weekly process (`reciprocal.simulation.process`, issue 22) over whole years:
what must hold for every policy, every debt rule and every seed, whatever the assumptions.

- no home is signed twice and no household moves twice; the ledger's balances sum to zero every
  week and follow the signed moves;
- every proposal ends in exactly one of signed, refused, lapsed or still live; every household
  circulated is moved, withdrawn or still waiting; every home offered is taken, let outside the
  scheme unused or still in the pot; no pair is proposed twice;
- no proposal breaks a hard rule: the run checks every round itself and stops on a broken rule
  (`IntegrityError`), which a careless matcher shows; rule 9 holds when proposals are made under
  each `fairness.gives_count_from` choice;
- a seed gives the same year in every process, and every policy runs on the same stream.

A year of the default setting (the shipped scheme, Cambridgeshire's volume) or of the stress
setting (London's volume) takes well under a second a policy; the regional setting runs three
weeks (hundreds of households a week).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from matching import check
from matching.rules import failed_rules
from reciprocal.domain import GIVES_COUNT_FROM, Balances
from reciprocal.errors import IntegrityError
from reciprocal.simulation import process
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.compare import setting_stream
from reciprocal.simulation.stages import counting_gives_from

from tests.conftest import ROOT

# (setting, weeks, seed): a year of each small setting on several seeds, a few regional weeks.
YEARS = [("default", 52, 1), ("default", 52, 2), ("default", 52, 3), ("stress", 52, 1), ("stress", 52, 2),
         ("regional", 3, 1)]
# Every policy under the scheme's own debt rule, and the engine under every other.
COLUMNS = [(p, None) for p in process.POLICIES] + [("engine", g) for g in GIVES_COUNT_FROM]

_years: dict = {}


def year(scheme, setting: str, weeks: int, seed: int, policy: str, gives: str | None = None,
         assumptions: Assumptions | None = None) -> tuple[process.Run, object]:
    """One policy's year on the setting's stream (cached: the tests only read it)."""
    key = (setting, weeks, seed, policy, gives, assumptions)
    if key not in _years:
        run_scheme, _, stream = setting_stream(scheme, setting, weeks, seed, assumptions or Assumptions())
        ruled = counting_gives_from(run_scheme, gives) if gives else run_scheme
        _years[key] = process.run(ruled, stream, policy), stream
    return _years[key]


def _ids(case) -> str:
    return "-".join(str(part) for part in case if part is not None)


# The regional weeks cost a second a policy: today's practice and the engine only.
CASES = [(*y, *c) for y in YEARS for c in COLUMNS if y[0] != "regional" or c in (("today", None), ("engine", None))]


@pytest.mark.parametrize("setting, weeks, seed, policy, gives", CASES, ids=[_ids(c) for c in CASES])
def test_a_year_keeps_every_home_household_and_proposal_accounted_for(scheme, setting, weeks, seed, policy,
                                                                      gives):
    run, stream = year(scheme, setting, weeks, seed, policy, gives)
    f = run.figures()
    # No home signed twice, no household moved twice.
    assert len({m.offer for m in run.moves}) == len(run.moves)
    assert len({m.request for m in run.moves}) == len(run.moves)
    # The ledger: every week's balances sum to zero and the last follows the signed moves.
    assert len(run.balances) == weeks and all(sum(week) == 0 for week in run.balances)
    given = {p: 0 for p in stream.providers}
    for m in run.moves:
        given[m.to_provider] += 1
        given[m.from_provider] -= 1
    assert run.balances[-1] == [given[p] for p in stream.providers]
    # Every proposal ends in exactly one way, or is still live at the end.
    assert f["proposals"] == sum(len(pairs) for _, pairs in run.proposed) == run.proposals
    assert f["proposals"] == f["households_moved"] + f["refusals"] + f["lapses"] + run.live_at_end
    assert f["refusals"] == run.refused_by_household + run.refused_by_landlord
    # Households: every one circulated is moved, withdrawn or still waiting.
    assert f["circulated"] == f["households_moved"] + f["withdrawn"] + f["still_waiting"] <= f["referrals"]
    # Homes: every one offered is taken, let outside unused, or still in the pot.
    assert f["homes_offered"] == f["households_moved"] + f["homes_unused"] + len(run.pot.offers)
    assert f["moves_for_households"] <= f["offered_for_households"] <= f["homes_offered"]
    # A refused or lapsed pair is never proposed again, and every move was proposed first.
    pairs = [pair for _, made in run.proposed for pair in made]
    assert len(set(pairs)) == len(pairs)
    assert {(m.request, m.offer) for m in run.moves} <= set(pairs)
    assert f["rounds"] <= weeks


def test_the_years_move_households_at_every_volume(scheme):
    """The invariants above are not vacuous: the years they hold on propose, refuse, lapse and sign."""
    figures = [year(scheme, *y, "engine")[0].figures() for y in YEARS]
    assert sum(f["households_moved"] for f in figures) > 40
    assert all(sum(f[key] for f in figures) > 0
               for key in ("refusals", "lapses", "withdrawn", "homes_unused", "holds", "stale",
                           "offered_for_households", "moves_for_households"))
    assert year(scheme, "regional", 3, 1, "engine")[0].figures()["proposals"] > 100


# -- the hard rules: checked by the run itself --------------------------------------------------------

def test_the_run_checks_with_the_live_rounds_checker():
    assert process.violations is check.violations


def _careless(monkeypatch, spoil):
    """Every policy's matcher, followed by `spoil(ctx, requests, offers, start, pairs)`."""
    real = process.matcher

    def matcher(policy):
        match = real(policy)

        def spoiled(ctx, requests, offers, start, banded):
            return spoil(ctx, requests, offers, start, match(ctx, requests, offers, start, banded))
        return spoiled

    monkeypatch.setattr(process, "matcher", matcher)


@pytest.mark.parametrize("policy", process.POLICIES)
def test_a_policy_proposing_a_household_twice_stops_the_run(scheme, monkeypatch, policy):
    def twice(ctx, requests, offers, start, pairs):
        free = [o.ref for o in offers if o.ref not in {p[1] for p in pairs}]
        return pairs + [(pairs[0][0], free[0])] if pairs and free else pairs

    _careless(monkeypatch, twice)
    run_scheme, _, stream = setting_stream(scheme, "stress", 26, 1, Assumptions())
    with pytest.raises(IntegrityError, match=f"policy {policy} .*one_proposal_each"):
        process.run(run_scheme, stream, policy)


def test_a_policy_proposing_an_unsuitable_home_stops_the_run(scheme, monkeypatch):
    def anyhow(ctx, requests, offers, start, pairs):
        taken = {r for r, _ in pairs} | {o for _, o in pairs}
        wrong = [(r.ref, o.ref) for r in requests for o in offers
                 if r.ref not in taken and o.ref not in taken and failed_rules(ctx, r, o)]
        return pairs + wrong[:1]

    _careless(monkeypatch, anyhow)
    run_scheme, _, stream = setting_stream(scheme, "stress", 26, 1, Assumptions())
    with pytest.raises(IntegrityError, match="break hard rules in week"):
        process.run(run_scheme, stream, "engine")


@pytest.mark.parametrize("gives", GIVES_COUNT_FROM)
def test_a_policy_placing_past_a_debt_limit_stops_the_run(scheme, monkeypatch, gives):
    """The engine solved as if every member had ten more homes of headroom than rule 9 counts."""
    def lenient(ctx, requests, offers, start, pairs):
        from matching.engine import solve_round
        more = {p: b + 10 for p, b in start.total.items()}
        result = solve_round(ctx.scheme, ctx.on, requests, offers, more, ctx.declined)
        return [(p["request"], p["offer"]) for p in result.proposals]

    _careless(monkeypatch, lenient)
    run_scheme, _, stream = setting_stream(scheme, "stress", 52, 1, Assumptions())
    with pytest.raises(IntegrityError, match=f"fairness_debt_limit: .* gives counted from {gives}"):
        process.run(counting_gives_from(run_scheme, gives), stream, "engine")


@pytest.mark.parametrize("policy, gives", COLUMNS, ids=[_ids(c) for c in COLUMNS])
def test_no_round_places_past_a_debt_limit_under_each_gives_choice(scheme, monkeypatch, policy, gives):
    """Rule 9 recounted by hand on every round's counted balances: a member whose tenants a round
    places is within its limit before, and after counting its placements (and, when gives count
    from `proposed`, its homes given in the round)."""
    rounds = []
    real = process.matcher

    def spy(name):
        match = real(name)

        def spied(ctx, requests, offers, start, banded):
            pairs = match(ctx, requests, offers, start, banded)
            rounds.append((ctx.scheme, start, {r.ref: r for r in requests}, {o.ref: o for o in offers}, pairs))
            return pairs
        return spied

    monkeypatch.setattr(process, "matcher", spy)
    # A year: on this stream a lenient engine would place past a limit by week 9 (26 weeks do not).
    run_scheme, _, stream = setting_stream(scheme, "stress", 52, 2, Assumptions())
    gives = gives or run_scheme.gives_count_from
    done = process.run(counting_gives_from(run_scheme, gives), stream, policy)
    assert rounds and done.proposals
    bound = 0
    for ruled, start, requests, offers, pairs in rounds:
        assert isinstance(start, Balances) and ruled.gives_count_from == gives
        change = {}
        for r, o in pairs:
            taker, giver = requests[r].provider, offers[o].provider
            change[taker] = change.get(taker, 0) - 1
            if gives == "proposed":
                change[giver] = change.get(giver, 0) + 1
        placing = {requests[r].provider for r, _ in pairs}
        for provider in placing:
            room = start.total.get(provider, 0) + ruled.max_debt(provider)
            assert room >= 0 and room + change[provider] >= 0, (provider, start.total, pairs)
            bound += room + change[provider] == 0
    assert bound > 0  # the limit was reached on this stream: the check had something to check
    if gives == "signed":  # nothing counted can fall through: the ledger never passes a limit
        assert done.figures()["member_weeks_past_limit"] == 0 and done.lowest_ledger_headroom >= 0


@pytest.mark.parametrize("policy", ["today", "fcfs"])
def test_hand_policies_refuse_a_scheme_limiting_bands(scheme, policy):
    from tests.rules.test_band_limits import banded
    run_scheme, _, stream = setting_stream(banded(scheme, band_max_debt=1, max_debt=2), "stress", 4, 1,
                                           Assumptions())
    with pytest.raises(ValueError, match="total debt limits only"):
        process.run(run_scheme, stream, policy)


def test_the_engine_keeps_band_limits_on_band_balances(scheme):
    from tests.rules.test_band_limits import banded
    limited = banded(scheme, band_max_debt=1, max_debt=2)
    run_scheme, _, stream = setting_stream(limited, "stress", 26, 3, Assumptions())
    done = process.run(run_scheme, stream, "engine")  # every round checked on its band balances
    assert done.moves and all(sum(week) == 0 for week in done.balances)


# -- one stream, paired policies, the same year in every process ----------------------------------

def test_the_same_seed_gives_the_same_year(scheme):
    run, _ = year(scheme, "stress", 52, 1, "engine")
    run_scheme, _, stream = setting_stream(scheme, "stress", 52, 1, Assumptions())
    again = process.run(run_scheme, stream, "engine")
    assert again.figures() == run.figures() and again.proposed == run.proposed and again.moves == run.moves
    other = year(scheme, "stress", 52, 2, "engine")[0]
    assert other.proposed != run.proposed


def test_every_policy_sees_the_same_referrals_and_circulates_the_same_households(scheme):
    for setting, weeks, seed in YEARS:
        seen = {(f := year(scheme, setting, weeks, seed, p, g)[0].figures())["referrals"]: f["circulated"]
                for s, w, n, p, g in CASES if (s, w, n) == (setting, weeks, seed)}
        assert len(seen) == 1, (setting, seed, seen)


def test_members_offer_the_same_homes_under_every_policy_when_balances_play_no_part(scheme):
    """With no response to balances and every home into the pot, the homes a member offers are the
    stream's, whatever the policy did: the columns differ only by what each policy proposed."""
    flat = Assumptions(offer_response=0.0, answer_share=0.0)
    homes = {p: year(scheme, "stress", 26, 1, p, assumptions=flat)[0] for p in process.POLICIES}
    offered = {p: run.figures()["homes_offered"] for p, run in homes.items()}
    assert len(set(offered.values())) == 1 and offered["engine"] > 10, offered
    moved = {p: run.figures()["households_moved"] for p, run in homes.items()}
    assert len(set(moved.values())) > 1, moved  # ... and the policies did differ


def test_the_year_does_not_depend_on_the_process(scheme):
    """String hashing differs between processes; nothing may depend on it."""
    script = ("import json, sys\nfrom reciprocal.config import load_scheme\n"
              "from reciprocal.simulation import process\n"
              "from reciprocal.simulation.assumptions import Assumptions\n"
              "from reciprocal.simulation.compare import setting_stream\n"
              "s, _, stream = setting_stream(load_scheme(sys.argv[1]), 'stress', 52, 1, Assumptions())\n"
              "json.dump(process.run(s, stream, 'engine').figures(), sys.stdout)\n")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT / "mou_configs")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    here = year(scheme, "stress", 52, 1, "engine")[0].figures()
    assert json.loads(proc.stdout) == json.loads(json.dumps(here))


def test_waiting_for_every_answer_runs_fewer_rounds(scheme):
    for setting, weeks, seed in YEARS[3:5]:
        weekly = year(scheme, setting, weeks, seed, "engine")[0]
        wait = year(scheme, setting, weeks, seed, "engine_wait")[0]
        assert wait.rounds < weekly.rounds <= weeks


def test_unknown_policy_and_gives_choice_are_refused(scheme):
    with pytest.raises(ValueError, match="unknown policy 'lottery'"):
        process.matcher("lottery")
    with pytest.raises(ValueError, match="unknown stage 'viewing'"):
        counting_gives_from(scheme, "viewing")
    assert counting_gives_from(scheme, "accepted").gives_count_from == "accepted"
    assert scheme.gives_count_from == "proposed"  # the original is untouched


def test_the_settings_volumes_are_the_seed_figures(scheme):
    from reciprocal.simulation.arrivals import rates_for
    assert len(scheme.providers) == 16
    rates = rates_for(scheme, "default")[1]
    assert (rates.requests_per_year, rates.offers_per_year) == (17, 4)  # Cambridgeshire's year
    stress = rates_for(scheme, "stress")[1]
    assert stress.requests_per_year == pytest.approx(1401 / 7.5 / Assumptions().approved_share)
    assert stress.offers_per_year == pytest.approx(277 / 7.5)
    regional, _ = rates_for(scheme, "regional")
    assert regional.id == "synthetic-regional" and len(regional.providers) == 80
    assert year(scheme, "regional", 3, 1, "engine")[1].providers == sorted(regional.providers)
    with pytest.raises(ValueError, match="unknown setting 'lavish'"):
        rates_for(scheme, "lavish")
