"""Site energy model at realistic length: both backends agree, and the numpy checker passes.

The synthetic site has a daily-shaped IT load and price, a simple clear-sky solar shape, monthly
demand charges, deferral, a backup reserve and a cycle limit, so every constraint family is
present. Numbers are illustrative test inputs, not planning figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.common import SolveStatus
from models.dispatch import solve_site_energy as solve
from models.site_energy import SiteEnergyInputs
from models.site_energy_check import check_solution


def synthetic_site(n_days: int, wrap: str) -> SiteEnergyInputs:
    """`n_days` calendar days of hourly steps; storage wraps over the whole span or each day."""
    n = 24 * n_days
    t = np.arange(n)
    hour, day = t % 24, t // 24
    month = np.minimum(day * 12 // 365, 11)
    season = np.cos(2 * np.pi * (day - 172) / 365)
    it_load_mw = 80 + 10 * np.sin(2 * np.pi * (hour - 8) / 24) + 5 * season
    price_per_mwh = 40 + 30 * np.sin(2 * np.pi * (hour - 12) / 24) - 10 * season
    sun = np.clip(np.sin(np.pi * (hour - 6) / 12), 0.0, None)
    prev_step = np.roll(t, 1) if wrap == "span" else t - hour + (hour - 1) % 24
    return SiteEnergyInputs(
        weight_h=np.full(n, 8760 / n),
        prev_step=prev_step,
        day=day,
        billing_period=month - month.min(),
        billing_period_months=np.full(month.max() - month.min() + 1, 12 / (month.max() + 1)),
        it_load_mw=it_load_mw,
        pue=1.2 + 0.05 * np.sin(2 * np.pi * (hour - 9) / 24),
        deferrable_fraction=0.2,
        it_capacity_mw=100.0,
        critical_load_mw=0.3 * it_load_mw,
        backup_hours=1.0,
        grid_import_cap_mw=110.0,
        price_per_mwh=price_per_mwh,
        grid_export_cap_mw=20.0,
        export_price_per_mwh=0.5 * price_per_mwh,
        demand_charge_per_mw_month=8000.0,
        emission_t_per_mwh=np.full(n, 0.4),
        carbon_price_per_t=30.0,
        solar_capacity_factor=sun * (0.8 + 0.2 * season),
        solar_annual_cost_per_mw=60_000.0,
        solar_max_mw=300.0,
        battery_annual_cost_per_mwh=15_000.0,
        battery_annual_cost_per_mw=8_000.0,
        soc_min_fraction=0.1,
        max_duration_h=8.0,
        annual_cycle_limit=365.0,
    )


def assert_backends_agree(x: SiteEnergyInputs, compare_duals: bool) -> None:
    solutions = [solve(x, backend=backend) for backend in ("cvxpy", "pyomo")]
    for s in solutions:
        assert s.status is SolveStatus.optimal
        assert check_solution(x, s) == []
        assert s.solar_mw > 0 and s.battery_mwh > 0  # the case exercises both assets
    cvx, pyo = solutions
    assert cvx.objective == pytest.approx(pyo.objective, rel=1e-6)
    if compare_duals:  # unique here; a degenerate year may have several dual optima
        assert cvx.marginal_cost_per_mwh == pytest.approx(pyo.marginal_cost_per_mwh, rel=1e-6)


def test_backends_agree_on_two_weeks() -> None:
    """336 hours, storage wrapping within each day."""
    assert_backends_agree(synthetic_site(14, wrap="day"), compare_duals=True)


@pytest.mark.slow
def test_backends_agree_on_a_full_year() -> None:
    """8,760 hours, storage wrapping over the year; ~80 s per backend on the 2.0 GHz machine of
    2026-12-06, almost all in HiGHS's simplex (its interior point took 65-70 s)."""
    assert_backends_agree(synthetic_site(365, wrap="span"), compare_duals=False)
