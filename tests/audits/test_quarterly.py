"""Golden test of `report quarterly` on a hand-built year whose figures are worked out by hand.

Financial year 2026/27 (`--year 2026`): Q1 Apr-Jun 2026, Q2 Jul-Sep, Q3 Oct-Dec, Q4 Jan-Mar 2027.
Request areas: cambridge_city -> cambridge, fenland -> fenland, huntingdonshire -> huntingdonshire,
peterborough_city -> peterborough, granta_vale_housing (stock in two areas) -> "(several areas)".

Requests (provider, kind, referred_on, what became of it):
  R1 fenland          survivor     2026-03-20  moved 2026-05-01 into O1      (42 days)
  R2 cambridge_city   survivor     2026-04-10  moved 2026-08-14 into O2      (126 days)
  R3 granta_vale      perpetrator  2026-05-05  moved 2026-08-14 into O3      (101 days)
  R4 huntingdonshire  survivor     2026-06-30  withdrawn 2026-10-01
  R5 peterborough     survivor     2026-07-01  still open
  R6 fenland          survivor     2027-01-15  moved 2027-03-31 into O4      (75 days)
  R7 cambridge_city   survivor     2027-04-01  still open (next financial year)
  R8 fenland          survivor     2026-12-01  withdrawn 2026-12-20
Offers (provider, area, added to the pot):
  O1 cambridge_city cambridge 2026-03-25 (before the year)   O4 granta_vale south_cambs 2027-02-01
  O2 huntingdonshire huntingdonshire 2026-06-01              O5 cambridge_city cambridge 2026-10-05
  O3 fenland fenland 2026-07-20                              O6 peterborough_city peterborough
                                                                2026-12-31 23:30 UTC (Q3: last minute)
Moves are counted in the offer's area and for the household's provider.

By hand, (requests circulated, offers made, moves, survivor moves, perpetrator moves, median weeks
from request to move, requests open at the quarter's end); every row not listed is all zeros:
  Q1  scheme: R2 R3 R4 | O2 | M1 (6.0 wk) | open R2 R3 R4            -> 3 1 1 1 0 6.0 3
      cambridge: R2 | M1 | open R2 -> 1 0 1 1 0 6.0 1;  huntingdonshire: R4 | O2 | open R4 -> 1 1 0 0 0 - 1
      (several areas): R3, open -> 1 0 0 0 0 - 1
      cambridge_city 1 0 0 0 0 - 1; fenland (M1) 0 0 1 1 0 6.0 0; granta_vale 1 0 0 0 0 - 1;
      huntingdonshire 1 1 0 0 0 - 1
  Q2  scheme: R5 | O3 | M2 M3: median of 126 and 101 days = 113.5 d = 16.2 wk | open R4 R5 -> 1 1 2 1 1 16.2 2
      huntingdonshire: M2 (18.0), open R4 -> 0 0 1 1 0 18.0 1;  fenland: O3, M3 (14.4) -> 0 1 1 0 1 14.4 0
      peterborough: R5 -> 1 0 0 0 0 - 1
      cambridge_city (M2) 0 0 1 1 0 18.0 0; fenland (O3) 0 1 0 0 0 - 0; granta_vale (M3) 0 0 1 0 1 14.4 0
      huntingdonshire (R4 open) 0 0 0 0 0 - 1; peterborough_city 1 0 0 0 0 - 1
  Q3  scheme: R8 | O5 O6 | no move | open R5 (R4 and R8 withdrawn in Q3) -> 1 2 0 0 0 - 1
      cambridge: O5 -> 0 1 0 0 0 - 0; peterborough: O6, R5 open -> 0 1 0 0 0 - 1; fenland: R8 -> 1 0 0 0 0 - 0
      cambridge_city 0 1 0 0 0 - 0; peterborough_city 0 1 0 0 0 - 1; fenland 1 0 0 0 0 - 0
  Q4  scheme: R6 | O4 | M4 (10.7 wk) | open R5 (R6 moved on the last day) -> 1 1 1 1 0 10.7 1
      fenland: R6 -> 1 0 0 0 0 - 0; south_cambridgeshire: O4, M4 -> 0 1 1 1 0 10.7 0;
      peterborough: R5 open -> 0 0 0 0 0 - 1
      fenland (R6, M4) 1 0 1 1 0 10.7 0; granta_vale (O4) 0 1 0 0 0 - 0; peterborough_city 0 0 0 0 0 - 1
  Year: requests R2 R3 R4 R5 R8 R6 = 6; offers O2 O3 O5 O6 O4 = 5; moves 4 (3 survivor, 1 perpetrator);
      median of 42 75 101 126 days = 88 d = 12.6 wk; open at year end = Q4's 1
      cambridge 1 1 1 1 0 6.0 0; south_cambridgeshire 0 1 1 1 0 10.7 0;
      fenland (R8 R6, O3, M3) 2 1 1 0 1 14.4 0
      huntingdonshire 1 1 1 1 0 18.0 0; peterborough 1 1 0 0 0 - 1; (several areas) 1 0 0 0 0 - 0
      cambridge_city 1 1 1 1 0 18.0 0; fenland (M1 M4: 42 and 75 days = 8.4 wk) 2 1 2 2 0 8.4 0
      granta_vale 1 1 1 0 1 14.4 0; huntingdonshire 1 1 0 0 0 - 0; peterborough_city 1 1 0 0 0 - 1
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from typer.testing import CliRunner

from cli.app import app
from reciprocal.audits.quarterly import MEASURES, financial_quarters, quarterly
from reciprocal.storage import (Database, MoveRow, OfferRow, ProposalRow, RequestRow, RoundRow,
                                resolve_url)

from tests.conftest import CONFIG_DIR

GV = "granta_vale_housing"
SEVERAL = "(several areas)"
_ = None  # no move, so no median

EXPECTED = {
    ("Q1", "scheme", "all"): (3, 1, 1, 1, 0, 6.0, 3),
    ("Q1", "area", "cambridge"): (1, 0, 1, 1, 0, 6.0, 1),
    ("Q1", "area", "huntingdonshire"): (1, 1, 0, 0, 0, _, 1),
    ("Q1", "area", SEVERAL): (1, 0, 0, 0, 0, _, 1),
    ("Q1", "provider", "cambridge_city"): (1, 0, 0, 0, 0, _, 1),
    ("Q1", "provider", "fenland"): (0, 0, 1, 1, 0, 6.0, 0),
    ("Q1", "provider", GV): (1, 0, 0, 0, 0, _, 1),
    ("Q1", "provider", "huntingdonshire"): (1, 1, 0, 0, 0, _, 1),
    ("Q2", "scheme", "all"): (1, 1, 2, 1, 1, 16.2, 2),
    ("Q2", "area", "huntingdonshire"): (0, 0, 1, 1, 0, 18.0, 1),
    ("Q2", "area", "fenland"): (0, 1, 1, 0, 1, 14.4, 0),
    ("Q2", "area", "peterborough"): (1, 0, 0, 0, 0, _, 1),
    ("Q2", "provider", "cambridge_city"): (0, 0, 1, 1, 0, 18.0, 0),
    ("Q2", "provider", "fenland"): (0, 1, 0, 0, 0, _, 0),
    ("Q2", "provider", GV): (0, 0, 1, 0, 1, 14.4, 0),
    ("Q2", "provider", "huntingdonshire"): (0, 0, 0, 0, 0, _, 1),
    ("Q2", "provider", "peterborough_city"): (1, 0, 0, 0, 0, _, 1),
    ("Q3", "scheme", "all"): (1, 2, 0, 0, 0, _, 1),
    ("Q3", "area", "cambridge"): (0, 1, 0, 0, 0, _, 0),
    ("Q3", "area", "peterborough"): (0, 1, 0, 0, 0, _, 1),
    ("Q3", "area", "fenland"): (1, 0, 0, 0, 0, _, 0),
    ("Q3", "provider", "cambridge_city"): (0, 1, 0, 0, 0, _, 0),
    ("Q3", "provider", "peterborough_city"): (0, 1, 0, 0, 0, _, 1),
    ("Q3", "provider", "fenland"): (1, 0, 0, 0, 0, _, 0),
    ("Q4", "scheme", "all"): (1, 1, 1, 1, 0, 10.7, 1),
    ("Q4", "area", "fenland"): (1, 0, 0, 0, 0, _, 0),
    ("Q4", "area", "south_cambridgeshire"): (0, 1, 1, 1, 0, 10.7, 0),
    ("Q4", "area", "peterborough"): (0, 0, 0, 0, 0, _, 1),
    ("Q4", "provider", "fenland"): (1, 0, 1, 1, 0, 10.7, 0),
    ("Q4", "provider", GV): (0, 1, 0, 0, 0, _, 0),
    ("Q4", "provider", "peterborough_city"): (0, 0, 0, 0, 0, _, 1),
    ("year", "scheme", "all"): (6, 5, 4, 3, 1, 12.6, 1),
    ("year", "area", "cambridge"): (1, 1, 1, 1, 0, 6.0, 0),
    ("year", "area", "south_cambridgeshire"): (0, 1, 1, 1, 0, 10.7, 0),
    ("year", "area", "fenland"): (2, 1, 1, 0, 1, 14.4, 0),
    ("year", "area", "huntingdonshire"): (1, 1, 1, 1, 0, 18.0, 0),
    ("year", "area", "peterborough"): (1, 1, 0, 0, 0, _, 1),
    ("year", "area", SEVERAL): (1, 0, 0, 0, 0, _, 0),
    ("year", "provider", "cambridge_city"): (1, 1, 1, 1, 0, 18.0, 0),
    ("year", "provider", "fenland"): (2, 1, 2, 2, 0, 8.4, 0),
    ("year", "provider", GV): (1, 1, 1, 0, 1, 14.4, 0),
    ("year", "provider", "huntingdonshire"): (1, 1, 0, 0, 0, _, 0),
    ("year", "provider", "peterborough_city"): (1, 1, 0, 0, 0, _, 1),
}
ZERO = (0, 0, 0, 0, 0, None, 0)

REQUESTS = [  # ref, provider, kind, referred_on, status, closed_on
    ("R1", "fenland", "survivor", date(2026, 3, 20), "moved", date(2026, 5, 1)),
    ("R2", "cambridge_city", "survivor", date(2026, 4, 10), "moved", date(2026, 8, 14)),
    ("R3", GV, "perpetrator", date(2026, 5, 5), "moved", date(2026, 8, 14)),
    ("R4", "huntingdonshire", "survivor", date(2026, 6, 30), "closed", date(2026, 10, 1)),
    ("R5", "peterborough_city", "survivor", date(2026, 7, 1), "active", None),
    ("R6", "fenland", "survivor", date(2027, 1, 15), "moved", date(2027, 3, 31)),
    ("R7", "cambridge_city", "survivor", date(2027, 4, 1), "active", None),
    ("R8", "fenland", "survivor", date(2026, 12, 1), "closed", date(2026, 12, 20)),
]
OFFERS = [  # ref, provider, area, created_at, status
    ("O1", "cambridge_city", "cambridge", datetime(2026, 3, 25, 10), "let"),
    ("O2", "huntingdonshire", "huntingdonshire", datetime(2026, 6, 1, 10), "let"),
    ("O3", "fenland", "fenland", datetime(2026, 7, 20, 10), "let"),
    ("O4", GV, "south_cambridgeshire", datetime(2027, 2, 1, 10), "let"),
    ("O5", "cambridge_city", "cambridge", datetime(2026, 10, 5, 10), "available"),
    ("O6", "peterborough_city", "peterborough", datetime(2026, 12, 31, 23, 30), "available"),
]
MOVES = [  # request, offer, moved_on
    ("R1", "O1", date(2026, 5, 1)), ("R2", "O2", date(2026, 8, 14)), ("R3", "O3", date(2026, 8, 14)),
    ("R6", "O4", date(2027, 3, 31)),
]


@pytest.fixture(scope="module")
def year_db(tmp_path_factory, scheme):
    db = Database(resolve_url(str(tmp_path_factory.mktemp("quarterly") / "q.db")))
    db.create(scheme.id)
    requests = {r[0]: r for r in REQUESTS}
    offers = {o[0]: o for o in OFFERS}
    with db.transaction() as session:
        for ref, provider, kind, referred_on, status, closed_on in REQUESTS:
            session.add(RequestRow(ref=ref, provider=provider, kind=kind, current_tenancy="secure",
                                   bedrooms_needed=2, referred_on=referred_on, status=status,
                                   closed_on=closed_on, survivor_area="cambridge" if kind == "perpetrator"
                                   else None, survivor_consent=kind == "perpetrator"))
        for ref, provider, area, created, status in OFFERS:
            session.add(OfferRow(ref=ref, provider=provider, area=area, bedrooms=2, property_type="flat",
                                 available_from=created.date(), status=status,
                                 created_at=created.replace(tzinfo=timezone.utc)))
        for request, offer, moved_on in MOVES:
            rnd = RoundRow(on=moved_on, status="closed")
            session.add(rnd)
            session.flush()
            r, o = requests[request], offers[offer]
            proposal = ProposalRow(round_id=rnd.id, request_ref=request, offer_ref=offer, from_provider=r[1],
                                   to_provider=o[1], status="moved")
            session.add(proposal)
            session.flush()
            session.add(MoveRow(round_id=rnd.id, proposal_id=proposal.id, request_ref=request,
                                offer_ref=offer,
                                from_provider=r[1], to_provider=o[1], kind=r[2], bedrooms=2, band="2 bed",
                                moved_on=moved_on))
    return db


def test_financial_quarters_run_april_to_march():
    assert financial_quarters(2026) == [
        ("Q1", date(2026, 4, 1), date(2026, 6, 30)), ("Q2", date(2026, 7, 1), date(2026, 9, 30)),
        ("Q3", date(2026, 10, 1), date(2026, 12, 31)), ("Q4", date(2027, 1, 1), date(2027, 3, 31))]


def test_quarterly_report_matches_the_figures_worked_out_by_hand(year_db, scheme):
    report = quarterly(year_db, scheme, 2026)
    assert report["financial_year"] == "2026/27"
    assert [q["label"] for q in report["quarters"]] == ["Q1 Apr-Jun 2026", "Q2 Jul-Sep 2026",
                                                        "Q3 Oct-Dec 2026", "Q4 Jan-Mar 2027"]
    got = {(r["quarter"], r["group"], r["name"]): tuple(r[m] for m in MEASURES) for r in report["rows"]}
    # Every area and every provider has a row in every quarter, zeros included.
    assert len(got) == len(report["rows"]) == 5 * (1 + 7 + 16)
    assert {k: v for k, v in got.items() if v != ZERO} == {k: v for k, v in EXPECTED.items() if v != ZERO}
    assert all(got[k] == v for k, v in EXPECTED.items())


def test_quarterly_sums_agree(year_db, scheme):
    rows = quarterly(year_db, scheme, 2026)["rows"]
    for quarter in ("Q1", "Q2", "Q3", "Q4", "year"):
        scheme_row = next(r for r in rows if r["quarter"] == quarter and r["group"] == "scheme")
        for group in ("area", "provider"):
            part = [r for r in rows if r["quarter"] == quarter and r["group"] == group]
            for m in ("requests_circulated", "offers_made", "moves", "survivor_moves", "perpetrator_moves",
                      "requests_open_at_end"):
                assert sum(r[m] for r in part) == scheme_row[m], (quarter, group, m)


def test_a_provider_sees_the_scheme_totals_and_its_own_rows(year_db, scheme):
    report = quarterly(year_db, scheme, 2026, for_provider="fenland")
    assert {(r["group"], r["name"]) for r in report["rows"]} == {("scheme", "all"), ("provider", "fenland")}
    assert report["for_provider"] == "fenland"


def test_quarterly_command_csv_and_markdown(year_db):
    runner = CliRunner()
    base = ["--db", str(year_db.path), "--config", str(CONFIG_DIR), "report", "quarterly", "--year", "2026"]
    csv_out = runner.invoke(app, [*base, "--format", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    lines = csv_out.output.splitlines()
    assert lines[0] == ("quarter,start,end,group,name,requests_circulated,offers_made,moves,survivor_moves,"
                        "perpetrator_moves,median_weeks_to_move,requests_open_at_end,"
                        "homes_owed,weeks_at_limit,for_the_board")
    # No ledger entries here (moves written directly), so nobody owes a home.
    assert lines[1] == "Q1,2026-04-01,2026-06-30,scheme,all,3,1,1,1,0,6.0,3,0,,"
    assert "year,2026-04-01,2027-03-31,scheme,all,6,5,4,3,1,12.6,1,0,," in lines
    md = runner.invoke(app, [*base, "--format", "md", "--for-provider", "fenland"])
    assert md.exit_code == 0, md.output
    assert "## Q4 Jan-Mar 2027" in md.output
    assert "| provider | fenland | 1 | 0 | 1 | 1 | 0 | 10.7 | 0 |" in md.output
    assert "cambridge_city" not in md.output
