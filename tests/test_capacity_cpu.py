"""CPU work and CPU servers (issue 15, docs/capacity_model.md eqs. 22-27): hand-worked optima,
the coupling of tokens and CPU work, both backends agreeing and the checker catching a fault.

Toy numbers (not real parts): part A serves 100 tok/s for 10, at 0 W; the workload needs 0.02 CPU
core-seconds per token, so 300 tok/s need 6 busy cores. CPU server X: 4 cores for 5, 100 W idle,
300 W with every core busy; server Y: 16 cores for 12, 100 W idle, 700 W busy. Energy 1 per MWh.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from models.capacity import CapacityInputs, CpuServerInputs
from models.capacity_check import check_solution
from models.dispatch import solve_capacity as solve
from tests.test_capacity_model import BACKENDS, solved, tiny

HOURS = 8_760.0


def cpu(n_sites: int = 1, n_years: int = 1, **overrides: Any) -> CpuServerInputs:
    """Servers X (4 cores, 5, 100/300 W) and Y (16 cores, 12, 100/700 W); 0.02 core-s/token."""
    base: dict[str, Any] = dict(
        cores_per_server=np.array([4.0, 16.0]),
        price_per_server=np.tile(np.array([[5.0], [12.0]]), (1, n_years)),
        idle_w=np.array([100.0, 100.0]),
        active_w=np.array([300.0, 700.0]),
        lead_time_years=np.zeros(2),
        lifetime_years=np.full(2, 5.0),
        allowed=np.ones((2, n_sites, n_years), dtype=bool),
        core_s_per_token=np.array([0.02]),
    )
    base.update(overrides)
    return CpuServerInputs(**base)


def one_year(**overrides: Any) -> CapacityInputs:
    """One site, one year, one step standing for the year, 300 tok/s, only part A, energy 1/MWh."""
    overrides.setdefault("cpu", cpu())
    overrides.setdefault("price_per_mwh", np.ones((1, 1, 1)))
    return tiny(n_parts=1, n_years=1, **overrides)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def test_milp_buys_two_small_cpu_servers(backend: str) -> None:
    """6 busy cores: 2 X (8 cores, capex 10) draw 2 x 100 W idle + 1.5 servers' worth busy x
    200 W = 500 W, 0.0005 MW x 8,760 h x 1 = 4.38 a year: 14.38. One Y (16 cores, 12) draws
    100 + 0.375 x 600 = 325 W, 2.847: 14.847. One X has too few cores. With 3 A for 30 the
    optimum is 30 + 10 + 4.38 = 44.38."""
    s = solved(one_year(), backend)
    assert s.objective == pytest.approx(44.38, rel=1e-9)
    np.testing.assert_allclose(s.cpu_servers_bought[:, 0, 0], [2.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(s.cpu_servers_busy[:, 0, 0, 0], [1.5, 0.0], atol=1e-9)
    assert s.cpu_power_mw[0, 0, 0] == pytest.approx(5e-4, rel=1e-9)
    assert s.it_power_mw[0, 0, 0] == pytest.approx(5e-4, rel=1e-9)  # parts draw 0 W here
    assert s.costs is not None
    assert s.costs.cpu_servers_capex == pytest.approx(10.0, rel=1e-9)
    assert s.costs.energy == pytest.approx(4.38, rel=1e-9)
    np.testing.assert_allclose(s.costs.capex_by_year, [40.0], atol=1e-9)


def test_lp_buys_a_fraction_of_the_large_server(backend: str) -> None:
    """LP: a busy core costs 5/4 + 75 W x 8,760 h / 1e6 = 1.907 on X and 12/16 + 43.75 W x
    8,760 / 1e6 = 1.133 on Y, so 6/16 = 0.375 Y: capex 4.5, 262.5 W, energy 2.2995. 36.7995."""
    s = solved(one_year(relax=True), backend)
    assert s.objective == pytest.approx(36.7995, rel=1e-9)
    np.testing.assert_allclose(s.cpu_servers_bought[:, 0, 0], [0.0, 0.375], atol=1e-9)
    assert s.cpu_power_mw[0, 0, 0] == pytest.approx(262.5e-6, rel=1e-9)


def test_no_cpu_server_no_tokens(backend: str) -> None:
    """Tokens are served only with their CPU work: with no CPU server allowed, no part can be
    busy, so the whole demand goes unserved at the penalty, 300 tok/s x 31.536e6 s / 1e6 x 100 =
    946,080, and nothing is bought."""
    x = one_year(cpu=cpu(allowed=np.zeros((2, 1, 1), dtype=bool)))
    s = solved(x, backend)
    assert s.objective == pytest.approx(300 * HOURS * 3_600 / 1e6 * 100, rel=1e-9)
    assert s.parts_bought.sum() == pytest.approx(0.0, abs=1e-9)
    assert s.unserved_tokens_per_s[0, 0, 0] == pytest.approx(300.0, rel=1e-9)


def test_cpu_work_stays_at_the_site_that_serves_the_tokens(backend: str) -> None:
    """Two sites; CPU servers only at site 1: the parts are bought and busy at site 1 only."""
    x = tiny(
        n_parts=1, n_sites=2, n_years=1, price_per_mwh=np.ones((2, 1, 1)),
        cpu=cpu(n_sites=2, allowed=np.array([[[False], [True]], [[False], [True]]])),
    )  # fmt: skip
    s = solved(x, backend)
    assert s.parts_bought[0, 0].sum() == pytest.approx(0.0, abs=1e-9)
    assert s.parts_bought[0, 1].sum() == pytest.approx(3.0, abs=1e-9)
    assert s.objective == pytest.approx(44.38, rel=1e-9)


def test_cpu_servers_retire_and_count_in_the_budget(backend: str) -> None:
    """Two years (no discounting), CPU servers living one year. Year 0 (300 tok/s, 6 cores):
    2 X as above, and all 5 A at once (prices are flat). Year 1 (500 tok/s, 10 cores): the
    year-0 servers have retired; one Y (12; 100 + 10/16 x 600 = 475 W) beats 3 X (15; 800 W),
    so year 1's capex is the Y alone: 12. With a budget of 10 in year 1 only 2 X fit
    (8 cores): 400 tok/s are served and 100 go unserved."""
    x = tiny(
        n_parts=1, n_years=2, price_per_mwh=np.ones((1, 2, 1)),
        cpu=cpu(n_years=2, lifetime_years=np.full(2, 1.0)),
    )  # fmt: skip
    s = solved(x, backend)
    np.testing.assert_allclose(s.cpu_servers_bought[:, 0, :], [[2, 0], [0, 1]], atol=1e-9)
    np.testing.assert_allclose(s.cpu_servers_installed[:, 0, :], [[2, 0], [0, 1]], atol=1e-9)
    assert s.costs is not None
    np.testing.assert_allclose(s.costs.capex_by_year, [60.0, 12.0], atol=1e-9)
    tight = solved(replace(x, budget=np.array([math.inf, 10.0])), backend)
    assert tight.costs is not None
    np.testing.assert_allclose(tight.costs.capex_by_year, [50.0, 10.0], atol=1e-9)
    np.testing.assert_allclose(tight.cpu_servers_bought[:, 0, 1], [2, 0], atol=1e-9)
    assert tight.unserved_tokens_per_s[0, 1, 0] == pytest.approx(100.0, rel=1e-9)


def mixed_problem() -> CapacityInputs:
    """Two sites, two years, four steps, a deferrable and an interactive workload with different
    CPU needs (0.02 and 0.005 core-s/token), server Y a year's lead time, resale."""
    return tiny(
        n_parts=2, n_sites=2, n_years=2, n_steps=4,
        tokens_per_s_per_part=np.array([[100.0, 200.0], [150.0, 120.0]]),
        demand_tokens_per_s=np.array([[[300, 500, 200, 400], [600, 800, 300, 700]],
                                      [[200, 200, 100, 300], [400, 100, 300, 500]]], float),
        deferrable=np.array([False, True]),
        idle_w=np.array([50.0, 80.0]), active_w=np.array([300.0, 500.0]),
        price_per_mwh=np.tile(np.array([20.0, 60.0, 40.0, 30.0]), (2, 2, 1)),
        discount_fraction=np.array([1.0, 0.9]), horizon_end_discount_fraction=0.85,
        cpu=cpu(n_sites=2, n_years=2, core_s_per_token=np.array([0.02, 0.005]),
                lead_time_years=np.array([0.0, 1.0]),
                allowed=np.ones((2, 2, 2), dtype=bool)),
    )  # fmt: skip


def test_backends_agree_on_a_mixed_problem() -> None:
    """`mixed_problem`: cvxpy and Pyomo agree (LP to 1e-7, MILP to its gap)."""
    x = mixed_problem()
    for relax, rel in ((True, 1e-7), (False, 1e-6)):
        xs = replace(x, relax=relax)
        a = solve(xs, backend="cvxpy", options={"mip_gap": 1e-9})
        b = solve(xs, backend="pyomo", options={"mip_gap": 1e-9})
        assert check_solution(xs, a) == [] and check_solution(xs, b) == []
        assert a.objective == pytest.approx(b.objective, rel=rel)
        assert a.cpu_servers_bought.sum() > 0


def test_the_checker_catches_missing_cpu_work() -> None:
    """A solution whose CPU servers sit idle while tokens are served breaks eq. 25 (and 26)."""
    x = one_year()
    s = solve(x, backend="cvxpy", options={"mip_gap": 1e-9})
    broken = replace(s, cpu_servers_busy=np.zeros_like(s.cpu_servers_busy))
    problems = check_solution(x, broken)
    assert any(p.startswith("(25) CPU cores busy >= CPU work") for p in problems)
    assert any(p.startswith("(26)") for p in problems)


def test_cpu_work_counts_the_tokens_of_power_capped_parts() -> None:
    """With power caps on (eq. 19), parts busy at a cap serve tau of their tokens and need tau of
    their CPU work: 300 tok/s on parts of 100 W busy, capped at 60 W for 80% of the tokens, with
    energy dear enough (1e5 per MWh) that capping pays. Both backends agree and check clean; the
    busy cores cover the capped parts' tokens too."""
    x = one_year(
        relax=True,
        idle_w=np.array([10.0]),
        active_w=np.array([100.0]),
        price_per_mwh=np.full((1, 1, 1), 1e5),
        power_cap_fraction=np.array([0.6]),
        capped_active_w=np.array([[60.0]]),
        capped_throughput_fraction=np.array([[0.8]]),
    )
    a = solve(x, backend="cvxpy")
    b = solve(x, backend="pyomo")
    assert check_solution(x, a) == [] and check_solution(x, b) == []
    assert a.objective == pytest.approx(b.objective, rel=1e-7)
    assert a.capped_busy.sum() > 0  # capping is chosen
    tokens = 100.0 * (a.parts_busy.sum() + 0.8 * a.capped_busy.sum())
    cores = 4 * a.cpu_servers_busy[0].sum() + 16 * a.cpu_servers_busy[1].sum()
    assert tokens == pytest.approx(300.0, rel=1e-6)
    assert cores >= 0.02 * tokens * (1 - 1e-6)
