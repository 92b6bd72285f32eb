"""Rule 2's safety buffer is walked without networkx (issue 24: importing it cost `circulate` 0.2 s
of CPU). The walk must find exactly the areas networkx's shortest paths find, for every area and
every number of hops, on the example scheme and on generated schemes of every shape."""
from __future__ import annotations

import networkx as nx
import pytest

from reciprocal.simulation.generator import generate


def _by_networkx(scheme, area: str, hops: int | None) -> frozenset[str]:
    graph = scheme.area_graph
    return frozenset(nx.single_source_shortest_path_length(graph, area, cutoff=hops) if area in graph else ())


def _schemes(example):
    yield example
    for scale in ("pilot", "regional", "national"):
        yield generate(scale, 1).scheme


def test_the_walk_finds_what_networkx_finds(scheme):
    for s in _schemes(scheme):
        areas = sorted(s.config.areas)
        for area in [*areas, "no_such_area"]:
            for hops in (0, 1, 2, 3, 5, None):
                assert s._walk(area, hops) == _by_networkx(s, area, hops), (s.id, area, hops)


def test_a_buffer_of_several_areas_is_the_union_of_theirs(scheme):
    areas = sorted(scheme.config.areas)[:3]
    assert scheme.within_buffer(areas, 1) == frozenset().union(*(_by_networkx(scheme, a, 1) for a in areas))


@pytest.mark.parametrize("hops", [0, 1, 2])
def test_within_buffer_loads_no_networkx(hops):
    from tests.cli.test_startup import _loaded_after
    loaded = _loaded_after("from reciprocal.config import load_scheme\nfrom tests.conftest import CONFIG_DIR\n"
                           f"load_scheme(CONFIG_DIR).within_buffer(('fenland', 'cambridge'), {hops})")
    assert "networkx" not in loaded
