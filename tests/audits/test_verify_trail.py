"""`audit verify` covers the proposal trail as it covers the ledger (issue 20, item 11).

The anchor names the head of every hash chain (the ledger and the proposal trail), so a trail
rewritten and re-hashed with the engine's own recipe, or cut short, no longer verifies against an
anchor recorded before; and every proposal and move column a report reads (status, stage day, due
date, refusal by whom, why and whether the home was reasonable, viewing day, tenancy start, the
pair, the round) is held to the chained event that wrote it. Each tampering below is named by
verify, on the suite's backend.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from reciprocal import audits
from reciprocal.domain import RefusedBy
from reciprocal.errors import InputFileError
from reciprocal.intake import pot
from reciprocal.lifecycle import run, trail
from reciprocal.storage import ProposalRow

from tests.conftest import DEMO_DATA, ROUND_DAY
from tests.history import rehash_chain
from tests.moves import sign_live

DAY = ROUND_DAY + timedelta(days=2)


@pytest.fixture
def week(db, scheme):
    """The demo week: one proposal refused by the household (a reasonable offer, its reason
    `unsuitable_property`), the others signed; the refusal is the trail's newest event."""
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    run.run_round(db, scheme, ROUND_DAY)
    with db.reading() as session:
        ids = list(session.execute(text("SELECT id FROM proposal ORDER BY id")).scalars())
    refused, *others = ids
    assert others
    sign_live(db, scheme, DAY, skip=_request_of(db, refused))
    with db.reading() as session:
        due_on = session.get(ProposalRow, refused).due_on
    run.refuse(db, scheme, refused, DAY, RefusedBy.household, "unsuitable_property", "", True, resolve=False)
    result = audits.verify(db)
    assert result.ok, result.failures
    return {"refused": refused, "signed": others, "anchor": getattr(result, "anchor", None),
            "due_on": due_on}


def _request_of(db, proposal_id: int) -> tuple[str]:
    with db.reading() as session:
        return (session.get(ProposalRow, proposal_id).request_ref,)


def tamper(db, *statements: str) -> None:
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def messages(result: audits.Verification) -> list[str]:
    assert not result.ok
    return [str(f) for f in result.failures]


def refusal_event(db, proposal_id: int) -> int:
    with db.reading() as session:
        return session.execute(text(f"SELECT id FROM proposal_event WHERE proposal_id = {proposal_id} "
                                    f"AND to_status = 'refused'")).scalar_one()


def test_the_anchor_names_the_head_of_every_chain(db, week):
    result = audits.verify(db)
    ledger, trail_part = result.anchor.split(",")
    assert ledger.startswith(f"ledger:{result.head}:{result.head_hash[:16]}")
    assert trail_part == f"trail:{result.trail_head}:{result.trail_head_hash[:16]}"
    assert result.trail_head == refusal_event(db, week["refused"])
    assert audits.verify(db, week["anchor"]).ok
    assert audits.verify(db, f" {week['anchor'].upper()} ").ok  # as copied from the minutes
    short = ",".join(part[:-4] for part in week["anchor"].split(","))  # 12 hex of each is enough
    assert audits.verify(db, short).ok


def test_a_refusal_rewritten_in_trail_and_row_and_rehashed_is_named_by_the_anchor(db, week):
    """The refusal's reason and reasonable flag rewritten in both places, the chain re-hashed:
    every check of the chain and of the row passes, but the anchor's trail head has changed."""
    p, event = week["refused"], refusal_event(db, week["refused"])
    dialect = db.engine.dialect.name
    new_detail = ('\'{"by": "household", "reason": "safety_concern", "reasonable": false}\''
                  + ("::json" if dialect == "postgresql" else ""))
    tamper(db, f"UPDATE proposal_event SET detail = {new_detail} WHERE id = {event}",
           f"UPDATE proposal SET refusal_reason = 'safety_concern', reasonable_offer = false WHERE id = {p}")
    rehash_chain(db, trail.events, trail.hash_of)
    assert audits.verify(db).ok  # the chain agrees with itself and the row with the chain...
    found = messages(audits.verify(db, week["anchor"]))  # ...the anchor from before does not
    assert found == [f"proposal trail event {event}: its hash is not the one anchored at an earlier "
                     f"audit: it, or an event before it, was rewritten since"], found


def test_a_refusal_event_deleted_and_the_proposal_put_back_is_named_by_the_anchor(db, week):
    """Every column put back as it was before the refusal: only the anchor can see it."""
    p, event = week["refused"], refusal_event(db, week["refused"])
    tamper(db, f"DELETE FROM proposal_event WHERE id = {event}",
           f"UPDATE proposal SET status = 'proposed', refused_by = NULL, refusal_reason = NULL, "
           f"reasonable_offer = NULL, decided_at = NULL, stage_on = '{ROUND_DAY}', "
           f"due_on = '{week['due_on']}' WHERE id = {p}")
    assert audits.verify(db).ok  # a tail cut off leaves a shorter, consistent trail...
    found = messages(audits.verify(db, week["anchor"]))  # ...which the anchor names
    assert found == [f"proposal trail event {event}: it is missing, but an earlier audit anchored it: "
                     f"events were removed since"], found


def second_round(db) -> None:
    """A second round to point a row at (the foreign key holds on PostgreSQL)."""
    tamper(db, "INSERT INTO round (\"on\", status, opened_at, report, snapshot) "
               "SELECT \"on\", status, opened_at, report, snapshot FROM round WHERE id = 1")


def test_a_moves_round_changed_is_named(db, week):
    second_round(db)
    tamper(db, f"UPDATE move SET round_id = 2 WHERE proposal_id = {week['signed'][0]}")
    found = messages(audits.verify(db))
    assert any(": its round_id is 2, but its signing (trail event" in f for f in found), found
    assert any(": its round_id is 2, but proposal" in f for f in found), found
    assert any(": its round_id is 2, but its ledger legs" in f for f in found), found


def test_only_the_rows_reasonable_offer_flipped_is_named(db, week):
    p, event = week["refused"], refusal_event(db, week["refused"])
    tamper(db, f"UPDATE proposal SET reasonable_offer = false WHERE id = {p}")
    found = messages(audits.verify(db))
    assert found == [f"proposal {p}: its reasonable_offer is False, but its refusal (trail event {event}, "
                     f"chained) recorded True"], found


@pytest.mark.parametrize("column, value, recorded", [
    ("refused_by", "'offering_landlord'", "household"),
    ("refusal_reason", "'other'", "unsuitable_property"),
    ("stage_on", "'2026-12-01'", DAY.isoformat()),
    ("round_id", "round_id + 1", "1"),
])
def test_each_refusal_column_a_report_reads_is_held_to_its_event(db, week, column, value, recorded):
    p = week["refused"]
    if column == "round_id":
        second_round(db)
    tamper(db, f"UPDATE proposal SET {column} = {value} WHERE id = {p}")
    found = messages(audits.verify(db))
    assert any(f.startswith(f"proposal {p}: its {column} is ") and f.endswith(f"recorded {recorded}")
               for f in found), found


def test_a_signed_proposals_columns_are_held_to_its_events(db, week):
    p = week["signed"][0]
    tamper(db, f"UPDATE proposal SET reasonable_offer = true, tenancy_start = '2027-05-05', "
               f"request_ref = 'RQ-FORGED' WHERE id = {p}")
    found = messages(audits.verify(db))
    assert any(f.startswith(f"proposal {p}: its reasonable_offer is True, but it was never refused") for f in found), found
    assert any(f.startswith(f"proposal {p}: its tenancy_start is 2027-05-05, but its signing") for f in found), found
    assert any(f.startswith(f"proposal {p}: its request_ref is RQ-FORGED, but its making") for f in found), found


def test_an_anchor_from_before_the_trail_was_anchored_still_checks_the_ledger_and_says_so(db, week):
    result = audits.verify(db)
    old = result.head_hash[:16]
    checked = audits.verify(db, old)
    assert checked.ok
    assert checked.notes == ["the anchor names only a ledger entry (it was recorded before anchors covered "
                             "the proposal trail): the trail is not covered by it; record this audit's "
                             f"anchor, {checked.anchor}"]
    tamper(db, "DELETE FROM ledger_entry WHERE id = (SELECT MAX(id) FROM ledger_entry)")
    assert [f.check for f in audits.verify(db, result.head_hash[:16]).failures if f.check == "anchor"] == ["anchor"]


@pytest.mark.parametrize("anchor, problem", [
    ("ledger:1:4b52af", "ledger:1:4b52af: give at least 12 characters of the head's hash"),
    ("vault:3:4b52af268d206ba6", "vault: no hash chain is called that (ledger, trail)"),
    ("ledger:x:4b52af268d206ba6", "ledger:x:4b52af268d206ba6: write chain:position:hash, as `audit verify` prints it"),
    ("ledger:1:4b52af268d206bzz", "ledger:1:4b52af268d206bzz: the hash is hexadecimal (0-9, a-f)"),
    ("ledger:1:4b52af268d206ba6,ledger:2:4b52af268d206ba6", "ledger: named twice"),
])
def test_a_malformed_anchor_is_refused_naming_the_part(db, week, anchor, problem):
    with pytest.raises(InputFileError) as caught:
        audits.verify(db, anchor)
    assert [str(p) for p in caught.value.problems] == [f"--anchor: {problem}"]


def test_the_verify_command_prints_the_anchor_and_exits_7_on_a_rewritten_trail(db, week, tmp_path):
    from tests.helpers import reciprocal
    ok = reciprocal("audit", "verify", db=db.url, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert f"Anchor: {week['anchor']}" in ok.stdout
    tamper(db, f"DELETE FROM proposal_event WHERE id = {refusal_event(db, week['refused'])}")
    failed = reciprocal("audit", "verify", "--anchor", week["anchor"], db=db.url, cwd=tmp_path)
    assert failed.returncode == 7, failed.stderr
    assert "proposal trail event" in failed.stderr and "anchored" in failed.stderr
