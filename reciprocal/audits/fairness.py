"""`audit fairness`: is give and take even? Per member given, received, balance (total and by
band), debt-limit and offer-commitment compliance, what it still owes (homes, offers) and how long
it has been at its debt limit, time to move, outstanding checklist items; scheme-level measures
(largest debt, Gini of givings against receivings, moves between members); and the members at
their limit long enough to go to the board (`reciprocal.ledger.contribution`).
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.errors import InputFileError, Problem
from reciprocal.ledger import CORRECTION, counted, effective_dates, entries, given_received
from reciprocal.ledger.contribution import contributions, for_the_board
from reciprocal.audits.proposals import proposal_figures
from reciprocal.lifecycle.checklist import checklist_rows
from reciprocal.scope import check_viewer, fairness_for
from reciprocal.storage import (Database, LedgerEntryRow, MoveRow, OfferRow, RequestRow,
                      RoundRow)

# -- fairness -------------------------------------------------------------------------------------

def gini_against(givings: dict[str, float], receivings: dict[str, float]) -> float:
    """Gini of givings against receivings: 0 when each provider's share of the homes given equals
    its share of the households received, 1 when the givers and the receivers are disjoint.

    Providers are ordered by given/received; the curve runs through the cumulative shares
    (received on x, given on y); Gini = 1 - 2 x the area under it (like the Lorenz curve, with
    receivings in place of population). Negative counts (a correction of an earlier period's move)
    count as zero."""
    keys = [p for p in set(givings) | set(receivings)
            if max(givings.get(p, 0), 0) or max(receivings.get(p, 0), 0)]
    g = {p: max(givings.get(p, 0), 0) for p in keys}
    r = {p: max(receivings.get(p, 0), 0) for p in keys}
    total_g, total_r = sum(g.values()), sum(r.values())
    if not total_g or not total_r:
        return 0.0 if not (total_g or total_r) else 1.0
    keys.sort(key=lambda p: (g[p] / r[p] if r[p] else math.inf, p))
    area = x = y = 0.0
    for p in keys:
        dx, dy = r[p] / total_r, g[p] / total_g
        area += dx * (y + y + dy) / 2
        x, y = x + dx, y + dy
    return round(max(0.0, 1 - 2 * area), 4)


def _weeks(days: list[int]) -> float | None:
    return round(statistics.median(days) / 7, 1) if days else None


def _period(session: Session, since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """An open end of the period is the first (last) day anything happened in this database."""
    days = [d for d in session.exec(select(RoundRow.on)).all()]
    days += [d for d in session.exec(select(MoveRow.moved_on)).all()]
    days += [dt.date() for dt in session.exec(select(OfferRow.created_at)).all()]
    days += [dt.date() for dt in session.exec(select(LedgerEntryRow.created_at)).all()]
    start = since or min(days, default=today)
    end = until or max(days + [today, start])
    return start, end


def fairness_report(session: Session, scheme: Scheme, since: date | None = None,
                    until: date | None = None, today: date | None = None) -> dict:
    """The whole scheme's fairness audit over [since, until] (both inclusive); see docs/audits.md.

    Given and received follow the ledger (net of corrections, dated by `effective_dates`);
    `balance` is the position at the period's end; the debt limit is met when the lowest balance
    in the period (at the end of each day) is at least -max_debt. Moves, times to move and the
    moves between providers count the households that moved in the period."""
    today = today or date.today()
    since, until = _period(session, since, until, today)
    rows = entries(session)
    on = effective_dates(session)
    providers = sorted(set(scheme.providers) | {e.provider for e in rows})
    bands = [b.name for b in scheme.config.fairness.bands]

    given, received = Counter(), Counter()
    opening, closing = Counter(), Counter()
    by_band: dict[str, Counter] = defaultdict(Counter)
    daily: dict[date, Counter] = defaultdict(Counter)
    corrections = set()
    for e in rows:
        day = on[e.id]
        if day > until:
            continue
        closing[e.provider] += e.amount
        by_band[e.provider][e.band] += e.amount
        if day < since:
            opening[e.provider] += e.amount
            continue
        g, r = given_received(e)
        given[e.provider] += g
        received[e.provider] += r
        daily[day][e.provider] += e.amount
        if e.entry_kind == CORRECTION:
            corrections.add(e.move_id)

    days = sorted(daily)
    history = {p: [opening[p]] for p in providers}
    running = Counter(opening)
    lowest = {p: opening[p] for p in providers}
    for day in days:
        running.update(daily[day])
        for p in providers:
            history[p].append(running[p])
            lowest[p] = min(lowest[p], running[p])

    referred = dict(session.exec(select(RequestRow.ref, RequestRow.referred_on)).all())
    moves = [m for m in session.exec(select(MoveRow).order_by(MoveRow.id)).all()
             if since <= m.moved_on <= until]
    waits: dict[str, list[int]] = defaultdict(list)
    pairs = Counter()
    for m in moves:
        if m.request_ref in referred:
            waits[m.from_provider].append((m.moved_on - referred[m.request_ref]).days)
        pairs[(m.from_provider, m.to_provider)] += 1

    offered = session.exec(select(OfferRow.provider, OfferRow.created_at)).all()
    offers_made = Counter(p for p, created in offered if since <= created.date() <= until)
    outstanding = [i for i in checklist_rows(session, outstanding_only=True)
                   if date.fromisoformat(i["moved_on"]) <= until]
    open_items = Counter(i["owner"] for i in outstanding)

    positions = contributions(session, scheme, until)
    limits = counted.positions(session, scheme, until)
    board_weeks = scheme.config.fairness.board_after_weeks_at_limit
    board = for_the_board(positions, board_weeks)
    listed = {b["provider"] for b in board}
    out_rows = []
    for p in providers:
        config = scheme.providers.get(p)
        max_debt = scheme.max_debt(p) if config else None
        expected = commitment = None
        if config and config.offer_commitment:
            commitment = config.offer_commitment.offers_per_year
            start, end = max(since, config.joined), min(until, config.left or until)
            active = max(0, (end - start).days + 1)
            expected = round(commitment * active / 365, 2)
        out_rows.append({
            "provider": p, "given": given[p], "received": received[p], "net": given[p] - received[p],
            "opening_balance": opening[p], "balance": closing[p],
            "balance_by_band": {b: by_band[p].get(b, 0)
                                for b in bands + sorted(set(by_band[p]) - set(bands))},
            "lowest_balance": lowest[p], "max_debt": max_debt,
            "debt_limit_ok": None if max_debt is None else lowest[p] >= -max_debt,
            "offers_made": offers_made[p], "offers_per_year": commitment, "offers_expected": expected,
            "offer_commitment_ok": None if expected is None else offers_made[p] >= math.floor(expected),
            "offers_owed": None if expected is None else max(0, math.floor(expected) - offers_made[p]),
            "homes_owed": positions[p].homes_owed,
            "at_limit_since": positions[p].at_limit_since and positions[p].at_limit_since.isoformat(),
            "weeks_at_limit": positions[p].weeks_at_limit, "for_the_board": p in listed,
            **(limits[p].to_json() if p in limits else counted.Position(p, closing[p], max_debt, None, None).to_json()),
            "households_moved": len(waits[p]), "median_weeks_to_move": _weeks(waits[p]),
            "checklist_outstanding": open_items[p]})

    all_waits = [d for w in waits.values() for d in w]
    measures = {
        "moves": len(moves), "corrections": len(corrections),
        "sum_of_balances": sum(closing.values()),
        "max_abs_balance": max((abs(closing[p]) for p in providers), default=0),
        "gini_givings_vs_receivings": gini_against(dict(given), dict(received)),
        "median_weeks_to_move": _weeks(all_waits),
        "providers_beyond_debt_limit": [r["provider"] for r in out_rows if r["debt_limit_ok"] is False],
        "providers_short_of_offer_commitment": [r["provider"] for r in out_rows
                                                if r["offer_commitment_ok"] is False],
        "providers_for_the_board": [b["provider"] for b in board],
        "providers_past_debt_limit": [r["provider"] for r in out_rows if r["past_limit_by"]],
        "checklist_outstanding": len(outstanding)}
    return {
        "scheme": scheme.id, "scheme_name": scheme.name, "gives_count_from": scheme.gives_count_from,
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "for_provider": None, "bands": bands, "providers": out_rows, "scheme_measures": measures,
        "moves_between": [{"from_provider": f, "to_provider": t, "moves": n}
                          for (f, t), n in sorted(pairs.items())],
        "board_after_weeks_at_limit": board_weeks, "for_the_board": board,
        # Balances at the end of each day with an entry, after the opening one (the day before).
        "balance_history": {"dates": [(since - timedelta(days=1)).isoformat()]
                                     + [d.isoformat() for d in days],
                            "providers": history},
        "checklist_outstanding": outstanding,
        "proposals": proposal_figures(session, since, until),
        "notes": ["given and received count ledger legs net of corrections; balance is the "
                  "position at the end of the period",
                  "debt limit met: the lowest balance in the period, at the end of each day, is at "
                  "least -max_debt",
                  "offer commitment met: offers made (added to the pot) in the period at least "
                  "offers_per_year x days active / 365, rounded down; offers owed: that less "
                  "the offers made, at least 0",
                  "homes owed: homes to give for the balance to be even; at its limit: owes homes and "
                  "its balance is at or beyond -max_debt at the end of a day, so no more of its "
                  "tenants are placed; at_limit_since: the first day of its current run at the limit",
                  f"for the board: members at their limit at the period's end for more than "
                  f"{board_weeks} whole week(s) (fairness.board_after_weeks_at_limit), longest first",
                  "counted balance: rule 9's, the ledger plus every live proposal as the scheme counts "
                  f"it (each placement from proposed, each home given from "
                  f"{scheme.gives_count_from}); past its limit by: how far it is beyond -max_debt "
                  "(a counted give of its fell through), since when and why; exposure: how far past "
                  "its limit it would be if every counted live give of its fell through",
                  "weeks to move: median, from the request's referred_on to the move, for "
                  "households of that provider that moved in the period"]}


def fairness(db: Database, scheme: Scheme, since: date | None = None, until: date | None = None,
             for_provider: str | None = None, today: date | None = None) -> dict:
    """`audit fairness`: the report, scoped to one provider when asked."""
    check_viewer(scheme, for_provider)
    if since and until and since > until:
        raise InputFileError([Problem("--since", f"{since} is after --until {until}")],
                             "the period is empty; nothing to audit")
    with db.reading() as session:
        report = fairness_report(session, scheme, since, until, today)
    return fairness_for(report, for_provider)


FAIRNESS_COLUMNS = ("provider", "given", "received", "net", "balance", "lowest_balance", "max_debt",
                    "debt_limit_ok", "homes_owed", "at_limit_since", "weeks_at_limit",
                    "for_the_board", "counted_balance", "past_limit_by", "past_limit_since",
                    "why_past_limit", "counted_gives", "exposure", "offers_made", "offers_expected", "offer_commitment_ok",
                    "offers_owed", "households_moved", "median_weeks_to_move", "checklist_outstanding")
BOARD_COLUMNS = ("provider", "at_limit_since", "weeks_at_limit", "homes_owed", "max_debt")


def fairness_table(report: dict) -> tuple[list[str], list[list]]:
    """The per-provider rows as one flat table (bands as `balance <band>` columns), for CSV,
    Markdown and the terminal."""
    bands = report["bands"]
    columns = list(FAIRNESS_COLUMNS[:5]) + [f"balance {b}" for b in bands] + list(FAIRNESS_COLUMNS[5:])
    rows = []
    for r in report["providers"]:
        rows.append([r[c] for c in FAIRNESS_COLUMNS[:5]] + [r["balance_by_band"].get(b, 0) for b in bands]
                    + [r[c] for c in FAIRNESS_COLUMNS[5:]])
    return columns, rows


def board_title(report: dict, as_of: str | None = None) -> str:
    """The heading of a board list, with the scheme's number of weeks (and the day, if given)."""
    when = f" as of {as_of}" if as_of else ""
    return (f"For the board{when}: members at their debt limit for more than "
            f"{report['board_after_weeks_at_limit']} week(s)")


def board_table(board: list[dict]) -> tuple[list[str], list[list]]:
    """The members for the board as one table (fairness audit and quarterly report alike)."""
    return list(BOARD_COLUMNS), [[b[c] for c in BOARD_COLUMNS] for b in board]
