"""Rounding the LP master's purchases to whole servers that still keep the rows of whole servers
alone (models/benders.py, `integer_phases`).

Rounding each purchase to its nearest whole server can break a row that binds in the LP: three
purchases of one part at 141.5, 1366.8 and 991.7 servers fill a supply cap of 2,500 exactly, and
round to 2,501 (flagship 1, 2026-12-05: both roundings infeasible, so no MILP plan at all). The
rows whose every column is a whole-server count (supply caps, quotas in servers) are repaired
after rounding: a server is taken back from, or added to, the purchase whose rounding moved it
furthest the wrong way, until the row holds. Rows with any continuous column are left to the
LP that re-optimises around the held purchases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

TOLERANCE = 1e-9  # rows are held to their bounds within this x (1 + |bound|)
MAX_STEPS = 10_000  # servers moved in all before the repair gives up


@dataclass(frozen=True)
class WholeRows:
    """The master's rows over whole-server columns only: A (rows x integer columns), bounds."""

    a: sp.csr_matrix
    lower: np.ndarray
    upper: np.ndarray


def whole_rows(
    a: sp.csc_matrix, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray
) -> WholeRows:
    """The rows of `a` whose non-zeros all lie in `integer` columns, restricted to them."""
    a = sp.csr_matrix(a)
    continuous = (~np.asarray(integer, dtype=bool)).astype(float)
    touches = np.asarray(abs(a) @ continuous).ravel() > 0
    rows = np.flatnonzero(~touches & (np.diff(a.indptr) > 0))
    cols = np.flatnonzero(integer)
    return WholeRows(a[rows][:, cols].tocsr(), np.asarray(lower)[rows], np.asarray(upper)[rows])


def repair(
    rounded: np.ndarray, relaxed: np.ndarray, rows: WholeRows, bounds: tuple[np.ndarray, ...]
) -> np.ndarray:
    """`rounded` (whole servers, one per integer column) moved a server at a time until every
    whole-server row holds, each step on the column that rounding pushed furthest from its LP
    value `relaxed` in the row's wrong direction, within `bounds` (lower, upper). Returns the
    repaired purchases (as far as MAX_STEPS allows: the caller's LP says if they still fail)."""
    x = np.clip(np.asarray(rounded, dtype=float).copy(), *bounds)
    for _ in range(MAX_STEPS):
        moved = False
        for i in range(rows.a.shape[0]):
            moved |= step_into_row(x, relaxed, rows, i, bounds)
        if not moved:
            break
    return x


def step_into_row(
    x: np.ndarray, relaxed: np.ndarray, rows: WholeRows, i: int, bounds: tuple[np.ndarray, ...]
) -> bool:
    """One server moved toward row i's bounds if it is broken; True if one was moved."""
    lo, hi = rows.a.indptr[i], rows.a.indptr[i + 1]
    cols, coef = rows.a.indices[lo:hi], rows.a.data[lo:hi]
    activity = float(coef @ x[cols])
    if activity > rows.upper[i] + TOLERANCE * (1 + abs(rows.upper[i])):
        sign = 1.0  # lower the activity: fewer of a positive column or more of a negative one
    elif activity < rows.lower[i] - TOLERANCE * (1 + abs(rows.lower[i])):
        sign = -1.0
    else:
        return False
    direction = -sign * np.sign(coef)  # the step of each column that mends the row
    room = np.where(direction > 0, bounds[1][cols] - x[cols], x[cols] - bounds[0][cols])
    pushed = (x[cols] - relaxed[cols]) * -direction  # how far rounding moved it the wrong way
    candidates = np.flatnonzero(room >= 1.0)
    if not candidates.size:
        return False
    j = candidates[np.argmax(pushed[candidates])]
    x[cols[j]] += direction[j]
    return True
