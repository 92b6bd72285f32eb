"""`due` and packs show what changed since the member's last pack (issue 21), on the demo's first
round (RQ-0101, fenland's household, proposed OF-2611-01, cambridge_city's home): the landlord
sees its case's fields before and after; the other member of the live proposal only that the
household's circumstances (or the home's facts) changed; nobody else anything."""
from __future__ import annotations

import json
from datetime import date, timedelta

from reciprocal.audits import packs
from reciprocal.lifecycle import run, views
from reciprocal.lifecycle.updates import Update

DAY = date(2026, 11, 25)
UNTIL = date(2026, 12, 31)


def updates_in_due(db, scheme, on, member, since=None) -> list[dict]:
    return [r for r in views.due_for(db, scheme, on, UNTIL, member, since) if r["what"] == "update"]


def test_the_landlord_sees_what_changed_and_the_offering_member_only_that_it_did(db, scheme, week1):
    run.update_cases(db, scheme, "request", [Update("RQ-0101", {"avoid_areas": "fenland;peterborough"})], DAY)
    [own] = updates_in_due(db, scheme, DAY, "fenland")
    assert (own["ref"], own["action"]) == (
        "RQ-0101", f"request updated since {(DAY - timedelta(days=6)).isoformat()}: "
                   f"avoid_areas fenland -> fenland;peterborough")
    [other] = updates_in_due(db, scheme, DAY, "cambridge_city")
    assert (other["ref"], other["proposal"], other["offer"], other["action"]) == (
        "RQ-0101", week1["RQ-0101"], "OF-2611-01",
        f"request updated since {(DAY - timedelta(days=6)).isoformat()}: the household's circumstances changed")
    assert "peterborough" not in json.dumps(other) and "avoid" not in json.dumps(other)
    assert updates_in_due(db, scheme, DAY, "peterborough_city") == []
    # The coordinator's `due` lists each member's, as it sees them.
    assert {(r["member"], r["ref"]) for r in views.due_for(db, scheme, DAY, UNTIL) if r["what"] == "update"} == {
        ("fenland", "RQ-0101"), ("cambridge_city", "RQ-0101")}
    pack = packs.member_pack(db, scheme, "cambridge_city", DAY)
    assert [c["change"] for c in pack["changes"]] == ["the household's circumstances changed"]
    assert "peterborough" not in json.dumps(pack["changes"])
    assert "the household's circumstances changed" in packs.pack_markdown(pack)


def test_the_referring_member_learns_the_home_changed_never_the_home(db, scheme, week1):
    run.update_cases(db, scheme, "offer", [Update("OF-2611-01", {"available_until": "2027-01-31"})], DAY)
    [other] = updates_in_due(db, scheme, DAY, "fenland")
    assert (other["ref"], other["request"], other["offer"]) == (str(week1["RQ-0101"]), "RQ-0101", None)
    assert other["action"].endswith("the home's facts changed")
    assert "OF-2611-01" not in json.dumps(other) and "cambridge" not in json.dumps(other)
    [own] = updates_in_due(db, scheme, DAY, "cambridge_city")
    assert own["ref"] == "OF-2611-01" and "available_until (none) -> 2027-01-31" in own["action"]


def test_a_pack_counts_from_the_members_last_pack(db, scheme, week1):
    first = ROUND_PACK = DAY
    run.update_cases(db, scheme, "request", [Update("RQ-0101", {"risk": "medium"})], DAY)
    shown = packs.packs(db, scheme, ROUND_PACK, ["fenland"])
    assert [c["change"] for c in shown[0]["changes"]] == ["risk high -> medium"]
    [recorded] = packs.record_pack_days(db, shown)
    assert recorded.ref == "fenland" and first.isoformat() in recorded.why
    assert packs.record_pack_days(db, shown) == []  # the day's first writing is kept
    # The same day's pack written again is the same pack; `due` that day counts from it.
    assert packs.packs(db, scheme, ROUND_PACK, ["fenland"])[0]["changes"] == shown[0]["changes"]
    assert updates_in_due(db, scheme, DAY, "fenland") == []
    # An update after the pack, even dated before it, is in the next pack; the one before is not.
    run.update_cases(db, scheme, "request", [Update("RQ-0101", {"max_bedrooms": "3"})], DAY - timedelta(days=1))
    later = packs.member_pack(db, scheme, "fenland", DAY + timedelta(days=7))
    assert later["changed_since"] == {"pack_of": DAY.isoformat(), "from_day": None}
    assert [c["change"] for c in later["changes"]] == ["max_bedrooms (none) -> 3"]
    assert f"Changed since your pack of {DAY.isoformat()} (1)" in packs.pack_markdown(later)
    [due] = updates_in_due(db, scheme, DAY, "fenland")
    assert due["action"] == f"request updated since your pack of {DAY.isoformat()}: max_bedrooms (none) -> 3"
    # A day given counts the updates dated from it.
    asked = packs.member_pack(db, scheme, "fenland", DAY + timedelta(days=7), since=DAY)
    assert [c["change"] for c in asked["changes"]] == ["risk high -> medium"]
