"""The `reciprocal` command as users and scripts see it (SPEC section 9): real subprocesses, exit
codes, stderr messages, the JSON contract of `round run`, and a full weekly round.

Every database here is on the suite's backend (conftest: SQLite, or PostgreSQL when
`RECIPROCAL_TEST_DATABASE_URL` is set) and is passed to the command as `--db`; only the checks on
the SQLite file itself (its mode, a missing file) are SQLite's alone."""
from __future__ import annotations

import json
import shutil
import stat

import pytest
import typer

from cli.app import app

from sqlalchemy.engine import make_url

from tests.conftest import (DEMO_DATA, ON_POSTGRES, copy_database, count, drop_database,
                            no_traceback, only_sqlite, pg_create_database)
from tests.helpers import CONFIG_DIR, reciprocal, reciprocal_many

# SPEC section 4, spelled out here so that the test does not trust the code's own field lists.
SPEC_OFFER_FIELDS = {"ref", "provider", "area", "bedrooms", "property_type", "floor", "step_free",
                     "wheelchair_accessible", "tenancy_offered", "weekly_rent", "available_from",
                     "restrictions", "notes"}
SPEC_REQUEST_FIELDS = {"ref", "provider", "kind", "current_tenancy", "bedrooms_needed", "max_bedrooms",
                       "needs_step_free", "needs_wheelchair", "avoid_areas", "preferred_areas", "risk",
                       "referred_on", "age", "survivor_area", "survivor_consent", "safety_decision_on"}
DECLINE_REASON = "household declined: too far from school"


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """One database made by `reciprocal init`, copied by tests that need an empty, ready one:
    a SQLite path, or a PostgreSQL URL."""
    work = tmp_path_factory.mktemp("template")
    target = pg_create_database() if ON_POSTGRES else str(work / "r.db")
    proc = reciprocal("init", db=target, cwd=work)
    assert proc.returncode == 0, proc.stderr
    yield target
    drop_database(target)


@pytest.fixture
def ready_db(tmp_path, template_db):
    target = copy_database(template_db, tmp_path)
    yield target
    drop_database(target)


# -- help ---------------------------------------------------------------------------------------

def _walk(command, path=()):
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, path + (name,))


def test_every_command_and_group_has_help_text():
    everything = dict(_walk(typer.main.get_command(app)))
    names = {" ".join(p) for p in everything}
    for expected in ["init", "demo", "config", "config validate", "config schema", "config show",
                     "provider", "provider list", "offer", "offer add", "offer import", "offer list",
                     "offer withdraw", "request", "request add", "request import", "request list",
                     "request withdraw", "request hold", "request close", "round", "round run",
                     "round show", "round list", "proposal", "proposal list", "proposal show",
                     "proposal advance", "proposal refuse", "proposal sign", "due", "ledger",
                     "ledger show"]:
        assert expected in names
    for path, command in everything.items():
        assert (command.help or "").strip(), f"`reciprocal {' '.join(path)}` has no help text"


def test_every_option_and_argument_has_help_text():
    """Hidden old spellings included: `--help` is where a coordinator looks first."""
    missing = [f"reciprocal {' '.join(path)} {'/'.join(getattr(param, 'opts', [param.name]))}"
               for path, command in _walk(typer.main.get_command(app))
               for param in command.params if not (getattr(param, "help", None) or "").strip()]
    assert missing == []


def test_every_format_option_names_its_choices():
    """`--format` help lists the formats it takes: at least json, in words a person can read."""
    for path, command in _walk(typer.main.get_command(app)):
        for param in command.params:
            if "--format" in getattr(param, "opts", ()):
                assert "json" in param.help and (" or " in param.help or "," in param.help), path


OUTPUT_FILE_COMMANDS = ["audit fairness", "report quarterly", "simulate", "bench"]


def test_output_files_are_out_everywhere_with_old_spellings_hidden():
    everything = {" ".join(p): c for p, c in _walk(typer.main.get_command(app))}
    for name in OUTPUT_FILE_COMMANDS:
        visible = {o for p in everything[name].params if not getattr(p, "hidden", False)
                   for o in getattr(p, "opts", ())}
        assert "--out" in visible and not visible & {"--output", "-o", "--html"}, name


HELP_SAMPLE = [(), ("round",), ("proposal", "refuse"), ("offer", "import"), ("config", "validate"),
               ("ledger", "show")]


def test_help_runs(tmp_path):
    procs = reciprocal_many([(*args, "--help") for args in HELP_SAMPLE], db=None, config=None,
                            cwd=tmp_path)
    for args, proc in zip(HELP_SAMPLE, procs):
        assert proc.returncode == 0, (args, proc.stderr)
        command = typer.main.get_command(app)
        for name in args:
            command = command.commands[name]
        first_line = command.help.strip().splitlines()[0]
        assert first_line[:40] in " ".join(proc.stdout.split()), args
        assert "Usage" in proc.stdout


def test_unknown_command_is_a_usage_error(tmp_path):
    proc = reciprocal("frobnicate", db=None, config=None, cwd=tmp_path)
    assert proc.returncode == 2
    assert "frobnicate" in proc.stderr


# -- the database -------------------------------------------------------------------------------

@only_sqlite
def test_init_creates_a_database_readable_by_its_owner_only(tmp_path):
    db = tmp_path / "new.db"
    # Even with a permissive umask, the file must not be readable by group or others.
    proc = reciprocal("init", db=db, cwd=tmp_path, umask=0)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert "is ready for Cambridgeshire & Peterborough Managed Reciprocal" in " ".join(proc.stdout.split())
    again = reciprocal("init", db=db, cwd=tmp_path)  # idempotent
    assert again.returncode == 0, again.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_global_options_work_after_the_subcommand(tmp_path):
    """README writes `reciprocal init --db X`: --db and --config are taken after any subcommand
    too, and the later one wins."""
    db = tmp_path / "after.db"
    made = reciprocal("init", "--db", str(db), "--config", str(CONFIG_DIR), db=None, config=None,
                      cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert db.exists()
    listed = reciprocal("round", "list", "--format", "json", "--db", str(db), db=tmp_path / "missing.db",
                        config=None, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_init_is_idempotent_on_the_backend(tmp_path, empty_db_url):
    first = reciprocal("init", db=empty_db_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = reciprocal("init", db=empty_db_url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    listed = reciprocal("offer", "list", "--format", "json", db=empty_db_url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


@only_sqlite
def test_missing_database_says_run_init(tmp_path):
    db = tmp_path / "missing.db"
    proc = reciprocal("offer", "list", db=db, cwd=tmp_path)
    assert proc.returncode == 5
    assert proc.stderr.strip() == f"database {db} does not exist; run `reciprocal init` first"
    assert proc.stdout == ""
    assert not db.exists()  # a mistyped path is not silently created


def test_uninitialised_database_says_run_init(tmp_path, empty_db_url):
    if ON_POSTGRES:  # a new, empty database on the server
        db, shown = empty_db_url, make_url(empty_db_url).render_as_string(hide_password=True)
    else:
        db = shown = tmp_path / "empty.db"
        db.write_bytes(b"")
    proc = reciprocal("round", "list", db=db, cwd=tmp_path)
    assert proc.returncode == 5
    assert proc.stderr.strip() == f"database {shown} is not initialised; run `reciprocal init` first"
    assert "reciprocal:reciprocal@" not in proc.stderr  # a password in the URL is never shown


# -- intake errors ------------------------------------------------------------------------------

def test_offer_import_with_bad_rows_lists_every_one_and_writes_nothing(tmp_path, ready_db):
    lines = (DEMO_DATA / "offers.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",3,house,", ",13,house,")          # line 3: bedrooms
    lines[6] = lines[6].replace("2026-11-18", "31/11/2026")         # line 7: no such day
    lines[8] = lines[8].replace("cam_valley_trust", "nobody")       # line 9: provider
    bad = tmp_path / "offers.csv"
    bad.write_text("\n".join(lines) + "\n")
    proc = reciprocal("offer", "import", str(bad), db=ready_db, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "3 problem(s) in offers.csv; nothing was imported",
        "  offers.csv:3: bedrooms: 13 is outside 0..10",
        "  offers.csv:7: available_from: '31/11/2026' is not a date: November 2026 has 30 days",
        "  offers.csv:9: provider: unknown provider 'nobody'",
    ]
    assert count(ready_db, "offer") == 0


def test_an_import_shows_its_steps_on_a_terminal_and_nothing_in_a_pipe(tmp_path, ready_db):
    """A 20,000-row import takes a while: on a terminal, stderr shows each step with a clock.
    TTY_COMPATIBLE=1 makes Rich treat the pipe as a terminal; without it scripts see nothing."""
    import subprocess
    import sys

    from tests.helpers import ENV, write_offers_csv
    offers = write_offers_csv(tmp_path / "offers.csv", 3)
    argv = [sys.executable, "-m", "cli.app", "--db", str(ready_db), "--config", str(CONFIG_DIR),
            "offer", "import", str(offers)]
    shown = subprocess.run(argv, cwd=tmp_path, env={**ENV, "TTY_COMPATIBLE": "1"}, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "reading and checking offers.csv" in shown.stderr and "storing 3 offer(s)" in shown.stderr
    assert "Imported offers.csv: 3 new offer(s)" in shown.stdout
    piped = reciprocal("offer", "import", str(offers), db=ready_db, cwd=tmp_path)
    assert piped.returncode == 0 and piped.stderr == ""


def test_request_with_unknown_provider(tmp_path, ready_db):
    lines = (DEMO_DATA / "requests.csv").read_text().splitlines()
    lines[3] = lines[3].replace("peterborough_city,", "nobody,", 1)
    bad = tmp_path / "requests.csv"
    bad.write_text("\n".join(lines) + "\n")
    add, proc = reciprocal_many([
        ("request", "add", "--ref", "RQ-9", "--provider", "nobody", "--kind", "survivor",
         "--current-tenancy", "secure", "--bedrooms-needed", "2", "--risk", "high",
         "--referred-on", "2026-10-01"),
        ("request", "import", str(bad))], db=ready_db, cwd=tmp_path)
    assert add.returncode == 2
    assert add.stderr.splitlines() == ["the request is not valid; nothing was written",
                                       "  --provider: unknown provider 'nobody'"]
    assert proc.returncode == 2
    assert "  requests.csv:4: provider: unknown provider 'nobody'" in proc.stderr.splitlines()
    assert count(ready_db, "request") == 0


def test_personal_data_file_is_refused_by_the_command(tmp_path, ready_db):
    bad = tmp_path / "requests.csv"
    text = (DEMO_DATA / "requests.csv").read_text().splitlines()
    bad.write_text("\n".join([text[0] + ",postcode"] + [t + ",CB1 1AA" for t in text[1:]]) + "\n")
    proc = reciprocal("request", "import", str(bad), db=ready_db, cwd=tmp_path)
    assert proc.returncode == 2
    assert "personal data column(s) 'postcode'" in proc.stderr
    assert "CB1" not in proc.stderr + proc.stdout  # the data itself is never echoed
    assert count(ready_db, "request") == 0


def test_unreachable_database_server_is_not_reported_as_uninitialised(tmp_path):
    proc = reciprocal("offer", "list", db="postgresql://coordinator:s3cret@127.0.0.1:1/reciprocal",
                      cwd=tmp_path)
    assert proc.returncode == 5
    assert "s3cret" not in proc.stderr  # the password is never shown
    assert "not initialised" not in proc.stderr


def test_unknown_format_is_a_usage_error(tmp_path, ready_db):
    proc = reciprocal("offer", "list", "--format", "xml", db=ready_db, cwd=tmp_path)
    assert proc.returncode == 2
    assert "'xml' is not one of table, json" in proc.stderr
    assert proc.stdout == ""


# -- weeks of a round's proposals ------------------------------------------------------------------

SIGN_ON = "2026-11-27"


@pytest.fixture(scope="module")
def flow(tmp_path_factory, template_db):
    """init, import, run, one refusal, every other proposal through its stages and signed (one of
    them twice), and the views. Every step's process is kept for the tests below to inspect."""
    work = tmp_path_factory.mktemp("round")
    db = copy_database(template_db, work)
    steps: dict = {"db": db}

    def step(name, *args):
        steps[name] = reciprocal(*args, db=db, cwd=work)
        return steps[name]

    for kind in ("offer", "request"):
        # A file name with brackets is shown as it is, never read as markup.
        source = work / f"{kind}s [wk47].csv"
        shutil.copy(DEMO_DATA / f"{kind}s.csv", source)
        approved = ("--on", "2026-11-23") if kind == "request" else ()  # the day the members sent them
        proc = step(f"import_{kind}", kind, "import", str(source), *approved)
        assert proc.returncode == 0, proc.stderr
    run = step("run", "round", "run", "--on", "2026-11-23", "--format", "json")
    assert run.returncode == 0, run.stderr
    view = json.loads(run.stdout)
    steps["view"] = view
    declining = next((p for p in view["proposals"] if p["request"] == "RQ-0103"), view["proposals"][0])
    steps["declining"] = declining
    # Two commands that must be refused, at once: neither may change anything.
    steps["run_earlier"], steps["refuse_no_reason"] = reciprocal_many(
        [("round", "run", "--on", "2026-11-01"),
         ("proposal", "refuse", str(declining["id"]), "--by", "household")], db=db, cwd=work)
    refuse = step("refuse", "proposal", "refuse", str(declining["id"]), "--by", "household", "--reason",
                  "too_far_from_support", "--note", DECLINE_REASON, "--not-reasonable", "--on", "2026-11-24",
                  "--format", "json")
    assert refuse.returncode == 0, refuse.stderr
    shown = step("show", "round", "show", "1", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    waiting = [p for p in json.loads(shown.stdout)["proposals"] if p["status"] == "proposed"]
    steps["signed"] = waiting
    # The members' answers arrive as one decisions file; each tenancy is then signed on its own.
    answers = work / "answers.csv"
    answers.write_text("proposal,action,on\n" + "".join(
        f"{p['id']},{action},{day}\n" for p in waiting
        for action, day in (("confirm_nomination", "2026-11-24"), ("viewing", "2026-11-25"),
                            ("accept", "2026-11-26"))))
    proc = step("answers", "proposal", "import", str(answers))
    assert proc.returncode == 0, proc.stderr
    for p in waiting:
        proc = step(f"sign_{p['id']}", "proposal", "sign", str(p["id"]), "--tenancy-start", "2026-12-07",
                    "--on", SIGN_ON, "--format", "json")
        assert proc.returncode == 0, proc.stderr
    steps["after_signing"] = (count(db, "move"), count(db, "ledger_entry"), count(db, "checklist_item"))
    step("sign_again", "proposal", "sign", str(waiting[0]["id"]), "--tenancy-start", "2026-12-07",
         "--on", SIGN_ON)
    steps["after_signing_again"] = (count(db, "move"), count(db, "ledger_entry"),
                                    count(db, "checklist_item"))
    views = {"ledger": ("ledger", "show", "--format", "json"),
             "offers": ("offer", "list", "--status", "all", "--format", "json"),
             "requests": ("request", "list", "--status", "all", "--format", "json"),
             "sign_99": ("proposal", "sign", "99", "--tenancy-start", "2026-12-07"),
             "final_show": ("round", "show", "1", "--format", "json")}
    steps.update(zip(views, reciprocal_many(list(views.values()), db=db, cwd=work)))
    yield steps
    drop_database(db)


def test_imports_report_counts(flow):
    assert flow["import_offer"].stdout.strip() == (
        "Imported offers [wk47].csv: 11 new offer(s), 0 already stored unchanged.")
    assert flow["import_request"].stdout.strip() == (
        "Imported requests [wk47].csv: 12 new request(s), 0 already stored unchanged.")


def test_round_run_json_is_one_object_with_the_contract_keys(flow):
    view = json.loads(flow["run"].stdout)  # the whole of stdout is exactly one JSON document
    assert isinstance(view, dict)
    assert {"round", "proposals", "unmatched", "objectives", "solve_seconds"} <= set(view)
    assert view["round"] == 1
    assert isinstance(view["solve_seconds"], (int, float)) and view["solve_seconds"] >= 0
    assert view["proposals"], "the demo week has proposals"
    for p in view["proposals"]:
        assert {"request", "offer", "from_provider", "to_provider", "reasons", "status", "due_on"} <= set(p)
        assert p["from_provider"] != p["to_provider"]
        assert p["reasons"] and all(isinstance(r, str) and r for r in p["reasons"])
        assert p["status"] == "proposed" and p["due_on"] == "2026-11-26"  # 3 working days
    for u in view["unmatched"]:
        assert {"request", "reason"} <= set(u)
        assert u["reason"]
    matched = {p["request"] for p in view["proposals"]}
    unmatched = {u["request"] for u in view["unmatched"]}
    assert not matched & unmatched
    assert len(matched | unmatched) == 12  # every request is either proposed a home or explained
    names = [o["name"] for o in view["objectives"]]
    assert names == ["high_risk_moved", "households_moved", "longest_waiting", "ledger_imbalance",
                     "preference_fit"]
    for o in view["objectives"]:
        assert {"name", "value", "bound"} <= set(o)
    assert flow["run"].stderr == ""


def test_providers_in_proposals_are_the_landlords(flow):
    requests = {r["ref"]: r for r in json.loads(flow["requests"].stdout)}
    offers = {o["ref"]: o for o in json.loads(flow["offers"].stdout)}
    for p in flow["view"]["proposals"]:
        assert p["from_provider"] == requests[p["request"]]["provider"]
        assert p["to_provider"] == offers[p["offer"]]["provider"]


def test_a_round_dated_before_the_last_is_refused(flow):
    proc = flow["run_earlier"]
    assert proc.returncode == 4
    assert proc.stderr.strip() == ("round 1 ran on 2026-11-23; a round dated 2026-11-01 would come before "
                                   "it; nothing was changed")


def test_refusal_without_reason_is_refused(flow):
    proc = flow["refuse_no_reason"]
    assert proc.returncode == 2  # a usage error, refused before the database is touched
    assert "Missing option '--reason'" in proc.stderr
    assert proc.stdout == ""


def test_refusal_with_reason(flow):
    result = json.loads(flow["refuse"].stdout)
    assert result["changes"][0]["to"] == "refused"
    assert result["changes"][0]["ref"] == str(flow["declining"]["id"])
    shown = {p["id"]: p for p in json.loads(flow["show"].stdout)["proposals"]}
    refused = shown[flow["declining"]["id"]]
    assert refused["status"] == "refused" and refused["refused_by"] == "household"
    assert refused["refusal_reason"] == "too_far_from_support" and refused["reasonable_offer"] is False
    assert refused["decline_reason"] == DECLINE_REASON


def test_a_decisions_file_answers_every_proposal(flow):
    n = len(flow["signed"])
    assert f"{3 * n} decision(s) applied, 0 already applied" in flow["answers"].stdout
    assert flow["answers"].stdout.count("-> accepted") == n


def test_signing_makes_every_move(flow):
    n = len(flow["signed"])
    assert n >= 1
    for p in flow["signed"]:
        changes = json.loads(flow[f"sign_{p['id']}"].stdout)["changes"]
        assert [(c["what"], c["to"]) for c in changes] == [("proposal", "signed"), ("offer", "let"),
                                                           ("request", "moved")]
    assert flow["after_signing"] == (n, 2 * n, 3 * n)  # two ledger legs and three checklist items each
    final = json.loads(flow["final_show"].stdout)
    statuses = {p["id"]: p["status"] for p in final["proposals"]}
    assert all(statuses[p["id"]] == "signed" for p in flow["signed"])
    assert statuses[flow["declining"]["id"]] == "refused"


def test_a_second_signing_changes_nothing(flow):
    proc = flow["sign_again"]
    assert proc.returncode == 0, proc.stderr
    assert "already signed; nothing changed, no move doubled" in proc.stdout
    assert flow["after_signing_again"] == flow["after_signing"]


def test_ledger_balances_sum_to_zero(flow):
    assert flow["ledger"].returncode == 0, flow["ledger"].stderr
    ledger = json.loads(flow["ledger"].stdout)
    balances = [p["balance"] for p in ledger["providers"]]
    assert sum(balances) == 0 == ledger["sum_of_balances"]
    assert len(ledger["providers"]) == 16
    n = len(flow["signed"])
    assert sum(p["given"] for p in ledger["providers"]) == n
    assert sum(p["received"] for p in ledger["providers"]) == n
    for p in ledger["providers"]:
        assert p["balance"] == p["given"] - p["received"]


def test_lists_carry_every_spec_field(flow):
    offers = json.loads(flow["offers"].stdout)
    requests = json.loads(flow["requests"].stdout)
    assert len(offers) == 11 and len(requests) == 12
    for o in offers:
        assert SPEC_OFFER_FIELDS <= set(o), SPEC_OFFER_FIELDS - set(o)
    for r in requests:
        assert SPEC_REQUEST_FIELDS <= set(r), SPEC_REQUEST_FIELDS - set(r)
    moved = {p["request"] for p in flow["signed"]}
    let = {p["offer"] for p in flow["signed"]}
    assert {r["ref"] for r in requests if r["status"] == "moved"} == moved
    assert {o["ref"] for o in offers if o["status"] == "let"} == let


def test_sign_unknown_proposal(flow):
    proc = flow["sign_99"]
    assert proc.returncode == 3
    assert proc.stderr.strip() == "no proposal 99"


# -- the demo -----------------------------------------------------------------------------------

def test_demo(tmp_path):
    db = tmp_path / "demo.db"
    proc = reciprocal("demo", "--db", str(db), db=None, config=None, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for text in ("Proposals", "Unmatched", "Sum of balances: 0"):
        assert text in proc.stdout
    # No ./mou_configs, no --config: the demo, and only the demo, uses the shipped example, and says so.
    assert f"MoU configs: {CONFIG_DIR}" in proc.stdout
    assert db.exists()
    # It ends by naming its database and the exact commands to look further.
    look = proc.stdout.split("Look further", 1)[1]
    assert f"The demo's database is kept at {db}" in look
    assert f"reciprocal --db {db} round show 1" in look
    assert "audit fairness --format html --out" in look
    again = reciprocal("demo", "--db", str(db), db=None, config=None, cwd=tmp_path)
    assert again.returncode == 4
    assert "already exists" in again.stderr


def test_the_demo_refuses_a_database_url_without_repeating_it(tmp_path):
    """The demo makes a fresh SQLite file; a URL was read as a path (folders named after it, its
    password among them, and the password printed in the closing hints)."""
    proc = reciprocal("demo", "--db", "postgresql+psycopg://coordinator:s3cret@localhost/demo", db=None,
                      config=None, cwd=tmp_path)
    assert proc.returncode == 5
    assert "not a database URL; nothing was written" in proc.stderr
    assert "s3cret" not in proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_without_configs_a_command_says_where_it_looked_and_how_to_point_at_a_folder(launcher):
    # The launcher works in a temporary folder with no mou_configs, and no $RECIPROCAL_* is set.
    outcomes = launcher.run(["offer", "list"], ["--db", "x.db", "round", "run"], ["config", "validate"])
    no_traceback(outcomes)
    for o in outcomes:
        assert o.code == 2, o.stderr
        assert "No MoU configs: point at the scheme's folder with `reciprocal --config FOLDER ...` or " \
               "`export RECIPROCAL_CONFIG_DIR=FOLDER`" in o.stderr
        assert f"{launcher.work / 'mou_configs' / 'scheme.yaml'}: not found" in o.stderr
        assert "Cambridgeshire" not in o.stdout + o.stderr
    assert not (launcher.work / "x.db").exists()


STATE_CHANGING = ["round run", "proposal advance", "proposal refuse", "proposal sign", "proposal import",
                  "offer withdraw", "offer let-outside", "request withdraw", "request approve", "request hold",
                  "request resume", "request reconfirm", "request close"]


def test_every_command_that_changes_state_has_json_output():
    """SPEC section 6: every change is shown to the person who made it; scripts get the same
    changes with --format json."""
    everything = {" ".join(p): c for p, c in _walk(typer.main.get_command(app))}
    for name in STATE_CHANGING:
        options = {o for param in everything[name].params for o in getattr(param, "opts", [])}
        assert "--format" in options, name


def test_a_state_change_prints_the_same_changes_as_json(tmp_path, template_db):
    db = copy_database(template_db, tmp_path)
    try:
        for kind in ("offer", "request"):
            assert reciprocal(kind, "import", str(DEMO_DATA / f"{kind}s.csv"), db=db, cwd=tmp_path).returncode == 0
        assert reciprocal("round", "run", "--on", "2026-11-23", db=db, cwd=tmp_path).returncode == 0
        shown = reciprocal("request", "hold", "RQ-0101", "--reason", "in hospital", "--until", "2026-12-14",
                           "--on", "2026-11-24", "--format", "json", db=db, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        changes = json.loads(shown.stdout)["changes"]
        assert [(c["what"], c["from"], c["to"]) for c in changes] == [("proposal", "proposed", "cancelled"),
                                                                       ("request", "active", "on_hold")]
        table = reciprocal("request", "resume", "RQ-0101", "--on", "2026-11-25", db=db, cwd=tmp_path)
        assert table.stdout.strip() == "request RQ-0101: on_hold -> active; back in the pot"
    finally:
        drop_database(db)
