"""Lists of members stay readable at any size (issue 13): when more members have a circulation
list than --limit, the coordinator sees one line a member, and the requests no member could serve
are cut at the limit too; `ledger show` cuts at the limit, most owing first; --all and JSON still
give everything."""
from __future__ import annotations

import json

import pytest

from tests.conftest import DEMO_DATA, copy_database, drop_database
from tests.helpers import reciprocal, reciprocal_many


@pytest.fixture(scope="module")
def shown(tmp_path_factory, db_template):
    work = tmp_path_factory.mktemp("circulate")
    db = copy_database(db_template, work)
    for args in (("offer", "import", str(DEMO_DATA / "offers.csv")),
                 ("request", "import", str(DEMO_DATA / "requests.csv"))):
        assert reciprocal(*args, db=db, cwd=work).returncode == 0
    on = ("--on", "2026-11-23")
    runs = reciprocal_many([("circulate", *on, "--format", "json"), ("circulate", *on, "--limit", "2"),
                            ("circulate", *on, "--limit", "2", "--all"), ("circulate", *on),
                            ("ledger", "show", "--limit", "3"), ("ledger", "show", "--format", "json")],
                           db=db, cwd=work)
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    yield {"json": json.loads(runs[0].stdout), "short": runs[1].stdout, "all": runs[2].stdout,
           "default": runs[3].stdout, "ledger": runs[4].stdout, "balances": json.loads(runs[5].stdout)}
    drop_database(db)


def test_more_members_than_the_limit_print_one_line_a_member(shown):
    waiting = [m for m in shown["json"]["members"] if m["requests"]]
    assert len(waiting) > 2  # the demo week has lists for several members
    text = shown["short"]
    assert f"{len(waiting)} member(s) could serve" in text
    first, second = waiting[0], waiting[1]
    # those that owe the scheme first, each with its count of households
    assert text.index(first["member"]) < text.index(second["member"])
    assert f"... and {len(waiting) - 2} more" in text
    assert not any(m["member"] in text for m in waiting[2:])
    # no household's list in the summary
    assert "safe areas" not in text
    assert len(text.splitlines()) < 25


def test_all_and_few_members_keep_each_members_list(shown):
    waiting = [m for m in shown["json"]["members"] if m["requests"]]
    for text in (shown["all"],) + ((shown["default"],) if len(waiting) <= 20 else ()):
        for m in waiting:
            assert f"({m['member']}): " in text
            assert all(r["request"] in text for r in m["requests"][:2])


def test_ledger_show_cuts_at_the_limit_most_owing_first(shown):
    members = shown["balances"]["providers"]
    assert len(members) > 3
    text = shown["ledger"]
    assert "most owing first" in text
    assert f"... and {len(members) - 3} more" in text
    first = sorted(members, key=lambda p: (p["balance"], p["provider"]))[:3]
    assert all(p["provider"] in text for p in first)
    assert "Sum of balances: 0" in text


def test_a_round_page_reads_only_the_explanations_it_shows(tmp_path_factory, db_template, scheme):
    """`round run` and `round show` decode the explanations of the proposals a page shows, not of
    every proposal (issue 24: half of reading a national round): the page is the same as from the
    whole view, and the first proposals alone carry their explanation."""
    from reciprocal.lifecycle import run, views
    from reciprocal.storage import Database, Reader, resolve_url
    from cli import render
    from tests.history import ROUND_1
    work = tmp_path_factory.mktemp("page")
    db_url = copy_database(db_template, work)
    for args in (("offer", "import", str(DEMO_DATA / "offers.csv")),
                 ("request", "import", str(DEMO_DATA / "requests.csv"), "--on", ROUND_1.isoformat())):
        assert reciprocal(*args, db=db_url, cwd=work).returncode == 0
    db = Database(resolve_url(str(db_url)))
    round_id = run.run_round(db, scheme, ROUND_1).round_id
    whole = views.round_view(Reader(db.url), round_id)
    assert len(whole["proposals"]) > 3
    for shown in (1, 3):
        part = views.round_view(Reader(db.url), round_id, explained=shown)
        assert [bool(p.get("reasons")) for p in part["proposals"]] == [k < shown for k in range(len(part["proposals"]))]
        pages = []
        for view in (whole, part):
            with render.out.capture() as page:
                render.round_view(view, shown)
            pages.append(page.get())
        assert pages[0] == pages[1] and "RQ-" in pages[0]
    db.engine.dispose()
    drop_database(db_url)
