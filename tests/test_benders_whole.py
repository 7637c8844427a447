"""Blocks written whole into the Benders master (models/benders_whole.py, issue 19).

With every block held and no slack, the master is the monolithic plan in another layout: its
optimum must equal the Pyomo monolith's (an independent formulation) on every tiny scenario,
as an LP and as a MILP. Holding some blocks whole (partial Benders) keeps the master's bound a
lower bound, never below the bound without them, and the decomposition's plan unchanged."""

from __future__ import annotations

import pytest

from models.benders import BendersOptions, solve_benders, whole_block_indices
from models.benders_inputs import blocks
from models.benders_master import Master
from models.benders_runner import InProcessRunner
from models.benders_sub import Subproblem
from models.benders_whole import hold_whole, monolith_model
from models.capacity import CapacityInputs
from models.capacity_check import check_solution
from tests.test_benders import GAP, SCENARIOS, inputs, monolith_cost


@pytest.mark.parametrize("relax", [True, False], ids=["lp", "milp"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_the_master_with_every_block_whole_is_the_monolith(name: str, relax: bool) -> None:
    x = inputs(name, relax)
    parts = blocks(x)
    master = Master(x, parts, {"threads": 1}, serving_relaxation=False)
    highs = monolith_model(master, [Subproblem(x, b, {"threads": 1}) for b in parts])
    master.relax_integers(relax)
    highs.setOptionValue("mip_rel_gap", GAP / 10)
    # the formulation is the question, not the LP algorithm: the interior point the LP master
    # runs by default called power_capped_grid's LP infeasible after the serving refit of
    # docs/serving.md item 29 (the master's own solves fall back to the simplex: LP_FALLBACKS)
    highs.setOptionValue("solver", "simplex")
    highs.run()
    got = highs.getInfo().objective_function_value
    assert got == pytest.approx(monolith_cost(x), rel=1e-7, abs=1e-4)


def lp_bound(x: CapacityInputs, whole: list[int]) -> float:
    """The LP master's first optimum with the blocks `whole` held whole."""
    parts = blocks(x)
    master = Master(x, parts, {"threads": 1}, serving_relaxation=True)
    for k in whole:
        hold_whole(master, k, Subproblem(x, parts[k], {"threads": 1}))
    master.relax_integers(True)
    _status, _values, objective, _bound = master.solve()
    return objective


@pytest.mark.parametrize("name", SCENARIOS)
def test_holding_the_busiest_blocks_tightens_the_first_bound_and_keeps_it_a_bound(
    name: str,
) -> None:
    x = inputs(name, True)
    want = monolith_cost(x)
    busiest = whole_block_indices(x, blocks(x), "busiest")
    plain, partial = lp_bound(x, []), lp_bound(x, busiest)
    assert plain <= partial * (1 + 1e-7) + 1e-6  # two LP optima, each to HiGHS's 1e-7
    assert partial <= want * (1 + 1e-6) + 1e-6
    assert lp_bound(x, list(range(len(blocks(x))))) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("which", ["busiest", "all"])
@pytest.mark.parametrize("name", ["cn_two_parts", "subsidy_choice", "flexible_connection"])
def test_partial_benders_gives_the_monolith_plan(name: str, which: str) -> None:
    x = inputs(name, True)
    result = solve_benders(x, InProcessRunner, BendersOptions(mip_gap=GAP, whole_blocks=which))
    want = monolith_cost(x)
    assert result.solution.objective == pytest.approx(want, rel=2 * GAP, abs=1e-3)
    assert check_solution(x, result.solution) == []
    if which == "all":  # the master is the monolith: its first bound is the optimum
        first_bound = max(i.lower_bound for i in result.iterations[:2])
        assert first_bound == pytest.approx(want, rel=1e-6)


def test_an_unknown_choice_of_whole_blocks_is_refused() -> None:
    x = inputs("cn_two_parts", True)
    with pytest.raises(ValueError, match="none, busiest or all"):
        whole_block_indices(x, blocks(x), "some")
