"""The solver glue (models/solvers.py): status maps, option names, any installed solver.

HiGHS is always present; SCIP (pyscipopt, a dev dependency) is tested where installed and must find
the hand-solved MILP optimum of tests/test_capacity_model.py; an unknown solver is a user error.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.app import app
from models.common import SolveStatus
from models.dispatch import solve_capacity
from models.solvers import (
    SOLVERS,
    UnknownSolver,
    available_solvers,
    cvxpy_solve_kwargs,
    map_cvxpy_status,
    map_highs_status,
    solver_for,
    solver_options,
)
from tests.test_capacity_model import discounted


def test_our_option_names_in_each_solvers_words() -> None:
    highs, scip = SOLVERS["highs"], SOLVERS["scip"]
    assert solver_options(highs, {"mip_gap": 0.01, "time_limit_s": 5, "threads": 1}, True) == {
        "mip_rel_gap": 0.01,
        "time_limit": 5.0,
        "threads": 1,
    }
    assert solver_options(highs, {}, integer=True) == {"mip_rel_gap": 1e-4}
    assert solver_options(highs, {"mip_gap": 0.01}, integer=False) == {}  # an LP has no gap
    assert cvxpy_solve_kwargs(scip, {"time_limit_s": 9}, integer=True) == {
        "solver": "SCIP",
        "scip_params": {"limits/gap": 1e-4, "limits/time": 9.0},
    }


def test_status_maps_name_every_outcome() -> None:
    assert map_cvxpy_status("optimal_inaccurate") is SolveStatus.optimal
    assert map_cvxpy_status("user_limit") is SolveStatus.time_limit
    assert map_cvxpy_status(None) is SolveStatus.error
    assert map_highs_status("HighsModelStatus.kTimeLimit") is SolveStatus.time_limit
    assert map_highs_status("HighsModelStatus.kUnboundedOrInfeasible") is SolveStatus.unbounded


def test_unknown_and_unreachable_solvers_are_refused() -> None:
    with pytest.raises(UnknownSolver, match="is not one the planner knows"):
        solver_for("nosuch", "cvxpy")
    with pytest.raises(UnknownSolver, match="cvxpy backend only"):
        solver_for("clarabel", "pyomo")
    assert available_solvers("pyomo")[0] == "highs"
    assert "clarabel" not in available_solvers("pyomo")


@pytest.mark.skipif(not SOLVERS["scip"].installed(), reason="pyscipopt is not installed")
def test_scip_finds_the_hand_solved_milp_optimum() -> None:
    """38.5, as derived in test_milp_optimum_in_whole_servers."""
    s = solve_capacity(discounted(), backend="cvxpy", solver="scip", options={"mip_gap": 1e-9})
    assert s.status is SolveStatus.optimal
    assert s.objective == pytest.approx(38.5, rel=1e-7)


def test_cli_names_an_unknown_solver_and_the_available_ones() -> None:
    result = CliRunner().invoke(
        app, ["plan", "scenarios/tiny/one_site_two_parts.yaml", "--solver", "nosuch"]
    )
    assert result.exit_code == 2
    assert "unknown solver 'nosuch'" in result.output and "highs" in result.output
    assert "Traceback" not in result.output
