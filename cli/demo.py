"""`reciprocal demo`: a full weekly cycle on the example scheme in a fresh embedded database.

It runs the same library calls a coordinator's commands do: init, import the week's offers and
requests, run the round, record the households' decisions (one declines, which triggers a
re-solve), close the round, and show the ledger.
"""
from __future__ import annotations

import tempfile
from datetime import date
from importlib import resources
from pathlib import Path

from reciprocal.lifecycle import run
from reciprocal.intake import pot
from reciprocal.lifecycle import rounds, views
from reciprocal.domain import ProposalStatus, RequestStatus
from reciprocal.errors import StateError
from reciprocal.ledger import summary
from reciprocal.storage import Database, resolve_url

from cli.context import Settings, out
from cli.render import balances, round_view, table

DECLINING = "RQ-0103"


def run_demo(s: Settings, db_path: Path | None, on: date) -> None:
    scheme = s.scheme()
    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="reciprocal-demo-")) / "demo.db"
    elif db_path.exists():
        raise StateError(f"{db_path} already exists; the demo needs a fresh database")
    db = Database(resolve_url(str(db_path)))
    db.create(scheme.id)
    out.rule(f"[bold]{scheme.name}[/bold]: weekly round on {on}")
    out.print(f"1. Fresh database: {db.display()}")
    data = resources.files("reciprocal.demo_data")
    with resources.as_file(data / "offers.csv") as offers, resources.as_file(data / "requests.csv") as reqs:
        o = pot.import_offers(db, scheme, offers)
        r = pot.import_requests(db, scheme, reqs)
    out.print(f"2. Imported {o.added} offers and {r.added} requests "
              f"({len(scheme.providers)} members, {len(scheme.config.areas)} areas).")
    round_id = run.run_round(db, scheme, on)
    out.print(f"3. Round {round_id} solved:")
    round_view(views.round_view(db, round_id))
    view = views.round_view(db, round_id)
    pending = [p for p in view["proposals"] if p["status"] == ProposalStatus.pending]
    # One household declines (in the shipped data, RQ-0103, whose home another household can
    # take, so the re-solve shows); the others accept.
    declining = next((p for p in pending if p["request"] == DECLINING), pending[-1] if pending else None)
    out.print(f"4. Decisions: {declining['request'] if declining else 'nobody'} declines; the others accept.")
    for p in pending:
        if p is not declining:
            run.decide(db, scheme, round_id, p["id"], accept=True)
    if declining:
        last = declining
        result = run.decide(db, scheme, round_id, last["id"], accept=False,
                               reason="household declined: too far from school")
        for new in result["new_proposals"]:
            out.print(f"   re-solve after the decline: {new['offer']} proposed to {new['request']}")
        if not result["new_proposals"]:
            out.print(f"   re-solve: no other household can take {last['offer']} this round")
        for p in views.round_view(db, round_id)["proposals"]:
            if p["status"] == ProposalStatus.pending:
                run.decide(db, scheme, round_id, p["id"], accept=True)
    closed = rounds.close_round(db, scheme, round_id)
    out.print(f"5. Round {round_id} closed: {len(closed.moves)} move(s) committed.")
    table("Moves", ["request", "offer", "from", "to", "band"],
          [[m["request"], m["offer"], m["from_provider"], m["to_provider"], m["band"]] for m in closed.moves])
    again = rounds.close_round(db, scheme, round_id)
    out.print(f"   Closing again is safe: already closed = {again.already_closed}, no move doubled.")
    with db.reading() as session:
        data = summary(session, {p: scheme.max_debt(p) for p in scheme.providers})
    out.print("6. Ledger after the round:")
    balances(data)
    left = pot.list_requests(db, RequestStatus.open.value)
    out.print(f"{len(left)} request(s) carry over to next week with their waiting time.")
