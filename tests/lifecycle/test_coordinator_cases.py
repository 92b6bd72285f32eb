"""Cases a coordinator meets (issue 20): each pinned as a named example on the demo pot.

A round never proposes a household it has just made stale; staleness counts from the scheme's
own days; reconfirmation takes many households at once; a day's round runs once; a re-offer says
when and why it was made; a tenancy start must be plausible; a cancelled pair may come back but a
refused or lapsed one never does."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from reciprocal.domain import RefusedBy, RequestStatus, Role
from reciprocal.errors import StateError
from reciprocal.intake import listing, pot
from reciprocal.lifecycle import run, views
from tests.conftest import DEMO_DATA, ROUND_DAY
from tests.moves import to_accepted


def statuses(db) -> dict[str, str]:
    return {r.ref: r.status.value if hasattr(r.status, "value") else r.status
            for r in listing.list_requests(db, status=None)}


def test_a_round_never_proposes_a_household_it_makes_stale(db, scheme):
    """Issue 20.1: marking stale and taking the pot happened in one transaction, but the pot was
    read past the unflushed changes, so stale households were proposed and could never be signed."""
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    late = date(2028, 1, 3)  # past reconfirm_days from every date the demo households have
    outcome = run.run_round(db, scheme, late)
    made_stale = {c.ref for c in outcome.changes if c.what == "request" and c.to_status == "stale"}
    assert made_stale
    proposed = {p["request"] for p in views.round_view(db, outcome.round_id)["proposals"]}
    assert not proposed & made_stale
    assert all(statuses(db)[ref] == "active" for ref in proposed)


def test_a_proposal_left_with_a_stale_household_says_so_and_signs_once_reconfirmed(db, scheme, week1):
    """Issue 20.1, for databases the old rounds left so: the words name the stale request and the
    way out (reconfirm), not "a home let twice"; once reconfirmed the proposal signs."""
    from reciprocal.storage import RequestRow
    from sqlmodel import select
    pid = week1["RQ-0101"]
    to_accepted(db, scheme, pid, date(2026, 11, 24))
    with db.transaction() as session:  # as a round before the fix left it
        row = session.exec(select(RequestRow).where(RequestRow.ref == "RQ-0101")).one()
        row.status = RequestStatus.stale.value
        session.add(row)
    with pytest.raises(StateError, match=r"request RQ-0101 is stale .*request reconfirm RQ-0101") as refused:
        run.sign(db, scheme, pid, date(2026, 12, 1), date(2026, 11, 25))
    assert "twice" not in str(refused.value)
    run.request_change(db, scheme, "reconfirm", "RQ-0101", date(2026, 11, 25))
    signed = run.sign(db, scheme, pid, date(2026, 12, 1), date(2026, 11, 25))
    assert [c.to_status for c in signed.changes][0] == "signed"


def test_a_second_round_on_a_day_already_run_says_so_and_changes_nothing(db_url, tmp_path, week1):
    """Issue 20.5: six `round run` on one day made six rounds, five empty, and round numbers stopped
    matching weeks. Now the second says so (exit 4), writes nothing; `--again` asks for another."""
    import json
    from tests.helpers import reciprocal
    day = ROUND_DAY.isoformat()
    again = reciprocal("round", "run", "--on", day, db=db_url, cwd=tmp_path)
    assert again.returncode == 4, again.stderr
    assert "round 1 already ran on 2026-11-23" in again.stderr and "nothing was changed" in again.stderr
    assert "--again" in again.stderr
    listed = reciprocal("round", "list", "--format", "json", db=db_url, cwd=tmp_path)
    assert [r["round"] for r in json.loads(listed.stdout)] == [1]
    forced = reciprocal("round", "run", "--on", day, "--again", "--format", "json", db=db_url, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["round"] == 2


def test_a_cancelled_pair_may_return_but_a_refused_or_lapsed_one_never_does(db, scheme, week1):
    """Issue 20.10: after a hold the engine (rightly) proposes the same home again; after a
    refusal or a lapse it never does. The README says the same."""
    first = views.proposal_view(db, week1["RQ-0101"])
    run.request_change(db, scheme, "hold", "RQ-0101", date(2026, 11, 24), reason="in hospital",
                       until=date(2026, 11, 30))
    run.request_change(db, scheme, "resume", "RQ-0101", date(2026, 11, 30))
    refused = views.proposal_view(db, week1["RQ-0102"])
    run.refuse(db, scheme, refused["id"], date(2026, 11, 25), RefusedBy.household, "too_far_from_support",
               reasonable=False)
    pairs = set()
    day = date(2026, 11, 30)
    for week in range(3):  # the refused pair never returns, whatever the weeks bring
        outcome = run.run_round(db, scheme, day + timedelta(weeks=week))
        pairs |= {(p["request"], p["offer"]) for p in views.round_view(db, outcome.round_id)["proposals"]}
    assert ("RQ-0101", first["offer"]) in pairs  # cancelled by the hold: proposed again
    assert ("RQ-0102", refused["offer"]) not in pairs
    readme = (DEMO_DATA.parents[1] / "README.md").read_text()
    guarantees = readme.split("What a round guarantees:")[1].split("## ")[0]
    assert "that pair is never proposed again" not in guarantees
    assert "a refused or lapsed pair is never proposed again" in " ".join(guarantees.split())
    assert "a cancelled pair" in " ".join(guarantees.split())


@pytest.mark.parametrize("start, words", [
    (date(1900, 1, 1), "is before request RQ-0101 was referred (2026-09-14)"),
    (date(2026, 9, 1), "is before request RQ-0101 was referred"),
    (date(2027, 11, 25), "365 days from the signing day 2026-11-25"),
])
def test_a_tenancy_start_before_the_referral_or_far_from_signing_is_refused(db, scheme, week1, start, words):
    """Issue 20.9: `sign --tenancy-start 1900-01-01` made a move 126 years before the referral."""
    pid = week1["RQ-0101"]
    to_accepted(db, scheme, pid, date(2026, 11, 24))
    with pytest.raises(StateError, match=re.escape(words)):
        run.sign(db, scheme, pid, start, date(2026, 11, 25))
    assert views.proposal_view(db, pid)["status"] == "accepted"
    assert run.sign(db, scheme, pid, date(2026, 12, 7), date(2026, 11, 25)).changes[0].to_status == "signed"


def test_a_re_offer_says_when_and_why_it_was_made(db, scheme, week1):
    """Issue 20.6: a home re-offered after a refusal on 15 December was "proposed by round 1", and
    `round show 1` changed weeks later without a word. It now says the day, the freed home and
    the refusal, in the change printed, in the round's page and in the trail."""
    refused = views.proposal_view(db, week1["RQ-0101"])
    later = date(2026, 12, 15)
    out = run.refuse(db, scheme, refused["id"], later, RefusedBy.household, "too_far_from_support",
                     reasonable=False)
    (reoffer,) = [c for c in out.changes if c.what == "proposal" and c.from_status is None]
    assert reoffer.why.startswith(f"re-offered on 2026-12-15: home {refused['offer']} was freed when "
                                  f"proposal {refused['id']} was refused")
    shown = {p["id"]: p for p in views.round_view(db, 1)["proposals"]}
    assert shown[int(reoffer.ref)]["made_on"] == "2026-12-15"
    assert shown[int(reoffer.ref)]["made_by"] == reoffer.why.split("; due")[0]
    assert shown[week1["RQ-0102"]]["made_on"] == "2026-11-23"
    assert shown[week1["RQ-0102"]]["made_by"] == "proposed by round 1"
    (made,) = views.proposal_view(db, int(reoffer.ref))["trail"]
    assert made["on"] == "2026-12-15"
    assert (made["detail"]["round"], made["detail"]["reoffer_after"]) == (1, refused["id"])


def test_circulation_says_which_households_have_a_landlord_at_its_debt_limit(db, scheme):
    """Issue 20.8: households whose landlord had no headroom were circulated like any other, and
    the homes members offered for them went to the pot. The list now says so, for those only."""
    from dataclasses import replace
    from reciprocal.lifecycle.circulate import circulate
    providers = dict(scheme.providers)
    providers["cambridge_city"] = providers["cambridge_city"].model_copy(update={"max_debt": 0})
    tight = replace(scheme, providers=providers)  # at zero, cambridge_city has no headroom
    pot.import_offers(db, tight, DEMO_DATA / "offers.csv")
    pot.import_requests(db, tight, DEMO_DATA / "requests.csv")
    listed = circulate(db, tight, ROUND_DAY, "fenland")["member"]["requests"]
    marked = {r["request"]: r["landlord_at_debt_limit"] for r in listed}
    assert marked == {"RQ-0102": True, "RQ-0104": False, "RQ-0111": True, "RQ-0109": False}
    (note,) = {r["note"] for r in listed if r["landlord_at_debt_limit"]}
    assert "cambridge_city is at its debt limit" in note and "pot" in note
    assert all(not r["landlord_at_debt_limit"] for m in circulate(db, scheme, ROUND_DAY)["members"]
               for r in m["requests"])


def test_a_home_not_step_free_yet_wheelchair_accessible_is_refused_at_intake(db, scheme, tmp_path):
    """Issue 20.7: a third-floor maisonette said `step_free: no` and `wheelchair_accessible: yes`,
    was taken as step-free and proposed to a household that needs step-free, silently."""
    from reciprocal.errors import InputFileError
    from reciprocal.intake.readers import record_from_options
    lines = (DEMO_DATA / "offers.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(",")))
    bad = {**row, "ref": "OF-MAIS-3", "property_type": "maisonette", "floor": "3", "step_free": "no",
           "wheelchair_accessible": "yes"}
    blank = {**row, "ref": "OF-BLANK-1", "step_free": "", "wheelchair_accessible": "yes"}
    path = tmp_path / "offers.csv"
    path.write_text("\n".join([",".join(header), *(",".join(r[h] for h in header) for r in (bad, blank))]) + "\n")
    with pytest.raises(InputFileError) as refused:
        pot.import_offers(db, scheme, path)
    (problem,) = refused.value.problems
    assert (problem.line, problem.field) == (2, "step_free")
    assert "wheelchair_accessible is 'yes'" in problem.message and "step_free is 'no'" in problem.message
    assert listing.list_offers(db) == []  # nothing written
    path.write_text("\n".join([",".join(header), ",".join(blank[h] for h in header)]) + "\n")
    assert pot.import_offers(db, scheme, path).added == 1  # blank step_free: step-free by rule 4
    with pytest.raises(InputFileError) as refused:
        record_from_options("offer", {"ref": "OF-X", "provider": "fenland", "area": "fenland", "bedrooms": "1",
                                      "property_type": "flat", "available_from": "2026-11-26",
                                      "step_free": "no", "wheelchair_accessible": "yes"}, scheme)
    assert refused.value.problems[0].source == "--step-free"
    assert "wheelchair_accessible" in refused.value.problems[0].message


def _stale_on(db, scheme, day) -> dict[str, str]:
    outcome = run.run_round(db, scheme, day)
    return {c.ref: c.why for c in outcome.changes if c.what == "request" and c.to_status == "stale"}


def test_staleness_counts_from_the_schemes_days_never_the_import_day(db, scheme):
    """Issue 20.2: a household referred on 9 January 2027 was "not reconfirmed since 2026-12-06"
    (the machine's day of the import). Days now count from the referral, the approval or the last
    reconfirmation, each the day the scheme stated."""
    from tests.conftest import make_request
    days = scheme.config.lifecycle.reconfirm_days
    later = make_request(ref="RQ-LATE", referred_on=date(2027, 1, 9))
    early = make_request(ref="RQ-EARLY", referred_on=date(2026, 9, 14))
    approved = make_request(ref="RQ-APPR", referred_on=date(2026, 9, 14))
    pot.add_records(db, [later, early])
    pot.add_records(db, [approved], approved_on=date(2027, 1, 4))  # `request add --on 2027-01-04`
    first = _stale_on(db, scheme, date(2026, 9, 14) + timedelta(days=days + 1))
    assert set(first) == {"RQ-EARLY"} and "since 2026-09-14" in first["RQ-EARLY"]
    assert _stale_on(db, scheme, date(2027, 1, 4) + timedelta(days=days)) == {}
    second = _stale_on(db, scheme, date(2027, 1, 4) + timedelta(days=days + 1))
    assert set(second) == {"RQ-APPR"} and "since 2027-01-04" in second["RQ-APPR"]
    third = _stale_on(db, scheme, date(2027, 1, 9) + timedelta(days=days + 1))
    assert set(third) == {"RQ-LATE"} and "since 2027-01-09" in third["RQ-LATE"]


def test_many_households_are_reconfirmed_at_once_by_refs_or_a_file_all_or_none(db_url, tmp_path, scheme):
    """Issue 20.2: reconfirmation took one household a command. Several refs, or a file with a `ref`
    column, now; a ref that cannot be reconfirmed is named with the others and nothing changes."""
    import json
    from reciprocal.lifecycle import run as lifecycle
    from reciprocal.storage import Database, resolve_url
    from tests.helpers import reciprocal
    assert reciprocal("offer", "import", str(DEMO_DATA / "offers.csv"), db=db_url, cwd=tmp_path).returncode == 0
    assert reciprocal("request", "import", str(DEMO_DATA / "requests.csv"), db=db_url, cwd=tmp_path).returncode == 0
    db = Database(resolve_url(db_url))
    made_stale = _stale_on(db, scheme, date(2027, 6, 1))  # every demo household, from its referral
    assert {"RQ-0101", "RQ-0102", "RQ-0103"} <= set(made_stale)
    (tmp_path / "still.csv").write_text("request,note\nRQ-0102,\nRQ-NONE,\n\nRQ-0103,\n")
    refused = reciprocal("request", "reconfirm", "RQ-0101", "--file", "still.csv", "--on", "2027-06-02",
                         db=db_url, cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "still.csv:3: request: no request with ref RQ-NONE" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert statuses(db)["RQ-0101"] == "stale"
    (tmp_path / "still.csv").write_text("request\nRQ-0102\nRQ-0103\n")
    done = reciprocal("request", "reconfirm", "RQ-0101", "--file", "still.csv", "--on", "2027-06-02",
                      "--format", "json", db=db_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    changed = json.loads(done.stdout)["changes"]
    assert [(c["ref"], c["from"], c["to"]) for c in changed] == [
        ("RQ-0101", "stale", "active"), ("RQ-0102", "stale", "active"), ("RQ-0103", "stale", "active")]
    twice = [("RQ-0104", ("--option", None, None))] * 2  # named twice: reconfirmed once
    assert [c.to_status for c in lifecycle.reconfirm_many(db, scheme, twice, date(2027, 6, 2)).changes] == ["active"]
