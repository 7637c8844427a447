"""Sweep summaries on hand-made sweep folders: tornado and distributions against hand-worked
means and percentiles, the HTML section, and `planner sweep summary` errors (exit code 2)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from cli.app import PlannerGroup
from cli.sweep_summary import summary_command
from planner.errors import InputError
from planner.results.sweep_charts import TornadoBar, histogram_chart, tornado_chart
from planner.sweeps.report import build_sweep_report
from planner.sweeps.summary import (
    distributions,
    load_sweep,
    sampled_parameters,
    summary_json,
    tornado,
    tornado_parameters,
)
from planner.sweeps.sweep import HEADLINE_RESULTS

HEADLINE = HEADLINE_RESULTS  # the engine's result columns (planner.sweeps.sweep)


def write_sweep_folder(
    folder: Path,
    cases: Sequence[Mapping[str, Any]],
    parameters: Sequence[str],
    *,
    distributions: Mapping[str, Any] | None = None,
) -> Path:
    """A sweep folder as the engine writes it (docs/sweeps.md): sweep.json and sweep.parquet.

    Each case gives its parameters and any headline results; `status` defaults to "ok" and
    missing headline results are null (NaN)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, case in enumerate(cases):
        status = case.get("status", "ok")
        row: dict[str, Any] = {
            "case": f"c{i:03d}",
            "status": status,
            "error": case.get("error"),
            "attempts": 1,
            "run": f"c{i:03d}" if status == "ok" else None,
        }
        row |= {p: case[p] for p in parameters}
        row["currency"] = "USD" if status == "ok" else None
        row |= {m: float(case.get(m, math.nan)) for m in HEADLINE}
        row |= {"mip_gap": 0.0, "build_s": 0.1, "solve_s": 0.1, "wall_s": 0.3, "worker": "w0"}
        rows.append(row)
    pd.DataFrame(rows).to_parquet(folder / "sweep.parquet", index=False)
    dists = dict(distributions or {})
    meta = {
        "kind": "sweep",
        "scenario": "hand-made",
        "scenario_path": "scenarios/tiny/one_site_two_parts.yaml",
        "scenario_sha256": "0" * 64,
        "parameters": list(parameters),
        "vary": {p: sorted({c[p] for c in cases}) for p in parameters if p not in dists},
        "distributions": dists,
        "samples": 0,
        "seed": None,
        "options": {"backend": "cvxpy", "mip_gap": None},
        "cases": [{"case": r["case"], "params": {p: r[p] for p in parameters}} for r in rows],
        "created": "2026-11-23T13:00:00+00:00",
    }
    (folder / "sweep.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


# A 2 x 3 grid. cost_per_million_served_tokens by (growth, battery price):
#                 100   200   300
#   growth 0.5     10    12    14     mean 12
#   growth 2.0     20    22    30     mean 24    -> growth swing 12
#   price means:   15    17    22                -> price swing 22 - 15 = 7
GRID_COST = {(0.5, 100): 10, (0.5, 200): 12, (0.5, 300): 14, (2.0, 100): 20, (2.0, 200): 22}
GRID_COST[(2.0, 300)] = 30


def grid_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [
        {
            "demand.growth": g,
            "battery.price": p,
            "cost_per_million_served_tokens": c,
            "it_mw": 10 * g,
            "unserved_tokens": 0.0,
            "battery_mwh": p / 10,
        }
        for (g, p), c in GRID_COST.items()
    ]
    # a failed case at the lowest growth; its (impossible) cost must not count
    cases.append(
        {"demand.growth": 0.5, "battery.price": 100, "status": "failed", "error": "boom"}
        | {"cost_per_million_served_tokens": 1000.0}
    )
    return cases


@pytest.fixture
def grid_sweep(tmp_path: Path) -> Path:
    return write_sweep_folder(tmp_path / "grid", grid_cases(), ["demand.growth", "battery.price"])


def test_grid_tornado_means_by_hand(grid_sweep: Path) -> None:
    data = load_sweep(grid_sweep)
    rows = tornado(data.table, data.parameters)
    assert [r["parameter"] for r in rows] == ["demand.growth", "battery.price"]
    growth, price = rows
    assert growth["kind"] == "grid"
    assert (growth["low_value"], growth["high_value"]) == (0.5, 2.0)
    assert growth["metric_at_low"] == pytest.approx(12.0)
    assert growth["metric_at_high"] == pytest.approx(24.0)
    assert growth["swing"] == pytest.approx(12.0)
    assert (growth["cases_at_low"], growth["cases_at_high"]) == (3, 3)
    assert (price["low_value"], price["high_value"]) == (100, 300)
    assert price["metric_at_low"] == pytest.approx(15.0)
    assert price["metric_at_high"] == pytest.approx(22.0)
    assert price["swing"] == pytest.approx(7.0)


def test_tornado_on_another_metric_ranks_differently(grid_sweep: Path) -> None:
    data = load_sweep(grid_sweep)
    rows = tornado(data.table, data.parameters, "battery_mwh")
    assert rows[0]["parameter"] == "battery.price"
    assert rows[0]["swing"] == pytest.approx(20.0)  # 30 MWh at 300 minus 10 MWh at 100
    assert rows[1]["swing"] == pytest.approx(0.0)


def test_sampled_parameter_is_read_from_a_linear_fit_at_p10_and_p90(tmp_path: Path) -> None:
    """x = 1..20, y = 2x. Linear percentiles: p10 = 1 + 0.1 x 19 = 2.9, p90 = 18.1; mean x 10.5,
    mean y 21, slope 2: metric 21 + 2 (2.9 - 10.5) = 5.8 at p10, 36.2 at p90; swing 30.4."""
    cases = [
        {"price": float(x), "sample": float(x - 1), "cost_per_million_served_tokens": 2.0 * x}
        for x in range(1, 21)
    ]
    folder = write_sweep_folder(
        tmp_path / "mc",
        cases,
        ["price", "sample"],
        distributions={"price": {"distribution": "uniform", "low": 1, "high": 20}},
    )
    sweep = load_sweep(folder)
    assert sampled_parameters(sweep) == ["price"]
    assert tornado_parameters(sweep) == ["price"]  # the draw's index is not a parameter
    (row,) = tornado(sweep.table, ["price"], sampled=["price"])
    assert row["kind"] == "sampled"
    assert row["low_value"] == pytest.approx(2.9)
    assert row["high_value"] == pytest.approx(18.1)
    assert row["metric_at_low"] == pytest.approx(5.8)
    assert row["metric_at_high"] == pytest.approx(36.2)
    assert row["swing"] == pytest.approx(30.4)
    assert (row["cases_at_low"], row["cases_at_high"]) == (20, 20)
    # the same column read as a grid compares only the extreme values: 2 and 40
    (grid,) = tornado(sweep.table, ["price"])
    assert grid["swing"] == pytest.approx(38.0)
    assert [r["parameter"] for r in summary_json(sweep)["tornado"]] == ["price"]


def test_a_sampled_parameter_without_effect_is_not_credited_with_anothers(tmp_path: Path) -> None:
    """y = 3a exactly, and b is drawn correlated with a (b = a + noise): deciles of b would show a
    large swing; the joint fit gives b none and a its true slope of 3."""
    a = [float(v) for v in range(1, 13)]
    noise = [0.5, -0.5, 0.25, -0.25, 0.0, 0.5, -0.5, 0.25, -0.25, 0.0, 0.5, -0.5]
    cases = [
        {"a": x, "b": x + e, "sample": float(i), "cost_per_million_served_tokens": 3.0 * x}
        for i, (x, e) in enumerate(zip(a, noise, strict=True))
    ]
    uniform = {"distribution": "uniform", "low": 0, "high": 13}
    folder = write_sweep_folder(
        tmp_path / "mc2", cases, ["a", "b", "sample"], distributions={"a": uniform, "b": uniform}
    )
    rows = {
        r["parameter"]: r for r in tornado(load_sweep(folder).table, ["a", "b"], sampled=["a", "b"])
    }
    assert rows["b"]["swing"] == pytest.approx(0.0, abs=1e-9)
    p10, p90 = rows["a"]["low_value"], rows["a"]["high_value"]
    assert rows["a"]["swing"] == pytest.approx(3.0 * (p90 - p10))


def test_regime_spread_is_between_extreme_category_means(tmp_path: Path) -> None:
    costs = {"us-2025-04": [5.0, 7.0], "us-2025-08": [3.0], "us-2026-01": [10.0, 12.0]}
    cases = [
        {"regime": r, "cost_per_million_served_tokens": c}
        for r, values in costs.items()
        for c in values
    ]
    folder = write_sweep_folder(tmp_path / "regimes", cases, ["regime"])
    (row,) = tornado(load_sweep(folder).table, ["regime"])
    assert row["kind"] == "categorical"
    assert (row["low_value"], row["high_value"]) == ("us-2025-08", "us-2026-01")
    assert (row["metric_at_low"], row["metric_at_high"]) == (3.0, 11.0)
    assert row["swing"] == pytest.approx(8.0)


def test_a_parameter_with_no_spread_sorts_last_with_zero_swing(tmp_path: Path) -> None:
    cases = [
        {"a": 1.0, "b": 5.0, "cost_per_million_served_tokens": 1.0},
        {"a": 2.0, "b": 5.0, "cost_per_million_served_tokens": 4.0},
    ]
    folder = write_sweep_folder(tmp_path / "flat", cases, ["b", "a"])
    rows = tornado(load_sweep(folder).table, ["b", "a"])
    assert [r["parameter"] for r in rows] == ["a", "b"]
    assert rows[1]["swing"] == 0.0


def test_distributions_by_hand(grid_sweep: Path) -> None:
    """Costs 10, 12, 14, 20, 22, 30 (the failed case left out); linear percentiles at position
    q/100 x 5: p5 = 10.5, p25 = 12.5, p50 = 17, p75 = 21.5, p95 = 28."""
    rows = {r["metric"]: r for r in distributions(load_sweep(grid_sweep).table)}
    assert set(rows) == {
        "cost_per_million_served_tokens",
        "it_mw",
        "unserved_tokens",
        "battery_mwh",
    }
    cost = rows["cost_per_million_served_tokens"]
    assert (cost["count"], cost["failed"]) == (6, 1)
    expected = {"mean": 18, "p5": 10.5, "p25": 12.5, "p50": 17, "p75": 21.5, "p95": 28}
    for key, value in expected.items():
        assert cost[key] == pytest.approx(value), key
    assert (cost["min"], cost["max"]) == (10.0, 30.0)
    assert rows["it_mw"]["mean"] == pytest.approx(12.5)  # (3 x 5 + 3 x 20) / 6


def test_a_metric_without_values_gives_nan_statistics(grid_sweep: Path) -> None:
    (row,) = distributions(load_sweep(grid_sweep).table, ["solar_mw"])
    assert row["count"] == 0 and math.isnan(row["p50"])


def test_report_section_holds_tornado_histograms_and_escaped_cases(tmp_path: Path) -> None:
    cases = [
        {
            "regime": "<script>alert(1)</script>",
            "cost_per_million_served_tokens": 2.0,
            "it_mw": 1.0,
        },
        {"regime": "us-2025-08", "cost_per_million_served_tokens": 1.0, "it_mw": 2.0},
    ]
    folder = write_sweep_folder(tmp_path / "esc", cases, ["regime"])
    html = build_sweep_report(load_sweep(folder))
    assert 'data-chart="sweep-tornado"' in html
    for column in ("cost_per_million_served_tokens", "it_mw", "unserved_tokens"):
        assert f'data-chart="sweep-hist-{column}"' in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('class="bar"') >= 2 + 2  # two tornado halves, histogram bars


def test_loading_rejects_a_folder_that_is_not_a_sweep(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_sweep(tmp_path)
    problem = caught.value.problems[0]
    assert problem.file == str(tmp_path) and problem.field == "sweep.json"
    assert "planner sweep" in problem.fix


# --------------------------------------------------------------------------- the command


def summary_app() -> typer.Typer:
    """The command as the lead registers it (`planner sweep summary`), with the app's errors."""
    app = typer.Typer(cls=PlannerGroup, pretty_exceptions_enable=False)
    app.command("summary")(summary_command)
    app.command("unused")(lambda: None)  # two commands: typer keeps the sub-command name
    return app


def test_command_prints_json_and_writes_the_report(grid_sweep: Path) -> None:
    result = CliRunner().invoke(summary_app(), ["summary", str(grid_sweep), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["cases"], data["ok"], data["failed"]) == (7, 6, 1)
    assert data["tornado"][0]["parameter"] == "demand.growth"
    assert data["tornado"][0]["swing"] == pytest.approx(12.0)
    page = grid_sweep / "report.html"
    assert data["report"] == str(page)
    assert 'data-chart="sweep-tornado"' in page.read_text(encoding="utf-8")


def test_command_csv_and_table_and_report_path(grid_sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere.html"
    runner = CliRunner()
    result = runner.invoke(
        summary_app(), ["summary", str(grid_sweep), "--format", "csv", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("table,parameter,kind,low_value")
    assert sum(line.startswith("tornado,") for line in lines) == 2
    assert sum(line.startswith("distribution,") for line in lines) == 4
    assert out.is_file() and not (grid_sweep / "report.html").exists()
    table = runner.invoke(summary_app(), ["summary", str(grid_sweep), "--report", str(out)])
    assert table.exit_code == 0 and "demand.growth" in table.stdout


def test_command_on_a_folder_that_is_not_a_sweep_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(summary_app(), ["summary", str(tmp_path)])
    assert result.exit_code == 2
    assert "sweep.json" in result.stderr and "Fix:" in result.stderr
    assert "Traceback" not in result.output


def test_command_with_no_ok_case_exits_2_naming_the_error(tmp_path: Path) -> None:
    cases = [{"g": 1.0, "status": "failed", "error": "solver said no"}]
    folder = write_sweep_folder(tmp_path / "dead", cases, ["g"])
    result = CliRunner().invoke(summary_app(), ["summary", str(folder)])
    assert result.exit_code == 2
    assert "no case finished ok" in result.stderr and "solver said no" in result.stderr
    assert not (folder / "report.html").exists()


def test_command_with_an_unknown_metric_exits_2(grid_sweep: Path) -> None:
    result = CliRunner().invoke(
        summary_app(), ["summary", str(grid_sweep), "--metric", "cost_per_token"]
    )
    assert result.exit_code == 2
    assert "--metric" in result.stderr and "cost_per_million_served_tokens" in result.stderr


def test_tornado_chart_keeps_both_halves_when_they_fall_on_one_side() -> None:
    """Low setting at 12 and high at 15, both above a median of 10: the longer half (15) is
    drawn first so the shorter stays visible, and one label names both settings."""
    svg = tornado_chart(
        [TornadoBar("x", 12.0, 15.0, "a<1", "b")],
        baseline=10.0,
        chart_id="t",
        title="t",
        x_label="cost",
    )
    bars = re.findall(r'<rect [^>]*class="bar"><title>([^<]*)</title>', svg)
    assert bars == ["x = b: 15", "x = a&lt;1: 12"]
    assert ">a&lt;1, b</text>" in svg


def test_histogram_counts_by_hand() -> None:
    """Values 0..9 in 5 bins of width 1.8: two in each bin (9 falls in the last)."""
    svg = histogram_chart(list(range(10)), chart_id="h", title="h", x_label="v", bins=5)
    counts = re.findall(r": (\d+) cases</title>", svg)
    assert counts == ["2"] * 5
    single = histogram_chart([3.0, 3.0], chart_id="s", title="s", x_label="v")
    assert re.findall(r": (\d+) cases</title>", single) == ["2"]


def test_regimes_with_equal_means_span_first_to_last_category(tmp_path: Path) -> None:
    cases = [
        {"regime": r, "cost_per_million_served_tokens": 4.0} for r in ("us-2026-01", "us-2025-04")
    ]
    folder = write_sweep_folder(tmp_path / "tie", cases, ["regime"])
    (row,) = tornado(load_sweep(folder).table, ["regime"])
    assert (row["low_value"], row["high_value"], row["swing"]) == ("us-2025-04", "us-2026-01", 0)
