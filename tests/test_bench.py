"""Benchmark plumbing: MPS files the backends write, the `planner bench` rows, decomposition.

Speed is measured in benches/, never here; these tests check that what is measured is right.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from models.decompose import build_joint, solve_apart, solve_joint
from models.dispatch import solve_site_energy as solve
from models.mps import solve_mps, write_mps
from planner.bench.site import ROW_KEYS, bench_inputs, first_hours, parse_sizes, site_variant

REL_TOL = 1e-6


@pytest.fixture(scope="module")
def two_sites() -> list:
    """The two shipped sites over their first 48 hours (each hour standing for 182.5 h)."""
    return bench_inputs("48", 2)


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo"])
def test_mps_solved_by_highs_alone_gives_the_backend_objective(
    backend: str, two_sites: list, tmp_path: Path
) -> None:
    x = two_sites[1]
    solved = solve(x, backend=backend)
    path = write_mps(build_joint([x], backend), tmp_path / "site.mps")
    alone = solve_mps(path)
    assert solved.status == "optimal" and alone.status == "optimal"
    assert alone.objective == pytest.approx(solved.objective, rel=REL_TOL)
    assert alone.n_cols == 3 + 9 * 48 + len(x.billing_period_months)  # 3 sizes, 9 hourly


def test_decomposition_equals_the_monolithic_objective(two_sites: list) -> None:
    sites = [*two_sites, site_variant(two_sites[0], 1)]
    joint = solve_joint(sites, backend="cvxpy")
    apart = solve_apart(sites, backend="cvxpy", workers=2)  # worker processes, not in-process
    assert joint.status == "optimal" and apart.status == "optimal"
    assert apart.objective == pytest.approx(joint.objective, rel=REL_TOL)
    for together, alone in zip(joint.sites, apart.sites, strict=True):
        assert together.objective == pytest.approx(alone.objective, rel=REL_TOL)
    pyomo_joint = solve_joint(sites, backend="pyomo")
    assert pyomo_joint.objective == pytest.approx(joint.objective, rel=REL_TOL)
    # the joint LP holds every site: its optimum is the sum of the single-site optima
    singles = sum(solve(x, backend="pyomo").objective for x in sites)
    assert pyomo_joint.objective == pytest.approx(singles, rel=REL_TOL)


def test_first_hours_stand_for_a_year(two_sites: list) -> None:
    x = two_sites[0]
    assert x.n_steps == 48
    assert x.weight_h.sum() == pytest.approx(8760.0)
    assert x.prev_step[0] == 47 and x.prev_step[1] == 0  # storage wraps over the slice
    assert x.billing_period_months.sum() == pytest.approx(12.0)
    assert set(np.unique(x.billing_period)) == {0}  # 48 hours of January: one period
    variant = site_variant(x, 2)
    assert variant.it_load_mw == pytest.approx(x.it_load_mw * 1.1)
    assert variant.price_per_mwh[2] == x.price_per_mwh[0]
    assert first_hours(x, 48) is x


def test_planner_bench_json_has_the_documented_keys() -> None:
    result = CliRunner().invoke(app, ["bench", "--sizes", "24", "--sites", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["backend"] for row in rows} == {"cvxpy", "pyomo"}
    for row in rows:
        assert set(ROW_KEYS) <= set(row)
        assert row["status"] == "optimal" and row["hours"] == 24 and row["sites"] == 1
        assert row["total_s"] >= row["solve_s"] > 0 and row["highs_alone_s"] > 0
        assert row["ratio_to_highs"] == pytest.approx(row["total_s"] / row["highs_alone_s"])
        assert row["objective"] == pytest.approx(row["highs_objective"], rel=REL_TOL)
        assert 50 < row["peak_rss_mb"] < 4096


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--sizes", "10"], "--sizes: '10' is not a size."),
        (["--sizes", "rep:400"], "--sizes: 'rep:400' is not a size."),
        (["--sites", "0"], "--sites: '0' is not a site count."),
        (["--backends", "gurobipy"], "--backends: 'gurobipy' is not one of cvxpy, pyomo."),
        (["--option", "solver"], "--option: 'solver' is not KEY=VALUE."),
    ],
)
def test_bad_bench_arguments_exit_2_naming_the_option(args: list[str], named: str) -> None:
    result = CliRunner().invoke(app, ["bench", *args])
    assert result.exit_code == 2
    assert named in result.output and "Fix:" in result.output
    assert "Traceback" not in result.output


def test_parse_sizes_normalises() -> None:
    assert parse_sizes("168, 2190,REP:12,rep:024") == ["168", "2190", "rep:12", "rep:24"]


# --- the capacity plan's benchmark (planner.bench.plan) ------------------------------------------


def test_plan_variant_resizes_the_flagship_deterministically() -> None:
    from planner.bench.plan import PlanSize, variant_data
    from planner.paths import shipped_dir
    from planner.yamlio import read_yaml

    flagship = read_yaml(shipped_dir("scenarios") / "cn_maas_2026.yaml")
    data = variant_data(flagship, PlanSize(parts=20, years=10, sites=10))
    assert data["demand"]["horizon"] == {"start": 2026, "end": 2035}
    assert [p["part"] for p in data["parts"]][:6] == [p["part"] for p in flagship["parts"]]
    assert len(data["parts"]) == 20 and "yitian-710" not in {p["part"] for p in data["parts"]}
    # added parts with no price in their profile are candidates the rules exclude
    assert {"ascend-910b", "l20", "l40s"} <= set(data["rules"]["banned_parts"])
    assert "b200" not in data["rules"]["banned_parts"]  # priced: left to the export rules
    chat = data["demand"]["workloads"][0]["growth"]["points"]
    # five flagship sites carry the flagship's demand, five copies 5 % more each: x 2.05
    assert chat[2030] == pytest.approx(3.375e13 * 2.05)
    assert chat[2035] == chat[2030]  # held beyond the flagship's last year
    h200_cap = data["parts"][0]["supply_cap_parts"]
    assert sorted(h200_cap) == list(range(2026, 2036))
    names = [s["name"] for s in data["sites"]]
    assert names[5] == "inner-mongolia-horinger-copy1" and len(set(names)) == 10
    hours = flagship["sites"][1]["grid"]["energy_price"]["tou"]["hours"]
    copied = data["sites"][6]["grid"]["energy_price"]["tou"]["hours"]
    assert copied[1:] == hours[:-1] and copied[0] == hours[-1]  # shifted one hour later
    small = variant_data(flagship, PlanSize(parts=5, years=1, sites=1))
    assert small["demand"]["horizon"]["end"] == 2026
    assert small["demand"]["workloads"][0]["growth"]["points"] == {2026: pytest.approx(6.0e11)}
    assert all("installed" not in p or not p["installed"] for p in small["parts"])


def test_planner_bench_plan_matches_highs_alone_on_its_mps() -> None:
    args = ["bench", "--model", "plan", "--sizes", "p2y1s1", "--backends", "cvxpy"]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert set(ROW_KEYS) <= set(row)
    assert (row["model"], row["method"], row["size"]) == ("plan", "lp", "p2y1s1")
    # three representative days, each as weekdays and weekend days (the flagship's weekly shapes)
    assert (row["parts"], row["years"], row["sites"], row["hours"]) == (2, 1, 1, 144)
    assert row["status"] == "optimal" and row["highs_alone_s"] > 0
    assert row["total_s"] >= row["solve_s"] > 0
    assert row["ratio_to_highs"] == pytest.approx(row["total_s"] / row["highs_alone_s"])
    assert row["objective"] == pytest.approx(row["highs_objective"], rel=REL_TOL)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--sizes", "p30y1s1"], "--sizes: 'p30y1s1' is not a plan size."),
        (["--sizes", "5x5x5"], "--sizes: '5x5x5' is not a plan size."),
        (["--sites", "5"], "--sites: a plan size names its sites."),
        (["--methods", "joint"], "--methods: 'joint' is not one of lp, milp, lp-decompose,"),
    ],
)
def test_bad_plan_bench_arguments_exit_2(args: list[str], named: str) -> None:
    result = CliRunner().invoke(app, ["bench", "--model", "plan", *args])
    assert result.exit_code == 2
    assert named in result.output and "Fix:" in result.output
    assert "Traceback" not in result.output
