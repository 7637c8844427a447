"""The HTML report and its SVG chart functions, on synthetic tables with known geometry."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.results.charts import (
    bar_chart,
    bars_from_table,
    line_chart,
    nice_ticks,
)
from planner.results.dispatch_charts import representative_week
from planner.results.folders import Run, read_run, write_run
from planner.results.report import build_report, write_report
from planner.results.scatter_chart import Point, scatter_chart

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script>'


def svg_of(figure_html: str) -> ET.Element:
    """Parse the one <svg> of a chart figure (which must be well-formed XML)."""
    match = re.search(r"<svg.*?</svg>", figure_html, re.S)
    assert match is not None
    return ET.fromstring(match.group(0))


def rects(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]


def synthetic_plan_tables() -> dict[str, pd.DataFrame]:
    """A two-year, two-site plan with every table docs/results.md defines for charts."""
    return {
        "fleet": pd.DataFrame(
            {
                "year": [2027, 2027, 2028, 2028],
                "site": ["nc", "nc", "nc", "gd"],
                "part": ["h100", "h20", "h100", "ascend-910c"],
                "units_count": [1000.0, 500.0, 1500.0, 800.0],
            }
        ),
        "site_capacities": pd.DataFrame(
            {
                "year": [2027, 2027, 2028, 2028],
                "site": ["nc", "gd", "nc", "gd"],
                "it_capacity_mw": [50.0, 20.0, 80.0, 40.0],
                "battery_mwh": [100.0, 0.0, 200.0, 50.0],
            }
        ),
        "yearly": pd.DataFrame(
            {"year": [2027, 2028, 2029], "cost_per_million_tokens": [0.9, 0.7, 0.55]}
        ),
        "parts": pd.DataFrame(
            {
                "part": ["h100", "h20", "ascend-910c"],
                "tokens_per_joule": [5.0, 2.0, 1.5],
                "cost_per_million_tokens": [0.5, 0.8, 1.1],
                "export_status": ["licence required", "allowed", "domestic"],
            }
        ),
        "shadow_prices": pd.DataFrame(
            {
                "constraint": ["grid_limit", "export_cap", "budget"],
                "year": [2027, 2028, 2027],
                "site": ["nc", None, None],
                "shadow_price": [42.0, -3.0, 0.0],
                "unit": ["USD/MW", "USD/unit", "USD/USD"],
                "binding": [True, True, False],
            }
        ),
        "costs": pd.DataFrame(
            {
                "year": [2027, 2027, 2028],
                "site": ["nc", "nc", "gd"],
                "item": ["accelerators", "energy", "energy"],
                "cost": [3e7, 1e7, 5e6],
            }
        ),
    }


def write_synthetic_plan(root: Path, name: str = "plan-demo") -> Path:
    return write_run(
        kind="plan",
        name=name,
        summary={
            "status": "optimal",
            "currency": "USD",
            "objective": 4.5e7,
            "cost_per_million_tokens": 0.7,
            "it_capacity_mw": 120.0,
            "battery_mwh": 250.0,
            "unserved_mwh": 0.0,
        },
        tables=synthetic_plan_tables(),
        resolved_inputs={
            "assumptions": [
                {
                    "field": "parts.h100.tdp",
                    "value": "700 W",
                    "source": "NVIDIA H100 datasheet",
                    "url": "https://www.nvidia.com/en-us/data-center/h100/",
                    "confidence": "datasheet",
                    "note": None,
                }
            ]
        },
        root=root,
        created=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
    )


# --------------------------------------------------------------------------- chart geometry


def test_nice_ticks_cover_the_range_in_round_steps() -> None:
    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(-30, 45) == [-40, -20, 0, 20, 40, 60]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_stacked_bars_have_heights_proportional_to_values_and_negatives_below_zero() -> None:
    html = bar_chart(
        ["h1", "h2"],
        {"grid": [1.0, 2.0], "solar": [3.0, 0.0], "charge": [-2.0, 0.0]},
        chart_id="t",
        title="t",
        y_label="MW",
    )
    bars = rects(svg_of(html))
    assert len(bars) == 4  # zeros draw nothing
    heights = {b.find(f"{SVG}title").text: float(b.get("height")) for b in bars}
    assert heights["h1, solar: 3"] == pytest.approx(3 * heights["h1, grid: 1"], abs=0.02)
    assert heights["h1, charge: -2"] == pytest.approx(2 * heights["h1, grid: 1"], abs=0.02)
    grid, solar, charge = (b for b in bars if b.find(f"{SVG}title").text.startswith("h1"))
    # solar sits on top of grid; the charge bar hangs below the zero line where grid starts
    top_of_solar = float(solar.get("y")) + float(solar.get("height"))
    assert top_of_solar == pytest.approx(float(grid.get("y")), abs=0.02)
    zero_y = float(grid.get("y")) + float(grid.get("height"))
    assert float(charge.get("y")) == pytest.approx(zero_y, abs=0.02)


def test_grouped_bars_sit_side_by_side() -> None:
    html = bar_chart(
        ["a"], {"run A": [2.0], "run B": [4.0]}, chart_id="g", title="g", y_label="MW", mode="group"
    )
    first, second = rects(svg_of(html))
    assert float(second.get("x")) == pytest.approx(
        float(first.get("x")) + float(first.get("width"))
    )
    assert float(second.get("height")) == pytest.approx(2 * float(first.get("height")))


def test_bars_from_a_long_table_stack_parts_per_year() -> None:
    html = bars_from_table(
        synthetic_plan_tables()["fleet"],
        x="year",
        series="part",
        value="units_count",
        chart_id="fleet",
        title="fleet",
        y_label="units",
    )
    titles = sorted(t.text for t in svg_of(html).iter(f"{SVG}title"))
    assert "2028, h100: 1.5k" in titles and "2027, h20: 500" in titles
    assert len(rects(svg_of(html))) == 4


def test_line_chart_breaks_at_missing_values() -> None:
    html = line_chart(
        [2027, 2028, 2029, 2030, 2031],
        {"cost": [1.0, 2.0, None, 3.0, 4.0], "single": [None, None, 5.0, None, None]},
        chart_id="l",
        title="l",
        y_label="USD",
    )
    svg = svg_of(html)
    assert len([p for p in svg.iter(f"{SVG}polyline")]) == 2
    assert len(list(svg.iter(f"{SVG}circle"))) == 1  # an isolated point is a dot


def test_scatter_colours_by_group_and_log_axes_drop_non_positive() -> None:
    points = [
        Point(5.0, 0.5, "h100", "licence required"),
        Point(2.0, 0.8, "h20", "allowed"),
        Point(1.5, 1.1, "910c", "domestic"),
        Point(0.0, 1.0, "broken", "allowed"),
    ]
    svg = svg_of(
        scatter_chart(points, chart_id="s", title="s", x_label="t/J", y_label="$", log_x=True)
    )
    circles = [c for c in svg.iter(f"{SVG}circle") if c.get("class") == "point"]
    assert len(circles) == 3
    assert len({c.get("fill") for c in circles}) == 3
    xs = {c.find(f"{SVG}title").text.split(" (")[0]: float(c.get("cx")) for c in circles}
    assert xs["910c"] < xs["h20"] < xs["h100"]


def test_empty_inputs_draw_a_no_data_chart() -> None:
    assert "no data" in bar_chart([], {}, chart_id="e", title="e", y_label="")
    assert "no data" in line_chart([1], {"a": [None]}, chart_id="e", title="e", y_label="")


# --------------------------------------------------------------------------- report content


def _dispatch(days: int, peak_day: int) -> pd.DataFrame:
    steps = days * 24
    load = np.full(steps, 10.0)
    load[peak_day * 24 + 12] = 50.0
    zeros = np.zeros(steps)
    return pd.DataFrame(
        {
            "step": np.arange(steps),
            "day": np.repeat(np.arange(days), 24),
            "hour_start": [
                f"2025-01-{d + 1:02d}T{h:02d}:00" for d in range(days) for h in range(24)
            ],
            "weight_h": 1.0,
            "served_it_mw": load,
            "pue": 1.2,
            "grid_import_mw": load * 1.2,
            "grid_export_mw": zeros,
            "solar_used_mw": zeros,
            "charge_mw": zeros,
            "discharge_mw": zeros,
            "soc_mwh": zeros,
            "unserved_it_mw": zeros,
        }
    )


@pytest.mark.parametrize(("peak_day", "first_day"), [(15, 12), (1, 0), (19, 13)])
def test_representative_week_is_seven_days_around_the_peak(peak_day: int, first_day: int) -> None:
    week, note = representative_week(_dispatch(20, peak_day))
    assert sorted(set(week["day"])) == list(range(first_day, first_day + 7))
    assert "peak facility load" in note
    short, note = representative_week(_dispatch(5, 2))
    assert len(short) == 120 and note == "all 5 days"


@pytest.fixture
def site_like_run(tmp_path: Path) -> Run:
    return read_run(
        write_run(
            kind="site",
            name=EVIL,
            summary={"status": "optimal", "currency": "USD", "objective": 99.0, "note": EVIL},
            tables={
                "dispatch": _dispatch(3, 1),
                "sizes": pd.DataFrame(
                    {"asset": [EVIL, "battery"], "power_mw": [1.0, 2.0], "energy_mwh": [None, 8.0]}
                ),
                "costs": pd.DataFrame({"item": [EVIL], "cost_per_year": [99.0]}),
            },
            resolved_inputs={
                "assumptions": [
                    {
                        "field": EVIL,
                        "value": EVIL,
                        "source": EVIL,
                        "url": "javascript:alert(1)",
                        "confidence": "estimate",
                        "note": EVIL,
                    }
                ],
                "unknowns": [EVIL],
            },
            root=tmp_path,
        )
    )


def test_user_strings_are_escaped_everywhere(site_like_run: Run, tmp_path: Path) -> None:
    html = build_report([site_like_run])
    assert "<script" not in html and "javascript:" not in html.replace("javascript:alert", "")
    assert 'href="javascript' not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 8
    for match in re.finditer(r"<svg.*?</svg>", html, re.S):
        ET.fromstring(match.group(0))  # every chart is well-formed XML


def test_site_report_has_dispatch_soc_costs_sizes_and_assumptions(site_like_run: Run) -> None:
    html = build_report([site_like_run])
    for chart in ("r0-dispatch", "r0-soc", "costs-0", "sizes"):
        assert f'data-chart="{chart}"' in html
    assert "assumptions and their sources" in html and "Unknown figures" in html
    assert "<script" not in html and "http://" not in html.split("<body>")[0]  # nothing fetched


def test_plan_report_draws_every_plan_chart_and_compares_runs(tmp_path: Path) -> None:
    first = read_run(write_synthetic_plan(tmp_path, "plan-a"))
    second = read_run(write_synthetic_plan(tmp_path, "plan-b"))
    html = build_report([first, second])
    for prefix in ("r0", "r1"):
        for chart in ("fleet", "it_capacity_mw", "battery_mwh", "cost-per-mtok", "parts"):
            assert f'data-chart="{prefix}-{chart}"' in html
        assert f'data-chart="{prefix}-shadow-prices"' in html
    assert "B - A" in html
    assert '<a href="https://www.nvidia.com/en-us/data-center/h100/">' in html
    # the non-binding constraint is left out of the shadow-price chart
    shadow = re.search(r'data-chart="r0-shadow-prices".*?</figure>', html, re.S)
    assert shadow is not None and "budget" not in shadow.group(0)


def test_missing_columns_give_a_note_not_a_crash(tmp_path: Path) -> None:
    run = read_run(
        write_run(
            kind="plan",
            name="thin",
            summary={"objective": 1.0},
            tables={"fleet": pd.DataFrame({"year": [2027]})},
            resolved_inputs={},
            root=tmp_path,
        )
    )
    html = build_report([run])
    assert "table fleet lacks part, units_count" in html


def test_write_report_is_one_file_readable_by_others(site_like_run: Run, tmp_path: Path) -> None:
    out = write_report([site_like_run], tmp_path / "report.html")
    assert out.stat().st_mode & 0o644 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".html", ".tmp")) == [
        "report.html"
    ]
