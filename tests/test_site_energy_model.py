"""Site energy model: hand-solved reference problems on both backends, checked by numpy.

Every solve goes through `solved()`, which runs the independent checker
(models/site_energy_check.py) on the solution. Optima are derived in each test's docstring.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from models.common import SolveStatus
from models.dispatch import solve_site_energy as solve
from models.site_energy import (
    InvalidSiteEnergyInputs,
    SiteEnergyInputs,
    SiteEnergySolution,
    check_inputs,
)
from models.site_energy_check import check_solution
from models.solvers import UnknownSolver
from planner.errors import InputError, Problem

BACKENDS = ["cvxpy", "pyomo"]


def one_day(n_steps: int, **overrides: Any) -> SiteEnergyInputs:
    """A site over `n_steps` hours of one day with storage wrapping within the day.

    Defaults: 10 MW IT load, PUE 1, grid price 50, no solar, no demand charge, no export, no
    carbon price, a lossless battery that costs 1 per MWh and per MW, no reserve, no deferral.
    """
    n = n_steps
    base: dict[str, Any] = dict(
        weight_h=np.ones(n),
        prev_step=np.roll(np.arange(n), 1),
        day=np.zeros(n, dtype=int),
        billing_period=np.zeros(n, dtype=int),
        billing_period_months=np.array([1.0]),
        it_load_mw=np.full(n, 10.0),
        pue=np.ones(n),
        deferrable_fraction=0.0,
        it_capacity_mw=100.0,
        critical_load_mw=np.zeros(n),
        backup_hours=0.0,
        grid_import_cap_mw=100.0,
        price_per_mwh=np.full(n, 50.0),
        grid_export_cap_mw=0.0,
        export_price_per_mwh=np.zeros(n),
        demand_charge_per_mw_month=0.0,
        emission_t_per_mwh=np.zeros(n),
        carbon_price_per_t=0.0,
        solar_capacity_factor=np.zeros(n),
        solar_annual_cost_per_mw=1.0,
        battery_annual_cost_per_mwh=1.0,
        battery_annual_cost_per_mw=1.0,
        charge_efficiency_fraction=1.0,
        discharge_efficiency_fraction=1.0,
    )
    base.update(overrides)
    return SiteEnergyInputs(**base)


def two_days(**overrides: Any) -> SiteEnergyInputs:
    """Four hours: two days of two hours each; storage wraps within each day."""
    base: dict[str, Any] = dict(
        prev_step=np.array([1, 0, 3, 2]),
        day=np.array([0, 0, 1, 1]),
    )
    base.update(overrides)
    return one_day(4, **base)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def solved(x: SiteEnergyInputs, backend: str) -> SiteEnergySolution:
    """Solve with HiGHS, require optimal, and require the numpy checker to find nothing."""
    s = solve(x, backend=backend, solver="highs")
    assert s.status is SolveStatus.optimal
    assert check_solution(x, s) == []
    assert s.stats.build_s >= 0 and s.stats.solve_s >= 0
    return s


# --- hand-solved reference problems --------------------------------------------------------------

ETA = 0.9  # one-way efficiency; round trip 0.81


def arbitrage(**overrides: Any) -> SiteEnergyInputs:
    return one_day(
        2,
        weight_h=np.array([2.0, 2.0]),
        price_per_mwh=np.array([20.0, 100.0]),
        charge_efficiency_fraction=ETA,
        discharge_efficiency_fraction=ETA,
        **overrides,
    )


def test_arbitrage_with_losses(backend: str) -> None:
    """Load 10 MW in both hours, prices 20 then 100, weight 2 h each, eta 0.9 each way.

    Delivering 1 MWh in hour 2 from the battery costs 20 / 0.81 = 24.69 of energy plus capex
    1 / 0.9 (MWh) + 1 / 0.81 (MW, charging is the larger flow), both < 100: the battery serves the
    whole hour-2 load. d_2 = 10, c_1 = 10 / 0.81 = 12.35 = MW, MWh = 10 / 0.9 = 11.11.
    Cost = 2 x 20 x (10 + 12.35) + 11.11 + 12.35 = 917.284.
    """
    s = solved(arbitrage(), backend)
    assert s.objective == pytest.approx(2 * (200 + 200 / 0.81) + 10 / 0.9 + 10 / 0.81, rel=1e-9)
    assert s.battery_mw == pytest.approx(10 / 0.81, rel=1e-7)
    assert s.battery_mwh == pytest.approx(10 / 0.9, rel=1e-7)
    assert s.grid_import_mw == pytest.approx([10 + 10 / 0.81, 0.0], abs=1e-7)
    # one more MWh in hour 1 costs its price; in hour 2 it comes through the battery
    assert s.marginal_cost_per_mwh[0] == pytest.approx(20.0, rel=1e-7)
    assert s.marginal_cost_per_mwh[1] == pytest.approx(20 / 0.81 + (1 / 0.9 + 1 / 0.81) / 2)


def test_cycle_limit_makes_the_battery_bigger(backend: str) -> None:
    """As the arbitrage case, with 0.5 equivalent full cycles a year: sum w d = 2 x 10 = 20 MWh
    <= 0.5 x MWh, so MWh = 40 (not 11.11). Still worth it: cost = 2 x 446.91 + 40 + 12.35."""
    s = solved(arbitrage(annual_cycle_limit=0.5), backend)
    assert s.battery_mwh == pytest.approx(40.0, rel=1e-7)
    assert s.objective == pytest.approx(2 * (200 + 200 / 0.81) + 40 + 10 / 0.81, rel=1e-9)


@pytest.mark.parametrize(
    ("overrides", "battery_mwh"),
    [
        ({"soc_min_fraction": 0.2}, 10 / 0.9 / 0.8),  # the 11.11 MWh swing fits in 80 %
        ({"min_duration_h": 2.0}, 2 * 10 / 0.81),  # MWh >= 2 h x 12.35 MW
    ],
)
def test_soc_floor_and_min_duration_size_the_energy(
    backend: str, overrides: dict[str, float], battery_mwh: float
) -> None:
    """The arbitrage case with a SOC floor or a minimum duration: dispatch and MW unchanged,
    MWh grows to the bound shown; cost = 893.83 + MWh + 12.35 (1 per MWh and per MW)."""
    s = solved(arbitrage(**overrides), backend)
    assert s.battery_mwh == pytest.approx(battery_mwh, rel=1e-7)
    assert s.objective == pytest.approx(2 * (200 + 200 / 0.81) + battery_mwh + 10 / 0.81, rel=1e-9)


def test_demand_charge_shaved_by_battery(backend: str) -> None:
    """Two days of two hours, loads (10, 20) and (10, 30); price 50, carbon 0.4 t x 25 = 10/MWh;
    demand charge 100 per MW-month, period 0 = day 1 (1 month), period 1 = day 2 (2 months).

    A lossless battery flattens each day to its mean (peaks 15 and 20): one MW of peak saves 100
    or 200 and costs at most 2 of capex. MW = MWh = 10 (day 2's swing).
    Cost = 60 x 70 (energy + carbon) + 100 x 15 + 200 x 20 + 10 + 10 = 9,720.
    """
    x = two_days(
        it_load_mw=np.array([10.0, 20.0, 10.0, 30.0]),
        billing_period=np.array([0, 0, 1, 1]),
        billing_period_months=np.array([1.0, 2.0]),
        demand_charge_per_mw_month=100.0,
        emission_t_per_mwh=np.full(4, 0.4),
        carbon_price_per_t=25.0,
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(9720.0, rel=1e-9)
    assert s.peak_import_mw == pytest.approx([15.0, 20.0], abs=1e-7)
    assert s.costs is not None
    assert s.costs.demand_charges == pytest.approx(5500.0, rel=1e-9)
    assert s.costs.carbon == pytest.approx(700.0, rel=1e-9)
    assert s.battery_mwh == pytest.approx(10.0, rel=1e-7)


def test_backup_reserve_sizes_the_battery(backend: str) -> None:
    """Critical load 10 MW, 2 h of backup: SOC >= 20 MWh at all times. With SOC <= 0.8 MWh the
    battery needs 25 MWh, and with at most 4 h duration 6.25 MW. Cost per MWh 10, per MW 20:
    capex 250 + 125 = 375, energy 2 x 10 x 30 = 600, total 975 (penalty 10,000/MWh avoided)."""
    x = one_day(
        2,
        critical_load_mw=np.full(2, 10.0),
        backup_hours=2.0,
        soc_max_fraction=0.8,
        max_duration_h=4.0,
        battery_annual_cost_per_mwh=10.0,
        battery_annual_cost_per_mw=20.0,
        price_per_mwh=np.full(2, 30.0),
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(975.0, rel=1e-9)
    assert s.battery_mwh == pytest.approx(25.0, rel=1e-7)
    assert s.battery_mw == pytest.approx(6.25, rel=1e-7)
    assert s.reserve_shortfall_mwh == pytest.approx([0.0, 0.0], abs=1e-7)


def test_reserve_no_battery_can_hold_shows_shortfall(backend: str) -> None:
    """As above but the battery is capped at 10 MWh (SOC max 1): 10 MWh short in both hours.
    Each MWh built saves 2 x 100 of penalty for 10 + 20/4 of capex, so MWh = 10, MW = 2.5.
    Cost = 100 + 50 + 600 + 100 x (10 + 10) = 2,750."""
    x = one_day(
        2,
        critical_load_mw=np.full(2, 10.0),
        backup_hours=2.0,
        max_duration_h=4.0,
        battery_max_mwh=10.0,
        battery_annual_cost_per_mwh=10.0,
        battery_annual_cost_per_mw=20.0,
        price_per_mwh=np.full(2, 30.0),
        reserve_shortfall_penalty_per_mwh=100.0,
    )
    s = solved(x, backend)
    assert s.reserve_shortfall_mwh == pytest.approx([10.0, 10.0], abs=1e-7)
    assert s.objective == pytest.approx(2750.0, rel=1e-9)


def test_deferral_moves_load_to_the_cheap_hour(backend: str) -> None:
    """Load 10 MW twice, half deferrable, IT capacity 15 MW, PUE 1.2, prices 40 then 10,
    weight 3 h each, battery too dear to build. Serve 5 then 15 MW: grid 6 then 18 MW.
    Cost = 3 x (40 x 6 + 10 x 18) = 1,260 (without deferral: 1,800)."""
    x = one_day(
        2,
        weight_h=np.array([3.0, 3.0]),
        it_load_mw=np.array([10.0, 10.0]),
        deferrable_fraction=0.5,
        it_capacity_mw=15.0,
        pue=np.full(2, 1.2),
        price_per_mwh=np.array([40.0, 10.0]),
        battery_annual_cost_per_mwh=1e6,
        battery_annual_cost_per_mw=1e6,
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(1260.0, rel=1e-9)
    assert s.served_it_mw == pytest.approx([5.0, 15.0], abs=1e-7)
    no_deferral = solved(replace(x, deferrable_fraction=0.0), backend)
    assert no_deferral.objective == pytest.approx(1800.0, rel=1e-9)


def test_solar_sized_against_unequal_weights(backend: str) -> None:
    """Solar yields only in hour 1 (cf 1, weight 0.5 h); hour 2 weighs 1.5 h. A MW costs 20 and
    saves 0.5 x 50 = 25 while it serves the 10 MW load, but earns only 0.5 x 30 = 15 exported:
    build 10 MW, export nothing. Cost = 200 + 1.5 x 50 x 10 = 950. Battery too dear to build."""
    x = one_day(
        2,
        weight_h=np.array([0.5, 1.5]),
        solar_capacity_factor=np.array([1.0, 0.0]),
        solar_annual_cost_per_mw=20.0,
        solar_max_mw=100.0,
        grid_export_cap_mw=100.0,
        export_price_per_mwh=np.full(2, 30.0),
        battery_annual_cost_per_mwh=1e6,
        battery_annual_cost_per_mw=1e6,
    )
    s = solved(x, backend)
    assert s.solar_mw == pytest.approx(10.0, rel=1e-7)
    assert s.objective == pytest.approx(950.0, rel=1e-9)
    assert s.grid_export_mw == pytest.approx([0.0, 0.0], abs=1e-7)


def test_solar_exported_when_it_pays(backend: str) -> None:
    """Equal weights 1 h: a MW earns 30 exported > 20 cost, so build the 100 MW cap: 10 MW serve
    load, 90 MW exported. Cost = 2,000 - 2,700 + 50 x 10 = -200."""
    x = one_day(
        2,
        solar_capacity_factor=np.array([1.0, 0.0]),
        solar_annual_cost_per_mw=20.0,
        solar_max_mw=100.0,
        grid_export_cap_mw=100.0,
        export_price_per_mwh=np.full(2, 30.0),
        battery_annual_cost_per_mwh=1e6,
        battery_annual_cost_per_mw=1e6,
    )
    s = solved(x, backend)
    assert s.objective == pytest.approx(-200.0, rel=1e-9)
    assert s.grid_export_mw == pytest.approx([90.0, 0.0], abs=1e-7)
    assert s.costs is not None and s.costs.export_revenue == pytest.approx(2700.0)


def test_load_above_all_supply_is_unserved(backend: str) -> None:
    """Load 10 MW, grid cap 6 MW, solar at most 2 MW at cf 1 (cost 1/MW), no battery allowed:
    2 MW unserved each hour. Cost = 10 x 6 x 2 + 2 + 1,000 x 4 = 4,122."""
    x = one_day(
        2,
        grid_import_cap_mw=6.0,
        price_per_mwh=np.full(2, 10.0),
        solar_capacity_factor=np.ones(2),
        solar_max_mw=2.0,
        battery_max_mwh=0.0,
        min_duration_h=1.0,
        unserved_penalty_per_mwh=1000.0,
    )
    s = solved(x, backend)
    assert s.unserved_it_mw == pytest.approx([2.0, 2.0], abs=1e-7)
    assert s.objective == pytest.approx(4122.0, rel=1e-9)


def test_backends_agree_on_every_reference_case() -> None:
    """The same optimum to 1e-6 relative on each case above, solved by both backends."""
    cases = [
        arbitrage(),
        arbitrage(annual_cycle_limit=0.5),
        two_days(it_load_mw=np.array([10.0, 20.0, 10.0, 30.0]), demand_charge_per_mw_month=9.0),
        one_day(3, price_per_mwh=np.array([10.0, 80.0, 30.0]), deferrable_fraction=0.3,
                soc_min_fraction=0.1, charge_efficiency_fraction=0.92),
    ]  # fmt: skip
    for x in cases:
        a, b = (solved(x, backend) for backend in BACKENDS)
        assert a.objective == pytest.approx(b.objective, rel=1e-6)


# --- the checker catches what it should ----------------------------------------------------------


def test_checker_flags_a_broken_soc_recursion() -> None:
    x = arbitrage()
    s = solved(x, "cvxpy")
    broken = replace(s, soc_mwh=s.soc_mwh + np.array([1.0, 0.0]))
    assert any(p.startswith("(7) battery balance") for p in check_solution(x, broken))
    cheaper = replace(s, objective=s.objective - 1.0)
    assert any(p.startswith("(17) objective") for p in check_solution(x, cheaper))


# --- bad inputs ----------------------------------------------------------------------------------


def test_bad_inputs_name_every_field_and_fix() -> None:
    x = one_day(
        2,
        it_load_mw=np.array([10.0, -1.0]),
        pue=np.array([1.2]),
        prev_step=np.array([1, 5]),
        deferrable_fraction=1.5,
    )
    problems = check_inputs(x)
    assert {p.field for p in problems} == {"pue"}  # shapes first: nothing else is trustworthy
    x = replace(x, pue=np.ones(2))
    fields = {p.field for p in check_inputs(x)}
    assert fields == {"it_load_mw", "prev_step", "deferrable_fraction"}
    with pytest.raises(InvalidSiteEnergyInputs) as raised:
        solve(x, backend="pyomo")
    error = InputError(
        [Problem("sites/a.yaml", p.field, p.problem, p.fix) for p in raised.value.problems]
    )
    assert "sites/a.yaml: deferrable_fraction: is outside [0, 1]. Fix:" in str(error)


@pytest.mark.parametrize(("backend", "solver"), [("cvxpy", "clarabel"), ("pyomo", "appsi_highs")])
def test_other_solvers_by_name(backend: str, solver: str) -> None:
    """An interior-point solver through cvxpy, Pyomo's own HiGHS interface: same optimum."""
    x = arbitrage()
    s = solve(x, backend=backend, solver=solver)
    assert s.status is SolveStatus.optimal and s.solver == solver
    assert check_solution(x, s, tol=1e-6) == []
    assert s.objective == pytest.approx(2 * (200 + 200 / 0.81) + 10 / 0.9 + 10 / 0.81, rel=1e-6)
    assert s.marginal_cost_per_mwh[0] == pytest.approx(20.0, rel=1e-6)


def test_unknown_solver_is_refused_before_building(backend: str) -> None:
    """An unknown solver is an UnknownSolver naming the ones this backend can use, not a status."""
    with pytest.raises(UnknownSolver) as raised:
        solve(one_day(2), backend=backend, solver="no_such_solver")
    assert "highs" in raised.value.available
    assert "is not one the planner knows" in str(raised.value)


@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
def test_iteration_limit_is_a_time_limit_status(backend: str) -> None:
    """A HiGHS option given once means the same in both backends; a stopped solve has no values."""
    x = two_days(it_load_mw=np.array([10.0, 20.0, 10.0, 30.0]), demand_charge_per_mw_month=9.0)
    s = solve(x, backend=backend, options={"simplex_iteration_limit": 1})
    assert s.status is SolveStatus.time_limit
    assert math.isnan(s.objective) and s.grid_import_mw.size == 0
