"""A real browser for the render tests: Debian's headless Chromium, driven over the DevTools protocol.

The protocol goes over a pipe (`--remote-debugging-pipe`: Chromium reads commands from fd 3 and
writes answers to fd 4, each a JSON object ended by a NUL byte), so no WebSocket client and no
browser download is needed: the `chromium` package (`make test` installs it) is all there is.

`look(page_file, width, height, shot)` opens one page file at one viewport size and returns what a
person would see, measured: the page's width against the viewport's (horizontal scrolling), every
chart's drawn size and its labels' boxes, every request the page made, every console message or
script error, and a screenshot of the whole page written to `shot`.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-pipe",
         # No name resolves: a page that asks for anything outside itself is seen asking, and never
         # reaches out.
         "--host-resolver-rules=MAP * ~NOTFOUND"]
# A stuck browser fails the test rather than hanging the run.
TIMEOUT_SECONDS = 60
# The tallest screenshot kept (a page longer than this is cut there in the picture only).
MAX_SHOT_HEIGHT = 12000

# Run in the page once loaded: what a person would see, as numbers.
MEASURE = """(() => {
  const box = r => ({left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX,
                     bottom: r.bottom + scrollY, width: r.width, height: r.height});
  const doc = document.documentElement;
  const charts = [...document.querySelectorAll('svg')].filter(s => !s.parentElement.closest('svg'));
  return {
    viewport: innerWidth, page_width: doc.scrollWidth, page_height: doc.scrollHeight,
    charts: charts.map((svg, i) => ({
      index: i, title: (svg.querySelector('title') || {}).textContent || '',
      box: box(svg.getBoundingClientRect()),
      drawn: svg.querySelectorAll('path, line, polyline, rect, circle, polygon').length,
      labels: [...svg.querySelectorAll('text')].filter(t => t.textContent.trim())
                .map(t => ({text: t.textContent.trim().slice(0, 40), box: box(t.getBoundingClientRect())})),
    })),
    too_wide: [...document.body.querySelectorAll('*')]
      .filter(e => e.getBoundingClientRect().right > WIDTH + 0.5 && !e.closest('svg'))
      .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')),
  };
})()"""


@dataclass
class Look:
    """One page at one viewport size, as the browser drew it."""

    width: int
    height: int
    measured: dict
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console: list[str] = field(default_factory=list)  # console messages, log errors, script errors

    def problems(self, page_url: str) -> list[str]:
        """What a person would find wrong, in words; empty when the page is right."""
        # On a phone the browser widens its layout to fit a page too wide (and shrinks the text to
        # match), so the page is held to the size asked for, not to the browser's `innerWidth`.
        m, found, viewport = self.measured, [], self.width
        if m["page_width"] > viewport or m["viewport"] > viewport:
            found.append(f"scrolls sideways at {self.width}px: the page is {m['page_width']}px wide "
                         f"(widest: {', '.join(m['too_wide'])})")
        for chart in m["charts"]:
            b, name = chart["box"], f"chart {chart['index']} ({chart['title'][:40]!r})"
            if b["width"] < 1 or b["height"] < 1 or chart["drawn"] == 0:
                found.append(f"{name} is not drawn ({b['width']:.0f}x{b['height']:.0f}, {chart['drawn']} shapes)")
            for label in chart["labels"]:
                lb = label["box"]
                if lb["width"] == 0:
                    continue
                if lb["left"] < -0.5 or lb["right"] > viewport + 0.5:
                    found.append(f"{name}: label {label['text']!r} is outside the page "
                                 f"({lb['left']:.0f} to {lb['right']:.0f}px of {viewport})")
                elif lb["left"] < b["left"] - 1 or lb["right"] > b["right"] + 1 \
                        or lb["top"] < b["top"] - 1 or lb["bottom"] > b["bottom"] + 1:
                    found.append(f"{name}: label {label['text']!r} is cut by its chart's edge")
        found += [f"a request leaves the page: {url[:120]}" for url in self.requests
                  if url != page_url and not url.startswith("data:")]
        found += [f"console: {text[:200]}" for text in self.console]
        return found


class _Pipe:
    """The DevTools protocol over Chromium's pipe: send a command, read until its answer,
    keeping every event seen on the way."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int):
        self.proc, self.write_fd, self.read_fd = proc, to_browser, from_browser
        self.buffer, self.next_id, self.events = b"", 0, []

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self) -> dict:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise RuntimeError(f"the browser closed the pipe (exit {self.proc.poll()})")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)


def look(page: Path, width: int, height: int, shot: Path) -> Look:
    """Open `page` (a file) in a fresh headless Chromium at `width`x`height`; measure; screenshot."""
    assert CHROMIUM is not None, "no Chromium: `make test` installs Debian's `chromium`"
    browser_in, we_write = os.pipe()  # Chromium reads its commands on its fd 3
    we_read, browser_out = os.pipe()  # and writes its answers on its fd 4

    def onto_3_and_4():
        a, b = os.dup(browser_in), os.dup(browser_out)  # out of the way of 3 and 4 first
        os.dup2(a, 3)
        os.dup2(b, 4)

    with tempfile.TemporaryDirectory(prefix="profile-") as profile:
        proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=onto_3_and_4)
        os.close(browser_in)
        os.close(browser_out)
        pipe = _Pipe(proc, we_write, we_read)
        try:
            return _look(pipe, page, width, height, shot)
        finally:
            try:
                pipe.call("Browser.close")
            except Exception:  # noqa: BLE001 - closing a browser that already went is fine
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(we_write)
            os.close(we_read)


def _look(pipe: _Pipe, page: Path, width: int, height: int, shot: Path) -> Look:
    target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
    session = pipe.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Network", "Runtime", "Log"):
        pipe.call(f"{domain}.enable", session)
    pipe.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
              deviceScaleFactor=1, mobile=width < 600)
    url = page.resolve().as_uri()
    pipe.events.clear()
    pipe.call("Page.navigate", session, url=url)
    pipe.wait_for("Page.loadEventFired")
    measured = pipe.call("Runtime.evaluate", session, expression=MEASURE.replace("WIDTH", str(width)), returnByValue=True)["result"]["value"]
    full = min(int(measured["page_height"]), MAX_SHOT_HEIGHT)
    picture = pipe.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": width, "height": full, "scale": 1})
    shot.write_bytes(base64.b64decode(picture["data"]))
    seen = Look(width, height, measured)
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            seen.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled":
            seen.console.append(f"{params['type']}: " + " ".join(str(a.get("value", a.get("description", "")))
                                                                 for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            seen.console.append(f"script error: {params['exceptionDetails'].get('text', '')}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            seen.console.append(f"{entry['level']}: {entry.get('text', '')} {entry.get('url', '')}".strip())
    return seen
