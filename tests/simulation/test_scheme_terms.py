"""The simulation draws everything from the scheme's own terms (issue 12): a scheme whose tenancy
kinds have other names moves households as the example does, and on a scheme where nothing can
ever be proposed no policy proposes anything."""
from __future__ import annotations

import shutil
from dataclasses import replace

from reciprocal.config import load_scheme
from reciprocal.simulation.generator import held_tenancies
from reciprocal.simulation import process
from reciprocal.simulation.arrivals import draw_arrivals, rates_for
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.compare import setting_stream

from tests.conftest import CONFIG_DIR

RENAMED = {"fixed_term_assured": "ha_fixed_term", "introductory": "council_trial", "starter": "ha_trial",
           "flexible": "council_fixed_term", "secure": "council_lifetime", "assured": "ha_lifetime"}


def renamed_scheme(tmp_path):
    folder = tmp_path / "renamed"
    shutil.copytree(CONFIG_DIR, folder)
    for path in folder.rglob("*.yaml"):
        text = path.read_text()
        for old, new in RENAMED.items():  # longest names first: fixed_term_assured before assured
            text = text.replace(old, new)
        path.write_text(text)
    return load_scheme(folder)


def test_a_scheme_with_other_tenancy_names_moves_households(tmp_path, scheme):
    renamed = renamed_scheme(tmp_path)
    assert not set(renamed.config.tenancy_kinds) & set(RENAMED)
    _, rates = rates_for(renamed, "stress")
    arrivals = draw_arrivals(renamed, 26, 1, rates)
    held = {r.current_tenancy for week in arrivals.requests for r in week}
    assert held and held <= set(renamed.config.tenancy_kinds)
    moved, same = ({p: [(m.request, m.offer) for m in _run(s, p, 26).moves] for p in process.POLICIES}
                   for s in (renamed, scheme))
    assert moved == same  # the same stream under other names: the same moves
    assert moved["engine"]


def test_held_tenancies_follow_the_members_grants(scheme):
    held, weights = held_tenancies(scheme, "cambridge_city")
    assert held == ("secure", "flexible", "introductory") and weights == (75.0, 10.0, 15.0)


def test_a_scheme_where_nothing_fits_says_so(scheme):
    matching = scheme.config.matching.model_copy(update={"safety_buffer_hops": 10})
    nowhere = replace(scheme, config=scheme.config.model_copy(update={"matching": matching}))
    assert all(_run(nowhere, p, 12).proposals == 0 for p in process.POLICIES)
    assert all(_run(scheme, p, 12).proposals > 0 for p in process.POLICIES)


def _run(scheme, policy: str, weeks: int) -> process.Run:
    run_scheme, _, stream = setting_stream(scheme, "stress", weeks, 1, Assumptions())
    return process.run(run_scheme, stream, policy)
