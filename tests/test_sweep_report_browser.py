"""Open a sweep report in headless Chromium: tornado and histograms drawn, no console error,
nothing fetched. The screenshot is kept in tests/artifacts/ (git-ignored) for a person to see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_report_browser import ARTIFACTS, CHARTS_JS, Page, open_page
from test_sweep_summary import write_sweep_folder

from planner.sweeps.report import write_sweep_report
from planner.sweeps.summary import load_sweep


@pytest.fixture(scope="module")
def sweep_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 x 2 x 2 grid (growth, battery price, regime) with one failed case; the cost is a
    known function of the parameters so every tornado bar has a length."""
    cases = []
    for growth in (0.5, 1.0, 2.0):
        for price in (150.0, 300.0):
            for regime, uplift in (("us-2025-04", 1.4), ("us-2025-08", 1.0)):
                cases.append(
                    {
                        "demand.growth": growth,
                        "battery.price_per_kwh": price,
                        "regime": regime,
                        "cost_per_million_served_tokens": (10 + 4 * growth + price / 100) * uplift,
                        "net_present_cost": 1e8 * growth * uplift,
                        "it_mw": 20 * growth,
                        "unserved_tokens": 1e9 * (price / 150 - 1),
                        "battery_mwh": 600 / price,
                    }
                )
    params = ("demand.growth", "battery.price_per_kwh", "regime")
    cases[-1] = {k: cases[-1][k] for k in params}  # a failed case has no results
    cases[-1] |= {"status": "failed", "error": "KilledWorker: <worker> lost"}
    folder = write_sweep_folder(
        tmp_path_factory.mktemp("sweep") / "grid",
        cases,
        list(params),
    )
    return write_sweep_report(load_sweep(folder), folder / "report.html")


@pytest.fixture(scope="module")
def page(sweep_report: Path) -> Iterator[Page]:
    seen = open_page(
        sweep_report.as_uri(),
        {
            "charts": CHARTS_JS,
            "title": "document.title",
            "links_out": "Array.from(document.querySelectorAll('link,script,img,iframe')).length",
            "tornado_bars": "document.querySelectorAll('#chart-sweep-tornado rect.bar').length",
            "cases": "document.querySelectorAll('section.sweep table')[2].rows.length",
        },
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report_sweep.png").write_bytes(seen.screenshot_png)
    yield seen


def test_tornado_and_histograms_are_drawn(page: Page) -> None:
    charts = {c["id"]: c for c in page.results["charts"]}
    assert set(charts) == {
        "sweep-tornado",
        "sweep-hist-cost_per_million_served_tokens",
        "sweep-hist-it_mw",
        "sweep-hist-unserved_tokens",
    }
    for chart in charts.values():
        assert chart["width"] > 500 and chart["marks"] > 0, chart
    assert page.results["tornado_bars"] == 3 * 2  # a low and a high bar per parameter


def test_no_console_errors_and_nothing_external(page: Page) -> None:
    assert page.errors == []
    assert page.results["links_out"] == 0
    assert page.results["title"] == "sweep report: hand-made"
    assert page.results["cases"] == 1 + 12  # header and every case, the failed one included


def test_screenshot_is_kept(page: Page) -> None:
    shot = ARTIFACTS / "report_sweep.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
