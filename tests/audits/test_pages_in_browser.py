"""Every page the product writes, opened in a real browser (headless Chromium, tests/browser.py).

The audit's HTML report, a member's pack and the simulation report, each at a desktop size
(1280x800) and a phone's (390x844): no sideways scrolling, every chart drawn with a size and its
labels inside the page and the chart, no request leaving the page, nothing in the console. The
screenshots are kept in the run's folder (`screenshots/` under pytest's base temporary folder;
`make test` copies them to `test-screenshots/`) for a person to look at.

The checks are generic over "a page file": a new page joins by adding one entry to `PAGES`.
Skipped, with the reason, where no Chromium is installed; `make test` installs Debian's `chromium`
(scripts/test-browser) and says loudly at the end of the run when it could not.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from reciprocal import audits
from reciprocal.audits.html import fairness_html
from reciprocal.audits.packs import pack_html, packs
from tests.browser import CHROMIUM, look
from tests.history import ROUND_2, build_history

SIZES = [(1280, 800), (390, 844)]
PAGES = ["audit", "pack", "simulation"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: `make test` installs Debian's "
                                                         "`chromium` (scripts/test-browser)")


@pytest.fixture(scope="module")
def page_files(tmp_path_factory, scheme) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    db = build_history(folder / "history.db", scheme)
    report = audits.fairness(db, scheme, today=ROUND_2)
    # The member with the most to show: proposals on both sides and a long circulation list.
    built = max(packs(db, scheme, ROUND_2), key=lambda p: (len(p["proposals"]), len(p["circulation"])))
    from reciprocal.simulation.compare import compare
    from reciprocal.simulation_report import write_html
    result = compare(scheme, "stress", seeds=3, weeks=26)
    files = {"audit": folder / "audit.html", "pack": folder / "pack.html"}
    files["audit"].write_text(fairness_html(report), encoding="utf-8")
    files["pack"].write_text(pack_html(built), encoding="utf-8")
    files["simulation"] = write_html(result, folder / "simulation.html")
    return files


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.mark.parametrize("width,height", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("name", PAGES)
def test_the_page_reads_in_a_real_browser(page_files, screenshots, name, width, height):
    page = page_files[name]
    shot = screenshots / f"{name}-{width}x{height}.png"
    seen = look(page, width, height, shot)
    assert seen.problems(page.resolve().as_uri()) == [], shot
    assert shot.stat().st_size > 5_000
    if name != "pack":
        assert seen.measured["charts"], "a report without a chart"


def test_the_checks_can_fail(tmp_path, screenshots):
    """A page with each fault the checks look for: each is found and named."""
    page = tmp_path / "faulty.html"
    page.write_text(
        "<!doctype html><html><body>"
        '<table style="width:2000px"><tr><td>too wide</td></tr></table>'
        '<svg width="0" height="0"><rect width="5" height="5"/></svg>'
        '<svg width="100" height="50"><rect width="5" height="5"/><text x="60" y="20">cut off by the edge</text></svg>'
        '<img src="http://pixel.invalid/p.png">'
        "<script>console.error('broken')</script>"
        "</body></html>", encoding="utf-8")
    found = look(page, 390, 844, screenshots / "faulty-390x844.png").problems(page.resolve().as_uri())
    text = "\n".join(found)
    for expected in ("scrolls sideways at 390px", "chart 0 ('') is not drawn", "label 'cut off by the edge' is cut",
                     "a request leaves the page: http://pixel.invalid/p.png", "console: error: broken"):
        assert expected in text, text
