"""`reciprocal demo`: three weeks of the real workflow on the example scheme, in a fresh database.

It runs the same library calls a coordinator's commands do. Week 1: import the pot, run the
round; landlords confirm nominations, viewings are set, one household refuses after its viewing
(the freed home is re-offered the same week), the others accept; one landlord never answers.
Week 2: the round first lapses that proposal, out loud; it matches only the free pot, since the
homes and households of live proposals are reserved; the first tenancies are signed, each
signing a move (and signing again changes nothing). Week 3: the next round, the last tenancy
signed, and the ledger.
"""
from __future__ import annotations

import re
import shlex
import tempfile
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from reciprocal.config import EXAMPLE_CONFIG_DIR, load_scheme
from reciprocal.domain import ProposalStatus, RefusedBy, Role
from reciprocal.errors import DatabaseError, StateError
from reciprocal.intake import pot
from reciprocal.ledger import summary
from reciprocal.lifecycle import run, views
from reciprocal.storage import Database, resolve_url

from cli.context import Settings, out
from cli.render import balances, changes, round_view

REFUSING = "RQ-0103"  # in the shipped data its home can go to another household: the re-solve shows
SILENT = "RQ-0107"  # its offering landlord never answers: the proposal lapses in week 3


def run_demo(s: Settings, db_path: Path | None, on: date) -> None:
    # The one command that uses the shipped example without being pointed at it (its data names
    # the example's members); --config still wins, and the folder in use is said.
    if db_path is not None and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", str(db_path)):
        # A database URL read as a path would make folders named after it (its password among
        # them) and an SQLite file inside; the value is not repeated, as it may hold a password.
        raise DatabaseError("demo --db takes a file path: the demo makes a fresh SQLite file and runs on "
                            "nothing else, not a database URL; nothing was written")
    scheme = load_scheme(s.config or EXAMPLE_CONFIG_DIR)
    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="reciprocal-demo-")) / "demo.db"
    elif db_path.exists():
        raise StateError(f"{db_path} already exists; the demo needs a fresh database")
    db = Database(resolve_url(str(db_path)))
    db.create(scheme.id)
    week1, week2, week3 = on, on + timedelta(days=7), on + timedelta(days=14)
    out.rule(f"[bold]{scheme.name}[/bold]: three weeks from {on}")
    out.print(f"MoU configs: {scheme.source}")
    out.print(f"Fresh database: {db.display()}")
    data = resources.files("reciprocal.demo_data")
    with resources.as_file(data / "offers.csv") as offers, resources.as_file(data / "requests.csv") as reqs:
        o = pot.import_offers(db, scheme, offers)
        r = pot.import_requests(db, scheme, reqs, approved_on=week1)  # sent by their landlords that day
    out.print(f"Imported {o.added} offers and {r.added} requests ({len(scheme.providers)} members, "
              f"{len(scheme.config.areas)} areas).")

    out.rule(f"Week 1: round on {week1}")
    first = _round(db, scheme, week1)
    round_view(views.round_view(db, first.round_id))
    live = {p["request"]: p["id"] for p in views.round_view(db, first.round_id)["proposals"]}
    step = _stepper(db, scheme)
    for request, pid in sorted(live.items()):
        if request != SILENT:
            step(f"{request}: the offering landlord confirms the nomination", run.advance, pid, week1 + timedelta(1),
                 Role.offering_landlord)
            step(f"{request}: a viewing is set", run.advance, pid, week1 + timedelta(2), Role.offering_landlord,
                 viewing_on=week1 + timedelta(4))
    for request, pid in sorted(live.items()):
        if request == REFUSING:
            step(f"{request}: the household refuses after viewing (the home is re-offered this week)",
                 run.refuse, pid, week1 + timedelta(4), RefusedBy.household, "too_far_from_support",
                 "too far from the children's school", False)
        elif request != SILENT:
            step(f"{request}: the household accepts", run.advance, pid, week1 + timedelta(4), Role.household)

    out.rule(f"Week 2: round on {week2}, while week 1's proposals are still live")
    second = _round(db, scheme, week2)
    view = views.round_view(db, second.round_id)
    out.print(f"Round {second.round_id}: {len(view['proposals'])} new proposal(s); the homes and households "
              f"of live proposals are reserved, so only the free pot was matched.")
    accepted = sorted(views.proposal_list(db, [ProposalStatus.accepted.value]), key=lambda p: p["id"])
    for p in accepted[:2]:
        step(f"{p['request']}: tenancy signed (the move)", run.sign, p["id"], week2 + timedelta(7), week2 + timedelta(2))
    if accepted:
        again = run.sign(db, scheme, accepted[0]["id"], week2 + timedelta(7), week2 + timedelta(2))
        out.print(f"Signing proposal {accepted[0]['id']} again is safe: {len(again.changes)} change(s), "
                  f"no move doubled.")
    for p in views.proposal_list(db, [ProposalStatus.proposed.value]):
        if p["request"] != SILENT:
            step(f"{p['request']}: the offering landlord confirms the re-offered home", run.advance, p["id"],
                 week2 + timedelta(1), Role.offering_landlord)

    out.rule(f"Week 3: round on {week3}")
    _round(db, scheme, week3)
    for p in views.proposal_list(db, [ProposalStatus.accepted.value]):
        step(f"{p['request']}: tenancy signed (the move)", run.sign, p["id"], week3 + timedelta(7), week3 + timedelta(1))
    with db.reading() as session:
        ledger = summary(session, {p: scheme.max_debt(p) for p in scheme.providers})
    out.print("Ledger after three weeks:")
    balances(ledger)
    left = views.proposal_list(db, ["proposed", "nomination_confirmed", "viewing", "accepted"])
    out.print(f"{len(left)} proposal(s) still live; `reciprocal due` lists what each member must do next.")
    _look_further(db.display(), week3)


def _look_further(path: str, last_round: date) -> None:
    """Where the demo's database is, and the exact commands to look at it further."""
    here = f"--db {shlex.quote(path)}"
    folder = shlex.quote(str(Path(path).parent / "fairness.html"))
    out.rule("Look further")
    out.print(f"The demo's database is kept at {path} (delete it when done). To look further:",
              markup=False)
    for command in (f"reciprocal {here} round show 1", f"reciprocal {here} proposal list",
                    f"reciprocal {here} ledger show", f"reciprocal {here} due --on {last_round}",
                    f"reciprocal {here} audit fairness --format html --out {folder}"):
        out.print(f"  {command}", markup=False, soft_wrap=True)


def _round(db: Database, scheme, day: date):
    """Run a round and say what it changed before matching: each lapse and stale request by name."""
    outcome = run.run_round(db, scheme, day)
    before = outcome.before_matching()
    out.print(f"Round {outcome.round_id} on {day}: before matching, {len(before)} change(s):")
    changes(before, "  (none: nothing was overdue)")
    return outcome


def _stepper(db: Database, scheme):
    def step(title: str, fn, *args, **kwargs):
        out.print(title + ":", markup=False)
        changes(fn(db, scheme, *args, **kwargs).changes)
    return step
