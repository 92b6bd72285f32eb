"""Members' packs (`reciprocal pack`, SPEC section 10) and `--for-provider` on `round show` and `due`.

The week: the demo pot in a copy of the example scheme where every household also avoids an area
of its own and prefers another (`zz_avoid_0101`, `zz_pref_0101`: areas no member holds, so matching
is unchanged), round 1 on 2026-11-23, then

- RQ-0101 (fenland's household, cambridge_city's home OF-2611-01) reaches `viewing`: fenland, its
  landlord, must give the household's answer;
- RQ-0102 (cambridge_city's household) signs for peterborough_city's home OF-2611-02: a move out of
  cambridge_city;
- RQ-0111 (cambridge_city's) is put on hold.

Every pack of every member in every format is then searched for the planted areas (none may be
there, another member's least of all), and cambridge_city's for where its household went.
"""
from __future__ import annotations

import email
import json
import os
import re
import shutil
import socket
import stat
import subprocess
from datetime import date, timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from reciprocal.audits import pack_email, packs
from reciprocal.config import load_scheme
from reciprocal.domain import ProposalStatus, Role
from reciprocal.errors import ConfigError, InputFileError, NotFoundError
from reciprocal.intake import listing, pot
from reciprocal.lifecycle import run, views
from reciprocal.lifecycle.circulate import circulate
from tests.conftest import CONFIG_DIR, DEMO_DATA, ROUND_DAY, Launcher
from tests.moves import to_accepted

PACK_DAY = ROUND_DAY + timedelta(days=3)
NO_CONTACT_MEMBER = "fenland"
SECRET = "pw-never-shown-4821"


def planted(ref: str) -> tuple[str, str]:
    digits = ref.split("-")[1]
    return f"zz_avoid_{digits}", f"zz_pref_{digits}"


def contact(member: str) -> str:
    return f"housing-options@{member.replace('_', '-')}.example.org.uk"


@pytest.fixture(scope="module")
def requests_csv(tmp_path_factory) -> Path:
    """The demo requests, each household avoiding and preferring one planted area more."""
    lines = (DEMO_DATA / "requests.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    avoid, prefer = header.index("avoid_areas"), header.index("preferred_areas")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        a, p = planted(cells[0])
        cells[avoid] = ";".join(x for x in (cells[avoid], a) if x)
        cells[prefer] = ";".join(x for x in (cells[prefer], p) if x)
        out.append(",".join(cells))
    path = tmp_path_factory.mktemp("pack-data") / "requests.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory, requests_csv) -> Path:
    """The example scheme with the planted areas, and a contact for every member but fenland."""
    target = tmp_path_factory.mktemp("pack-config") / "mou_configs"
    shutil.copytree(CONFIG_DIR, target)
    refs = [line.split(",")[0] for line in requests_csv.read_text().splitlines()[1:]]
    extra = "".join(f"  {area}:\n    name: Planted {area}\n    neighbours: []\n"
                    for ref in refs for area in planted(ref))
    scheme_yaml = target / "scheme.yaml"
    scheme_yaml.write_text(scheme_yaml.read_text().replace("areas:\n", "areas:\n" + extra, 1))
    for path in (target / "providers").glob("*.yaml"):
        if path.stem != NO_CONTACT_MEMBER:
            path.write_text(path.read_text() + f"contact: {contact(path.stem)}\n")
    return target


@pytest.fixture(scope="module")
def planted_scheme(config_dir):
    return load_scheme(config_dir)


@pytest.fixture
def week(db, planted_scheme, requests_csv) -> dict[str, int]:
    """The week of the module docstring: request ref -> proposal id."""
    scheme = planted_scheme
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, requests_csv)
    round_id = run.run_round(db, scheme, ROUND_DAY).round_id
    ids = {p["request"]: p["id"] for p in views.round_view(db, round_id)["proposals"]}
    day = ROUND_DAY + timedelta(days=1)
    run.advance(db, scheme, ids["RQ-0101"], day, Role.coordinator, ProposalStatus.nomination_confirmed)
    run.advance(db, scheme, ids["RQ-0101"], day, Role.coordinator, ProposalStatus.viewing, viewing_on=day)
    to_accepted(db, scheme, ids["RQ-0102"], day)
    run.sign(db, scheme, ids["RQ-0102"], day + timedelta(days=7), day)
    run.request_change(db, scheme, "hold", "RQ-0111", day, reason="waiting for a safety plan",
                       until=date(2026, 12, 10))
    return ids


def _proposal(pack: dict, request: str) -> dict:
    return next(p for p in pack["proposals"] if p["request"] == request)


def _values(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _values(v)
    else:
        yield value


# -- contents -------------------------------------------------------------------------------------

def test_the_offering_member_sees_the_proposal_without_the_households_areas(db, planted_scheme, week):
    pack = packs.member_pack(db, planted_scheme, "cambridge_city", PACK_DAY)
    p = _proposal(pack, "RQ-0101")
    assert (p["your_side"], p["offer"], p["from_provider"], p["to_provider"]) == (
        "you offer the home", "OF-2611-01", "fenland", "cambridge_city")
    assert (p["status"], p["must_act"], p["action"]) == ("viewing", "fenland", "the household's answer after viewing")
    assert p["due_on"] is not None and p["reasons"]
    assert "preferences_met" not in p and "preference_fit" not in p["objective_contributions"]
    assert not any(r.startswith("meets") for r in p["reasons"])
    # The coordinator's view of the same proposal has them.
    full = views.proposal_view(db, week["RQ-0101"])
    assert "preferences_met" in full and any(r.startswith("meets") for r in full["reasons"])


def test_the_referring_member_sees_stage_due_date_and_who_acts_but_not_the_home(db, planted_scheme, week):
    pack = packs.member_pack(db, planted_scheme, "fenland", PACK_DAY)
    p = _proposal(pack, "RQ-0101")
    assert p == {"your_side": "your household", "id": week["RQ-0101"], "request": "RQ-0101",
                 "from_provider": "fenland", "status": "viewing", "round_id": 1,
                 "stage_on": "2026-11-24", "due_on": p["due_on"], "refused_by": None, "refusal_reason": None,
                 "reasonable_offer": None, "viewing_on": "2026-11-24", "tenancy_start": None,
                 "must_act": "you", "action": "the household's answer after viewing",
                 "offer": None, "to_provider": None}
    assert p["due_on"] > "2026-11-24"
    assert "cambridge_city" not in json.dumps(p) and "OF-2611-01" not in json.dumps(pack)


def test_a_pack_holds_balance_commitment_requests_and_the_circulation_list(db, planted_scheme, week):
    pack = packs.member_pack(db, planted_scheme, "cambridge_city", PACK_DAY)
    assert (pack["member"], pack["name"], pack["on"]) == ("cambridge_city", "Cambridge City Council", "2026-11-26")
    # Its household moved into peterborough_city's home: it owes the scheme one.
    assert pack["balance"] == {"balance": -1, "owes": 1, "max_debt": planted_scheme.max_debt("cambridge_city"),
                               "in_words": "you owe the scheme 1 home(s)"}
    assert pack["offer_commitment"]["since"] == "2026-04-01"
    assert pack["offer_commitment"]["offers_per_year"] == 4
    assert pack["requests"] == [{"request": "RQ-0111", "status": "on_hold", "referred_on": "2026-11-09",
                                 "reconfirmed_on": None, "hold_reason": "waiting for a safety plan",
                                 "look_again_on": "2026-12-10",
                                 "action": views.REQUEST_ACTION["on_hold"]}]
    assert pack["circulation"] == circulate(db, planted_scheme, PACK_DAY, "cambridge_city")["member"]["requests"]
    assert {p["request"] for p in pack["proposals"]} == {"RQ-0101", "RQ-0102"}


def test_a_signed_move_out_never_shows_where_the_household_went(db, planted_scheme, week, tmp_path):
    built = packs.packs(db, planted_scheme, PACK_DAY, ["cambridge_city", "peterborough_city"])
    texts = {p.name: p.read_text() for p in packs.write_packs(built, tmp_path / "out")}
    mine = {n: t for n, t in texts.items() if n.startswith("cambridge_city")}
    theirs = {n: t for n, t in texts.items() if n.startswith("peterborough_city")}
    left = _proposal(built[0], "RQ-0102")
    assert left["status"] == "signed" and left["tenancy_start"] == "2026-12-01"
    assert not {"peterborough_city", "peterborough", "OF-2611-02"} & set(_values(left))
    for name, text in mine.items():
        assert "OF-2611-02" not in text, name
        for line in text.splitlines():  # the row of that move, in every format
            if "RQ-0102" in line:
                assert "peterborough" not in line, (name, line)
    # The new landlord sees the move into its home in full.
    assert all("OF-2611-02" in t and "RQ-0102" in t for t in theirs.values())


def test_no_pack_shows_any_households_avoided_or_preferred_areas(db, planted_scheme, week, tmp_path):
    built = packs.packs(db, planted_scheme, PACK_DAY)
    assert len(built) == sum(p.status == "active" for p in planted_scheme.providers.values())
    written = packs.write_packs(built, tmp_path / "all")
    assert len(written) == 4 * len(built)
    requests = {r.ref: r for r in listing.list_requests(db, None)}
    for path in written:
        text = path.read_text()
        member = path.name.rsplit("-", 3)[0]
        for ref, r in requests.items():
            for area in planted(ref):
                assert area not in text, (path.name, ref, "its own" if r.provider == member else "another's")
        assert "zz_" not in text, path.name
        assert "avoid" not in text and "survivor_area" not in text, path.name


# -- files ----------------------------------------------------------------------------------------

def test_files_are_owner_only_whatever_the_umask(db, planted_scheme, week, tmp_path):
    built = packs.packs(db, planted_scheme, PACK_DAY, ["fenland"])
    old = os.umask(0)
    try:
        written = packs.write_packs(built, tmp_path / "new" / "packs")
    finally:
        os.umask(old)
    assert sorted(p.name for p in written) == [f"fenland-2026-11-26.{f}" for f in ("csv", "html", "json", "md")]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    assert stat.S_IMODE((tmp_path / "new" / "packs").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_an_existing_folder_is_fine_and_a_file_is_refused(db, planted_scheme, week, tmp_path):
    built = packs.packs(db, planted_scheme, PACK_DAY, ["fenland"])
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "notes.txt").write_text("kept")
    assert len(packs.write_packs(built, folder, ("md",))) == 1
    assert (folder / "notes.txt").read_text() == "kept"
    target = folder / "a-file"
    target.write_text("x")
    with pytest.raises(InputFileError, match="is not a folder"):
        packs.write_packs(built, target)
    with pytest.raises(InputFileError, match="is not a folder"):
        packs.write_packs(built, target / "below")
    assert target.read_text() == "x" and sorted(p.name for p in folder.iterdir()) == [
        "a-file", "fenland-2026-11-26.md", "notes.txt"]
    with pytest.raises(InputFileError, match="'pdf' is not one of md, html, csv, json"):
        packs.write_packs(built, folder / "none", ("md", "pdf"))
    assert not (folder / "none").exists()


def test_html_is_one_escaped_page_for_a_phone():
    pack = {"scheme": "s", "scheme_name": "S <b>", "member": "m", "name": "M & Co", "on": "2026-11-26",
            "balance": {"balance": 2, "owes": 0, "max_debt": 2, "in_words": "the scheme owes you 2 home(s)"},
            "offer_commitment": {"since": "2026-04-01", "offers_per_year": None, "offers_made": 0,
                                 "offers_expected": None, "met": None},
            "proposals": [], "circulation": [],
            "requests": [{"request": "RQ-<script>", "status": "stale", "referred_on": "2026-01-01",
                          "reconfirmed_on": None, "hold_reason": None, "look_again_on": None, "action": "a"}]}
    page = packs.pack_html(pack)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page and "RQ-&lt;script&gt;" in page and "S &lt;b&gt;" in page
    assert not re.search(r"(src|href)=|https?://|url\(", page)
    assert 'data-label="request"' in page and "@media (max-width: 640px)" in page


def test_csv_cells_cannot_run_as_formulas():
    pack = {"scheme": "s", "scheme_name": "S", "member": "m", "name": "M", "on": "2026-11-26",
            "balance": {"balance": 0, "owes": 0, "max_debt": 2, "in_words": "you are even"},
            "offer_commitment": {"since": "2026-04-01", "offers_per_year": 2, "offers_made": 1,
                                 "offers_expected": 1.3, "met": True},
            "proposals": [], "circulation": [],
            "requests": [{"request": "RQ-1", "status": "on_hold", "referred_on": "2026-01-01",
                          "reconfirmed_on": None, "hold_reason": "=HYPERLINK(1)", "look_again_on": None,
                          "action": "a"}]}
    assert "'=HYPERLINK(1)" in packs.pack_csv(pack)


# -- round show and due, for one member -------------------------------------------------------------

def test_round_show_for_a_member_is_scoped(db, planted_scheme, week):
    full = views.round_view(db, 1)
    view = views.round_view(db, 1, planted_scheme, "fenland")
    assert view["for_provider"] == "fenland" and view["objectives"] == full["objectives"]
    assert [(p["request"], p["offer"], p["to_provider"]) for p in view["proposals"]] == [("RQ-0101", None, None)]
    owners = {r.ref: r.provider for r in listing.list_requests(db, None)}
    assert all(owners[u["request"]] == "fenland" for u in view["unmatched"])
    offering = views.round_view(db, 1, planted_scheme, "cambridge_city")
    assert {p["request"]: p["offer"] for p in offering["proposals"]} == {"RQ-0101": "OF-2611-01",
                                                                           "RQ-0102": None}
    with pytest.raises(NotFoundError, match="unknown provider 'nobody'"):
        views.round_view(db, 1, planted_scheme, "nobody")


def test_due_for_a_member_is_what_it_must_do(db, planted_scheme, week):
    until = date(2026, 12, 31)
    rows = views.due_for(db, planted_scheme, PACK_DAY, until, "fenland")
    assert [(r["request"], r["offer"], r["to_provider"], r["action"]) for r in rows] == [
        ("RQ-0101", None, None, "the household's answer after viewing")]
    held = views.due_for(db, planted_scheme, PACK_DAY, until, "cambridge_city")
    assert [(r["what"], r["ref"]) for r in held] == [("request", "RQ-0111")]
    everyone = views.due_for(db, planted_scheme, PACK_DAY, until)
    assert {r["member"] for r in everyone} >= {"fenland", "cambridge_city"}


# -- the command ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def at80(tmp_path_factory):
    """A launcher (conftest) whose commands run with COLUMNS=80, set before the consoles are made."""
    started = Launcher(tmp_path_factory.mktemp("launcher80"), env={"COLUMNS": "80"})
    yield started
    started.close()


def _run(at80, args, db, config_dir, cwd, env=None):
    """The real command, a process of its own forked by `at80` (its imports done) in `cwd`."""
    proc = at80.run(["--db", db.url, "--config", str(config_dir), *args], cwd=cwd, env=env)[0]
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return subprocess.CompletedProcess(proc.argv, proc.code, proc.stdout, proc.stderr)


def test_the_command_at_80_columns(at80, db, config_dir, week, tmp_path):
    folder = tmp_path / "packs"
    made = _run(at80, ["pack", "--to", str(folder), "--on", "2026-11-26", "--for-provider", "fenland",
                 "--for-provider", "cambridge_city", "--format", "md,json"], db, config_dir, tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == [
        f"Wrote 4 file(s) to {folder}: 2 member(s) x md, json (cambridge_city-2026-11-26.md, ...), "
        f"readable by their owner only.",
        "Recorded 2026-11-26 as the pack day of 2 member(s): their next packs and `due` show what changed since."]
    assert sorted(p.name for p in folder.iterdir()) == [
        "cambridge_city-2026-11-26.json", "cambridge_city-2026-11-26.md", "fenland-2026-11-26.json",
        "fenland-2026-11-26.md"]
    shown = _run(at80, ["round", "show", "1", "--for-provider", "fenland", "--format", "json"], db, config_dir,
                 tmp_path)
    assert shown.returncode == 0 and "OF-2611-01" not in shown.stdout and "cambridge_city" not in shown.stdout
    table = _run(at80, ["round", "show", "1", "--for-provider", "fenland"], db, config_dir, tmp_path)
    assert table.returncode == 0 and "RQ-0101" in table.stdout and "OF-2611-01" not in table.stdout
    due = _run(at80, ["due", "--on", "2026-11-26", "--within", "20", "--for-provider", "fenland", "--format", "json"],
               db, config_dir, tmp_path)
    assert due.returncode == 0 and json.loads(due.stdout)["items"][0]["offer"] is None
    unknown = _run(at80, ["pack", "--to", str(tmp_path / "x"), "--for-provider", "nobody"], db, config_dir, tmp_path)
    assert unknown.returncode == 3 and unknown.stderr.strip() == "unknown provider 'nobody' (--for-provider)"
    (tmp_path / "file").write_text("")
    onto_file = _run(at80, ["pack", "--to", str(tmp_path / "file")], db, config_dir, tmp_path)
    assert onto_file.returncode == 2 and "is not a folder" in onto_file.stderr
    assert not (tmp_path / "x").exists() and (tmp_path / "file").read_text() == ""


def test_a_contact_must_look_like_an_email_address(config_dir, tmp_path):
    bad = tmp_path / "mou_configs"
    shutil.copytree(config_dir, bad)
    fenland = bad / "providers" / "fenland.yaml"
    fenland.write_text(fenland.read_text() + "contact: Jo Bloggs\n")
    with pytest.raises(ConfigError, match=r"fenland.yaml:\d+: contact: .*not an email address"):
        load_scheme(bad)


# -- email, through a real SMTP server on localhost -------------------------------------------------

class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_packs_are_sent_to_each_members_contact(at80, db, config_dir, planted_scheme, week, tmp_path,
                                                 smtp_server):
    controller, inbox = smtp_server
    env = {"RECIPROCAL_SMTP_HOST": "127.0.0.1", "RECIPROCAL_SMTP_PORT": str(controller.port),
           "RECIPROCAL_SMTP_FROM": "coordinator@scheme.example.org.uk"}
    proc = _run(at80, ["pack", "--to", str(tmp_path / "p"), "--on", "2026-11-26", "--send", "--for-provider", "fenland",
                 "--for-provider", "cambridge_city", "--for-provider", "peterborough_city"],
                db, config_dir, tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-3:] == [
        f"cambridge_city: sent to {contact('cambridge_city')}", "fenland: not sent: no contact address",
        f"peterborough_city: sent to {contact('peterborough_city')}"]
    assert sorted(to for to, _ in inbox.messages) == [[contact("cambridge_city")], [contact("peterborough_city")]]
    requests = {r.ref: r for r in listing.list_requests(db, None)}
    for (to,), content in inbox.messages:
        message = email.message_from_bytes(content, policy=policy.default)
        member = "cambridge_city" if to == contact("cambridge_city") else "peterborough_city"
        assert message["To"] == to and message["From"] == env["RECIPROCAL_SMTP_FROM"]
        body = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        own = packs.member_pack(db, planted_scheme, member, PACK_DAY)
        for ref in [p["request"] for p in own["proposals"]] + [r["request"] for r in own["requests"]]:
            assert ref in body and ref in html, (member, ref)
        for ref, r in requests.items():
            if r.provider != member:
                for area in planted(ref):
                    assert area not in body and area not in html, (member, ref)
        # The answers workbook rides along, and the body says how to answer in it.
        assert "## How to answer" in body and f"{member}-2026-11-26.xlsx" in body
        (attached,) = list(message.iter_attachments())
        assert attached.get_filename() == f"{member}-2026-11-26.xlsx"
        from openpyxl import load_workbook
        import io
        sent = load_workbook(io.BytesIO(attached.get_content()))
        kept = load_workbook(tmp_path / "p" / f"{member}-2026-11-26.xlsx")
        assert [[c.value for row in sh.iter_rows() for c in row] for sh in sent.worksheets] == \
            [[c.value for row in sh.iter_rows() for c in row] for sh in kept.worksheets]
    cambridge = next(c for (to,), c in inbox.messages if to == contact("cambridge_city"))
    assert b"OF-2611-02" not in cambridge and b"RQ-0111" in cambridge


def test_a_mail_server_that_cannot_be_reached_is_a_clear_error(at80, db, config_dir, week, tmp_path):
    env = {"RECIPROCAL_SMTP_HOST": "127.0.0.1", "RECIPROCAL_SMTP_PORT": str(_free_port()),
           "RECIPROCAL_SMTP_FROM": "coordinator@scheme.example.org.uk", "RECIPROCAL_SMTP_USER": "coordinator",
           "RECIPROCAL_SMTP_PASSWORD": SECRET}
    proc = _run(at80, ["pack", "--to", str(tmp_path / "p"), "--on", "2026-11-26", "--send", "--for-provider",
                 "cambridge_city"], db, config_dir, tmp_path, env)
    assert proc.returncode == 8
    assert proc.stderr.strip() == (f"cannot send packs through 127.0.0.1:{env['RECIPROCAL_SMTP_PORT']}: "
                                   f"connection refused; nothing was sent")
    assert SECRET not in proc.stdout + proc.stderr


def test_smtp_settings_name_every_problem():
    with pytest.raises(InputFileError) as caught:
        pack_email.SmtpSettings.from_env({"RECIPROCAL_SMTP_PORT": "smtp", "RECIPROCAL_SMTP_PASSWORD": SECRET})
    text = caught.value.message
    assert all(v in text for v in ("RECIPROCAL_SMTP_HOST", "RECIPROCAL_SMTP_FROM", "RECIPROCAL_SMTP_PORT",
                                   "RECIPROCAL_SMTP_USER"))
    assert SECRET not in text and SECRET not in repr(pack_email.SmtpSettings("h", 25, "a@b.uk", "u", SECRET))


def test_a_line_break_in_the_smtp_host_is_refused_never_printed():
    """Issue 20 item 14: a newline in RECIPROCAL_SMTP_HOST was printed raw (a forged line)."""
    with pytest.raises(InputFileError) as caught:
        pack_email.SmtpSettings.from_env({"RECIPROCAL_SMTP_HOST": "mail.example.org\nInjected: a line",
                                          "RECIPROCAL_SMTP_FROM": "coordinator@scheme.example.org.uk"})
    assert [str(p) for p in caught.value.problems] == [
        "RECIPROCAL_SMTP_HOST: is not a host name (letters, digits, . - and : only; no spaces or line breaks)"]
    assert "Injected" not in caught.value.message


def test_packs_read_once_equal_each_members_own_reading(db, planted_scheme, week):
    """`packs` reads the week once for every member (circulation, audit, proposals); each pack
    must be exactly what that member's pack reads on its own."""
    together = packs.packs(db, planted_scheme, PACK_DAY)
    assert len(together) > 3
    for pack in together:
        assert pack == packs.member_pack(db, planted_scheme, pack["member"], PACK_DAY)
    # and the circulation list is `circulate --for-provider`'s
    for pack in together:
        assert pack["circulation"] == circulate(db, planted_scheme, PACK_DAY,
                                                for_provider=pack["member"])["member"]["requests"]
