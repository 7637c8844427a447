"""Cut retirement in the Benders master (models/benders_cuts.py): a cut slack for its rounds
leaves the master for the pool and comes back when a point violates it; the master's rows stay
the book's; and a decomposition that retires every cut slack for one round still reaches the
monolith's optimum (an independent formulation) with a bound below it."""

from __future__ import annotations

import numpy as np
import pytest

from models.benders import BendersOptions, solve_benders
from models.benders_cuts import Cut, CutBook
from models.benders_master import Master
from models.benders_runner import InProcessRunner
from models.capacity_check import check_solution
from tests.test_benders import GAP, inputs, monolith_cost


def test_a_slack_cut_leaves_after_its_rounds_and_returns_when_violated() -> None:
    # columns: q (0), theta (1); A: theta - 2 q >= 1, B: theta >= 5
    a = Cut(1, np.array([0, 1], dtype=np.int32), np.array([-2.0, 1.0]), 1.0)
    b = Cut(1, np.array([1], dtype=np.int32), np.array([1.0]), 5.0)
    book = CutBook()
    book.add(a)
    book.add(b)
    at = np.array([1.0, 5.0])  # A clears its side by 2 (of theta's 5), B binds
    book.grow_older(at)
    assert book.age == [1, 0]
    assert book.retire(2).tolist() == [True, True]
    book.grow_older(np.array([3.0, 7.0]))  # A binds here (7 - 6 = 1): young again
    assert book.age == [0, 1]
    book.grow_older(at)
    book.grow_older(at)
    assert book.age == [2, 0]
    assert book.retire(2).tolist() == [False, True]
    assert (book.rows, book.pool) == ([b], [a])
    assert book.violated(at) == []  # A still holds at the point it was slack at
    assert book.violated(np.array([3.0, 5.0])) == [a]  # 5 - 6 = -1 < 1
    assert book.pool == []


def test_the_masters_cut_rows_stay_the_books_as_cuts_leave_and_return(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moved = []
    retire = Master.retire_slack_cuts

    def checked(self: Master, values: np.ndarray, rounds: int) -> tuple[int, int]:
        out = retire(self, values, rounds)
        moved.append(out)
        lower = np.asarray(self.highs.getLp().row_lower_)
        assert lower.size == self.highs.getNumRow()
        assert lower[lower.size - self.n_cuts :].tolist() == [c.rhs for c in self.cuts.rows]
        return out

    monkeypatch.setattr(Master, "retire_slack_cuts", checked)
    x = inputs("flexible_connection", True)
    solve_benders(x, InProcessRunner, BendersOptions(mip_gap=GAP, retire_cuts_after=1))
    assert sum(left for left, _ in moved) > 0, "the case retires cuts"
    assert sum(back for _, back in moved) > 0, "and takes some back"


@pytest.mark.parametrize("relax", [True, False], ids=["lp", "milp"])
@pytest.mark.parametrize("name", ["subsidy_choice", "flexible_connection"])
def test_a_decomposition_that_retires_cuts_reaches_the_monoliths_optimum(
    name: str, relax: bool
) -> None:
    x = inputs(name, relax)
    want = monolith_cost(x)
    opts = BendersOptions(mip_gap=GAP, retire_cuts_after=1)
    result = solve_benders(x, InProcessRunner, opts)
    assert result.lower_bound <= want * (1 + 1e-6) + 1e-6, "the master's bound is a lower bound"
    assert result.solution.objective == pytest.approx(want, rel=2 * GAP, abs=1e-3)
    assert result.gap <= GAP * (1 + 1e-9)
    assert check_solution(x, result.solution) == []
