"""The weekly round and every command that changes a proposal, each one transaction.

`run_round`: lapse every overdue proposal (case by case), mark requests not reconfirmed in time
stale, take the free pot (homes and households under a live proposal are reserved), solve it with
the pure `matching.engine.solve_round` within every member's debt headroom as the scheme counts it
(rule 9: `proposals.counted_balances`), and store the proposals with their reasons and due dates. A refusal may re-solve for the
freed home in the same week. Every function returns the `Change`s it made, for the command to print.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from reciprocal.config import Scheme
from reciprocal.domain import (OfferStatus, ProposalStatus, RefusedBy, RequestOutcome, RequestStatus,
                               Role)
from reciprocal.errors import ReciprocalError, StateError
from reciprocal.intake.pot import get_open
from reciprocal.ledger import counted
from reciprocal.lifecycle import cases, proposals
from reciprocal.lifecycle.changes import Change
from reciprocal.lifecycle.rounds import create_round, get_round, last_round
from reciprocal.lifecycle.views import RoundReport
from reciprocal.storage import Database, ProposalRow

# The solver (OR-Tools, NumPy, pandas) is imported by the functions that solve, so that a stage
# change, a hold or a refusal without a re-solve does not load it (tests/cli/test_startup.py).
if TYPE_CHECKING:
    from matching.engine import RoundResult


@dataclass
class Outcome:
    """What a command did: the changes it made, in order, and the round it ran (if any)."""

    changes: list[Change] = field(default_factory=list)
    round_id: int | None = None

    def to_json(self) -> dict:
        return {"round": self.round_id, "changes": [c.to_json() for c in self.changes]}

    def before_matching(self) -> list[Change]:
        """A round's changes other than the proposals it made: lapses and stale requests."""
        return [c for c in self.changes if c.what != "proposal" or c.from_status is not None]


class _Judged(list):
    """The changes `_rejudged` made, and the configs' key the command's transaction records."""

    key: str | None = None

    @contextmanager
    def reported(self):
        """Around the command's own transaction: if the command is refused, the cancellations
        made before it (committed on their own) travel with the error, so they are still shown."""
        try:
            yield self
        except ReciprocalError as exc:
            exc.done_before = [c.line() for c in self] + list(getattr(exc, "done_before", []))
            raise

    def remember(self, session) -> "_Judged":
        if self.key is not None:
            from reciprocal.lifecycle import rejudge
            rejudge.remember(session, self.key)
        return self


def _rejudged(db: Database, scheme: Scheme, on: date) -> _Judged:
    """At the start of every command that changes state: live proposals judged again under the
    configs as they are now (a term or a member's status may have changed since the last
    command), each that breaks a hard rule cancelled, in a transaction of its own so that the
    command failing later does not undo it (`reciprocal.lifecycle.rejudge`). The command's own
    transaction calls `.remember(session)`, so that a command refused writes nothing."""
    from reciprocal.lifecycle import rejudge
    with db.transaction() as session:
        changes, key = rejudge.rejudge_configs(session, scheme, on)
    judged = _Judged(changes)
    judged.key = key
    return judged


def _free_pot(session, on: date):
    """Available offers (within `available_until`) and active requests under no live proposal."""
    offers, requests = get_open(session)
    reserved = proposals.live_facts(session)
    busy_offers = {p.offer_ref for p in reserved}
    busy_requests = {p.request_ref for p in reserved}
    offers = [o for o in offers if o.ref not in busy_offers
              and (o.available_until is None or o.available_until >= on)]
    requests = [r for r in requests if r.ref not in busy_requests]
    return offers, requests


def _solve_and_propose(session, scheme: Scheme, round_id: int, on: date, offers, requests,
                       time_limit: float | None = None,
                       reoffer_after: ProposalRow | None = None) -> tuple[RoundResult, list[Change]]:
    from matching.engine import solve_round
    from matching.explain import PROVIDER_PAST_DEBT_LIMIT
    from matching.pinning import NOT_IN_POT
    counted = proposals.counted_balances(session, scheme)
    result = solve_round(scheme, on, requests, offers, counted.total, proposals.never_again(session),
                         time_limit, band_balances=counted.by_band)
    if any(u.get("reason_code") == PROVIDER_PAST_DEBT_LIMIT for u in result.unmatched):
        result.unmatched = _why_past_limit(session, scheme, result.unmatched,
                                           {r.ref: r.provider for r in requests})
    if any(f["outcome"] == NOT_IN_POT for f in result.for_request):
        live = {p.request_ref: p.id for p in proposals.live_facts(session)}
        result.for_request = [_why_not_in_pot(session, f, live) for f in result.for_request]
    changes = proposals.propose(session, scheme, [proposals.proposal_values(round_id, p) for p in result.proposals],
                                on, reoffer_after)
    return result, changes


def _why_past_limit(session, scheme: Scheme, unmatched: list[dict], landlord: dict[str, str]) -> list[dict]:
    """The engine knows a landlord is past its limit; the trail knows since when and why.
    `landlord`: each household of the pot's provider (a national member past its limit can have
    hundreds unmatched, and a query each was a query too many)."""
    from matching.explain import PROVIDER_PAST_DEBT_LIMIT
    where = counted.positions(session, scheme)
    out = []
    for u in unmatched:
        if u.get("reason_code") != PROVIDER_PAST_DEBT_LIMIT:
            out.append(u)
            continue
        provider = landlord[u["request"]]
        why = where[provider].why() if provider in where else None
        if why:
            u = {**u, "reason": f"its provider {provider} is {why}; none of its tenants is placed until it is "
                                f"back within; {u.get('compatible_offers', 0)} compatible offer(s) exist"}
        out.append(u)
    return out


def _why_not_in_pot(session, answer: dict, live: dict[str, int]) -> dict:
    """The engine knows only the free pot; for a household outside it, say where it is."""
    from matching.pinning import NOT_IN_POT
    if answer["outcome"] != NOT_IN_POT:
        return answer
    ref = answer["request"]
    request = cases.find_request(session, ref)
    if request is None:
        why = "no longer in the database"
    elif request.status == RequestStatus.active.value:
        why = f"already in live proposal {live[ref]}" if ref in live else "not in this round's pot"
    else:
        why = f"{request.status} (not active)"
    return {**answer, "reason": f"offered for {ref}, which is {why}; the home joins the pot"}


def _check_day(session, on: date, again: bool) -> None:
    last = last_round(session)
    if last is not None and on < last.on:
        raise StateError(f"round {last.id} ran on {last.on.isoformat()}; a round dated {on.isoformat()} "
                         f"would come before it; nothing was changed")
    if last is not None and on == last.on and not again:
        raise StateError(f"round {last.id} already ran on {on.isoformat()} (`reciprocal round show "
                         f"{last.id}`); nothing was changed. To match homes or households added since, "
                         f"run `reciprocal round run --on {on.isoformat()} --again`")


def run_round(db: Database, scheme: Scheme, on: date, time_limit: float | None = None,
              again: bool = False) -> Outcome:
    """This week's round; see the module docstring. A day has one round: a second `round run` on
    a day already run changes nothing and says so, unless `again` asks for it (homes that came in
    later that day); a refusal's freed home is re-offered without a round."""
    with db.reading() as session:
        _check_day(session, on, again)
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        _check_day(session, on, again)  # again: another writer may have run one meanwhile
        changes = judged + proposals.lapse_overdue(session, scheme, on)
        changes += cases.mark_stale(session, scheme, on)
        offers, requests = _free_pot(session, on)
        snapshot = {"offers": sorted(o.ref for o in offers), "requests": sorted(r.ref for r in requests),
                    "balances": proposals.counted_balances(session, scheme).total}
        rnd = create_round(session, on, snapshot)
        result, proposed = _solve_and_propose(session, scheme, rnd.id, on, offers, requests, time_limit)
        report = RoundReport.first(result)
        rnd.report = {**report.to_json(), "changes_before": [c.to_json() for c in changes]}
        session.add(rnd)
        return Outcome(changes + proposed, rnd.id)


def advance(db: Database, scheme: Scheme, proposal_id: int, on: date, role: Role,
            to: ProposalStatus | None = None, viewing_on: date | None = None) -> Outcome:
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        return Outcome(judged + proposals.advance(session, scheme, proposal_id, on, role, to, viewing_on))


def sign(db: Database, scheme: Scheme, proposal_id: int, tenancy_start: date, on: date) -> Outcome:
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        return Outcome(judged + proposals.sign(session, scheme, proposal_id, tenancy_start, on))


def refuse(db: Database, scheme: Scheme, proposal_id: int, on: date, by: RefusedBy, reason: str,
           note: str = "", reasonable: bool | None = None, resolve: bool = True) -> Outcome:
    """End a proposal as refused; then, unless `resolve` is off, offer the freed home to the free
    pot's households in the same week (never to the household that refused it)."""
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        return Outcome(judged + refuse_and_reoffer(session, scheme, proposal_id, on, by, reason, note,
                                                   reasonable, resolve))


def refuse_and_reoffer(session, scheme: Scheme, proposal_id: int, on: date, by: RefusedBy, reason: str,
                       note: str = "", reasonable: bool | None = None, resolve: bool = True) -> list[Change]:
    """The one path of a refusal inside an open transaction, whatever brought it in (`proposal
    refuse`, a decisions file): the refusal, then the freed home offered to the free pot."""
    changes = proposals.refuse(session, scheme, proposal_id, on, by, reason, note, reasonable)
    if not changes or not resolve:
        return changes
    p = proposals.get(session, proposal_id)
    return changes + _resolve_for_home(session, scheme, p, on)


def _resolve_for_home(session, scheme: Scheme, ended: ProposalRow, on: date) -> list[Change]:
    offers, requests = _free_pot(session, on)
    offers = [o for o in offers if o.ref == ended.offer_ref]
    if not offers or not requests:
        return []
    rnd = get_round(session, ended.round_id)
    result, proposed = _solve_and_propose(session, scheme, rnd.id, on, offers, requests,
                                          reoffer_after=ended)
    report = RoundReport.from_json(rnd.report)
    rnd.report = {**rnd.report, **report.resolved(result).to_json()}
    session.add(rnd)
    return proposed


def request_change(db: Database, scheme: Scheme, action: str, ref: str, on: date, **kwargs) -> Outcome:
    """`request approve|hold|resume|reconfirm|close|withdraw`."""
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        if action == "withdraw":
            return Outcome(judged + cases.close(session, scheme, ref, on, RequestOutcome.withdrawn))
        fn = {"approve": cases.approve, "hold": cases.hold, "resume": cases.resume,
              "reconfirm": cases.reconfirm, "close": cases.close}[action]
        return Outcome(judged + fn(session, scheme, ref, on, **kwargs))


def reconfirm_many(db: Database, scheme: Scheme, refs: list[cases.Named], on: date) -> Outcome:
    """`request reconfirm REF REF ...` or `--file`: many households at once, all or none."""
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        return Outcome(judged + cases.reconfirm_many(session, scheme, refs, on))


def offer_change(db: Database, scheme: Scheme, ref: str, on: date, status: OfferStatus) -> Outcome:
    """`offer withdraw` and `offer let-outside`."""
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        return Outcome(judged + cases.end_offer(session, scheme, ref, on, status))


def lapse_overdue(db: Database, scheme: Scheme, on: date) -> Outcome:
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        return Outcome(judged + proposals.lapse_overdue(session, scheme, on))


def update_cases(db: Database, scheme: Scheme, kind: str, changes: list, on: date,
                 role: Role = Role.coordinator) -> Outcome:
    """`request update` and `offer update` (one case, or an updates file): all or none, each live
    proposal the updates touch judged again in the same transaction."""
    from reciprocal.lifecycle import updates
    judged = _rejudged(db, scheme, on)
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        return Outcome(judged + updates.update_cases(session, scheme, kind, changes, on, role))
