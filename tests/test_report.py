"""The HTML report and its SVG chart functions, on synthetic tables with known geometry."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.results.chart_text import Box, label_box, text_width_px, wrap_text
from planner.results.charts import (
    bar_chart,
    bars_from_table,
    line_chart,
    nice_ticks,
)
from planner.results.dispatch_charts import representative_week
from planner.results.folders import Run, read_run, write_run
from planner.results.plan_charts import spend_by_year
from planner.results.plan_story import (
    demand_sentence,
    idle_site_sentences,
    money,
    plan_story,
    year_span,
)
from planner.results.ranked_bars import ranked_bar_chart
from planner.results.report import build_report, costs_by_item, write_report
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


GD = "guangdong-zhongshan-cuiheng-campus"  # a long site name, for labels that must not be cut


def _plan_dispatch() -> pd.DataFrame:
    """Two steps per site and year: prices 60 at nc, 90 at GD, 80 at jb (USD/MWh, flat)."""
    rows = []
    for site, price in (("nc", 60.0), (GD, 90.0), ("jb", 80.0)):
        for year in (2027, 2028):
            for step in (0, 1):
                busy = 0.0 if site == "jb" else 10.0
                rows.append(
                    {
                        "site": site,
                        "year": year,
                        "step": step,
                        "day": 0,
                        "hour_of_day": step,
                        "weight_h": 4380.0,
                        "it_power_mw": busy,
                        "grid_import_mw": busy * 1.2,
                        "solar_used_mw": 0.0,
                        "charge_mw": 0.0,
                        "discharge_mw": 0.0,
                        "soc_mwh": 0.0,
                        "price_per_mwh": price,
                    }
                )
    return pd.DataFrame(rows)


def synthetic_plan_tables() -> dict[str, pd.DataFrame]:
    """A two-year, three-site plan with every table docs/results.md defines for charts; the
    third site (jb) builds nothing: no grid before 2028, dearer energy than nc, a higher PUE."""
    return {
        "fleet": pd.DataFrame(
            {
                "year": [2027, 2027, 2028, 2028, 2028],
                "site": ["nc", "nc", "nc", "nc", GD],
                "part": ["h100", "h20", "h100", "h20", "ascend-910c"],
                "units_count": [1000.0, 500.0, 1500.0, 500.0, 800.0],
            }
        ),
        "purchases": pd.DataFrame(
            {
                "year": [2027, 2027, 2028, 2028],
                "site": ["nc", "nc", "nc", GD],
                "part": ["h100", "h20", "h100", "ascend-910c"],
                "units_count": [1000.0, 500.0, 500.0, 800.0],
                "capex": [2.5e7, 5e6, 1e7, 8e6],
            }
        ),
        "site_capacities": pd.DataFrame(
            {
                "year": [2027, 2027, 2027, 2028, 2028, 2028],
                "site": ["nc", GD, "jb", "nc", GD, "jb"],
                "it_capacity_mw": [50.0, 20.0, 0.0, 80.0, 40.0, 0.0],
                "battery_mwh": [100.0, 0.0, 0.0, 200.0, 50.0, 0.0],
                "grid_import_cap_mw": [100.0, 60.0, 0.0, 100.0, 60.0, 100.0],
                "power_subsidy_fraction": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            }
        ),
        "dispatch": _plan_dispatch(),
        "yearly": pd.DataFrame(
            {
                "year": [2027, 2028, 2029],
                "cost_per_million_tokens": [0.9, 0.7, 0.55],
                "discounted_capex": [3.0e7, 1.0e7, 0.0],
                "discounted_opex": [2.0e6, 3.0e6, 3.0e6],
                "discounted_resale_credit": [0.0, -1.0e6, 0.0],
                "discounted_spend": [3.2e7, 1.2e7, 3.0e6],
            }
        ),
        "parts": pd.DataFrame(
            {
                "part": ["h100", "h20", "ascend-910c", "h200", "b200", "h800", "a800", "mi300x"],
                "tokens_per_joule": [5.0, 2.0, 1.5, 5.3, 5.6, 2.1, 1.9, 5.2],
                "cost_per_million_tokens": [0.5, 0.8, 1.1, 0.52, 0.49, 0.82, 0.78, 0.51],
                "export_status": [
                    "fees",
                    "allowed",
                    "allowed",
                    "fees",
                    "not allowed",
                    "not allowed",
                    "not allowed",
                    "fees",
                ],
                "domestic": [False, False, True, False, False, False, False, False],
            }
        ),
        "shadow_prices": pd.DataFrame(
            {
                "constraint": ["grid_import_cap", "supply_cap", "budget", "grid_import_cap"],
                "year": [2027, 2028, 2027, 2028],
                "site": ["nc", None, None, GD],
                "part": [None, "h100", None, None],
                "shadow_price": [42.0, 3.0, 0.0, 12.0],
                "unit": ["USD per unit of the limit"] * 4,
                "binding": [True, True, False, True],
            }
        ),
        "costs": pd.DataFrame(
            {
                "item": [
                    "parts_capex",
                    "dc_capex",
                    "energy",
                    "carbon",
                    "unserved_penalty",
                    "resale_credit",
                    "power_subsidy_credit",
                ],
                "discounted_cost": [3.5e7, 5e6, 7e6, 1e6, 2e6, -1e6, 0.0],
            }
        ),
    }


PLAN_SUMMARY = {
    "status": "optimal",
    "verdict": "demand met: every workload serves at least 99.9% of its demand in every period",
    "demand_met": True,
    "currency": "USD",
    "objective": 4.9e7,
    "net_present_cost": 4.7e7,  # what the yearly discounted_spend and the cost items sum to
    "cost_per_million_served_tokens": 0.7,
    "unserved_share_fraction": 0.0,
    "unserved_penalty": 2e6,
    "unserved_tokens": 0.0,
}


def synthetic_scenario() -> dict[str, object]:
    """The resolved scenario's sites as a plan run records them (figures as written)."""
    return {
        "sites": [
            {"name": name, "pue": {"value": pue, "source": "test"},
             "build_capex_per_mw": {"value": 1.0e7, "source": "test"}}
            for name, pue in (("nc", 1.2), (GD, 1.3), ("jb", 1.4))
        ]
    }  # fmt: skip


def write_synthetic_plan(root: Path, name: str = "plan-demo") -> Path:
    return write_run(
        kind="plan",
        name=name,
        summary=PLAN_SUMMARY,
        tables=synthetic_plan_tables(),
        resolved_inputs={
            "scenario": synthetic_scenario(),
            "assumptions": [
                {
                    "field": "parts.h100.tdp",
                    "value": "700 W",
                    "source": "NVIDIA H100 datasheet",
                    "url": "https://www.nvidia.com/en-us/data-center/h100/",
                    "confidence": "datasheet",
                    "note": None,
                }
            ],
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
    assert len(rects(svg_of(html))) == 5  # one per non-zero (year, part)


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


def test_text_is_measured_and_wrapped_without_losing_a_character() -> None:
    assert text_width_px("h100") == pytest.approx((634 + 3 * 636) * 11 / 1000)  # DejaVu Sans
    label = "grid_import_cap guangdong-zhongshan-cuiheng-campus 2030"
    lines = wrap_text(label, 100)
    assert all(text_width_px(line) <= 100 for line in lines) and len(lines) > 2
    assert "".join(lines).replace(" ", "") == label.replace(" ", "")
    assert wrap_text("x" * 40, 50) == ["x" * 7] * 5 + ["xxxxx"]  # an unbreakable id is cut


def _text_boxes(svg: ET.Element) -> list[tuple[str, Box]]:
    """Each line of a text (level, turned 30 degrees, or a y-axis label turned 90) as the box
    it covers, from measured widths."""
    out = []
    for text in svg.iter(f"{SVG}text"):
        spans = list(text.iter(f"{SVG}tspan")) or [text]
        x, y = float(text.get("x", 0)), float(text.get("y", 0))
        anchor, turned = text.get("text-anchor", "start"), "rotate(-30" in text.get("transform", "")
        for k, span in enumerate(spans):
            line = "".join(span.itertext()) if span is not text else (text.text or "")
            w = text_width_px(line)
            if "rotate(-90" in text.get("transform", ""):  # an upright axis label, centred
                out.append((line, Box(x + k * 13 - 10, y - w / 2, x + k * 13 + 4, y + w / 2)))
            elif turned:  # anchored at its end; each next line 13 px along the slant's normal
                ox, oy = x + k * 13 * 0.5, y + k * 13 * 0.866
                out.append((line, Box(ox - w * 0.866 - 5, oy - 9, ox + 5, oy + w * 0.5 + 3)))
            else:
                out.append((line, label_box(line, x, y + k * 13, anchor)))
    return out


def test_long_category_labels_grow_the_chart_and_stay_inside_it() -> None:
    cats = [f"constraint number {i} at guangdong-zhongshan-cuiheng-campus" for i in range(12)]
    html = bar_chart(cats, {"v": [float(i + 1) for i in range(12)]}, chart_id="c", title="c",
                     y_label="a long axis label that is longer than the plot is tall, in USD "
                     "per unit of the limit")  # fmt: skip
    svg = svg_of(html)
    height = float(svg.get("height"))
    assert height > 320  # grown to hold the slanted labels
    page = Box(0, 0, float(svg.get("width")), height)
    shown = {line for line, _ in _text_boxes(svg)}
    assert any("campus" in line for line in shown)
    for line, box in _text_boxes(svg):
        assert box.inside(page), (line, box)


def test_every_scatter_point_is_named_and_no_two_names_overlap() -> None:
    parts = synthetic_plan_tables()["parts"]
    points = [
        Point(r["tokens_per_joule"], r["cost_per_million_tokens"], r["part"], r["export_status"])
        for r in parts.to_dict(orient="records")
    ]
    svg = svg_of(scatter_chart(points, chart_id="p", title="p", x_label="t/J", y_label="$",
                               log_x=True, log_y=True))  # fmt: skip
    circles = [c for c in svg.iter(f"{SVG}circle") if c.get("class") == "point"]
    labels = {t.get("data-point"): t for t in svg.iter(f"{SVG}text")
              if t.get("class") == "point-label"}  # fmt: skip
    assert len(circles) == len(labels) == 8
    boxes = []
    for circle in circles:
        label = labels[circle.get("data-point")]
        assert circle.find(f"{SVG}title").text.startswith(label.text + " (")
        box = label_box(label.text, float(label.get("x")), float(label.get("y")),
                        label.get("text-anchor"))  # fmt: skip
        assert box.inside(Box(78, 16, 620, 246))  # the plot area
        boxes.append(box)
    dots = [Box(float(c.get("cx")) - 5, float(c.get("cy")) - 5, float(c.get("cx")) + 5,
                float(c.get("cy")) + 5) for c in circles]  # fmt: skip
    for i, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[i + 1 :])
        assert not any(box.overlaps(dot) for dot in dots)


def test_ranked_bars_widen_the_margin_to_the_longest_label() -> None:
    labels = ["budget 2027", f"grid_import_cap {GD} 2028"]
    svg = svg_of(ranked_bar_chart(labels, [5.0, 12.0], chart_id="r", title="r", x_label="USD"))
    bars = rects(svg)
    left = min(float(b.get("x")) for b in bars)
    lines = wrap_text(labels[1], 300)  # wider than the 300 px cap: it wraps
    assert len(lines) == 2
    assert left == pytest.approx(max(text_width_px(t) for t in lines) + 16, abs=0.5)
    page = Box(0, 0, float(svg.get("width")), float(svg.get("height")))
    for line, box in _text_boxes(svg):
        assert box.inside(page), (line, box)
    assert float(bars[1].get("width")) == pytest.approx(
        12 / 5 * float(bars[0].get("width")), abs=0.02
    )


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


# --------------------------------------------------------------------------- the plan in words

STORY = (
    "It buys 2,800 accelerators over 2027-2028: 1,500 h100 at nc (2027-2028), 800 ascend-910c "
    f"at {GD} (2028) and 500 h20 at nc (2027). In 2028 its 2 sites hold 120 MW of IT capacity "
    "and 250 MWh of battery; the largest is nc with 80 MW. It spends 47 million USD (net present "
    "cost), 0.7 USD per million served tokens. Demand is met: every workload serves at least "
    "99.9% of its demand in every period. What binds (shadow prices): the grid connection at nc "
    f"(2027) and {GD} (2028); the supply of h100 (2028)."
)


def test_plan_paragraph_says_what_is_bought_where_when_what_it_costs_and_what_binds(
    tmp_path: Path,
) -> None:
    run = read_run(write_synthetic_plan(tmp_path))
    assert plan_story(run) == STORY  # sums by hand from synthetic_plan_tables()


def test_an_idle_site_is_explained_by_what_the_data_shows(tmp_path: Path) -> None:
    run = read_run(write_synthetic_plan(tmp_path))
    assert idle_site_sentences(run) == [
        "jb builds nothing: it has no grid connection before 2028; its energy costs 80 USD/MWh "
        f"on average, above nc (60 USD/MWh); its PUE is 1.4, above nc (1.2) and {GD} (1.3)."
    ]
    html = build_report([run])
    assert html.index('id="summary"') < html.index("headline numbers")
    assert escape(STORY) in html and "jb builds nothing" in html


def test_an_idle_site_without_a_disadvantage_in_the_data_is_not_given_one(tmp_path: Path) -> None:
    tables = synthetic_plan_tables()
    caps = tables["site_capacities"]
    caps.loc[caps["site"] == "jb", "grid_import_cap_mw"] = 100.0  # connected from the start
    dispatch = tables["dispatch"]
    dispatch.loc[dispatch["site"] == "jb", "price_per_mwh"] = 50.0  # the cheapest energy
    scenario = synthetic_scenario()
    scenario["sites"][2]["pue"]["value"] = 1.1  # type: ignore[index]
    run = read_run(
        write_run(
            kind="plan",
            name="idle",
            summary=PLAN_SUMMARY,
            tables=tables,
            resolved_inputs={"scenario": scenario},
            root=tmp_path,
        )
    )
    assert idle_site_sentences(run) == [
        "jb builds nothing: the run's tables show no grid, energy-price, PUE or build-cost "
        f"disadvantage against nc and {GD}; at the optimum the plan needs no capacity there."
    ]


def test_a_short_plan_says_what_is_short() -> None:
    verdict = "chat leaves up to 40% of its demand unserved in 2027 (1e+12 tokens over the plan)"
    summary = {"demand_met": False, "verdict": f"DEMAND NOT MET: {verdict}"}
    assert demand_sentence(summary | {"unserved_share_fraction": 0.125}) == (
        f"Demand is not met (12.5% of all tokens unserved): {verdict}."
    )


def test_words_for_years_and_money() -> None:
    assert year_span(["2026", "2027", "2028", "2030"]) == "2026-2028 and 2030"
    assert year_span([2029]) == "2029"
    assert year_span(["2026Q1", "2026Q2"]) == "2026Q1 and 2026Q2"
    assert money(33_068_869_717, "CNY") == "33.1 billion CNY"
    assert money(229_298.13, "USD") == "229,298 USD"
    assert money(-4.5e6, "USD") == "-4.5 million USD"


def test_spend_by_year_and_cost_breakdown_add_up_to_the_headline(tmp_path: Path) -> None:
    run = read_run(write_synthetic_plan(tmp_path))
    parts = spend_by_year(run.table("yearly"))
    per_year = [sum(values) for values in zip(*parts.values(), strict=True)]
    assert per_year == pytest.approx(run.table("yearly")["discounted_spend"].tolist())
    assert sum(per_year) == pytest.approx(run.summary["net_present_cost"])  # 4.7e7 by hand
    assert sum(costs_by_item(run).values()) == pytest.approx(4.7e7)  # the penalty left out
    html = build_report([run])
    spend = re.search(r'data-chart="r0-spend".*?</figure>', html, re.S)
    assert spend is not None and "the years sum to 47 million USD" in spend.group(0)
    assert "the items sum to A 47 million USD (net present cost)" in html


@pytest.mark.parametrize("name", ["cn_two_parts", "subsidy_choice"])
def test_a_solved_plan_spends_by_year_what_its_headline_says(name: str, tmp_path: Path) -> None:
    """Discounting (5%), resale, carbon and a chosen power subsidy all reach the yearly sums."""
    from planner.plan.scenario import load_scenario
    from planner.plan.solve import resolve, solve_plan, summary
    from planner.results.plan_run import write_plan_run

    path = Path(__file__).parents[1] / "scenarios" / "tiny" / f"{name}.yaml"
    result = solve_plan(resolve(load_scenario(path), relax=True))
    run = read_run(write_plan_run(tmp_path / "run", result, summary(result)))
    npc = run.summary["net_present_cost"]
    yearly = run.table("yearly")
    assert yearly["discounted_spend"].sum() == pytest.approx(npc, rel=1e-9)
    assert sum(costs_by_item(run).values()) == pytest.approx(npc, rel=1e-9)
    credits = run.summary["costs"]["resale_credit"] + run.summary["costs"]["power_subsidy_credit"]
    assert credits > 0  # each case has a credit to place in its years
    bought = run.table("purchases")["units_count"].sum()
    assert plan_story(run).startswith(f"It buys {bought:,.0f} accelerators")
