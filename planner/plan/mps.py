"""A capacity plan as an MPS file for any solver (`planner plan SCENARIO --write-mps FILE`).

The file holds the matrix the backend would hand HiGHS (`models.mps`: cvxpy's problem data or
Pyomo's standard-form compiler), with the purchase variables kept integer unless the plan is
relaxed, so another solver (or HiGHS alone, the benchmarks' floor) sees the same LP or MILP.
Solver options such as HiGHS's `user_bound_scale` are not part of an MPS file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import highspy

from models.capacity import CapacityInputs
from models.capacity_validation import InvalidCapacityInputs, check_inputs
from models.common import Backend
from planner.atomic import atomic_write
from planner.errors import InputError, Problem
from planner.plan.resolve import resolve
from planner.plan.scenario import Scenario


def check_mps_path(path: Path) -> Path:
    """`path` must end in .mps and its folder must exist (checked before anything is built)."""
    path = Path(path)
    if path.suffix.lower() != ".mps":
        raise InputError.option(
            "write_mps", f"'{path.name}' does not end in .mps.", "name the file e.g. plan.mps."
        )
    if not path.resolve().parent.is_dir():
        raise InputError.option(
            "write_mps", f"folder '{path.resolve().parent}' does not exist.", "create it first."
        )
    return path


def plan_highs_model(x: CapacityInputs, backend: Backend) -> highspy.HighsLp:
    """The plan as HiGHS receives it from `backend`: an LP if `x.relax`, else a MILP whose
    integer columns are the servers bought."""
    from models.mps import lp_from_cvxpy, lp_from_pyomo

    problems = check_inputs(x)
    if problems:
        raise InvalidCapacityInputs(problems)
    match backend:
        case "cvxpy":
            import cvxpy as cp

            from models.capacity_cvxpy import build

            problem = build(x).problem
            lp = lp_from_cvxpy(problem)
            if not x.relax:
                data, _, _ = problem.get_problem_data(cp.HIGHS)
                integer = {*data.get("int_vars_idx", []), *data.get("bool_vars_idx", [])}
                kind = highspy.HighsVarType
                lp.integrality_ = [
                    kind.kInteger if j in integer else kind.kContinuous for j in range(lp.num_col_)
                ]
            return lp
        case "pyomo":
            from models.capacity_pyomo import build as build_pyomo

            return lp_from_pyomo(build_pyomo(x), integer=not x.relax)[0]
        case _:
            raise ValueError(f"unknown backend {backend!r}; use 'cvxpy' or 'pyomo'")


def write_plan_mps(x: CapacityInputs, backend: Backend, path: Path) -> Path:
    """Write the plan's LP or MILP to `path` (free MPS), atomically (planner.atomic)."""
    path = Path(path)
    h = highspy.Highs()
    h.silent()
    h.passModel(plan_highs_model(x, backend))

    def write(tmp: Path) -> None:
        status = h.writeModel(str(tmp))
        if status == highspy.HighsStatus.kError or not tmp.exists():
            raise OSError(f"HiGHS could not write {path}")

    return atomic_write(path, write, keep_suffix=True)


def write_scenario_mps(
    scenario: Scenario,
    path: Path,
    *,
    backend: Backend = "cvxpy",
    relax: bool = False,
    regime: str | None = None,
    overlays: Sequence[Path] = (),
) -> Path:
    """Resolve a scenario and write its plan as MPS, without solving; input problems name the
    scenario file."""
    check_mps_path(path)
    resolved = resolve(scenario, overlays=overlays, regime=regime, relax=relax)
    try:
        return write_plan_mps(resolved.inputs, backend, path)
    except InvalidCapacityInputs as exc:
        raise InputError(
            [
                Problem(str(scenario.path), f"model input {p.field}", p.problem, p.fix)
                for p in exc.problems
            ]
        ) from None
