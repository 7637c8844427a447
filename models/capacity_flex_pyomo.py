"""Power caps and grid options in Pyomo (docs/capacity_model.md, eqs. 19-21).

The twin of models/capacity_flex_cvxpy.py, by name: `make_flex_variables`, the capped terms the
families of models/capacity_pyomo.py add (`capped_parts_busy`, `capped_tokens`,
`capped_dynamic_mw`) and `add_grid_option_choice`. With capping off the cap set J is empty and
every capped term is an empty sum; with no options the choice has no columns and no rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.capacity import MW_PER_W, CapacityInputs
from models.capacity_flex import (
    cap_count,
    capped_active_w,
    capped_throughput,
    offered_options,
    option_import_limit_mw,
    option_sites,
)


def make_flex_variables(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """m.J caps below full power and m.capped_busy[w,p,s,y,t,j] >= 0 (eq. 19); m.GO offered
    (site, option) pairs and m.grid_option[s,o], binary ([0, 1] when relaxed) (eq. 20)."""
    m.J = pyo.RangeSet(0, cap_count(x) - 1)
    m.capped_busy = pyo.Var(m.W, m.P, m.S, m.Y, m.T, m.J, domain=pyo.NonNegativeReals)
    pairs = [(int(s), int(o)) for s, o in offered_options(x)]
    m.GO = pyo.Set(initialize=pairs, dimen=2, ordered=True)
    m.grid_option = pyo.Var(m.GO, domain=pyo.UnitInterval if x.relax else pyo.Binary)


def capped_parts_busy(m: pyo.ConcreteModel, p: int, s: int, y: int, t: int) -> Any:
    """(19 in 4) parts of p busy at any cap at (s, y, t), all workloads."""
    return pyo.quicksum(m.capped_busy[w, p, s, y, t, j] for w in m.W for j in m.J)


def capped_tokens(
    m: pyo.ConcreteModel, x: CapacityInputs, rate: list[list[float]], w: int, y: int, t: int
) -> Any:
    """(19 in 5-6) scaled tokens/s of workload w from parts busy at a cap: sum k tau_pj v."""
    tau = capped_throughput(x).tolist()
    return pyo.quicksum(
        rate[w][p] * tau[p][j] * m.capped_busy[w, p, s, y, t, j]
        for p in m.P
        if rate[w][p] > 0
        for s in m.S
        for j in m.J
    )


def capped_dynamic_mw(
    m: pyo.ConcreteModel, x: CapacityInputs, s: int, y: int, t: int, parts: Iterable[int]
) -> Any:
    """(19 in 9) MW the capped parts among `parts` draw above idle: 1e-6 sum (a_pj - idle_p) v."""
    extra = ((capped_active_w(x) - x.idle_w[:, None]) * MW_PER_W).tolist()
    return pyo.quicksum(
        extra[p][j] * m.capped_busy[w, p, s, y, t, j] for p in parts for w in m.W for j in m.J
    )


def add_grid_option_choice(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(20) one option per site, sum_o z[s,o] = 1; (20-21) g[s,y,t] <= sum_o L[s,o,y,t] z[s,o]
    on the site blocks' import (L holds the curtailed import in the option's events)."""
    sites = option_sites(x).tolist()
    if not sites:
        return
    limit = option_import_limit_mw(x)
    options = {s: [o for s2, o in m.GO if s2 == s] for s in sites}
    m.grid_option_one = pyo.Constraint(
        sites, rule=lambda _, s: pyo.quicksum(m.grid_option[s, o] for o in options[s]) == 1
    )
    cells = [(s, y, t) for s in sites for y in m.Y for t in m.T]
    m.grid_option_import = pyo.Constraint(
        cells,
        rule=lambda _, s, y, t: (
            m.site[s, y].grid_import_mw[t]
            <= pyo.quicksum(float(limit[s, o, y, t]) * m.grid_option[s, o] for o in options[s])
        ),
    )


def flex_arrays(m: pyo.ConcreteModel, x: CapacityInputs) -> dict[str, np.ndarray]:
    """The solution's (W, P, S, Y, T, J) capped busy parts and (S, O) chosen options."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    out: dict[str, np.ndarray] = {}
    if cap_count(x):
        flat = [pyo.value(v, exception=False) or 0.0 for v in m.capped_busy.values()]
        out["capped_busy"] = np.array(flat).reshape(n_w, n_p, n_s, n_y, n_t, cap_count(x))
    if len(m.GO):
        chosen = np.zeros(np.shape(np.asarray(x.grid_option_offered)))
        for s, o in m.GO:
            chosen[s, o] = pyo.value(m.grid_option[s, o], exception=False) or 0.0
        out["grid_option_chosen"] = chosen
    return out
