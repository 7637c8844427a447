"""Capacity model: hand-solved problems, rules that move the mix, cross-backend agreement.

Every solve goes through `solved()`, which runs the independent numpy checker
(models/capacity_check.py) on the solution. Figures here are toy numbers chosen so optima can be
worked by hand; they describe no real part, site or price.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from models.capacity import CapacityInputs, CapacitySolution, scaled_serve_data, serve_scale
from models.capacity_check import check_solution
from models.capacity_validation import InvalidCapacityInputs, check_inputs
from models.common import SolveStatus
from models.dispatch import solve_capacity as solve
from planner.errors import InputError, Problem

BACKENDS = ["cvxpy", "pyomo"]
MTOK_PER_TOKEN_S_YEAR = 8_760 * 3_600 / 1e6  # million tokens from 1 token/s over a year


def tiny(
    n_parts: int = 2, n_sites: int = 1, n_years: int = 2, n_steps: int = 1, **overrides: Any
) -> CapacityInputs:
    """A toy plan: one interactive workload, parts A (10 per part, 100 tok/s) and B (15, 200 tok/s).

    Defaults make power free and unconstrained (0 W parts, huge site), so only purchases matter:
    no discounting, no resale, lifetimes beyond the horizon, no lead times, demand 300 then
    500 tok/s. Each step is weighted so the steps of one day make a year.
    """
    p, s, y, t = n_parts, n_sites, n_years, n_steps
    base: dict[str, Any] = dict(
        year_start_years=np.arange(y, dtype=float),
        duration_years=np.ones(y),
        discount_fraction=np.ones(y),
        horizon_end_discount_fraction=0.0,
        weight_h=np.full(t, 8_760.0 / t),
        prev_step=np.roll(np.arange(t), 1),
        day=np.zeros(t, dtype=int),
        billing_period=np.zeros(t, dtype=int),
        billing_period_months=np.array([12.0]),
        parts_per_server=np.ones(p, dtype=int),
        price_per_part=np.tile(np.array([10.0, 15.0, 30.0][:p])[:, None], (1, y)),
        price_uplift_fraction=np.zeros((p, y)),
        idle_w=np.zeros(p),
        active_w=np.zeros(p),
        server_overhead_w=np.zeros(p),
        lead_time_years=np.zeros(p),
        lifetime_years=np.full(p, 5.0),
        tpp_per_part=np.array([1_000.0, 4_000.0, 2_000.0][:p]),
        domestic=np.array([True, False, True][:p]),
        supply_cap_parts=np.full((p, y), math.inf),
        base_parts=np.zeros((p, s, 1)),
        base_start_years=np.array([-1.0]),
        tokens_per_s_per_part=np.array([[100.0, 200.0, 300.0][:p]]),
        demand_tokens_per_s=np.tile(np.array([300.0, 500.0, 700.0][:y])[None, :, None], (1, 1, t)),
        deferrable=np.array([False]),
        unserved_penalty_per_mtok=100.0,
        allowed=np.ones((p, s, y), dtype=bool),
        dc_existing_mw=np.full(s, 1_000.0),
        dc_max_mw=np.full(s, math.inf),
        dc_build_lead_years=np.zeros(s),
        dc_capex_per_mw=np.ones((s, y)),
        pue=np.ones((s, t)),
        grid_import_cap_mw=np.full((s, y), 1_000.0),
        price_per_mwh=np.zeros((s, y, t)),
        demand_charge_per_mw_month=np.zeros((s, y)),
        emission_t_per_mwh=np.zeros((s, t)),
        carbon_price_per_t=np.zeros(y),
        solar_capacity_factor=np.zeros((s, t)),
        solar_capex_per_mw=np.ones((s, y)),
        solar_max_mw=np.full(s, math.inf),
        battery_capex_per_mwh=np.ones((s, y)),
        battery_capex_per_mw=np.ones((s, y)),
        battery_max_mwh=np.full(s, math.inf),
        charge_efficiency_fraction=1.0,
        discharge_efficiency_fraction=1.0,
        cap_group_sites=np.ones((1, s), dtype=bool),
        tpp_cap=np.full((1, y), math.inf),
        budget=np.full(y, math.inf),
        domestic_share_min_fraction=np.zeros(y),
    )
    base.update(overrides)
    return CapacityInputs(**base)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def solved(x: CapacityInputs, backend: str, **options: Any) -> CapacitySolution:
    """Solve (MILPs to a 1e-9 gap unless told), require optimality and a clean check."""
    options.setdefault("mip_gap", 1e-9)
    solution = solve(x, backend=backend, options=options)  # type: ignore[arg-type]
    assert solution.status is SolveStatus.optimal, solution.status
    problems = check_solution(x, solution)
    assert problems == [], problems
    return solution


# --- (a) hand-solved reference problems ----------------------------------------------------------


def discounted(**overrides: Any) -> CapacityInputs:
    """`tiny` with the second year's cash worth 0.9 today."""
    return tiny(discount_fraction=np.array([1.0, 0.9]), **overrides)


def test_lp_optimum_buys_the_cheaper_tokens_just_in_time(backend: str) -> None:
    """LP: B costs 15/200 = 0.075 per tok/s, A 0.1, so only B is bought, each year just enough:
    1.5 B in year 0 (300 tok/s) for 22.5 and 1 B in year 1 (the 200 tok/s more) for
    0.9 x 15 = 13.5; buying early never pays with discounting. Optimum 36.0."""
    s = solved(discounted(relax=True), backend)
    assert s.objective == pytest.approx(36.0, rel=1e-9)
    np.testing.assert_allclose(s.parts_bought[:, 0, :], [[0.0, 0.0], [1.5, 1.0]], atol=1e-9)
    np.testing.assert_allclose(s.costs.capex_by_year, [22.5, 15.0], atol=1e-9)
    assert s.stats.mip_gap is None and s.duals is not None


def test_milp_optimum_in_whole_servers(backend: str) -> None:
    """MILP: year 0 needs >= 300 tok/s: {A, B} for 25 beats 2 B or 3 A (30). Year 1 needs 200 more:
    one B (0.9 x 15 = 13.5) beats two A (18). 25 + 13.5 = 38.5; the alternatives (2 B then A:
    30 + 9 = 39; 3 A then B: 43.5) cost more."""
    s = solved(discounted(), backend, mip_gap=1e-9)
    assert s.objective == pytest.approx(38.5, rel=1e-9)
    np.testing.assert_allclose(s.parts_bought[:, 0, :], [[1, 0], [1, 1]], atol=1e-9)
    assert s.stats.mip_gap is not None and s.stats.mip_gap <= 1e-6
    assert s.duals is None  # no duals from a MILP


def test_servers_hold_several_parts(backend: str) -> None:
    """B now comes in servers of 2 (30 for 400 tok/s). Year 0: one B server (30) or 3 A (30) tie
    at 30; then year 1: after the B server (400 tok/s) one A (9) completes 500 -> 39; after 3 A,
    two A (18) -> 48. Optimum 39 with 2 B parts and 1 A."""
    s = solved(discounted(parts_per_server=np.array([1, 2])), backend, mip_gap=1e-9)
    assert s.objective == pytest.approx(39.0, rel=1e-9)
    np.testing.assert_allclose(s.servers_bought[1, 0], [1, 0], atol=1e-9)
    np.testing.assert_allclose(s.parts_bought[:, 0, :], [[0, 1], [2, 0]], atol=1e-9)


def powered(**overrides: Any) -> CapacityInputs:
    """One part (A: 10, 100 tok/s, 0 W idle, 1 MW busy: a toy figure so energy dominates), one
    year, two steps of 4,380 h in one day, PUE 1.5, 100 tok/s demanded in the first step only,
    grid 100 then 10 per MWh, penalty 1,000 per million tokens (31,536 per tok/s-year), no battery
    unless told."""
    base: dict[str, Any] = dict(
        active_w=np.array([1e6]),
        pue=np.full((1, 2), 1.5),
        demand_tokens_per_s=np.array([[[100.0, 0.0]]]),
        price_per_mwh=np.array([[[100.0, 10.0]]]),
        unserved_penalty_per_mtok=1_000.0,
        battery_max_mwh=np.zeros(1),
    )
    base.update(overrides)
    base.setdefault("n_steps", 2)
    return tiny(n_parts=1, n_years=1, **base)


def test_interactive_demand_pays_for_its_hour(backend: str) -> None:
    """One part busy in step 0 draws 1 MW IT, 1.5 MW at the meter for 4,380 h at 100:
    657,000, plus the part (10). Serving beats the penalty (100 x 4,380 x 3,600 / 1e6 x 1,000 =
    1,576,800). Optimum 657,010."""
    s = solved(powered(), backend)
    assert s.objective == pytest.approx(657_010.0, rel=1e-9)
    np.testing.assert_allclose(s.grid_import_mw[0, 0], [1.5, 0.0], atol=1e-9)


def test_deferrable_demand_moves_to_the_cheap_hour(backend: str) -> None:
    """The same tokens, deferrable within the day: all of them are served in step 1 at 10 per
    MWh: 1.5 MW x 4,380 h x 10 = 65,700, plus the part (10). Optimum 65,710."""
    s = solved(powered(deferrable=np.array([True])), backend)
    assert s.objective == pytest.approx(65_710.0, rel=1e-9)
    np.testing.assert_allclose(s.parts_busy[0, 0, 0, 0], [0.0, 1.0], atol=1e-9)


def test_grid_cap_leaves_demand_unserved_and_prices_one_more_mw(backend: str) -> None:
    """Interactive, weight 8,760 h in one step, price 50, grid capped at 1 MW (time to power):
    the site serves 1 / 0.015 = 66.67 tok/s (0.015 MW per tok/s at the meter) and leaves 33.33
    unserved. LP optimum: parts 6.667 + energy 1 x 8,760 x 50 = 438,000 + penalty 33.33 x 31,536
    = 1,051,200. One more MW serves 66.67 tok/s more: saves 66.67 x (31,536 - 0.1) - 438,000 =
    1,664,393.33, the grid cap's dual."""
    x = powered(
        n_steps=1,
        pue=np.full((1, 1), 1.5),
        demand_tokens_per_s=np.array([[[100.0]]]),
        price_per_mwh=np.array([[[50.0]]]),
        grid_import_cap_mw=np.array([[1.0]]),
        relax=True,
    )
    s = solved(x, backend)
    tokens = 1 / 0.015
    assert s.objective == pytest.approx(tokens * 0.1 + 438_000 + (100 - tokens) * 31_536, rel=1e-9)
    assert s.unserved_tokens_per_s[0, 0, 0] == pytest.approx(100 - tokens, rel=1e-9)
    value = tokens * (31_536 - 0.1) - 438_000
    assert s.duals.grid_import_cap_per_mw[0, 0] == pytest.approx(value, rel=1e-6)


def test_battery_moves_energy_to_the_cheap_hour(backend: str) -> None:
    """Interactive demand in step 0 only, a lossless battery at 1 per MWh and 1 per MW (a
    representative day of two one-hour steps). Charging 1.5 MW in step 1 at 10 and discharging
    it in step 0 costs 1.5 x 4,380 x 10 = 65,700 for energy, 1.5 + 1.5 for the battery, 10 for the
    part: 65,713, against 657,010 from the grid at 100."""
    s = solved(powered(battery_max_mwh=np.full(1, math.inf)), backend)
    assert s.objective == pytest.approx(65_713.0, rel=1e-9)
    assert s.battery_mwh[0, 0] == pytest.approx(1.5, rel=1e-9)
    np.testing.assert_allclose(s.discharge_mw[0, 0], [1.5, 0.0], atol=1e-9)


def test_lead_time_and_retirement(backend: str) -> None:
    """LP, no discounting. B takes a year to arrive and A lives one year. Year 0 can only use A:
    3 A = 30. Year 1: the A are retired and a B bought in year 1 would arrive after the horizon,
    so 2.5 B bought in year 0 (37.5) serve 500 tok/s. Optimum 67.5."""
    x = tiny(relax=True, lead_time_years=np.array([0.0, 1.0]), lifetime_years=np.array([1.0, 5.0]))
    s = solved(x, backend)
    assert s.objective == pytest.approx(67.5, rel=1e-9)
    np.testing.assert_allclose(s.parts_installed[:, 0], [[3.0, 0.0], [0.0, 2.5]], atol=1e-9)
    np.testing.assert_allclose(s.parts_bought[1, 0], [2.5, 0.0], atol=1e-9)


def test_base_and_straight_line_resale(backend: str) -> None:
    """LP, no discounting, resale valued at the horizon end H = 2. One B from 4.5 years ago lives
    through year 0 only (lifetime 5). A B bought in year 0 keeps 3/5 of its value at H, one bought
    in year 1 keeps 4/5, so B nets 6 in year 0 and 3 in year 1 (A nets 4 and 2 per 100 tok/s:
    dearer). Year 0: 0.5 B beside the base B (3.0); year 1: the base retires, 2 B more (6.0).
    Optimum 9.0, resale credit 0.6 x 7.5 + 0.8 x 30 = 28.5."""
    x = tiny(
        relax=True,
        horizon_end_discount_fraction=1.0,
        base_parts=np.array([[[0.0]], [[1.0]]]),
        base_start_years=np.array([-4.5]),
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(9.0, rel=1e-9)
    assert s.costs.resale_credit == pytest.approx(28.5, rel=1e-9)
    np.testing.assert_allclose(s.parts_installed[1, 0], [1.5, 2.5], atol=1e-9)


@pytest.mark.parametrize(("basis", "optimum"), [("parts", 40.0), ("compute", 44.0)])
def test_domestic_share_by_parts_or_compute(backend: str, basis: str, optimum: float) -> None:
    """LP, year 1 discounted by 0.9, at least half the installed base domestic (A).
    By parts (a >= b): 100 a + 200 b = 300 gives a = b = 1 (25); year 1 needs 5/3 each, 2/3 more
    each at 0.9 x 25 -> 15; 40. By compute (1,000 a >= 4,000 b): a = 4 b gives b = 0.5, a = 2
    (27.5); year 1 b = 5/6, a = 10/3, increments at 0.9 x (13.33 + 5) = 16.5; 44."""
    x = discounted(
        relax=True, domestic_share_min_fraction=np.full(2, 0.5), domestic_share_basis=basis
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(optimum, rel=1e-9)
    assert s.duals.domestic_share_per_unit.min() > 0


# --- a two-site, three-period plan with every family switched on ---------------------------------


def mix(**overrides: Any) -> CapacityInputs:
    """Two workloads (chat hourly, batch within its day), parts A (domestic, cheap, slow), B
    (foreign, best tokens per unit of money, one year's lead time), C (domestic, dear, fast);
    site 0 state-funded (domestic parts only, no grid until period 1, IT capped at 0.5 MW),
    site 1 commercial with 100 B from two years ago. Periods start at 0, 1 and 3 years, the last
    two last two years each; 8 % discount; two representative days of two 12-hour steps. Toy
    numbers throughout, picked to make every family matter."""
    tau = np.array([0.0, 1.0, 3.0])
    hourly_shape = np.array([0.6, 1.0, 0.6, 1.0])
    base: dict[str, Any] = dict(
        year_start_years=tau,
        duration_years=np.array([1.0, 2.0, 2.0]),
        discount_fraction=1.08**-tau,
        horizon_end_discount_fraction=1.08**-5,
        weight_h=np.array([2_400.0, 2_400.0, 1_980.0, 1_980.0]),
        prev_step=np.array([1, 0, 3, 2]),
        day=np.array([0, 0, 1, 1]),
        billing_period=np.array([0, 0, 1, 1]),
        billing_period_months=np.array([6.6, 5.4]),
        parts_per_server=np.array([4, 8, 8]),
        price_per_part=np.array([[10_000.0] * 3, [15_000.0, 14_000.0, 13_000.0], [30_000.0] * 3]),
        price_uplift_fraction=np.array([[0.0] * 3, [0.1] * 3, [0.0] * 3]),
        idle_w=np.array([100.0, 150.0, 200.0]),
        active_w=np.array([400.0, 700.0, 600.0]),
        server_overhead_w=np.array([100.0, 100.0, 100.0]),
        lead_time_years=np.array([0.0, 1.0, 0.0]),
        lifetime_years=np.array([4.0, 4.0, 5.0]),
        tpp_per_part=np.array([1_000.0, 4_000.0, 3_000.0]),
        domestic=np.array([True, False, True]),
        supply_cap_parts=np.full((3, 3), math.inf),
        base_parts=np.array([[[0.0], [0.0]], [[0.0], [100.0]], [[0.0], [0.0]]]),
        base_start_years=np.array([-2.0]),
        tokens_per_s_per_part=np.array([[100.0, 250.0, 300.0], [150.0, 400.0, 500.0]]),
        demand_tokens_per_s=np.array(
            [[40_000.0, 60_000.0, 100_000.0], [20_000.0, 30_000.0, 50_000.0]]
        )[..., None]
        * np.array([hourly_shape, [1.0, 0.0, 1.0, 0.0]])[:, None, :],
        deferrable=np.array([False, True]),
        unserved_penalty_per_mtok=20.0,
        allowed=np.array([[True, True], [False, True], [True, True]])[..., None]
        & np.ones(3, dtype=bool),
        dc_existing_mw=np.array([0.05, 0.2]),
        dc_max_mw=np.array([0.5, math.inf]),
        dc_build_lead_years=np.array([1.0, 0.0]),
        dc_capex_per_mw=np.full((2, 3), 10e6),
        pue=np.array([[1.3] * 4, [1.2] * 4]),
        grid_import_cap_mw=np.array([[0.0, 0.3, 0.6], [0.3, 0.3, 0.3]]),
        price_per_mwh=np.array([60.0, 80.0])[:, None, None]
        * np.ones((1, 3, 1))
        * np.array([1.0, 1.5, 1.0, 1.5]),
        demand_charge_per_mw_month=np.array([[0.0] * 3, [10_000.0] * 3]),
        emission_t_per_mwh=np.full((2, 4), 0.5),
        carbon_price_per_t=np.array([0.0, 50.0, 80.0]),
        solar_capacity_factor=np.array([[0.0, 0.7, 0.0, 0.5]] * 2),
        solar_capex_per_mw=np.full((2, 3), 800_000.0),
        solar_max_mw=np.array([1.0, 1.0]),
        battery_capex_per_mwh=np.full((2, 3), 250_000.0),
        battery_capex_per_mw=np.full((2, 3), 100_000.0),
        battery_max_mwh=np.array([math.inf, 2.0]),
        charge_efficiency_fraction=0.9,
        discharge_efficiency_fraction=0.9,
        cap_group_sites=np.array([[False, True]]),
        tpp_cap=np.full((1, 3), math.inf),
        budget=np.full(3, math.inf),
        domestic_share_min_fraction=np.zeros(3),
    )
    base.update(overrides)
    return CapacityInputs(**base)


@pytest.fixture(scope="module")
def mix_plans() -> dict[tuple[str, bool], CapacitySolution]:
    """The mix case solved once per backend, as MILP (relax False) and LP (relax True)."""
    return {
        (b, relax): solved(mix(relax=relax), b, mip_gap=1e-6, time_limit_s=60)
        for b in BACKENDS
        for relax in (False, True)
    }


def test_mix_plan_uses_every_family(mix_plans: dict[tuple[str, bool], CapacitySolution]) -> None:
    """The reference plan buys B where allowed, builds IT MW, solar and battery, and serves
    batch tokens away from the dear step: the families are live, not idle."""
    s = mix_plans[("cvxpy", False)]
    assert s.parts_bought[1, 0].sum() == 0  # state-funded site buys no foreign part
    assert s.parts_bought[1, 1].sum() > 0
    assert s.dc_built_mw.sum() > 0 and s.solar_mw.max() > 0 and s.battery_mwh.max() > 0
    assert s.parts_bought[:, :, 0].sum() > 0 and s.parts_bought[:, :, 2].sum() > 0


@pytest.mark.parametrize("relax", [True, False])
def test_backends_agree(mix_plans: dict[tuple[str, bool], CapacitySolution], relax: bool) -> None:
    """Same inputs, same optimum: LP to 1e-6 relative, MILP within the 1e-6 gap both proved."""
    a, b = mix_plans[("cvxpy", relax)], mix_plans[("pyomo", relax)]
    assert a.objective == pytest.approx(b.objective, rel=1e-6)
    if relax:
        np.testing.assert_allclose(a.costs.capex_by_year, b.costs.capex_by_year, rtol=1e-5)


def forbid_b(x: CapacityInputs, s: CapacitySolution) -> CapacityInputs:
    return replace(x, allowed=x.allowed & ~np.eye(3, dtype=bool)[1][:, None, None])


def all_domestic_in_last_period(x: CapacityInputs, s: CapacitySolution) -> CapacityInputs:
    return replace(x, domestic_share_min_fraction=np.array([0.0, 0.0, 1.0]))


def halve_b_supply(x: CapacityInputs, s: CapacitySolution) -> CapacityInputs:
    cap = np.full((3, 3), math.inf)
    cap[1] = np.floor(s.parts_bought[1].sum(axis=0) / 2)
    return replace(x, supply_cap_parts=cap)


def halve_tpp_cap(x: CapacityInputs, s: CapacitySolution) -> CapacityInputs:
    bought_tpp = np.einsum("p,psy->y", x.tpp_per_part, s.parts_bought[:, 1:, :])
    return replace(x, tpp_cap=np.floor(bought_tpp / 2)[None, :])


@pytest.mark.parametrize(
    "rule", [forbid_b, all_domestic_in_last_period, halve_b_supply, halve_tpp_cap]
)
def test_rules_raise_cost_and_move_purchases(
    mix_plans: dict[tuple[str, bool], CapacitySolution], backend: str, rule: Any
) -> None:
    """Tightening a rule that binds on B costs money and buys fewer B and more domestic parts."""
    free = mix_plans[(backend, False)]
    ruled = solved(rule(mix(), free), backend, mip_gap=1e-6)
    assert ruled.objective > free.objective * (1 + 1e-6)
    assert ruled.parts_bought[1].sum() < free.parts_bought[1].sum()
    domestic = np.array([0, 2])
    assert ruled.parts_bought[domestic].sum() > free.parts_bought[domestic].sum()


# --- duals: what one more unit of a limit saves ---------------------------------------------------


def tight_supply(x: CapacityInputs) -> CapacityInputs:
    """B's supply capped at 40 parts in period 0 (the plan wants 80)."""
    cap = np.full((3, 3), math.inf)
    cap[1, 0] = 40.0
    return replace(x, supply_cap_parts=cap)


def tight_budget(x: CapacityInputs) -> CapacityInputs:
    """Period 0 capex capped at 2.5 million (the plan spends about 3.4)."""
    return replace(x, budget=np.array([2.5e6, math.inf, math.inf]))


def one_more_b(x: CapacityInputs, units: float) -> CapacityInputs:
    """B's period-0 supply cap moved by `units` parts."""
    extra = np.zeros((3, 3))
    extra[1, 0] = units
    return replace(x, supply_cap_parts=x.supply_cap_parts + extra)


def more_budget(x: CapacityInputs, units: float) -> CapacityInputs:
    """Period-0 budget moved by `units`."""
    return replace(x, budget=x.budget + np.array([units, 0.0, 0.0]))


@pytest.mark.parametrize(
    ("tighten", "move", "dual"),
    [
        (tight_supply, one_more_b, lambda d: d.supply_cap_per_part[1, 0]),
        (tight_budget, more_budget, lambda d: d.budget_per_currency[0]),
    ],
    ids=["supply", "budget"],
)
def test_duals_price_one_more_unit(backend: str, tighten: Any, move: Any, dual: Any) -> None:
    """LP: the optimum is convex and piecewise linear in a limit, so the dual of a binding limit
    lies between the saving of one unit more and the cost of one unit less:
    f(c) - f(c + 1) <= dual <= f(c - 1) - f(c)."""
    x = tighten(mix(relax=True))
    at = solved(x, backend)
    more, less = solved(move(x, 1.0), backend), solved(move(x, -1.0), backend)
    value = dual(at.duals)
    assert value > 0
    assert at.objective - more.objective <= value * (1 + 1e-6)
    assert value <= (less.objective - at.objective) * (1 + 1e-6)


# --- the checker and the input checks can fail ----------------------------------------------------


def test_checker_reports_a_tampered_plan() -> None:
    """A plan with a part bought where it is banned and a demand left uncovered is caught."""
    x = discounted(relax=True, allowed=np.array([[[True, True]], [[True, False]]]))
    s = solved(x, "cvxpy")
    bought = s.parts_bought.copy()
    bought[1, 0, 1] += 1.0
    tampered = replace(
        s,
        parts_bought=bought,
        servers_bought=bought,
        unserved_tokens_per_s=s.unserved_tokens_per_s - 1.0,
    )
    problems = " | ".join(check_solution(x, tampered))
    assert "(2) nothing bought where not allowed" in problems
    assert "(5) hourly tokens" in problems
    assert "(0) unserved_tokens_per_s >= 0" in problems


def test_a_contradictory_rule_is_reported_infeasible(backend: str) -> None:
    """A foreign B still in service breaks a 100 % domestic share whatever is bought."""
    x = tiny(base_parts=np.array([[[0.0]], [[1.0]]]), domestic_share_min_fraction=np.ones(2))
    s = solve(x, backend=backend)  # type: ignore[arg-type]
    assert s.status is SolveStatus.infeasible
    assert math.isnan(s.objective)


def test_bad_inputs_are_reported_all_at_once_as_input_errors() -> None:
    """Shape and range problems come back together; the planner names file, field and fix."""
    x = tiny(pue=np.full((1, 1), 0.9), lifetime_years=np.array([5.0, 0.0]))
    problems = check_inputs(x)
    assert {p.field for p in problems} == {"pue", "lifetime_years"}
    with pytest.raises(InvalidCapacityInputs) as raised:
        solve(x)
    error = InputError(
        [Problem("scenarios/x.yaml", p.field, p.problem, p.fix) for p in raised.value.problems]
    )
    assert "scenarios/x.yaml: pue: is below 1." in str(error)
    assert "Fix:" in str(error)
    wrong_shape = tiny(price_per_mwh=np.zeros((1, 3, 1)))
    assert [p.field for p in check_inputs(wrong_shape)] == ["price_per_mwh"]


# --- serve-demand rows in a per-workload power of ten; video rows -------------------------------


def test_serve_scale_puts_the_fastest_rate_in_one_to_ten() -> None:
    """sigma_w = 10^-floor(log10(max_p k[w,p])): 28,594 tok/s -> 1e-4, 2.6e-3 video s/s -> 1e3,
    a workload no part serves -> 1; scaled rates and demand keep their ratio."""
    x = tiny(
        tokens_per_s_per_part=np.array([[28_594.0, 9_000.0], [2.6e-3, 3.9e-4], [0.0, 0.0]]),
        demand_tokens_per_s=np.ones((3, 2, 1)),
        deferrable=np.zeros(3, dtype=bool),
    )
    np.testing.assert_allclose(serve_scale(x), [1e-4, 1e3, 1.0])
    rate, demand, _ = scaled_serve_data(x)
    assert rate.max(axis=1)[:2] == pytest.approx([2.8594, 2.6])
    np.testing.assert_allclose(demand[:, 0, 0], [1e-4, 1e3, 1.0])


def test_national_scale_demand_solves_in_tokens_per_s(backend: str) -> None:
    """Demand 3e8 then 5e8 tok/s on parts of 1e4 and 2e4 tok/s, year 1 discounted by 0.9: the LP
    buys only B (15 per 2e4 tok/s), just in time: 1.5e4 B for 225,000 and 1e4 more for
    0.9 x 150,000 (as the first hand-solved test x 1e4). Unserved demand comes back in tokens per
    second, not in scaled units."""
    x = discounted(
        relax=True,
        tokens_per_s_per_part=np.array([[1e4, 2e4]]),
        demand_tokens_per_s=np.array([1e8 * 3, 1e8 * 5])[None, :, None],
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(360_000.0, rel=1e-9)
    assert s.parts_bought[1, 0].tolist() == pytest.approx([1.5e4, 1e4], rel=1e-9)
    starved = solved(replace(x, allowed=np.zeros_like(x.allowed)), backend)
    np.testing.assert_allclose(starved.unserved_tokens_per_s, x.demand_tokens_per_s, rtol=1e-9)
    # 8,760 h x 3,600 s x (3e8 + 0.9 x 5e8) tok/s / 1e6 x 100 per Mtok
    assert starved.objective == pytest.approx(MTOK_PER_TOKEN_S_YEAR * 7.5e8 * 100.0, rel=1e-9)


def test_video_rows_are_priced_per_minute(backend: str) -> None:
    """A video workload (rows in video s/s) that no part may serve: every second is unserved and
    costs the penalty per minute / 60 for each second of the year: 8,760 x 3,600 x (0.02 +
    0.9 x 0.03) video s/s x 600 / 60 = 14,821,920 (the token row demands nothing)."""
    x = discounted(
        tokens_per_s_per_part=np.array([[100.0, 200.0], [2e-3, 4e-3]]),
        demand_tokens_per_s=np.array([[[0.0], [0.0]], [[0.02], [0.03]]]),
        deferrable=np.array([False, True]),
        video=np.array([False, True]),
        unserved_penalty_per_video_minute=600.0,
        allowed=np.zeros((2, 1, 2), dtype=bool),
        relax=True,
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(8_760 * 3_600 * 0.047 * 600 / 60, rel=1e-9)
    np.testing.assert_allclose(s.unserved_tokens_per_s[1], [[0.02], [0.03]], rtol=1e-9)
    served = solved(replace(x, allowed=np.ones_like(x.allowed)), backend)
    # B: 15 per 4e-3 video s/s, just in time: 5 parts, then 2.5 more at 0.9: 75 + 33.75
    assert served.objective == pytest.approx(108.75, rel=1e-9)


# --- (18) the power subsidy by choice ------------------------------------------------------------


def subsidised(f: float, **overrides: Any) -> CapacityInputs:
    """One year, one step: 400 tok/s on A (domestic, 10, 100 tok/s) or B (foreign, 15, 200 tok/s),
    each drawing 1 MW when busy, power at 0.001 per MWh (8.76 per busy part-year); the site may
    earn the subsidy f by holding no B."""
    return tiny(
        n_years=1,
        active_w=np.array([1e6, 1e6]),
        price_per_mwh=np.full((1, 1, 1), 1e-3),
        demand_tokens_per_s=np.full((1, 1, 1), 400.0),
        subsidy_choice_fraction=np.full((1, 1), f),
        **overrides,
    )


@pytest.mark.parametrize(("f", "domestic_only", "optimum"), [(0.9, 1.0, 43.504), (0.5, 0.0, 47.52)])
def test_the_site_takes_the_subsidy_when_it_pays(
    backend: str, f: float, domestic_only: float, optimum: float
) -> None:
    """Four A with the subsidy cost 40 + 4 x 8.76 x (1 - f); two B cost 30 + 2 x 8.76 = 47.52
    (d = 0); one B and two A 35 + 3 x 8.76 = 61.28. f = 0.9: 43.504, A only, d = 1;
    f = 0.5: 57.52 > 47.52, B only, d = 0, no rebate."""
    s = solved(subsidised(f), backend)
    assert s.objective == pytest.approx(optimum, rel=1e-9)
    assert s.domestic_only[0, 0] == pytest.approx(domestic_only, abs=1e-9)
    assert s.power_subsidy_fraction[0, 0] == pytest.approx(f * domestic_only, abs=1e-9)
    a, b = (4.0, 0.0) if domestic_only else (0.0, 2.0)
    np.testing.assert_allclose(s.parts_bought[:, 0, 0], [a, b], atol=1e-9)
    assert s.costs is not None
    assert s.costs.power_subsidy_credit == pytest.approx(4 * 8.76 * f * domestic_only, rel=1e-9)


def test_no_choice_builds_no_subsidy_columns(backend: str) -> None:
    """Without a choice the plan is the one it always was: d and the rebate read 0."""
    s = solved(subsidised(0.0), backend)
    assert s.objective == pytest.approx(47.52, rel=1e-9)
    assert not s.domestic_only.any() and not s.subsidised_import_mw.any()


def test_subsidy_choice_inputs_are_checked() -> None:
    x = subsidised(1.5, grid_import_cap_mw=np.full((1, 1), math.inf))
    fields = {p.field for p in check_inputs(x)}
    assert fields == {"subsidy_choice_fraction", "grid_import_cap_mw"}
