"""The two duals the serving relaxation's hourly bill is written from (models/
benders_relaxation.py, row (c)): the busy load's least bill placed hour by hour over the sites,
by its price levels, and the most a battery can earn on a day of arbitrage, by planes over its
MWh, MW and the site's IT MW. tests/test_benders_bill.py checks both against the LPs they stand
for, solved directly."""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

PRICE_LEVELS = 16  # most prices at which the busy load's least bill is bounded (`busy_placement`)
# (E MWh, B MW, C IT MW) at which the battery's worth is tangent: 1-8 h, IT 1/4-4x the battery
PLANE_POINTS = [(1.0, 1.0 / h, k / h) for h in (1.0, 2.0, 4.0, 8.0) for k in (0.25, 1.0, 4.0)]


def price_levels(per_it_mwh: np.ndarray, w_h: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """(pi, G(pi)) at each distinct price c[s,t] (at most PRICE_LEVELS, evenly among the sorted
    ones), G_s(pi) = sum_t w_t (pi - c[s,t])+ per site: the planes of the busy load's least
    hourly bill, max over pi of pi D - sum_s G_s(pi) Q_s (`ServingRelaxation.busy_placement`)."""
    levels = np.unique(per_it_mwh)
    if levels.size > PRICE_LEVELS:
        levels = levels[np.linspace(0, levels.size - 1, PRICE_LEVELS).round().astype(int)]
    return [(float(pi), np.maximum(pi - per_it_mwh, 0.0) @ w_h) for pi in levels]


@functools.lru_cache(maxsize=4096)
def worth_planes(
    prices: bytes, pue: bytes, eta: tuple[float, float]
) -> list[tuple[float, float, float]]:
    """Planes (l, m, n) with R(E, B, C) <= l E + m B + n C for every E, B, C >= 0: the duals
    of the battery's day of arbitrage (`ServingRelaxation.battery_worth`) solved at
    PLANE_POINTS (E MWh, B MW, C IT MW), per unit of the day's weight. Arguments as bytes of
    float arrays so that the sites and days sharing a tariff share the work."""
    p, f = np.frombuffer(prices), np.frombuffer(pue)
    n = p.size
    eye = sp.identity(n, format="csr")
    zero = sp.csr_matrix((n, n))
    back = sp.csr_matrix((np.ones(n), (np.arange(n), np.roll(np.arange(n), 1))), shape=(n, n))
    a_eq = sp.hstack([-eta[0] * eye, eye / eta[1], eye - back])  # columns: c, d, soc
    a_ub = sp.vstack([sp.hstack([zero, zero, eye]), sp.hstack([eye, zero, zero]),
                      sp.hstack([zero, eye, zero]), sp.hstack([-eye, eye, zero])])  # fmt: skip
    planes: dict[tuple[float, ...], tuple[float, float, float]] = {}  # rounded: a key only
    for e, b, c in PLANE_POINTS:
        rhs = np.concatenate([np.full(n, e), np.full(2 * n, b), f * c])
        cost = np.concatenate([p, -p, np.zeros(n)])  # minimise -(worth)
        res = linprog(cost, A_ub=a_ub, b_ub=rhs, A_eq=a_eq, b_eq=np.zeros(n), method="highs")
        if res.status != 0:
            raise RuntimeError(f"the battery's day of arbitrage ended {res.message}")
        dual = -np.asarray(res.ineqlin.marginals)
        plane = (float(dual[:n].sum()), float(dual[n : 3 * n].sum()), float(dual[3 * n :] @ f))
        planes.setdefault(tuple(round(v, 9) for v in plane), plane)
    return sorted(planes.values())
