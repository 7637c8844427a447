"""The plan's LP keeps purchases and builds out of its hourly rows (issue 19, "make the monolith
cheaper"): parts installed, CPU servers installed, IT capacity, solar and battery in service are
columns of their own, each defined once by an equality row, so an hourly row reads one column
per quantity in service instead of every purchase still alive. Both backends write it so."""

from __future__ import annotations

from pathlib import Path

import highspy
import numpy as np
import pytest

from planner.plan.mps import write_plan_mps
from planner.plan.resolve import resolve
from planner.plan.scenario import load_scenario

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny"


def column_lengths(path: Path) -> np.ndarray:
    h = highspy.Highs()
    h.silent()
    h.readModel(str(path))
    return np.diff(np.asarray(h.getLp().a_matrix_.start_))


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo"])
@pytest.mark.parametrize("name", ["cn_two_parts", "subsidy_choice", "flexible_connection"])
def test_no_column_reaches_every_hourly_row_of_every_year(
    tmp_path: Path, name: str, backend: str
) -> None:
    """A column meets at most four rows per step (an installed part: its busy limit, the power
    balance, the IT capacity and the subsidy rebate row) and one defining row. Written as
    expressions, a purchase alive for Y years met 3 x Y rows per step: 145 for a two-year part
    on 24 steps, above this bound of 97."""
    x = resolve(load_scenario(TINY / f"{name}.yaml"), relax=True).inputs
    n_t, n_y = x.shape[4], x.shape[3]
    assert n_y >= 2  # a purchase alive in two years at least: the bound can fail
    lengths = column_lengths(write_plan_mps(x, backend, tmp_path / "plan.mps"))
    assert lengths.max() <= 4 * n_t + 1
