"""Country TPP caps as one allowance over a window of periods (eq. 13, cumulative form): the AI
Diffusion rule's 2025-2027 allocation bounds the TPP bought over the window, not each year."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from models.capacity import tpp_cap_windows
from tests.test_capacity_model import BACKENDS, mix, solved


def test_windows_by_hand() -> None:
    """Two groups over three periods. Group 0 per period: each cap counts its own period.
    Group 1 cumulative with caps in periods 1 and 2 only: period 1 counts itself, period 2
    counts periods 1 and 2; the uncapped period 0 never counts."""
    x = mix(
        cap_group_sites=np.array([[False, True], [True, False]]),
        tpp_cap=np.array([[5.0, 5.0, 5.0], [math.inf, 7.0, 7.0]]),
        tpp_cap_cumulative=np.array([False, True]),
    )
    w = tpp_cap_windows(x)
    np.testing.assert_array_equal(w[0], np.eye(3, dtype=bool))
    np.testing.assert_array_equal(w[1][1], [False, True, False])
    np.testing.assert_array_equal(w[1][2], [False, True, True])
    assert not tpp_cap_windows(replace(x, tpp_cap_cumulative=None))[1][2][1]


@pytest.fixture(scope="module")
def capped() -> dict[str, object]:
    """The mix case with site 1's TPP capped at half of what it buys uncapped over the horizon,
    once as one allowance for all three periods and once as that allowance every period."""
    free = solved(mix(relax=True), "cvxpy")
    total = float(np.einsum("p,psy->", mix().tpp_per_part, free.parts_bought[:, 1:, :]))
    cap = np.full((1, 3), math.floor(total / 2))
    cumulative = mix(relax=True, tpp_cap=cap, tpp_cap_cumulative=np.array([True]))
    per_period = mix(relax=True, tpp_cap=cap)
    return {
        "cap": cap[0, 0],
        "cumulative": {b: solved(cumulative, b) for b in BACKENDS},
        "per_period": solved(per_period, "cvxpy"),
        "x": cumulative,
    }


def test_one_allowance_bounds_the_sum_over_the_window(capped: dict) -> None:
    x, cap = capped["x"], capped["cap"]
    for backend, s in capped["cumulative"].items():
        bought = np.einsum("p,psy->y", x.tpp_per_part, s.parts_bought[:, 1:, :])
        assert bought.sum() <= cap * (1 + 1e-6), backend


def test_backends_agree_and_the_allowance_is_tighter_than_one_per_period(capped: dict) -> None:
    a, b = capped["cumulative"]["cvxpy"], capped["cumulative"]["pyomo"]
    assert a.objective == pytest.approx(b.objective, rel=1e-6)
    assert a.objective > capped["per_period"].objective * (1 + 1e-3)
