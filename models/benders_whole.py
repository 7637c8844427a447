"""A subproblem's operation written whole into the Benders master (partial Benders), and the
monolithic plan assembled from the master and every block the same way.

A block k's LP is  V_k(q) = offset + min c'v  s.t.  row_lower <= A_free v + A_fixed (S q) <=
row_upper, bounds on v, with q the master's in-service quantities of its period and S the
column scales of models/benders_sub.py (column value = quantity x scale). Written into the
master, v becomes master columns, A_fixed S moves onto the master's q columns, and one equality
row ties theta_k = offset + c'v. The master then carries that block exactly: its theta needs
no cuts, and the master's bound tightens by the block's hours (Crainic, Hewitt and Rei,
"Partial Benders decomposition", Computers & Operations Research 2021).

With every block written in and the elastic slack held at zero, the master is the monolithic
LP of the plan in another matrix layout: `monolith_model` writes it for HiGHS alone, the
comparison docs/benchmarks.md asks of the decomposition (issue 19).
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from models.benders_master import Master
from models.benders_sub import FLEET_FIELDS, Subproblem


def block_matrix(sub: Subproblem) -> sp.csc_matrix:
    """The subproblem's compiled constraint matrix, rows x columns (model, slack, excess)."""
    a = sub.lp.a_matrix_
    shape = (sub.lp.num_row_, sub.lp.num_col_)
    return sp.csc_matrix((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)), shape)


def fixed_targets(master: Master, sub: Subproblem) -> tuple[np.ndarray, np.ndarray]:
    """For each of the block's columns: the master column it becomes when fixed (-1: not a
    fleet column; -2: a fleet quantity the master holds at zero) and its scale."""
    target = np.full(sub.lp.num_col_, -1, dtype=np.int64)
    scale = np.ones(sub.lp.num_col_)
    year = sub.block.year
    for name in FLEET_FIELDS:
        ix = np.asarray(sub.columns.index[name]).ravel()
        master_ix = np.asarray(master.index.fleet[name][year]).ravel()
        on = ix >= 0
        target[ix[on]] = np.where(master_ix[on] >= 0, master_ix[on], -2)
        scale[ix[on]] = np.asarray(sub.columns.scale[name]).ravel()[on]
    return target, scale


def hold_whole(master: Master, k: int, sub: Subproblem, *, elastic: bool = True) -> None:
    """Write block k's operation into the master: its free columns, its rows over those and
    the master's in-service columns, and theta_k = offset + c'v. With `elastic` False the
    block's lost-load slack is held at zero (the plan as the monolith states it)."""
    if master.n_cuts:
        raise ValueError("hold blocks whole before any cut (cuts are the master's last rows)")
    a = block_matrix(sub)
    target, scale = fixed_targets(master, sub)
    free = np.flatnonzero(target == -1)
    fixed = np.flatnonzero(target >= 0)
    n0 = master.highs.getNumCol()
    lower = np.asarray(sub.lp.col_lower_, dtype=float)[free]
    upper = np.asarray(sub.lp.col_upper_, dtype=float)[free].copy()
    if not elastic:
        upper[np.isin(free, sub.slack_cols)] = 0.0
    master.highs.addCols(
        free.size, np.zeros(free.size), lower, upper, 0, np.zeros(0, np.int32),
        np.zeros(0, np.int32), np.zeros(0),
    )  # fmt: skip
    # columns of the rows in master numbering: free ones new, fixed ones onto q (scaled)
    moved = sp.hstack([a[:, free], a[:, fixed] @ sp.diags(scale[fixed])]).tocsr()
    columns = np.concatenate([n0 + np.arange(free.size), target[fixed]])
    row_lower = np.asarray(sub.lp.row_lower_, dtype=float)
    row_upper = np.asarray(sub.lp.row_upper_, dtype=float)
    keep = np.isfinite(row_lower) | np.isfinite(row_upper)  # free rows are the master's own
    rows = moved[keep]
    coo = rows.tocoo()
    matrix = sp.csr_matrix(
        (coo.data, (coo.row, columns[coo.col])), shape=(rows.shape[0], n0 + free.size)
    )
    master.highs.addRows(
        matrix.shape[0], row_lower[keep], row_upper[keep], matrix.nnz,
        matrix.indptr[:-1].astype(np.int32), matrix.indices.astype(np.int32), matrix.data,
    )  # fmt: skip
    cost = np.asarray(sub.lp.col_cost_, dtype=float)
    tie_cols = [np.array([master.index.theta[k]]), n0 + np.arange(free.size), target[fixed]]
    tie_vals = [np.ones(1), -cost[free], -cost[fixed] * scale[fixed]]
    tie = sp.coo_matrix(
        (
            np.concatenate(tie_vals),
            (np.zeros(sum(c.size for c in tie_cols), int), np.concatenate(tie_cols)),
        ),
        shape=(1, n0 + free.size),
    ).tocsr()  # duplicates (two fixed columns on one q) summed
    tie.eliminate_zeros()
    offset = float(sub.lp.offset_)
    master.highs.addRow(offset, offset, tie.nnz, tie.indices.astype(np.int32), tie.data)
    master.n_cols = n0 + free.size
    master.held.add(k)


def monolith_model(master: Master, subs: list[Subproblem]) -> highspy.Highs:
    """The master with every block held whole and no slack: the monolithic plan's LP (or MILP
    when the master's purchases are integer), ready to solve or `writeModel`."""
    for k, sub in enumerate(subs):
        hold_whole(master, k, sub, elastic=False)
    return master.highs
