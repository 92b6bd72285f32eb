"""Issue 23's measurement: the coordinator's commands per week, one command per answer against
members answering in their packs.

    python -m benchmarks.answers_commands [--seed 1] [--weeks 10] [--members 21] [--json]

A held-out-sized scheme: a synthetic scheme of 21 members (`reciprocal.simulation.generator`'s
`synthetic_scheme` and `_populate` with its own scale, 12 areas, 200 households and 140 homes),
its households and homes arriving in ten equal weekly batches. The same ten weeks run twice, in two
fresh databases, through the real commands (`cli.app.app`, in this process through Typer's runner,
each command as the coordinator types it):

- before: each week, `offer import` and `request import` of the week's batch; every answer as its
  own command (`proposal advance`, `proposal refuse`, `proposal sign`, `request reconfirm`); then
  `round run`;
- after: each week the same imports; `pack` (every member's workbook and its CSV twins), the
  members' answers typed into the CSV twins, one `answers import` of every returned file; then
  `round run`.

The answers are the same both ways, scripted from each member's pack: every proposal waiting on a
member moves on one stage a week (confirm nomination, viewing set, the household accepts, the
tenancy signed); at the viewing, the household refuses one proposal in four (by id); a stale
household is reconfirmed. Both runs must end in the same proposals and requests (checked). Homes
offered for circulated households (`offer add`) are not scripted: they would add one command each
before and nothing after, so the figures below are a floor of the saving.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from benchmarks.whole_path import write_csv, write_instance
from reciprocal.domain import OFFER_FIELDS, REQUEST_FIELDS
from reciprocal.simulation.generator import Scale, _populate, synthetic_scheme

START = date(2027, 1, 4)  # a Monday
ANSWER_COLUMNS = {"proposals": "action", "waiting": "answer"}


def scenario(members: int, seed: int):
    spec = Scale("held-out", members, 12, 200, 140, reach_hops=1, preferred=(10, 55, 35))
    rng = random.Random(f"reciprocal-answers-bench/{members}/{seed}")
    return _populate(synthetic_scheme(spec, rng), spec, rng, seed)


class Coordinator:
    """One database and config folder; every command counted by kind and week."""

    def __init__(self, folder: Path, config: Path):
        from typer.testing import CliRunner
        from cli.app import app
        self.app, self.runner = app, CliRunner()
        self.root = ["--db", str(folder / "reciprocal.db"), "--config", str(config)]
        self.folder = folder
        self.counts: list[dict[str, int]] = []

    def __call__(self, kind: str, *args: str) -> str:
        done = self.runner.invoke(self.app, [*self.root, *args])
        if done.exit_code != 0:
            import traceback
            why = "".join(traceback.format_exception(done.exception)) if done.exception else done.output
            raise SystemExit(f"`reciprocal {' '.join(args)}` failed ({done.exit_code}): {why[-3000:]}")
        self.counts[-1][kind] = self.counts[-1].get(kind, 0) + 1
        return done.output


def week_answers(db_url: str, config: Path, day: date) -> list[tuple[str, str, dict]]:
    """What the members answer this week, read from their packs: (member, sheet, row's answer)."""
    from reciprocal.audits import packs
    from reciprocal.audits.workbook import HOUSEHOLDS, PROPOSALS, WAITING, sheet_rows
    from reciprocal.config import load_scheme
    from reciprocal.storage import Database
    from reciprocal.storage.urls import resolve_url
    scheme = load_scheme(config)
    answers = []
    for pack in packs.packs(Database(resolve_url(db_url)), scheme, day):
        rows = sheet_rows(pack)
        for row in rows[PROPOSALS][1]:
            pid, stage = row[0], row[3]
            if stage == "proposed":
                answers.append((pack["member"], "proposals", {"proposal": pid, "action": "confirm nomination"}))
            elif stage == "nomination_confirmed":
                answers.append((pack["member"], "proposals", {"proposal": pid, "action": "viewing set",
                                                              "viewing_on": day.isoformat()}))
            elif stage == "viewing" and pid % 4 == 0:
                answers.append((pack["member"], "proposals", {
                    "proposal": pid, "action": "household refuses", "reasonable": "yes",
                    "reason": scheme.config.lifecycle.refusal_reasons[0]}))
            elif stage == "viewing":
                answers.append((pack["member"], "proposals", {"proposal": pid, "action": "household accepts"}))
            elif stage == "accepted":
                answers.append((pack["member"], "proposals", {"proposal": pid, "action": "tenancy signed",
                                                              "tenancy_start": day.isoformat()}))
        for row in rows[WAITING][1]:
            if row[1] == "stale":
                answers.append((pack["member"], "waiting", {"request": row[0], "answer": "reconfirm"}))
        del rows[HOUSEHOLDS]
    return answers


def by_command(do: Coordinator, answers, day: date) -> None:
    on = ["--on", day.isoformat()]
    for _, sheet, a in answers:
        action, pid = a.get("action"), str(a.get("proposal"))
        if sheet == "waiting":
            do("answer", "request", "reconfirm", a["request"], *on)
        elif action == "confirm nomination":
            do("answer", "proposal", "advance", pid, "--to", "nomination_confirmed", "--by", "offering_landlord", *on)
        elif action == "viewing set":
            do("answer", "proposal", "advance", pid, "--to", "viewing", "--viewing-on", a["viewing_on"],
               "--by", "offering_landlord", *on)
        elif action == "household accepts":
            do("answer", "proposal", "advance", pid, "--to", "accepted", "--by", "household", *on)
        elif action == "household refuses":
            do("answer", "proposal", "refuse", pid, "--by", "household", "--reason", a["reason"], "--reasonable", *on)
        else:
            do("answer", "proposal", "sign", pid, "--tenancy-start", a["tenancy_start"], *on)


def by_pack(do: Coordinator, answers, day: date) -> None:
    folder = do.folder / f"packs-{day.isoformat()}"
    do("pack", "pack", "--to", str(folder), "--on", day.isoformat())
    returned: dict[Path, list[dict]] = {}
    for member, sheet, a in answers:
        returned.setdefault(folder / f"{member}-{day.isoformat()}-{sheet}.csv", []).append(a)
    for path, filled in returned.items():  # the members' side: their answers typed into the twins
        with path.open(newline="", encoding="utf-8") as f:
            lines = list(csv.reader(f))
        header = lines[1]
        for a in filled:
            key = str(a.get("proposal", a.get("request")))
            row = next(r for r in lines[2:] if r[0] == key)
            for column, value in a.items():
                row[header.index(column)] = str(value)
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(lines)
    if returned:
        do("answers import", "answers", "import", *map(str, sorted(returned)))


def run(mode: str, instance, weeks: int, folder: Path) -> tuple[list[dict[str, int]], dict]:
    folder.mkdir(parents=True)
    config, offers_csv, requests_csv = write_instance(instance, folder)
    do = Coordinator(folder, config)
    do.counts.append({})
    do("setup", "init")
    for week in range(weeks):
        day = START + timedelta(weeks=week)
        do.counts.append({})
        batch = [slice(week * len(x) // weeks, (week + 1) * len(x) // weeks)
                 for x in (instance.offers, instance.requests)]
        # Each batch dated its week: homes available from it, households referred three days before.
        offers = [replace(o, available_from=day) for o in instance.offers[batch[0]]]
        requests = [replace(r, referred_on=day - timedelta(days=3)) for r in instance.requests[batch[1]]]
        write_csv(offers_csv, OFFER_FIELDS, offers)
        write_csv(requests_csv, REQUEST_FIELDS, requests)
        do("intake", "offer", "import", str(offers_csv))
        do("intake", "request", "import", str(requests_csv))
        if week:
            answers = week_answers(str(folder / "reciprocal.db"), config, day)
            (by_command if mode == "before" else by_pack)(do, answers, day)
        do("round run", "round", "run", "--on", day.isoformat())
    return do.counts[1:], final_state(folder / "reciprocal.db")


def final_state(path: Path) -> dict:
    from sqlmodel import select
    from reciprocal.storage import Database, ProposalRow, RequestRow
    from reciprocal.storage.urls import resolve_url
    with Database(resolve_url(str(path))).reading() as session:
        return {"proposals": sorted((p.id, p.request_ref, p.offer_ref, p.status)
                                    for p in session.exec(select(ProposalRow)).all()),
                "requests": sorted((r.ref, r.status) for r in session.exec(select(RequestRow)).all())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--members", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    instance = scenario(args.members, args.seed)
    with tempfile.TemporaryDirectory(prefix="answers-bench-") as tmp:
        before, state_before = run("before", instance, args.weeks, Path(tmp) / "before")
        after, state_after = run("after", instance, args.weeks, Path(tmp) / "after")
    if state_before != state_after:
        print("the two runs ended in different states: the answers were not the same", file=sys.stderr)
        return 1
    signed = sum(p[3] == "signed" for p in state_after["proposals"])
    rows = [{"week": w + 1, "answers": b.get("answer", 0),
             "before": sum(v for k, v in b.items() if k != "intake"),
             "after": sum(v for k, v in a.items() if k != "intake"), "intake": b.get("intake", 0)}
            for w, (b, a) in enumerate(zip(before, after))]
    summary = {"members": args.members, "weeks": args.weeks, "seed": args.seed,
               "households": len(instance.requests), "homes": len(instance.offers), "signed": signed,
               "answers": sum(r["answers"] for r in rows),
               "before_per_week": sum(r["before"] for r in rows) / len(rows),
               "after_per_week": sum(r["after"] for r in rows) / len(rows),
               "before_max_week": max(r["before"] for r in rows), "after_max_week": max(r["after"] for r in rows),
               "weeks_table": rows}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{args.members} members, {args.weeks} weeks, seed {args.seed}: {summary['households']} households, "
          f"{summary['homes']} homes, {signed} signed, {summary['answers']} answers")
    print("| week | answers | commands before | commands after |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['week']} | {r['answers']} | {r['before']} | {r['after']} |")
    print(f"per week (besides the {rows[0]['intake']} intake imports, the same both ways): "
          f"{summary['before_per_week']:.1f} commands before (at most {summary['before_max_week']}), "
          f"{summary['after_per_week']:.1f} after (at most {summary['after_max_week']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
