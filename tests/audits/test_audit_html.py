"""The HTML fairness report: one self-contained file whose charts a real browser draws.

The headless-browser test renders the report with Chromium and counts the pixels painted in the
charts' colours, against renders of the same page without its charts: blank or missing charts fail.
Skipped, with the reason, where Chromium is not installed (`apt-get install chromium`); the same
check by hand is in docs/audits.md.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from reciprocal import audits
from reciprocal.audits.html import fairness_html, moves_matrix_svg
from reciprocal import charts
from reciprocal.charts import PALETTE

from tests.history import ROUND_2, build_history

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
HEIGHT = 4000  # the whole report, matrix included
# Orange, green and vermilion of the charts' palette, at the lines' 85% opacity on white.
LINE_COLOURS = [tuple(round(0.85 * int(c[i:i + 2], 16) + 0.15 * 255) for i in (1, 3, 5))
                for c in PALETTE[1:4]]


@pytest.fixture(scope="module")
def report(tmp_path_factory, scheme) -> dict:
    db = build_history(tmp_path_factory.mktemp("html") / "history.db", scheme)
    return audits.fairness(db, scheme, today=ROUND_2)


def test_the_report_is_one_self_contained_file(report):
    html = fairness_html(report)
    assert html.startswith("<!doctype html>")
    for fetch in ("<script", "src=", "href=", "url(", "@import", "<link", "<iframe", "<img"):
        assert fetch not in html.lower(), fetch
    # The only URL is the SVG namespace, which is a name, not a request.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    # Of 16 members, the 12 that matter get a balance chart; then the moves matrix.
    assert html.count("<svg") == 12 + 1
    assert html.count("<polyline") >= 12
    assert "The other 4 are not drawn: their balance stayed within &plusmn;" in html
    assert "Post-move checklist: 26 item(s) outstanding" in html


def test_report_text_is_escaped(report):
    hostile = {**report, "scheme_name": "<b>Scheme</b> & co", "notes": ["<script>alert(1)</script>"]}
    html = fairness_html(hostile)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;Scheme&lt;/b&gt; &amp; co" in html


def test_the_matrix_counts_moves_between_providers():
    svg = moves_matrix_svg([{"from_provider": "a", "to_provider": "b", "moves": 3}], ["a", "b"], ["a", "b"])
    assert "<title>a to b: 3</title>" in svg and svg.count(">3</text>") == 1


@pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: install Debian's `chromium` to "
                                             "render the report (see docs/audits.md for the manual check)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    html = fairness_html(report)
    without_lines = re.sub(r'<div class="grid">.*?</div>', "", html, flags=re.S)
    without_charts = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    pages = {"full": html, "matrix_only": without_lines, "no_charts": without_charts}
    counts = dict(zip(pages, render_all(pages, tmp_path)))
    # The balance charts' lines: colours painted by nothing else on the page.
    assert counts["full"][0] > 1500 and counts["matrix_only"][0] == counts["no_charts"][0] == 0, counts
    # The matrix's shaded cells: blue that the page without charts does not have.
    assert counts["matrix_only"][1] - counts["no_charts"][1] > 2000, counts
    assert counts["full"][1] > counts["matrix_only"][1], counts  # the blue lines add more


def render_all(pages: dict[str, str], tmp_path: Path) -> list[tuple[int, int]]:
    procs = []
    for name, html in pages.items():
        page = tmp_path / f"{name}.html"
        page.write_text(html, encoding="utf-8")
        png = tmp_path / f"{name}.png"
        procs.append((png, subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / ('profile-' + name)}", f"--screenshot={png}",
             f"--window-size=1200,{HEIGHT}", page.as_uri()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    out = []
    for png, proc in procs:
        assert proc.wait(timeout=120) == 0
        assert png.exists() and png.stat().st_size > 10_000, png
        width, height, pixels = decode_png(png.read_bytes())
        assert (width, height) == (1200, HEIGHT)
        out.append(colour_counts(pixels))
    return out


def colour_counts(pixels: np.ndarray) -> tuple[int, int]:
    """(pixels in the balance lines' orange, green or vermilion, pixels tinted blue).

    Lines are drawn at 85% opacity on white, so their colours are looked for blended so. Nothing
    else on the page uses them: text and axes are grey, the debt-limit lines dark red, the tables'
    "yes" a darker green, the matrix's cells blue. The tables are on every page rendered, so only
    differences between renders are compared."""
    rgb = pixels.astype(np.int16)
    line = np.zeros(rgb.shape[:2], dtype=bool)
    for colour in LINE_COLOURS:
        line |= np.abs(rgb - np.array(colour, dtype=np.int16)).sum(axis=-1) < 60
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    blue = (rgb.max(axis=-1) - rgb.min(axis=-1) >= 60) & (b > r + 25) & (b >= g)
    return int(line.sum()), int(blue.sum())


def decode_png(data: bytes) -> tuple[int, int, np.ndarray]:
    """A minimal PNG reader (8-bit RGB or RGBA, not interlaced: what Chromium writes), returning
    a height x width x 3 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    n = 3 if colour == 2 else 4
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * n + 1)
    out = np.zeros((height, width * n), dtype=np.uint8)
    prev = np.zeros(width * n, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 1:  # Sub: a running sum along each channel
            line = np.cumsum(line.reshape(width, n), axis=0).reshape(-1)
        elif kind == 2:  # Up
            line = line + prev
        elif kind in (3, 4):  # Average, Paeth: each byte needs the one before it decoded
            line = _unfilter_sequential(kind, line, prev, n)
        line &= 0xFF
        out[y] = line
        prev = line
    return width, height, out.reshape(height, width, n)[..., :3]


def _unfilter_sequential(kind: int, line: np.ndarray, prev: np.ndarray, n: int) -> np.ndarray:
    cur, up = line.tolist(), prev.tolist()
    for i in range(len(cur)):
        a = cur[i - n] if i >= n else 0
        b = up[i]
        if kind == 3:
            cur[i] = (cur[i] + (a + b) // 2) & 0xFF
        else:
            c = up[i - n] if i >= n else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return np.array(cur, dtype=np.int32)


def test_the_report_speaks_the_boards_words(report):
    html = fairness_html(report)
    # Dates on the time axis, and the period the page states in the charts' heading.
    period = report["period"]
    assert f"<h2>Balance per member, {period['since']} to {period['until']}</h2>" in html
    assert ">23 Nov</text>" in html or ">24 Nov</text>" in html
    assert "days from" not in html
    # Plain words first, the technical name in small print.
    assert ('how unevenly homes given match households housed (0: each member gives as much as it '
            'receives; 1: the givers and the receivers are different members) '
            '<span class="tech">(gini_givings_vs_receivings)</span>') in html
    assert "gini givings vs receivings" not in html
    # An empty cell says so.
    assert '<td class="none">none</td>' in html
    assert "<td></td>" not in html and "&ndash;" not in html


def test_the_members_that_matter_are_drawn_when_there_are_many():
    series = {f"m{k:02d}": [0, (k % 3) - 1, 0] for k in range(80)}
    series["m50"] = [0, -5, -6]  # past its limit of 3
    series["m60"] = [0, 4, 4]
    chosen = charts.members_that_matter(series, {name: 3 for name in series}, keep=12)
    assert len(chosen.shown) == 12 and {"m50", "m60"} <= set(chosen.shown)
    assert chosen.others == 68 and chosen.others_within == 1
    few = charts.members_that_matter({"a": [0], "b": [1]}, {}, keep=12)
    assert few.shown == ["a", "b"] and few.others == 0


def test_an_empty_report_says_there_is_nothing_to_draw(report):
    empty = {**report, "moves_between": [], "balance_history": {"dates": [], "providers": {}}}
    html = fairness_html(empty)
    assert "nothing to draw: no ledger entry in the period" in html
    assert "nothing to draw: no household moved between members in the period" in html
    assert "nothing to draw: no values" in charts.line_chart([charts.Series("a", [None, None])])
    assert "nothing to draw: nobody moved" in charts.histogram([], empty="nobody moved")
    assert "nothing to draw" in charts.box_plot({"a": [], "b": []})
