"""Sweeps: overrides, Monte Carlo draws, case ids, and a local-cluster sweep checked against
direct plans (planner/plan/overrides.py, planner/sweeps/sweep.py, cli/sweep.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from cli.options import parse_vary
from planner.errors import InputError
from planner.plan.overrides import apply_overrides, scale_growth, set_path
from planner.plan.scenario import UncertainIn, find_scenario, load_scenario
from planner.plan.solve import plan_scenario
from planner.sweeps.sweep import (
    SweepSpec,
    draw,
    plan_cases,
    read_sweep,
    run_sweep,
    samples,
)

TINY = find_scenario("scenarios/tiny/sweep_one_site.yaml")
FLAGSHIP = find_scenario("cn_maas_2026")


# --------------------------------------------------------------------------- overrides


def test_set_path_keeps_units_and_picks_list_items_by_name() -> None:
    data = {
        "sites": [
            {"name": "a", "grid": {"import_cap": {"value": "20 MW", "source": "s"}}},
            {"name": "b", "pue": {"value": 1.2}},
        ],
        "parts": [{"part": "h20", "supply_cap_parts": {2027: {"value": 10}}}],
    }
    out = set_path(data, "sites.a.grid.import_cap", 35.0)
    assert out["sites"][0]["grid"]["import_cap"] == {"value": "35.0 MW", "source": "s"}
    assert data["sites"][0]["grid"]["import_cap"]["value"] == "20 MW"  # the input is untouched
    assert set_path(data, "sites.b.pue", 1.4)["sites"][1]["pue"]["value"] == 1.4
    assert (
        set_path(data, "parts.h20.supply_cap_parts.2027", 5.0)["parts"][0]["supply_cap_parts"][
            2027
        ]["value"]
        == 5.0
    )
    with pytest.raises(KeyError, match="'c' is not found under sites"):
        set_path(data, "sites.c.pue", 1.0)
    with pytest.raises(ValueError, match="not a number"):
        set_path(data, "sites.a", 1.0)


def test_growth_exponent_squares_each_multiple_and_zero_holds_demand_flat() -> None:
    scenario = load_scenario(FLAGSHIP)
    d = scenario.demand.per_day  # tokens, or seconds of video for a video workload
    squared = scale_growth(scenario, 2.0).demand.per_day
    flat = scale_growth(scenario, 0.0).demand.per_day
    assert scenario.demand.is_video.any()  # the video row grows too
    np.testing.assert_allclose(squared, d[:, :1] * (d / d[:, :1]) ** 2, rtol=1e-12)
    # chat: 3e12 -> 9e12 in 2027 is a 3x year; squared it is 9x: 2.7e13.
    assert squared[0, 1] == pytest.approx(2.7e13, rel=1e-12)
    np.testing.assert_allclose(flat, np.repeat(d[:, :1], d.shape[1], axis=1), rtol=1e-12)


def test_path_override_reaches_the_plan_inputs() -> None:
    scenario, regime = apply_overrides(TINY, {"sites.test-site.pue": 1.4, "regime": "us-2025-01"})
    assert regime == "us-2025-01"
    assert scenario.raw.sites[0].pue.value == 1.4
    with pytest.raises(InputError) as err:
        apply_overrides(TINY, {"demand.workloads.chat.output_share_fraction": 1.5})
    assert "output_share_fraction" in str(err.value)


# --------------------------------------------------------------------------- draws and cases


def test_draws_follow_their_distribution_and_the_seed() -> None:
    rng = np.random.default_rng(7)
    tri = UncertainIn(parameter="x", distribution="triangular", low=0.5, mode=1.0, high=2.0)
    values = draw(tri, rng, 20_000)
    assert values.min() >= 0.5 and values.max() <= 2.0
    assert values.mean() == pytest.approx((0.5 + 1.0 + 2.0) / 3, rel=0.01)  # triangular mean
    logn = UncertainIn(parameter="y", distribution="lognormal", median=80.0, sigma=0.3)
    assert np.median(draw(logn, rng, 20_000)) == pytest.approx(80.0, rel=0.02)
    clipped = UncertainIn(parameter="z", distribution="normal", mean=0.0, sd=1.0, low=-0.5)
    assert draw(clipped, rng, 1000).min() == -0.5
    dists = [tri, logn]
    assert samples(dists, 5, seed=3) == samples(dists, 5, seed=3)
    assert samples(dists, 5, seed=3) != samples(dists, 5, seed=4)
    # Each parameter has its own stream: adding one leaves the others' draws as they were.
    assert [s["x"] for s in samples([tri], 5, 3)] == [s["x"] for s in samples(dists, 5, 3)]


def test_a_distribution_missing_its_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="triangular distribution needs low, mode, high"):
        UncertainIn(parameter="x", distribution="triangular", low=0.0, high=1.0)


def test_cases_are_the_grid_times_the_samples_with_stable_ids() -> None:
    spec = SweepSpec(
        TINY, vary={"demand.growth": [0.5, 1.0], "regime": ["us-2025-01"]}, samples=3, seed=1
    )
    cases, dists = plan_cases(spec)
    assert len(cases) == 2 * 1 * 3 and len({c.case for c in cases}) == 6
    assert dists[0].parameter == "demand.scale"
    assert [c.case for c in plan_cases(spec)[0]] == [c.case for c in cases]
    other = SweepSpec(TINY, vary=spec.vary, samples=3, seed=1, mip_gap=0.01)
    assert not {c.case for c in plan_cases(other)[0]} & {c.case for c in cases}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SweepSpec(TINY, vary={"sites.nowhere.pue": [1.0]}), "'nowhere' is not found"),
        (SweepSpec(TINY, vary={"demand.scale": ["high"]}), "takes numbers only"),
        (SweepSpec(TINY, vary={"serving.band": [0.0, 1.5]}), "counts error bands, from -1 to 1"),
        (SweepSpec(TINY, vary={"serving.band.hopper": [-2.0]}), "'serving.band.hopper' counts"),
        (SweepSpec(TINY, vary={"serving.band.hoper": [-1.0]}), "one of ada, ampere"),
        (SweepSpec(FLAGSHIP, samples=4), "declares no distributions"),
        (SweepSpec(TINY), "nothing to sweep"),
    ],
)
def test_bad_sweeps_name_the_field_and_the_fix(spec: SweepSpec, message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_cases(spec)


def test_a_grid_parameter_replaces_its_distribution() -> None:
    cases, dists = plan_cases(SweepSpec(TINY, vary={"demand.scale": [0.7, 1.3]}, samples=2))
    assert "demand.scale" not in [d.parameter for d in dists] and len(dists) == 2
    assert sorted({c.params["demand.scale"] for c in cases}) == [0.7, 1.3] and len(cases) == 4


def test_parse_vary_reads_numbers_and_ids() -> None:
    assert parse_vary(["demand.growth=0.5,1,2", "regime=us-2025-01,us-2026-01"]) == {
        "demand.growth": [0.5, 1.0, 2.0],
        "regime": ["us-2025-01", "us-2026-01"],
    }
    with pytest.raises(InputError, match="--vary"):
        parse_vary(["demand.growth"])


# --------------------------------------------------------------------------- a local sweep


def test_local_sweep_matches_direct_plans_and_resumes(tmp_path: Path) -> None:
    spec = SweepSpec(TINY, vary={"demand.scale": [1.0, 2.0], "sites.test-site.pue": [1.25, 1.5]},
                     relax=True)  # fmt: skip
    out = tmp_path / "sweep"
    outcome = run_sweep(spec, out, workers=2)
    assert (outcome.done, outcome.failed, outcome.skipped) == (4, 0, 0)
    table = read_sweep(out).table.set_index(["demand.scale", "sites.test-site.pue"])
    assert (table["status"] == "ok").all()
    # Each case equals the plan solved directly with the same overrides.
    for (scale, pue), row in table.iterrows():
        scenario, _ = apply_overrides(TINY, {"demand.scale": scale, "sites.test-site.pue": pue})
        direct = plan_scenario(scenario, relax=True).solution.objective
        assert row["net_present_cost"] == pytest.approx(direct, rel=1e-9)
    # Served from existing MW, the LP's cost is linear in demand: twice the tokens, twice the cost.
    assert table.loc[(2.0, 1.25), "net_present_cost"] == pytest.approx(
        2 * table.loc[(1.0, 1.25), "net_present_cost"], rel=1e-6
    )
    assert table.loc[(1.0, 1.5), "net_present_cost"] > table.loc[(1.0, 1.25), "net_present_cost"]
    marker = out / "cases" / table["run"].iloc[0] / "run.json"
    before = marker.stat().st_mtime_ns
    again = run_sweep(spec, out, workers=1)
    assert (again.done, again.failed, again.skipped) == (0, 0, 4)
    assert marker.stat().st_mtime_ns == before


def test_sweep_cli_monte_carlo_json_and_runs_query(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "mc"
    args = ["sweep", str(TINY), "--samples", "3", "--seed", "11", "--relax", "--workers", "2",
            "--out", str(out), "--format", "json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["parameters"] == [
        "demand.scale",
        "sites.test-site.pue",
        "sites.test-site.grid.energy_price.tou.prices_per_mwh.flat",
        "sample",
    ]
    assert all(0.5 <= r["demand.scale"] <= 2.0 for r in meta["cases"] for r in [r["params"]])
    query = runner.invoke(
        app,
        ["runs", "query", "--root", str(out), "--format", "json",
         "SELECT count(DISTINCT f.run) AS runs FROM sweep s JOIN fleet f USING (run)"],
    )  # fmt: skip
    assert query.exit_code == 0, query.output
    assert json.loads(query.stdout)[0]["runs"] == 3


def test_sweep_cli_bad_input_is_exit_2_without_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sweep", str(TINY), "--vary", "sites.nowhere.pue=1,2", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert "nowhere" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
    bad = CliRunner().invoke(app, ["sweep", str(TINY), "--vary", "demand.scale=1", "--scheduler",
                                   "tcp://127.0.0.1:1", "--out", str(tmp_path / "y")])  # fmt: skip
    assert bad.exit_code == 2 and "no Dask scheduler answers" in bad.output
    assert not (tmp_path / "y").exists()
