"""Open a report of a real site run and a plan in headless Chromium: every chart drawn, no
console error, the plan's summary paragraph first, every scatter point named, no chart text
cut by its SVG.

Talks to Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on fd 3,
replies and events on fd 4, NUL-separated JSON), so no port is opened. The screenshot is kept in
tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_report import STORY, write_synthetic_plan

from planner.results.folders import read_run, write_site_run
from planner.results.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


@dataclass
class Page:
    """What the browser saw: console and log errors, exceptions, and evaluated values."""

    errors: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    screenshot_png: bytes = b""


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int):
        self.proc, self.out, self.inp = proc, to_browser, from_browser
        self.next_id, self.buffer, self.events = 0, b"", []  # type: ignore[var-annotated]

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.inp], [], [], remaining)[0]:
                raise TimeoutError("Chromium did not answer over the DevTools pipe")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 30
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read_message(deadline))


def page_errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and browser log errors among DevTools events."""
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"]["text"])
    return errors


def open_page(url: str, expressions: dict[str, str]) -> Page:
    """Load `url` in headless Chromium, evaluate `expressions`, collect errors and a screenshot."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run .ci/ensure-chromium (it installs Debian's chromium) "
            "and run the tests again."
        )
    commands_r, commands_w = os.pipe()
    replies_r, replies_w = os.pipe()

    def wire_fds() -> None:  # Chromium reads commands on fd 3 and writes replies to fd 4
        os.dup2(commands_r, 3)
        os.dup2(replies_w, 4)
        for fd in (3, 4):  # dup2 onto itself (a pipe that already is fd 3) keeps close-on-exec
            os.set_inheritable(fd, True)

    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds,
            close_fds=False,
        )
        os.close(commands_r)
        os.close(replies_w)
        tools = DevTools(proc, commands_w, replies_r)
        try:
            return _inspect(tools, url, expressions)
        finally:
            with contextlib.suppress(RuntimeError, TimeoutError, OSError):
                tools.call("Browser.close")
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(commands_w)
            os.close(replies_r)


def _inspect(tools: DevTools, url: str, expressions: dict[str, str]) -> Page:
    targets = tools.call("Target.getTargets")["targetInfos"]
    page_target = next(t["targetId"] for t in targets if t["type"] == "page")
    session = tools.call("Target.attachToTarget", targetId=page_target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        tools.call(f"{domain}.enable", session)
    tools.call(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=1100,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    tools.events.clear()
    tools.call("Page.navigate", session, url=url)
    tools.wait_for("Page.loadEventFired")
    page = Page()
    for name, expression in expressions.items():
        result = tools.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        page.results[name] = result["result"].get("value")
    shot = tools.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
    page.screenshot_png = base64.b64decode(shot["data"])
    page.errors = page_errors(tools.events)
    return page


CHARTS_JS = """
Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : null;
  return {id: f.dataset.chart, width: box ? box.width : 0,
          marks: svg ? svg.querySelectorAll('rect.bar, polyline, circle').length : 0};
})
"""


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of a real site run (the Greensboro example, 4 representative days) and a plan."""
    from planner.sites.site import load_site, parse_hours
    from planner.sites.sizing import size_site

    root = tmp_path_factory.mktemp("runs")
    site_yaml = Path(__file__).parents[1] / "scenarios/sites/north_carolina_greensboro.yaml"
    site_run = write_site_run(size_site(load_site(site_yaml), parse_hours("rep:4")), root=root)
    plan_run = write_synthetic_plan(root)
    return write_report([read_run(site_run), read_run(plan_run)], root / "report.html")


SUMMARY_JS = """
Array.from(document.querySelectorAll('#summary p.story, #summary ul.idle-sites li')).map(e => {
  const box = e.getBoundingClientRect();
  return {kind: e.tagName, text: e.textContent, height: box.height};
})
"""
# Per scatter: each point's label (matched by data-point), its box relative to the svg, whether
# it is drawn at all, and the dots' boxes.
POINT_LABELS_JS = """
Array.from(document.querySelectorAll('figure.chart svg')).filter(svg =>
  svg.querySelector('circle.point')).map(svg => {
  const o = svg.getBoundingClientRect();
  const rel = r => ({left: r.left - o.left, top: r.top - o.top, right: r.right - o.left,
                     bottom: r.bottom - o.top});
  const points = Array.from(svg.querySelectorAll('circle.point'));
  return {chart: svg.closest('figure').dataset.chart, width: o.width, height: o.height,
    dots: points.map(c => rel(c.getBoundingClientRect())),
    labels: points.map(c => {
      const t = svg.querySelector('text.point-label[data-point="' + c.dataset.point + '"]');
      if (!t) return null;
      const st = getComputedStyle(t);
      return {text: t.textContent, name: c.querySelector('title').textContent.split(' (')[0],
        drawn: st.visibility === 'visible' && st.display !== 'none' && +st.opacity > 0
               && parseFloat(st.fontSize) >= 10,
        ...rel(t.getBoundingClientRect())};
    })};
})
"""
# Every non-empty text of every chart whose box leaves its svg's viewport by more than 0.5 px.
CLIPPED_JS = """
Array.from(document.querySelectorAll('figure.chart svg')).flatMap(svg => {
  const o = svg.getBoundingClientRect();
  return Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim()).map(t => {
    const r = t.getBoundingClientRect();
    return {chart: svg.closest('figure').dataset.chart, text: t.textContent,
            out: Math.max(o.left - r.left, o.top - r.top, r.right - o.right, r.bottom - o.bottom)};
  }).filter(e => e.out > 0.5);
})
"""
TEXT_COUNT_JS = "document.querySelectorAll('figure.chart svg text').length"


@pytest.fixture(scope="module")
def page(report_path: Path) -> Iterator[Page]:
    seen = open_page(
        report_path.as_uri(),
        {
            "charts": CHARTS_JS,
            "title": "document.title",
            "links_out": "Array.from(document.querySelectorAll('link,script,img,iframe')).length",
            "summary": SUMMARY_JS,
            "point_labels": POINT_LABELS_JS,
            "clipped": CLIPPED_JS,
            "texts": TEXT_COUNT_JS,
        },
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report_site_and_plan.png").write_bytes(seen.screenshot_png)
    yield seen


def test_every_chart_is_drawn(page: Page) -> None:
    charts = {c["id"]: c for c in page.results["charts"]}
    expected = {
        "costs-0",
        "sizes",
        "r0-dispatch",
        "r0-soc",
        "r1-fleet",
        "r1-it_capacity_mw",
        "r1-battery_mwh",
        "r1-spend",
        "r1-cost-per-mtok",
        "r1-parts",
        "r1-shadow-prices",
        "r1-plan-dispatch",
        "r1-plan-soc",
    }
    assert set(charts) == expected
    for chart in charts.values():
        assert chart["width"] > 500 and chart["marks"] > 0, chart
    assert charts["r0-dispatch"]["marks"] > 96  # 4 days x 24 h of grid import at least


def test_the_plan_opens_with_its_summary_in_words(page: Page) -> None:
    story, idle = page.results["summary"]
    assert story["kind"] == "P" and story["text"] == "B plan-demo. " + STORY
    assert story["height"] > 40  # drawn, several lines of it
    assert idle["kind"] == "LI" and idle["text"].startswith("jb builds nothing: it has no grid")


def _overlap(a: dict[str, float], b: dict[str, float]) -> float:
    w = min(a["right"], b["right"]) - max(a["left"], b["left"])
    h = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return max(w, 0.0) * max(h, 0.0)


def test_every_scatter_point_has_a_visible_label_of_its_own(page: Page) -> None:
    (chart,) = page.results["point_labels"]
    assert chart["chart"] == "r1-parts" and len(chart["labels"]) == 8
    for label in chart["labels"]:
        assert label is not None and label["drawn"] and label["text"] == label["name"]
        assert label["right"] - label["left"] > 10
        assert label["left"] >= 0 and label["top"] >= 0
        assert label["right"] <= chart["width"] and label["bottom"] <= chart["height"]
    labels = chart["labels"]
    for i, label in enumerate(labels):  # as drawn: no label on another, none over a dot
        assert all(_overlap(label, other) < 1.0 for other in labels[i + 1 :]), label
        assert all(_overlap(label, dot) < 1.0 for dot in chart["dots"]), label


def test_no_chart_text_is_cut_by_its_svg(page: Page) -> None:
    assert page.results["texts"] > 100  # tick, legend, bar and point labels were all looked at
    assert page.results["clipped"] == []


def test_no_console_errors_and_nothing_external(page: Page) -> None:
    assert page.errors == []
    assert page.results["links_out"] == 0  # no stylesheet, script, image or frame to fetch
    assert page.results["title"].startswith("report: north-carolina-greensboro")


def test_screenshot_is_kept(page: Page) -> None:
    shot = ARTIFACTS / "report_site_and_plan.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_error_collector_does_catch_a_console_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><script>console.error('boom');"
        "undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    seen = open_page(bad.as_uri(), {})
    assert any("boom" in e for e in seen.errors)
    assert any("undefinedFunction" in e for e in seen.errors)
