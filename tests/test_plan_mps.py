"""`planner plan SCENARIO --write-mps FILE`: the plan's LP or MILP for any solver, no solve.

HiGHS alone on the written file must reach the optimum the planner itself reaches.
"""

from __future__ import annotations

from pathlib import Path

import highspy
import pytest
from typer.testing import CliRunner

from cli.app import app
from models.mps import solve_mps
from planner.plan.mps import plan_highs_model
from planner.plan.scenario import load_scenario
from planner.plan.solve import plan_scenario, resolve

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"  # 1 workload, 2 parts, 1 site, 2 y
REL_TOL = 1e-6


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo"])
def test_written_lp_solved_by_highs_alone_equals_plan_relax(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_RUNS", str(tmp_path / "runs"))
    path = tmp_path / "plan.mps"
    args = ["plan", str(TINY), "--relax", "--backend", backend, "--write-mps", str(path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "runs").exists()  # no solve, no run folder
    alone = solve_mps(path)
    planned = plan_scenario(load_scenario(TINY), backend=backend, relax=True).solution
    assert alone.status == "optimal" and planned.status == "optimal"
    assert alone.objective == pytest.approx(planned.objective, rel=REL_TOL)


def test_written_milp_keeps_servers_integer_and_reaches_the_plan_optimum(tmp_path: Path) -> None:
    scenario = load_scenario(TINY)
    x = resolve(scenario).inputs
    _, n_p, n_s, n_y, _ = x.shape
    model = plan_highs_model(x, "cvxpy")
    integer = [k for k in model.integrality_ if k == highspy.HighsVarType.kInteger]
    assert len(integer) == n_p * n_s * n_y  # servers bought, by part, site and year
    path = tmp_path / "plan.mps"
    result = CliRunner().invoke(app, ["plan", str(TINY), "--write-mps", str(path)])
    assert result.exit_code == 0, result.output
    assert "MILP of tiny-one-site-two-parts written" in result.output
    alone = solve_mps(path, {"mip_rel_gap": 0.0})
    planned = plan_scenario(scenario, mip_gap=0.0).solution
    assert alone.status == "optimal" and planned.status == "optimal"
    assert alone.objective == pytest.approx(planned.objective, rel=REL_TOL)


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("plan.txt", "--write-mps: 'plan.txt' does not end in .mps."),
        ("missing/plan.mps", "--write-mps: folder"),
    ],
)
def test_bad_mps_path_exits_2_naming_the_option(name: str, named: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", str(TINY), "--write-mps", str(tmp_path / name)])
    assert result.exit_code == 2
    assert named in result.output and "Fix:" in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("*.mps"))
