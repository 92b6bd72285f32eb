"""The quarterly report funders ask for (`reciprocal report quarterly --year YYYY`).

By UK financial quarter (year YYYY runs from 1 April YYYY to 31 March YYYY+1: Q1 April-June,
Q2 July-September, Q3 October-December, Q4 January-March) and for the whole year, for the scheme,
each area and each provider:

- `requests_circulated`: requests whose `referred_on` falls in the quarter;
- `offers_made`: offers added to the pot in the quarter, by the day they were stored
  (`created_at`): an offer has no other date of its own (`available_from` is when the home is free);
- `moves`, `survivor_moves`, `perpetrator_moves`: moves whose `moved_on` falls in the quarter.
  A move corrected in the ledger still counts: the household moved (see `ledger.correct_move`);
- `median_weeks_to_move`: median weeks from `referred_on` to `moved_on` of those moves;
- `requests_open_at_end`: requests referred on or before the quarter's last day and not moved or
  withdrawn by then (by `closed_on`).

Who a figure belongs to:
- provider rows: requests, moves and open requests belong to the household's landlord (the
  requesting provider); offers to the offering provider;
- area rows: offers and moves belong to the offer's area (where the home is: for a move, the area
  moved to); requests belong to the requesting provider's area when it holds stock in one area
  only, else to the row "(several areas)": a request records no home address, and a provider's
  households live wherever it has homes. The year row's `requests_open_at_end` is Q4's.

Contribution targets (`reciprocal.ledger.contribution`), as of the quarter's last day, or today
while the quarter is under way (nothing for a quarter not yet begun); the year's as of its last
day or today:
- `homes_owed` on provider rows (and their total on the scheme row), `weeks_at_limit` and
  `for_the_board` on provider rows; none on area rows (a debt is a member's, not an area's);
- `for_the_board`: per quarter, the members at their debt limit for more than
  `fairness.board_after_weeks_at_limit` whole weeks, longest first.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date

from sqlmodel import Session, select

from reciprocal.audits.proposals import proposal_figures
from reciprocal.config import Scheme
from reciprocal.domain import RequestStatus
from reciprocal.ledger.contribution import contributions, for_the_board
from reciprocal.scope import check_viewer, quarterly_for
from reciprocal.storage import Database, MoveRow, OfferRow, RequestRow

SEVERAL_AREAS = "(several areas)"
MEASURES = ("requests_circulated", "offers_made", "moves", "survivor_moves", "perpetrator_moves",
            "median_weeks_to_move", "requests_open_at_end")
# Positions at the quarter's end, not counts over it: see the module docstring.
CONTRIBUTION = ("homes_owed", "weeks_at_limit", "for_the_board")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def financial_quarters(year: int) -> list[tuple[str, date, date]]:
    """The four quarters of financial year `year` (April `year` to March `year`+1)."""
    return [("Q1", date(year, 4, 1), date(year, 6, 30)), ("Q2", date(year, 7, 1), date(year, 9, 30)),
            ("Q3", date(year, 10, 1), date(year, 12, 31)),
            ("Q4", date(year + 1, 1, 1), date(year + 1, 3, 31))]


def request_area(scheme: Scheme, provider: str) -> str:
    config = scheme.providers.get(provider)
    if config is not None and len(config.areas) == 1:
        return config.areas[0]
    return SEVERAL_AREAS


def _in(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


def _open_at(request: RequestRow, end: date) -> bool:
    if request.referred_on > end:
        return False
    if request.status not in (RequestStatus.moved, RequestStatus.closed):
        return True
    return request.closed_on is not None and request.closed_on > end


def _contribution_cells(session: Session, scheme: Scheme, start: date, as_of: date
                        ) -> tuple[dict[tuple[str, str], dict], list[dict]]:
    """Per (group, name) row the contribution figures as of `as_of`, and the board list; empty
    when `as_of` is before the period begins (a quarter not yet begun)."""
    if as_of < start:
        return {}, []
    positions = contributions(session, scheme, as_of)
    board = for_the_board(positions, scheme.config.fairness.board_after_weeks_at_limit)
    listed = {b["provider"] for b in board}
    cells = {("provider", p): {"homes_owed": c.homes_owed, "weeks_at_limit": c.weeks_at_limit,
                               "for_the_board": p in listed} for p, c in positions.items()}
    cells[("scheme", "all")] = {"homes_owed": sum(c.homes_owed for c in positions.values()),
                                "weeks_at_limit": None, "for_the_board": None}
    return cells, board


def quarterly_report(session: Session, scheme: Scheme, year: int, today: date | None = None) -> dict:
    today = today or date.today()
    requests = list(session.exec(select(RequestRow)).all())
    offers = list(session.exec(select(OfferRow)).all())
    moves = list(session.exec(select(MoveRow)).all())
    referred = {r.ref: r.referred_on for r in requests}
    offer_area = {o.ref: o.area for o in offers}

    areas = list(scheme.config.areas)
    if any(request_area(scheme, p) == SEVERAL_AREAS for p in scheme.providers):
        areas.append(SEVERAL_AREAS)
    providers = sorted(set(scheme.providers) | {r.provider for r in requests} | {o.provider for o in offers})

    quarters = financial_quarters(year)
    periods = quarters + [("year", quarters[0][1], quarters[-1][2])]
    rows = []
    boards = []
    for name, start, end in periods:
        open_end = quarters[-1][2] if name == "year" else end
        as_of = min(end, today)
        owed, board = _contribution_cells(session, scheme, start, as_of)
        boards.append({"quarter": name, "as_of": as_of.isoformat() if as_of >= start else None,
                       "providers": board})
        cells: dict[tuple[str, str], dict] = {}
        waits: dict[tuple[str, str], list[int]] = defaultdict(list)

        def add(keys, measure, n=1):
            for key in keys:
                cell = cells.setdefault(key, {m: 0 for m in MEASURES})
                cell[measure] += n

        for r in requests:
            keys = [("scheme", "all"), ("area", request_area(scheme, r.provider)), ("provider", r.provider)]
            if _in(r.referred_on, start, end):
                add(keys, "requests_circulated")
            if _open_at(r, open_end):
                add(keys, "requests_open_at_end")
        for o in offers:
            if _in(o.created_at.date(), start, end):
                add([("scheme", "all"), ("area", o.area), ("provider", o.provider)], "offers_made")
        for m in moves:
            if not _in(m.moved_on, start, end):
                continue
            keys = [("scheme", "all"), ("area", offer_area.get(m.offer_ref, "(unknown)")),
                    ("provider", m.from_provider)]
            add(keys, "moves")
            add(keys, f"{m.kind}_moves")
            if m.request_ref in referred:
                for key in keys:
                    waits[key].append((m.moved_on - referred[m.request_ref]).days)

        order = ([("scheme", "all")] + [("area", a) for a in areas] + [("provider", p) for p in providers]
                 + sorted(k for k in cells if k[0] == "area" and k[1] not in areas))
        for group, who in order:
            cell = cells.get((group, who), {m: 0 for m in MEASURES})
            days = waits.get((group, who))
            cell["median_weeks_to_move"] = round(statistics.median(days) / 7, 1) if days else None
            rows.append({"quarter": name, "start": start.isoformat(), "end": end.isoformat(),
                         "group": group, "name": who, **{m: cell[m] for m in MEASURES},
                         **owed.get((group, who), dict.fromkeys(CONTRIBUTION))})
    return {"scheme": scheme.id, "scheme_name": scheme.name, "year": year,
            "financial_year": f"{year}/{(year + 1) % 100:02d}", "for_provider": None,
            "quarters": [{"quarter": q, "start": s.isoformat(), "end": e.isoformat(),
                          "label": f"{q} {MONTHS[s.month - 1]}-{MONTHS[e.month - 1]} {s.year}"}
                         for q, s, e in quarters],
            "measures": list(MEASURES), "rows": rows,
            "board_after_weeks_at_limit": scheme.config.fairness.board_after_weeks_at_limit,
            "for_the_board": boards,
            "proposals": [{"quarter": name, **proposal_figures(session, start, end)} for name, start, end in periods],
            "notes": ["offers are counted on the day they were added to the pot",
                      "moves are counted in the area of the home moved to, and for the provider "
                      "whose household moved",
                      "requests are counted in their provider's area when it holds stock in one "
                      f"area only, else under {SEVERAL_AREAS}",
                      "homes owed, weeks at the debt limit and the board list are as of the "
                      "quarter's last day, or today while it is under way; for the board: members "
                      "at their limit for more than "
                      f"{scheme.config.fairness.board_after_weeks_at_limit} whole week(s)"]}


def quarterly(db: Database, scheme: Scheme, year: int, for_provider: str | None = None,
              today: date | None = None) -> dict:
    """`report quarterly`: the report for one financial year, scoped to one provider when asked."""
    check_viewer(scheme, for_provider)
    with db.reading() as session:
        report = quarterly_report(session, scheme, year, today)
    return quarterly_for(report, for_provider)


QUARTERLY_COLUMNS = ("quarter", "start", "end", "group", "name") + MEASURES + CONTRIBUTION


def quarterly_table(report: dict) -> tuple[list[str], list[list]]:
    return list(QUARTERLY_COLUMNS), [[r[c] for c in QUARTERLY_COLUMNS] for r in report["rows"]]
