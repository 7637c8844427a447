"""The plan's headline (issue 14): spending apart from the unserved penalty, the served cost per
million tokens, the unserved share, `demand_met`, the verdict line, shadow prices in context,
and `plan --set` for a one-off what-if."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.plan.headline import share_text

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"
GRID = "sites.test-site.grid.import_cap"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def plan_json(tmp_path: Path, *settings: str) -> dict:
    sets = [a for s in settings for a in ("--set", s)]
    out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    code, stdout, stderr = run("plan", str(TINY), *sets, "--out", str(out), "--format", "json")
    assert code == 0, stderr
    return json.loads(stdout)


@pytest.fixture(scope="module")
def short_and_ample(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """The tiny scenario at 30x demand on a 0.01 MW grid (far too small) and on its 20 MW."""
    tmp = tmp_path_factory.mktemp("headline")
    short = plan_json(tmp, "demand.scale=30", f"{GRID}=0.01")
    ample = plan_json(tmp, "demand.scale=30")
    return short, ample


def test_a_starved_plan_says_demand_is_not_met(short_and_ample: tuple[dict, dict]) -> None:
    short, ample = short_and_ample
    assert short["demand_met"] is False
    assert short["unserved_share_fraction"] > 0.5
    assert short["verdict"].startswith("DEMAND NOT MET: chat")
    assert "grid at test-site" in short["verdict"]
    assert ample["demand_met"] is True
    assert ample["unserved_share_fraction"] == pytest.approx(0.0, abs=1e-9)
    assert ample["verdict"].startswith("demand met")


def test_spending_excludes_the_penalty_and_adds_back_to_the_objective(
    short_and_ample: tuple[dict, dict],
) -> None:
    short, ample = short_and_ample
    assert short["unserved_penalty"] > 100 * short["net_present_cost"]  # the penalty dominates
    assert short["net_present_cost"] + short["unserved_penalty"] == pytest.approx(
        short["objective"], rel=1e-12
    )
    assert ample["unserved_penalty"] == pytest.approx(0.0, abs=1e-6)
    # served cost is what serving costs, not the penalty: close to the ample plan's
    ratio = short["cost_per_million_served_tokens"] / ample["cost_per_million_served_tokens"]
    assert 1 / 3 < ratio < 3
    assert short["estimate_share"]["total"] <= 1.0 + 1e-9


def test_shadow_prices_on_the_penalty_say_what_more_would_be_served(
    short_and_ample: tuple[dict, dict],
) -> None:
    short, _ = short_and_ample
    grid = [b for b in short["binding"] if b["constraint"] == "grid_import_cap"]
    assert grid and all(b["rests_on_penalty"] for b in grid)
    assert all("would serve about" in b["text"] and "save" not in b["text"] for b in grid)


def test_the_table_opens_with_the_verdict(tmp_path: Path) -> None:
    code, out, _ = run(
        "plan", str(TINY), "--set", "demand.scale=30", "--set", f"{GRID}=0.01",
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert code == 0
    rows = [line for line in out.splitlines() if "│" in line]
    assert "verdict" in rows[0] and "DEMAND NOT MET" in rows[0]
    assert "net_present_cost (spend)" in rows[1]
    assert "cost_per_million_served_tokens" in rows[2]
    assert "unserved_share" in rows[3]


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("sites.nowhere.pue=1.2", "'nowhere' is not found"),
        ("demand.scale", "is not 'name=value'"),
        (f"{GRID}=lots", "cannot set it"),
    ],
)
def test_a_bad_setting_exits_2_naming_it(tmp_path: Path, setting: str, words: str) -> None:
    code, out, err = run("plan", str(TINY), "--set", setting, "--out", str(tmp_path / "r"))
    assert code == 2
    assert words in err and "Traceback" not in err + out
    assert not (tmp_path / "r").exists()


def test_set_regime_and_regime_together_is_refused(tmp_path: Path) -> None:
    code, _, err = run(
        "plan", str(TINY), "--set", "regime=us-2025-04", "--regime", "us-2025-04",
        "--out", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 2 and "--regime" in err


def test_the_peak_and_what_it_costs_in_parts(tmp_path: Path) -> None:
    """Flat demand keeps every busy part busy all day; the sourced chat day asks for its busiest
    hour at the shape's peak-to-mean (1.53, the week's representative steps weighted 5/7 and
    2/7 reproduce the week's mean), and the parts held for it idle part of the time."""
    import yaml

    from planner.demand.shapes import read_shape_yaml, shipped_shapes

    flat = plan_json(tmp_path, "demand.scale=30")["workloads"][0]
    assert flat["peak_to_mean_demand"] == pytest.approx(1.0)
    assert flat["peak_idle_share_fraction"] == pytest.approx(0.0, abs=1e-6)
    data = yaml.safe_load(TINY.read_text())
    data["demand"]["workloads"][0]["shape"] = "azure-conv-2024"
    shaped = tmp_path / "shaped.yaml"
    shaped.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = run("plan", str(shaped), "--out", str(tmp_path / "s"), "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)["workloads"]
    expected = read_shape_yaml(shipped_shapes()["azure-conv-2024"]).peak_to_mean
    assert row["peak_to_mean_demand"] == pytest.approx(expected, rel=1e-9)
    assert row["latency"] == "interactive (every hour)"
    assert 0.2 < row["peak_idle_share_fraction"] < 1 - 1 / expected + 0.05


def test_estimate_shares_are_of_gross_spending() -> None:
    """Shares of spending before credits (resale, subsidy) add to at most 1 even when a large
    resale credit makes the net spending smaller than the parts' capex alone."""
    import numpy as np

    from models.capacity import CapacityCosts
    from planner.plan.summary import gross_spending

    costs = CapacityCosts(
        parts_capex=80.0, dc_capex=30.0, solar_capex=0.0, battery_capex=0.0, energy=10.0,
        demand_charges=0.0, carbon=0.0, unserved_penalty=999.0, resale_credit=40.0,
        capex_by_year=np.zeros(1), power_subsidy_credit=5.0, cpu_servers_capex=2.0,
        cpu_resale_credit=1.0,
    )  # fmt: skip
    assert gross_spending(costs) == 122.0  # 80 + 30 + 10 + 2; no penalty, no credits


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(0.4, "40%"), (0.1, "10%"), (0.034, "3.4%"), (0.00895, "0.90%"), (0.0012, "0.12%")],
)
def test_a_small_shortfall_does_not_read_zero(fraction: float, text: str) -> None:
    """A plan short by 0.09% of a workload said "leaves up to 0% of its demand unserved" under
    DEMAND NOT MET (flagship 1 at serving.band = -1): small shares keep two figures."""
    assert share_text(fraction) == text
