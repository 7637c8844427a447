"""Power caps and grid options in cvxpy (docs/capacity_model.md, eqs. 19-21).

The twin of models/capacity_flex_pyomo.py. Parts busy at a cap are one (W*P*S*Y*J, T) matrix,
rows in C order over (w, p, s, y, j); the families of models/capacity_cvxpy.py take its terms
(busy parts, tokens, watts) through the functions below, so none of them changes shape. The grid
choice is a vector over the offered (site, option) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from models.capacity import MW_PER_W, CapacityInputs, scaled_serve_data
from models.capacity_flex import (
    cap_count,
    capped_active_w,
    capped_throughput,
    offered_options,
    option_import_limit_mw,
    option_sites,
)

Constraints = list[cp.Constraint]


@dataclass(frozen=True)
class FlexVariables:
    """Parts busy at each cap (eq. 19) and the grid option chosen (eq. 20); None when off."""

    capped_busy: cp.Variable | None  # (W*P*S*Y*J, T)
    grid_option: cp.Variable | None  # (N,) z of each offered (site, option), N = offered pairs


def make_flex_variables(x: CapacityInputs) -> FlexVariables:
    """Non-negative capped busy parts; z binary ([0, 1] when relaxed)."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    n_j, n_n = cap_count(x), offered_options(x).shape[0]
    capped = (
        cp.Variable((n_w * n_p * n_s * n_y * n_j, n_t), nonneg=True, name="capped_busy")
        if n_j
        else None
    )
    option = None
    if n_n:
        kind = {"nonneg": True} if x.relax else {"boolean": True}
        option = cp.Variable(n_n, name="grid_option", **kind)
    return FlexVariables(capped, option)


def _rows(x: CapacityInputs) -> tuple[np.ndarray, ...]:
    """w, p, s, y, j of each row of the capped-busy matrix."""
    n_w, n_p, n_s, n_y, _ = x.shape
    size = n_w * n_p * n_s * n_y * cap_count(x)
    return np.unravel_index(np.arange(size), (n_w, n_p, n_s, n_y, cap_count(x)))


def _sum_into(rows: np.ndarray, values: np.ndarray, n_rows: int) -> sp.csr_matrix:
    """Sparse (n_rows x capped rows) matrix adding each capped row, times `values`, into `rows`."""
    return sp.csr_matrix((values, (rows, np.arange(rows.size))), shape=(n_rows, rows.size))


def capped_parts_busy(fv: FlexVariables, x: CapacityInputs) -> cp.Expression | None:
    """(19 in 4) (P*S*Y, T) parts busy at any cap, summed over workloads and caps."""
    if fv.capped_busy is None:
        return None
    _n_w, n_p, n_s, n_y, _ = x.shape
    _w, p, s, y, _j = _rows(x)
    flat = (p * n_s + s) * n_y + y
    return _sum_into(flat, np.ones(flat.size), n_p * n_s * n_y) @ fv.capped_busy


def capped_tokens(fv: FlexVariables, x: CapacityInputs) -> cp.Expression | None:
    """(19 in 5-6) (W*Y, T) scaled tokens/s of the capped parts: sum sigma_w k tau_j v."""
    if fv.capped_busy is None:
        return None
    n_w, _n_p, _n_s, n_y, _ = x.shape
    w, p, _s, y, j = _rows(x)
    rate = scaled_serve_data(x)[0]  # (W, P) sigma_w k
    coefficient = rate[w, p] * capped_throughput(x)[p, j]
    return _sum_into(w * n_y + y, coefficient, n_w * n_y) @ fv.capped_busy


def capped_dynamic_mw(
    fv: FlexVariables, x: CapacityInputs, counted: np.ndarray | None = None
) -> cp.Expression | None:
    """(19 in 9) (S*Y, T) MW the capped parts draw above idle: 1e-6 sum (a_pj - idle_p) v;
    only the parts where `counted` (P,) is True when given."""
    if fv.capped_busy is None:
        return None
    _n_w, n_p, n_s, n_y, _ = x.shape
    _w, p, s, y, j = _rows(x)
    keep = np.ones(n_p) if counted is None else np.asarray(counted, dtype=float)
    extra_w = (capped_active_w(x) - x.idle_w[:, None]) * keep[:, None]
    return _sum_into(s * n_y + y, extra_w[p, j] * MW_PER_W, n_s * n_y) @ fv.capped_busy


def add_grid_option_choice(
    fv: FlexVariables, grid_import_mw: cp.Variable, x: CapacityInputs
) -> Constraints:
    """(20) one option per site, sum_o z[s,o] = 1; (20-21) import within the chosen option's
    limit in every year and step, g[s,y,t] <= sum_o L[s,o,y,t] z[s,o] (L holds the curtailed
    import in the option's curtailment steps); relaxed, z in [0, 1]."""
    if fv.grid_option is None:
        return []
    _n_w, _n_p, _n_s, n_y, n_t = x.shape
    pairs, sites = offered_options(x), option_sites(x)
    site_row = np.searchsorted(sites, pairs[:, 0])
    one_each = _sum_into(site_row, np.ones(len(pairs)), sites.size)
    limit = option_import_limit_mw(x)  # (S, O, Y, T)
    rows = (sites[:, None] * n_y + np.arange(n_y)[None, :]).ravel()  # k of each option site-year
    # (K*T, N): the limit of pair n at row (site-year k, step t), zero for other sites
    matrix = np.zeros((sites.size, n_y, n_t, len(pairs)))
    for n, (s, o) in enumerate(pairs):
        matrix[site_row[n], :, :, n] = limit[s, o]
    flat = matrix.reshape(-1, len(pairs)) @ fv.grid_option
    allowed = cp.reshape(flat, (rows.size, n_t), order="C")
    constraints: Constraints = [one_each @ fv.grid_option == 1, grid_import_mw[rows, :] <= allowed]
    if x.relax:
        constraints.append(fv.grid_option <= 1)
    return constraints


def flex_arrays(fv: FlexVariables, x: CapacityInputs) -> dict[str, np.ndarray]:
    """The solution's (W, P, S, Y, T, J) capped busy parts and (S, O) chosen options."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    out: dict[str, np.ndarray] = {}
    if fv.capped_busy is not None:
        value = np.asarray(fv.capped_busy.value, dtype=float)
        shaped = value.reshape(n_w, n_p, n_s, n_y, cap_count(x), n_t)
        out["capped_busy"] = np.moveaxis(shaped, 4, 5) + 0.0
    if fv.grid_option is not None:
        chosen = np.zeros(np.shape(np.asarray(x.grid_option_offered)))
        pairs = offered_options(x)
        chosen[pairs[:, 0], pairs[:, 1]] = np.asarray(fv.grid_option.value, dtype=float)
        out["grid_option_chosen"] = chosen + 0.0
    return out
