"""The simulation draws everything from the scheme's own terms (issue 12): a scheme whose tenancy
kinds have other names moves households as the example does, and a scheme where nothing can ever
be proposed says so instead of printing zeros."""
from __future__ import annotations

import shutil
from dataclasses import replace

from reciprocal.config import load_scheme
from reciprocal.simulation.generator import held_tenancies
from reciprocal.simulation.simulate import draw_arrivals, rates_for, simulate

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
    moved = simulate(renamed, weeks=26, seed=1, setting="stress").measures
    same = simulate(scheme, weeks=26, seed=1, setting="stress").measures
    # The same stream under other names: the same moves.
    assert {p: m["households_moved"] for p, m in moved.items()} == \
        {p: m["households_moved"] for p, m in same.items()}
    assert moved["engine"]["households_moved"] > 0


def test_held_tenancies_follow_the_members_grants(scheme):
    held, weights = held_tenancies(scheme, "cambridge_city")
    assert held == ("secure", "flexible", "introductory") and weights == (75.0, 10.0, 15.0)


def test_a_scheme_where_nothing_fits_says_so(scheme):
    matching = scheme.config.matching.model_copy(update={"safety_buffer_hops": 10})
    nowhere = replace(scheme, config=scheme.config.model_copy(update={"matching": matching}))
    result = simulate(nowhere, weeks=12, seed=1, setting="stress")
    assert all(m["households_moved"] == 0 for m in result.measures.values())
    assert result.notes[0].startswith("WARNING: no policy could propose a single home")
    assert not any(n.startswith("WARNING") for n in simulate(scheme, weeks=12, seed=1, setting="stress").notes)
