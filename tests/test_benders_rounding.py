"""Rounding the LP master's purchases (models/benders_rounding.py): a supply cap that binds in the
LP still holds after rounding, and rows with a continuous column are left to the LP."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.benders_rounding import repair, whole_rows


def test_a_cap_filled_exactly_in_the_lp_still_holds_after_rounding() -> None:
    """Flagship 1's case: 8 x (141.5141 + 1366.7652 + 991.7207) servers fill a cap of 20,000
    exactly; rounded to the nearest they need 20,008. The repair takes one server back from the
    purchase rounding pushed furthest up (141.5 -> 142), and leaves the rest as rounded."""
    relaxed = np.array([141.5141, 1366.7652, 991.7207, 5.2])
    a = sp.csc_matrix(np.array([[8.0, 8.0, 8.0, 0.0], [0.0, 1.0, 0.0, 1.0]]))
    integer = np.array([True, True, True, True])
    rows = whole_rows(a, np.array([-np.inf, 1372.0]), np.array([20_000.0, np.inf]), integer)
    bounds = (np.zeros(4), np.full(4, np.inf))
    rounded = np.round(relaxed)
    assert 8 * rounded[:3].sum() == 20_008
    fixed = repair(rounded, relaxed, rows, bounds)
    assert fixed.tolist() == [141.0, 1367.0, 992.0, 5.0]
    assert 8 * fixed[:3].sum() <= 20_000 and fixed[1] + fixed[3] >= 1372.0


def test_a_row_short_of_its_lower_bound_gains_a_server_and_mixed_rows_are_left() -> None:
    """A quota of at least 10 servers rounded down to 9 gets one back on the column rounded
    furthest down; a row holding a continuous column (IT MW, say) is not among the rows repaired."""
    relaxed = np.array([4.45, 5.4, 3.0])
    a = sp.csc_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, -2.0]]))
    integer = np.array([True, True, False])
    rows = whole_rows(a, np.array([9.85, -np.inf]), np.array([np.inf, 0.0]), integer)
    assert rows.a.shape == (1, 2)
    fixed = repair(np.round(relaxed[:2]), relaxed[:2], rows, (np.zeros(2), np.full(2, 50.0)))
    assert fixed.tolist() == [5.0, 5.0]  # 4.45 -> 4 was pushed further than 5.4 -> 5
