"""A household's or a home's facts updated in place (issue 21): each field alone, on the demo's
first round (RQ-0101 -> OF-2611-01, RQ-0102 -> OF-2611-02, RQ-0103 -> OF-2611-08,
RQ-0104 -> OF-2611-10, RQ-0107 -> OF-2611-06). A change that makes a live proposal break a hard
rule cancels it, naming the rule; one that does not leaves it; a bad updates file changes nothing."""
from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from reciprocal.audits.verify import verify as verify_db
from reciprocal.config import load_scheme
from reciprocal.domain import Role
from reciprocal.errors import InputFileError
from reciprocal.intake import purge
from reciprocal.lifecycle import decisions, run, updates, views
from reciprocal.lifecycle.updates import Update
from reciprocal.storage import ProposalEventRow, RequestRow
from tests.conftest import CONFIG_DIR

DAY = date(2026, 11, 25)

# (kind, ref, {field: cell}, the rule the change breaks) for the request's or offer's live proposal.
BREAKS = [
    ("request", "RQ-0101", {"avoid_areas": "fenland;cambridge"}, "safety_buffer"),
    ("request", "RQ-0101", {"avoid_areas": "fenland,south_cambridgeshire"}, "safety_buffer"),  # the buffer
    ("request", "RQ-0101", {"bedrooms_needed": "3"}, "size"),
    ("request", "RQ-0101", {"bedrooms_needed": "1", "max_bedrooms": "1"}, "size"),
    ("request", "RQ-0101", {"needs_step_free": "yes"}, "access"),
    ("request", "RQ-0103", {"needs_wheelchair": "yes"}, "access"),
    ("request", "RQ-0107", {"survivor_area": "peterborough"}, "perpetrator_safety"),
    ("request", "RQ-0107", {"survivor_consent": "no"}, "perpetrator_safety"),
    ("request", "RQ-0107", {"safety_decision_on": "none"}, "perpetrator_safety"),
    ("request", "RQ-0107", {"safety_decision_on": "2026-12-20"}, "perpetrator_safety"),
    ("offer", "OF-2611-01", {"available_from": "2027-03-01"}, "availability"),
    ("offer", "OF-2611-01", {"bedrooms": "4"}, "size"),
    ("offer", "OF-2611-06", {"restrictions": "no_perpetrator"}, "offer_restrictions"),
    ("offer", "OF-2611-06", {"restrictions": "age_55_plus"}, "offer_restrictions"),
    ("offer", "OF-2611-01", {"tenancy_offered": "starter"}, "security_of_tenure"),
]
# (kind, ref, {field: cell}) that change a fact and leave the live proposal as it is.
LEAVES = [
    ("request", "RQ-0101", {"avoid_areas": "fenland;peterborough"}),
    ("request", "RQ-0101", {"bedrooms_needed": "1"}),
    ("request", "RQ-0101", {"max_bedrooms": "3"}),
    ("request", "RQ-0103", {"needs_step_free": "yes"}),
    ("request", "RQ-0101", {"preferred_areas": "peterborough"}),
    ("request", "RQ-0101", {"risk": "standard"}),
    ("request", "RQ-0104", {"current_tenancy": "flexible"}),
    ("request", "RQ-0101", {"age": "35-44"}),
    ("request", "RQ-0107", {"survivor_area": "cambridge"}),
    ("request", "RQ-0107", {"safety_decision_on": "2026-11-01"}),
    ("offer", "OF-2611-01", {"available_from": "2026-11-30"}),
    ("offer", "OF-2611-01", {"available_until": "2027-01-31"}),
    ("offer", "OF-2611-01", {"bedrooms": "3"}),
    ("offer", "OF-2611-01", {"property_type": "maisonette", "floor": "2"}),
    ("offer", "OF-2611-08", {"wheelchair_accessible": "yes"}),
    ("offer", "OF-2611-01", {"step_free": "yes"}),
    ("offer", "OF-2611-01", {"restrictions": "no_perpetrator"}),
    ("offer", "OF-2611-01", {"tenancy_offered": "secure"}),
]


def live_of(db, kind: str, ref: str) -> list[dict]:
    key = "request" if kind == "request" else "offer"
    return [p for p in views.proposal_list(db) if p[key] == ref and p["status"] not in ("cancelled", "refused")]


@pytest.mark.parametrize("kind,ref,cells,rule", BREAKS, ids=[f"{r}-{'-'.join(c)}-{i}" for i, (_, r, c, _) in
                                                                 enumerate(BREAKS)])
def test_a_change_that_breaks_a_rule_cancels_the_live_proposal_naming_it(db, scheme, week1, kind, ref, cells, rule):
    [p] = live_of(db, kind, ref)
    out = run.update_cases(db, scheme, kind, [Update(ref, cells)], DAY)
    update, cancel = out.changes
    assert update.what == kind and update.ref == ref and "updated by the coordinator" in update.why
    assert cancel.what == "proposal" and cancel.ref == str(p["id"]) and cancel.to_status == "cancelled"
    assert f"({rule})" in cancel.why and "back in the pot" in cancel.why
    view = views.proposal_view(db, p["id"])
    assert view["status"] == "cancelled"
    assert view["trail"][-1]["detail"]["rule"] == rule and view["trail"][-1]["role"] == "engine"
    assert verify_db(db, scheme=scheme).ok


@pytest.mark.parametrize("kind,ref,cells", LEAVES, ids=[f"{r}-{'-'.join(c)}" for _, r, c in LEAVES])
def test_a_change_that_breaks_no_rule_leaves_the_live_proposal(db, scheme, week1, kind, ref, cells):
    [p] = live_of(db, kind, ref)
    out = run.update_cases(db, scheme, kind, [Update(ref, cells)], DAY)
    assert [(c.what, c.ref) for c in out.changes] == [(kind, ref)]
    assert views.proposal_view(db, p["id"])["status"] == p["status"]
    assert verify_db(db, scheme=scheme).ok


def test_the_readme_case_keeps_referral_and_history_and_verify_names_a_hand_edit(db, scheme, week1):
    out = run.update_cases(db, scheme, "request", [Update("RQ-0103", {"avoid_areas": "peterborough,cambridge"})],
                           DAY, Role.referring_landlord)
    assert out.changes[1].why.startswith(f"cancelled: OF-2611-08 is in cambridge, which RQ-0103 now avoids "
                                         f"(safety_buffer)")
    # What is recorded, and what both members see, is only that the household's circumstances
    # changed (and the rule): never the area it now avoids.
    cancelled = views.proposal_view(db, week1["RQ-0103"])
    assert cancelled["decline_reason"] == "the household's circumstances changed"
    assert cancelled["trail"][-1]["detail"] == {"why": "the household's circumstances changed", "rule": "safety_buffer"}
    view = updates.case_view(db, "request", "RQ-0103")
    assert view["facts"]["referred_on"] == "2026-08-03" and view["facts"]["status"] == "active"
    [h] = view["history"]
    assert (h["fields"], h["before"], h["after"], h["role"], h["on"]) == (
        ["avoid_areas"], {"avoid_areas": ["peterborough"]}, {"avoid_areas": ["peterborough", "cambridge"]},
        "referring_landlord", DAY.isoformat())
    assert verify_db(db, scheme=scheme).ok
    # Safe to repeat: the same update changes nothing and writes nothing.
    assert run.update_cases(db, scheme, "request", [Update("RQ-0103", {"avoid_areas": "peterborough;cambridge"})],
                            DAY).changes == []
    with db.transaction() as session:  # the trail's record of the update, edited by hand
        event = session.exec(select(ProposalEventRow).where(ProposalEventRow.id == h["seq"])).one()
        event.case_values = {**event.case_values, "after": {"avoid_areas": ["peterborough"]}}
        session.add(event)
    failed = verify_db(db, scheme=scheme)
    assert not failed.ok and str(failed.first).startswith(f"proposal trail event {h['seq']}: the values before "
                                                          f"and after of its update of request RQ-0103")


def test_verify_names_a_row_changed_behind_its_trail(db, scheme, week1):
    run.update_cases(db, scheme, "request", [Update("RQ-0105", {"risk": "high"})], DAY)
    with db.transaction() as session:
        row = session.exec(select(RequestRow).where(RequestRow.ref == "RQ-0105")).one()
        row.risk = "standard"
        session.add(row)
    [event] = updates.case_view(db, "request", "RQ-0105")["history"]
    failed = verify_db(db, scheme=scheme)
    assert [f.message for f in failed.failures if f.check == "case"] == [
        f"request RQ-0105: its risk is standard, but its latest update (trail event {event['seq']}, chained) "
        f"recorded high"]


def test_referral_day_changes_only_with_a_reason(db, scheme, week1):
    with pytest.raises(InputFileError) as refused:
        run.update_cases(db, scheme, "request", [Update("RQ-0105", {"referred_on": "2026-07-01"})], DAY)
    assert "referred_on changes only with a reason" in str(refused.value.problems[0])
    run.update_cases(db, scheme, "request", [Update("RQ-0105", {"referred_on": "2026-07-01"}, "date typed wrong")], DAY)
    assert updates.case_view(db, "request", "RQ-0105")["history"][0]["reason"] == "date typed wrong"


def test_an_update_is_checked_as_at_import(db, scheme, week1):
    bad = [Update("RQ-0101", {"avoid_areas": "atlantis"}), Update("RQ-0104", {"bedrooms_needed": "1_0"}),
           Update("RQ-0102", {"max_bedrooms": "1"}),
           Update("RQ-9999", {"risk": "high"})]
    with pytest.raises(InputFileError) as refused:
        run.update_cases(db, scheme, "request", bad, DAY)
    text = "\n".join(str(p) for p in refused.value.problems)
    assert "avoid_areas: unknown area 'atlantis'" in text and "'1_0' is not a whole number" in text
    assert "max_bedrooms is below bedrooms_needed" in text and "no request with ref RQ-9999" in text
    with pytest.raises(InputFileError, match="wheelchair"):
        run.update_cases(db, scheme, "offer", [Update("OF-2611-01", {"wheelchair_accessible": "yes",
                                                                      "step_free": "no"})], DAY)
    assert all(not updates.case_view(db, "request", r)["history"] for r in ("RQ-0101", "RQ-0102"))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_an_updates_file_with_a_bad_cell_changes_nothing(db, scheme, week1, tmp_path):
    good = "ref,avoid_areas,max_bedrooms\nRQ-0101,fenland;cambridge,\nRQ-0103,,2\n"
    bad = write(tmp_path / "updates.csv", good + "RQ-0104,,three\n")
    before = views.proposal_list(db)
    with pytest.raises(InputFileError) as refused:
        run.update_cases(db, scheme, "request", updates.updates_from_file(bad, "request"), DAY)
    assert [str(p) for p in refused.value.problems] == [
        "updates.csv:4: max_bedrooms: 'three' is not a whole number (digits 0-9 only)"]
    assert views.proposal_list(db) == before
    assert not updates.case_view(db, "request", "RQ-0101")["history"]
    personal = write(tmp_path / "personal.csv", "ref,postcode\nRQ-0101,CB1 1AA\n")
    with pytest.raises(InputFileError, match="personal data"):
        updates.updates_from_file(personal, "request")
    ok = write(tmp_path / "ok.csv", good)
    out = run.update_cases(db, scheme, "request", updates.updates_from_file(ok, "request"), DAY)
    assert [(c.what, c.ref, c.to_status) for c in out.changes] == [
        ("request", "RQ-0101", "active"), ("proposal", str(week1["RQ-0101"]), "cancelled"),
        ("request", "RQ-0103", "active")]
    assert run.update_cases(db, scheme, "request", updates.updates_from_file(ok, "request"), DAY).changes == []


def test_purge_blanks_an_update_values_and_verify_still_passes(db, scheme, week1):
    run.update_cases(db, scheme, "request", [Update("RQ-0105", {"avoid_areas": "huntingdonshire;fenland"})], DAY)
    run.request_change(db, scheme, "withdraw", "RQ-0105", DAY)
    purge.purge_closed(db, date(2026, 12, 31), today=date(2026, 12, 31))
    [h] = updates.case_view(db, "request", "RQ-0105")["history"]
    assert h["before"] is None and h["after"] is None and h["fields"] == ["avoid_areas"]
    assert verify_db(db, scheme=scheme).ok


def configs(tmp_path: Path) -> Path:
    """A copy of the example scheme's configs, to edit."""
    folder = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, folder)
    return folder


def suspended(tmp_path: Path, provider: str, on_suspension: str):
    """The example scheme with `provider` suspended and the suspension term given."""
    folder = configs(tmp_path)
    path = folder / "providers" / f"{provider}.yaml"
    path.write_text(path.read_text().replace("status: active", "status: suspended"))
    scheme_file = folder / "scheme.yaml"
    data = scheme_file.read_text()
    scheme_file.write_text(data.replace("lifecycle:\n", f"lifecycle:\n  on_suspension: {on_suspension}\n", 1)
                           if "lifecycle:\n" in data else data + f"lifecycle:\n  on_suspension: {on_suspension}\n")
    return load_scheme(folder)


@pytest.mark.parametrize("term", ["continue", "cancel"])
def test_a_suspension_does_what_the_scheme_says_and_says_so(db, scheme, week1, tmp_path, term):
    changed = suspended(tmp_path, "wicken_fen_homes", term)
    assert changed.config.lifecycle.on_suspension == term
    out = run.advance(db, changed, week1["RQ-0101"], DAY, Role.offering_landlord)
    [said] = [c for c in out.changes if c.ref == str(week1["RQ-0104"])]
    assert "wicken_fen_homes" in said.why and f"lifecycle.on_suspension: {term}" in said.why
    status = views.proposal_view(db, week1["RQ-0104"])["status"]
    assert status == ("proposed" if term == "continue" else "cancelled")
    assert views.proposal_view(db, week1["RQ-0101"])["status"] == "nomination_confirmed"


def test_a_config_change_is_judged_at_the_start_of_every_round(db, scheme, week1, tmp_path):
    scheme_file = configs(tmp_path) / "scheme.yaml"
    scheme_file.write_text(scheme_file.read_text().replace("safety_buffer_hops: 1", "safety_buffer_hops: 2"))
    wider = load_scheme(scheme_file.parent)
    out = run.run_round(db, wider, date(2026, 11, 30))
    cancelled = {c.ref for c in out.changes if c.to_status == "cancelled"}
    # RQ-0104 now avoids fenland's area within two hops; RQ-0107's survivor is two hops from OF-2611-06.
    assert {c.request: re.search(r"\((\w+)\); home", c.why).group(1) for c in out.changes
            if c.to_status == "cancelled"} == {
        "RQ-0104": "safety_buffer", "RQ-0107": "perpetrator_safety"}
    for pid in cancelled:
        assert views.proposal_view(db, int(pid))["trail"][-1]["detail"]["why"].startswith("the scheme's terms changed")


def test_cancellations_made_before_a_refused_command_travel_with_its_error(db, scheme, week1, tmp_path):
    """The configs are re-judged in a transaction of their own before the command; when the
    command itself is then refused, the cancellations it kept are still said (never silent)."""
    from reciprocal.errors import ReciprocalError
    changed = suspended(tmp_path, "wicken_fen_homes", "cancel")
    with pytest.raises(ReciprocalError) as refused:
        run.sign(db, changed, week1["RQ-0101"], DAY, DAY)  # proposed, not accepted: refused
    assert views.proposal_view(db, week1["RQ-0104"])["status"] == "cancelled"
    assert any(str(week1["RQ-0104"]) in line and "cancelled" in line for line in refused.value.done_before)


def test_a_decisions_file_judges_the_configs_first_and_prints_the_cancellations(db, scheme, week1, tmp_path):
    """`proposal import` re-judges the live proposals under the configs as they are now before
    its rows, through the same path as every command (`run._rejudged`), its changes first."""
    changed = suspended(tmp_path, "wicken_fen_homes", "cancel")
    file = write(tmp_path / "decisions.csv",
                 f"proposal,action,on\n{week1['RQ-0101']},confirm_nomination,{DAY.isoformat()}\n")
    result = decisions.import_decisions(db, changed, file)
    assert [(c.ref, c.to_status) for c in result.changes] == [
        (str(week1["RQ-0104"]), "cancelled"), (str(week1["RQ-0101"]), "nomination_confirmed")]
    assert "wicken_fen_homes" in result.changes[0].why and "on_suspension: cancel" in result.changes[0].why
    assert views.proposal_view(db, week1["RQ-0104"])["status"] == "cancelled"


def test_a_decisions_file_refused_still_says_the_cancellations_it_kept(db, scheme, week1, tmp_path):
    changed = suspended(tmp_path, "wicken_fen_homes", "cancel")
    file = write(tmp_path / "decisions.csv",
                 f"proposal,action,on\n{week1['RQ-0104']},confirm_nomination,{DAY.isoformat()}\n")
    with pytest.raises(InputFileError) as refused:
        decisions.import_decisions(db, changed, file)
    assert [p.field for p in refused.value.problems] == ["action"]
    assert any(str(week1["RQ-0104"]) in line and "cancelled" in line for line in refused.value.done_before)
    assert views.proposal_view(db, week1["RQ-0104"])["status"] == "cancelled"


REQUESTS = ("ref,provider,kind,current_tenancy,bedrooms_needed,max_bedrooms,needs_step_free,needs_wheelchair,"
            "avoid_areas,preferred_areas,risk,referred_on,age,survivor_area,survivor_consent,safety_decision_on\n"
            "RQ-0901,fenland,survivor,secure,2,,no,no,fenland,,standard,2026-06-01,,,,\n"
            "RQ-0902,fenland,survivor,secure,2,,no,no,fenland,,standard,2026-09-01,,,,\n")
OFFER = ("ref,provider,area,bedrooms,property_type,floor,step_free,wheelchair_accessible,tenancy_offered,"
         "weekly_rent,available_from,restrictions,notes\n"
         "OF-0901,cambridge_city,cambridge,2,flat,1,no,no,,100.00,2026-11-16,,\n")


@pytest.mark.parametrize("raised", [False, True])
def test_a_risk_raised_to_high_takes_effect_in_the_next_rounds_priority(db, scheme, tmp_path, raised):
    """Two households compete for one home: the one waiting longer has it, unless the other's
    risk is raised to high before the round (most high-risk households moved comes first)."""
    from reciprocal.intake import pot
    pot.import_requests(db, scheme, write(tmp_path / "requests.csv", REQUESTS), approved_on=date(2026, 11, 2))
    first = run.run_round(db, scheme, date(2026, 11, 23))
    assert views.round_view(db, first.round_id)["proposals"] == []
    if raised:
        out = run.update_cases(db, scheme, "request", [Update("RQ-0902", {"risk": "high"})], DAY)
        assert [c.line().split("): ")[-1] for c in out.changes] == ["risk standard -> high"]
    pot.import_offers(db, scheme, write(tmp_path / "offers.csv", OFFER))
    second = run.run_round(db, scheme, date(2026, 11, 30))
    [p] = views.round_view(db, second.round_id)["proposals"]
    assert (p["request"], p["offer"]) == ("RQ-0902" if raised else "RQ-0901", "OF-0901")
