"""The two bounds on a day's energy bill in the Benders master's relaxation
(models/benders_relaxation.py), each checked against the LP it stands for, solved directly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from models.benders_bill import PLANE_POINTS, price_levels, worth_planes

ETA = (0.95, 0.92)
RNG = np.random.default_rng(7)


def least_placement(cost: np.ndarray, w_h: np.ndarray, busy_mwh: float, room: np.ndarray) -> float:
    """min sum c[s,t] y[s,t] s.t. sum y = D, 0 <= y[s,t] <= w_t Q_s, by the simplex."""
    n_s, n_t = cost.shape
    upper = (room[:, None] * w_h[None, :]).ravel()
    res = linprog(
        cost.ravel(),
        A_eq=np.ones((1, n_s * n_t)),
        b_eq=[busy_mwh],
        bounds=list(zip(np.zeros(n_s * n_t), upper, strict=True)),
        method="highs",
    )
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("trial", range(5))
def test_the_busy_loads_price_levels_give_its_least_hourly_bill(trial: int) -> None:
    """max over the levels of pi D - sum_s G_s(pi) Q_s is the least bill of placing D MWh
    hour by hour within each site's MW (LP duality, every level kept), for loads from light
    to the sites' whole room."""
    tariff = np.array([310.0, 520.0, 780.0, 1090.0])
    cost = tariff[RNG.integers(0, 4, size=(3, 24))] * RNG.choice([1.1, 1.3], size=(3, 1))
    w_h = np.full(24, 30.4)
    room = RNG.uniform(5.0, 50.0, size=3)
    levels = price_levels(cost, w_h)
    assert len(levels) == np.unique(cost).size
    for share in (0.05, 0.4, 0.9):
        busy = share * float(room.sum() * w_h.sum())
        bound = max(pi * busy - float(g @ room) for pi, g in levels)
        assert bound == pytest.approx(least_placement(cost, w_h, busy, room), rel=1e-9)


def arbitrage(prices: np.ndarray, pue: np.ndarray, e_mwh: float, b_mw: float, c_mw: float) -> float:
    """The battery's best day of moving imports: max sum p (d - c), soc cyclic, soc <= E,
    c, d <= B, d - c <= pue C; written out here apart from `worth_planes`."""
    n = prices.size
    cost = np.concatenate([prices, -prices, np.zeros(n)])
    balance = np.zeros((n, 3 * n))
    for t in range(n):
        balance[t, t], balance[t, n + t] = -ETA[0], 1.0 / ETA[1]
        balance[t, 2 * n + t] += 1.0
        balance[t, 2 * n + (t - 1) % n] -= 1.0
    eye = np.eye(n)
    net_discharge = np.hstack([-eye, eye, 0 * eye])
    res = linprog(
        cost,
        A_ub=net_discharge,
        b_ub=pue * c_mw,
        A_eq=balance,
        b_eq=np.zeros(n),
        bounds=[(0, b_mw)] * (2 * n) + [(0, e_mwh)] * n,
        method="highs",
    )
    assert res.status == 0
    return -float(res.fun)


def test_the_batterys_worth_lies_under_every_plane_and_on_one_at_each_point() -> None:
    """R(E, B, C) <= l E + m B + n C for every plane, at the planes' own points and at random
    sizes, with equality at each point of PLANE_POINTS (the plane is that point's dual)."""
    prices = np.array([399.0] * 7 + [744.0] * 3 + [1295.0, 1088.0] + [744.0] * 2 + [1088.0] * 3
                      + [1295.0, 744.0, 1088.0, 1295.0, 744.0, 744.0, 399.0])  # fmt: skip
    pue = np.full(24, 1.25)
    planes = worth_planes(prices.tobytes(), pue.tobytes(), ETA)
    assert len(planes) > 1
    sizes = list(PLANE_POINTS) + [tuple(RNG.uniform(0.1, 5.0, 3)) for _ in range(10)]
    for e, b, c in sizes:
        worth = arbitrage(prices, pue, e, b, c)
        least = min(lam * e + mu * b + nu * c for lam, mu, nu in planes)
        assert worth <= least + 1e-6 * (1 + abs(least))
        if (e, b, c) in PLANE_POINTS:
            assert least == pytest.approx(worth, rel=1e-6, abs=1e-6)
    flat = worth_planes(np.full(24, 500.0).tobytes(), pue.tobytes(), ETA)
    assert all(abs(v) < 1e-9 for plane in flat for v in plane), "a flat price moves nothing"
