"""Provider-scoped exports (`--for-provider X`, SPEC section 7): only what that provider may see.

On the two-week history of tests/history.py (nine moves between many members), every scoped
export of every member, in every format, is searched for what it must never hold: another
provider's household's avoided (or preferred) areas, and where another provider's household moved,
or where the member's own household moved when it left. The exports include the member's pack
(every format), its circulation list, `round show` and `due` for it. A circulation list names
other members' households by code (SPEC section 10), never with their areas.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlmodel import select

from reciprocal.lifecycle import checklist as post_move
from reciprocal import audits

from reciprocal.intake import listing

from reciprocal.audits import quarterly as reports

from reciprocal import scope
from reciprocal.audits.html import fairness_html
from reciprocal.errors import NotFoundError
from reciprocal.audits.exports import csv_text, markdown_table
from reciprocal.audits import packs
from reciprocal.lifecycle import views
from reciprocal.lifecycle.circulate import circulate
from reciprocal.storage import Database, MoveRow, RequestRow

from tests.helpers import reciprocal_many
from tests.history import ROUND_2, build_history

HOUSEHOLD_FIELDS = ("avoid_areas", "preferred_areas", "survivor_area")


@pytest.fixture(scope="module")
def history(tmp_path_factory, scheme) -> Database:
    return build_history(tmp_path_factory.mktemp("scope") / "history.db", scheme)


@pytest.fixture(scope="module")
def facts(history):
    with history.reading() as session:
        moves = list(session.exec(select(MoveRow)).all())
        requests = {r.ref: r for r in session.exec(select(RequestRow)).all()}
    return moves, requests


def exports_for(db: Database, scheme, viewer: str) -> dict[str, object]:
    """Every scoped export one member can get, as data and as the text of each format."""
    offers = [asdict(o) for o in listing.list_offers(db, None) if scope.offer_for(o, viewer)]
    requests = [asdict(r) for r in listing.list_requests(db, None) if scope.request_for(r, viewer)]
    fairness = audits.fairness(db, scheme, for_provider=viewer, today=ROUND_2)
    quarterly = reports.quarterly(db, scheme, 2026, for_provider=viewer)
    checklist = post_move.checklist(db, scheme, for_provider=viewer)
    pack = packs.member_pack(db, scheme, viewer, ROUND_2)
    rounds = [views.round_view(db, n, scheme, viewer) for n in (1, 2)]
    due = views.due_for(db, scheme, ROUND_2 - timedelta(days=14), ROUND_2 + timedelta(days=60), viewer)
    data = {"offers": offers, "requests": requests, "fairness": fairness, "quarterly": quarterly,
            "checklist": checklist, "pack": pack, "circulation": circulate(db, scheme, ROUND_2, viewer),
            "rounds": rounds, "due": due}
    texts = {name: json.dumps(value, default=str) for name, value in data.items()}
    texts.update({f"pack.{f}": render(pack) for f, render in packs.RENDER.items()})
    texts["fairness.csv"] = csv_text(*audits.fairness_table(fairness))
    texts["fairness.html"] = fairness_html(fairness)
    texts["quarterly.csv"] = csv_text(*reports.quarterly_table(quarterly))
    texts["quarterly.md"] = markdown_table(*reports.quarterly_table(quarterly))
    return {"data": data, "texts": texts}


def _dicts(value):
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


def test_the_history_moves_households_between_many_members(facts):
    moves, _ = facts
    assert len(moves) == 9 and len({m.from_provider for m in moves} | {m.to_provider for m in moves}) == 11


def test_no_scoped_export_shows_another_households_areas_or_destination(history, scheme, facts):
    moves, requests = facts
    own_leavers = 0
    for viewer in sorted(scheme.providers):
        export = exports_for(history, scheme, viewer)
        everything = "\n".join(export["texts"].values())
        # Avoided, preferred and survivor areas only ever travel with the viewer's own requests.
        for d in _dicts(export["data"]):
            if any(f in d for f in HOUSEHOLD_FIELDS):
                assert d["provider"] == viewer, (viewer, d.get("ref"))
        # Households circulated to the viewer, or proposed for its homes, are known to it by code.
        circulated = {r["request"] for r in export["data"]["circulation"]["member"]["requests"]}
        circulated |= {p["request"] for r in export["data"]["rounds"] for p in r["proposals"]
                       if p["to_provider"] == viewer}
        for ref, request in requests.items():
            if request.provider != viewer and request.avoid_areas:
                moved_in = any(m.request_ref == ref and m.to_provider == viewer for m in moves)
                # A household now in the viewer's home is known to it by ref.
                if not moved_in and ref not in circulated:
                    assert ref not in everything, (viewer, ref)
        for m in moves:
            if m.to_provider == viewer:
                continue  # the viewer's own home: it is the new landlord
            # Neither the home nor the new landlord of any other move, the viewer's own leavers
            # included, is paired with the household anywhere.
            assert m.offer_ref not in everything, (viewer, m.id, m.offer_ref)
            pairs = export["data"]["fairness"]["moves_between"]
            assert all(p["to_provider"] == viewer for p in pairs), viewer
            assert f"{m.from_provider} to {m.to_provider}:" not in export["texts"]["fairness.html"]
        # Week-by-week balances (which pair givers with takers on days with one move) are the
        # viewer's only; the end-of-period balances of all members are aggregates and stay.
        assert set(export["data"]["fairness"]["balance_history"]["providers"]) == {viewer}
        assert len(export["data"]["fairness"]["providers"]) == 16
        assert all(i["owner"] == viewer for i in export["data"]["checklist"])
        # Proposals (pack, rounds, due) of the viewer's own households never name the home or its landlord.
        for d in _dicts([export["data"][k] for k in ("pack", "rounds", "due")]):
            if d.get("from_provider") == viewer and "status" in d and d.get("to_provider") != viewer:
                assert d["offer"] is None and d["to_provider"] is None, (viewer, d)
                own_leavers += 1
        assert {r["group"] for r in export["data"]["quarterly"]["rows"]} <= {"scheme", "provider"}
    assert own_leavers >= 9  # every move's proposal, seen by its household's landlord, was checked


def test_a_provider_sees_its_own_leavers_without_their_destination(facts):
    moves, _ = facts
    leaving = next(m for m in moves if m.from_provider == "fenland")
    move = {"move": leaving.id, "request": leaving.request_ref, "offer": leaving.offer_ref,
            "from_provider": leaving.from_provider, "to_provider": leaving.to_provider, "area": "cambridge",
            "band": leaving.band, "kind": leaving.kind, "moved_on": leaving.moved_on.isoformat()}
    assert scope.move_for(move, "fenland") == {"move": leaving.id, "request": leaving.request_ref,
                                               "from_provider": "fenland", "band": leaving.band,
                                               "kind": leaving.kind, "moved_on": leaving.moved_on.isoformat()}
    assert scope.move_for(move, leaving.to_provider) == move
    assert scope.move_for(move, "isle_homes") is None
    assert scope.move_for(move, None) == move


def test_the_coordinator_sees_everything(history, scheme):
    full = audits.fairness(history, scheme, today=ROUND_2)
    assert len(full["moves_between"]) == 9 and len(full["balance_history"]["providers"]) == 16
    assert len(listing.list_requests(history, None)) == 12


def test_an_unknown_provider_is_refused(history, scheme):
    with pytest.raises(NotFoundError, match=r"unknown provider 'nobody' \(--for-provider\)"):
        audits.fairness(history, scheme, for_provider="nobody")


def test_scoped_list_commands(history, facts, tmp_path):
    moves, requests = facts
    offers, reqs, unknown = reciprocal_many([
        ("offer", "list", "--status", "all", "--for-provider", "fenland", "--format", "json"),
        ("request", "list", "--status", "all", "--for-provider", "fenland", "--format", "json"),
        ("request", "list", "--for-provider", "nobody")], db=history.path, cwd=tmp_path)
    assert offers.returncode == 0 and reqs.returncode == 0, offers.stderr + reqs.stderr
    assert {o["provider"] for o in json.loads(offers.stdout)} == {"fenland"}
    listed = json.loads(reqs.stdout)
    assert {r["ref"] for r in listed} == {ref for ref, r in requests.items() if r.provider == "fenland"}
    assert listed[0]["avoid_areas"] == ["fenland"]  # its own household's, in full
    assert unknown.returncode == 3 and unknown.stderr.strip() == "unknown provider 'nobody' (--for-provider)"
