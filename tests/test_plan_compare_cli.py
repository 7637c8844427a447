"""Plans side by side (`planner compare`), `runs show` without Python reprs, and the plan's
headline as CSV (issue 18)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.results.folders import write_run

ROOT = Path(__file__).resolve().parent.parent
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _plan(root: Path, name: str, h20: tuple[float, float], npc: float, short: float) -> None:
    """A hand-made two-year plan: H20s bought each year, 10 then 20 MW, a 50 MWh battery from
    the second year, spend split 60/40 over the years, `short` tokens unserved in 2027."""
    write_run(
        kind="plan",
        name=name,
        summary={
            "status": "optimal",
            "currency": "USD",
            "objective": npc,
            "net_present_cost": npc,
            "cost_per_million_served_tokens": npc / 1e6,
            "unserved_share_fraction": short / 3e9,
            "unserved_tokens": short,
            "workload_units": {"chat": "tokens", "video": "video_s"},
            "costs": {"parts_capex": npc, "energy": 0.0},
            "parts": [{"part": "h20", "site": "gd", "year": "2026", "count": h20[0]}],
        },
        tables={
            "purchases": pd.DataFrame(
                {
                    "year": ["2026", "2027"],
                    "site": ["gd", "gd"],
                    "part": ["h20", "h20"],
                    "units_count": list(h20),
                }
            ),
            "site_capacities": pd.DataFrame(
                {
                    "year": ["2026", "2027"],
                    "site": ["gd", "gd"],
                    "it_capacity_mw": [10.0, 20.0],
                    "battery_mwh": [0.0, 50.0],
                    "battery_mw": [0.0, 12.5],
                }
            ),
            "yearly": pd.DataFrame(
                {"year": ["2026", "2027"], "discounted_spend": [0.6 * npc, 0.4 * npc]}
            ),
            "unserved": pd.DataFrame(
                {
                    "year": ["2026", "2027", "2027"],
                    "workload": ["chat", "chat", "video"],
                    "demand_tokens": [1e9, 2e9, 5e5],  # the video row counts seconds
                    "unserved_tokens": [0.0, short, 5e5],
                }
            ),
        },
        resolved_inputs={},
        root=root,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plans")
    _plan(root, "base", (100.0, 50.0), 1.0e6, 0.0)
    _plan(root, "tight", (100.0, 0.0), 0.8e6, 4.0e8)
    return root


def test_compare_shows_plans_year_by_year_with_differences(root: Path) -> None:
    code, out, err = run("compare", "base", "tight", "--root", str(root), "--format", "json")
    assert code == 0, err
    metrics = {m["metric"]: m for m in json.loads(out)["metrics"]}
    assert metrics["h20 bought in 2027"]["values"] == [50.0, 0.0]
    assert metrics["h20 bought in 2027"]["differences_to_first"] == [0.0, -50.0]
    assert metrics["IT capacity in 2027"]["values"] == [20.0, 20.0]
    assert metrics["battery energy in 2027"]["unit"] == "MWh"
    assert metrics["spend (present value) in 2026"]["values"] == pytest.approx([6e5, 4.8e5])
    assert metrics["spend (net present cost)"]["differences_to_first"] == pytest.approx([0, -2e5])
    # 4e8 of 2e9 chat tokens short in 2027; the video row (seconds) is left out
    assert metrics["unserved share in 2027"]["values"] == pytest.approx([0.0, 0.2])
    assert "cost per million served tokens" in metrics


def test_compare_table_labels_runs_and_fits(root: Path) -> None:
    code, out, err = run("compare", "base", "tight", "--root", str(root))
    assert code == 0 and "runs: A = base-" in err and "; B = tight-" in err
    assert "B - A" in out and "h20 bought in 2027" in out and "-50.00" in out
    code, out, _ = run("compare", "base", "tight", "--root", str(root), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert any(r["metric"] == "IT capacity in 2026" for r in rows)


def test_runs_show_prints_nested_values_readably(root: Path) -> None:
    code, out, err = run("runs", "show", "base", "--root", str(root), "--wide")
    assert code == 0, err
    assert "{'" not in out and "['" not in out  # no Python repr
    lines = out.splitlines()
    assert any("│   parts_capex" in line and "1,000,000" in line for line in lines)
    assert any("part h20; site gd; year 2026; count 100" in line for line in lines)
    assert any("│   chat" in line and "tokens" in line for line in lines)


def test_plan_prints_its_headline_as_csv(tmp_path: Path) -> None:
    code, out, err = run(
        "plan", str(CN), "--relax", "--format", "csv", "--out", str(tmp_path / "run")
    )
    assert code == 0, err
    rows = {r["field"]: r for r in csv.DictReader(io.StringIO(out))}
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert float(rows["net_present_cost"]["value"]) == pytest.approx(summary["net_present_cost"])
    assert rows["net_present_cost"]["unit"] == "USD"
    assert rows["cost_per_million_served_tokens"]["unit"] == "USD/Mtok"
    assert rows["verdict"]["value"].startswith("demand met")
    assert "Running HiGHS" not in out and "phase" not in out  # nothing else on stdout
