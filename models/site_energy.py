"""Site energy model: size solar and battery, dispatch them with the grid against an IT load.

Inputs and solution are frozen dataclasses of numpy arrays with units in their names; the
formulations live in `site_energy_cvxpy.py` and `site_energy_pyomo.py` and build the same
mathematics (docs/model.md). Time is an axis `t` of T steps plus a weight `weight_h[t]` (hours each
step stands for in a year).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from models.common import Backend, InputProblem, SolveStats, SolveStatus


@dataclass(frozen=True)
class SiteEnergyInputs:
    """One site, one year of operation (full 8,760 h or weighted representative days).

    Axes: T time steps, P demand-charge billing periods. Money is in the scenario's currency.
    """

    # --- time ---
    weight_h: np.ndarray  # (T,) hours of the year each step stands for (sum 8,760 for a year)
    prev_step: np.ndarray  # (T,) int, step before t for storage; wraps within a day or the year
    day: np.ndarray  # (T,) int, day id of each step; deferrable load moves only within its day
    billing_period: np.ndarray  # (T,) int in [0, P), demand-charge period of each step
    billing_period_months: np.ndarray  # (P,) months each billing period's peak is charged for
    # --- load ---
    it_load_mw: np.ndarray  # (T,) IT load demanded
    pue: np.ndarray  # (T,) facility power / IT power
    deferrable_fraction: float  # share of each hour's IT load that may move within its day
    it_capacity_mw: float  # installed IT MW: caps served IT load in every hour
    critical_load_mw: np.ndarray  # (T,) facility load the battery must be able to back up
    backup_hours: float  # SOC >= backup_hours x critical load at every step (0 = no reserve)
    # --- grid ---
    grid_import_cap_mw: float
    price_per_mwh: np.ndarray  # (T,) energy price of imports
    grid_export_cap_mw: float  # 0 disables export
    export_price_per_mwh: np.ndarray  # (T,)
    demand_charge_per_mw_month: float  # on each billing period's peak import
    emission_t_per_mwh: np.ndarray  # (T,) grid emission factor
    carbon_price_per_t: float
    # --- solar ---
    solar_capacity_factor: np.ndarray  # (T,) AC output per MW installed, fraction
    solar_annual_cost_per_mw: float  # capex x capital recovery factor + fixed O&M
    solar_max_mw: float = math.inf
    # --- battery ---
    battery_annual_cost_per_mwh: float = 0.0  # energy part: capex x CRF + fixed O&M
    battery_annual_cost_per_mw: float = 0.0  # power part (inverter, grid connection)
    charge_efficiency_fraction: float = 0.95
    discharge_efficiency_fraction: float = 0.95
    soc_min_fraction: float = 0.0
    soc_max_fraction: float = 1.0
    min_duration_h: float = 0.0  # battery_mwh >= min_duration_h x battery_mw
    max_duration_h: float = math.inf  # battery_mwh <= max_duration_h x battery_mw
    battery_max_mwh: float = math.inf
    annual_cycle_limit: float = math.inf  # equivalent full cycles per year
    # --- slack ---
    unserved_penalty_per_mwh: float = 10_000.0  # value of lost load
    reserve_shortfall_penalty_per_mwh: float = 10_000.0

    @property
    def n_steps(self) -> int:
        """T, the number of time steps."""
        return int(self.weight_h.shape[0])

    @property
    def battery_limits(self) -> BatteryLimits:
        """The battery's SOC window, duration range and energy cap, eqs. (9)-(11)."""
        return BatteryLimits(
            self.soc_min_fraction,
            self.soc_max_fraction,
            self.min_duration_h,
            self.max_duration_h,
            self.battery_max_mwh,
        )


@dataclass(frozen=True)
class BatteryLimits:
    """The battery's operating window, eqs. (9)-(11): state of charge between `soc_min_fraction`
    and `soc_max_fraction` of the energy capacity, a duration (MWh per MW) between
    `min_duration_h` and `max_duration_h`, and at most `max_mwh` of energy capacity."""

    soc_min_fraction: float
    soc_max_fraction: float
    min_duration_h: float
    max_duration_h: float
    max_mwh: float


@dataclass(frozen=True)
class SiteEnergyCosts:
    """Annual cost breakdown, in the scenario's currency per year."""

    solar_capex: float
    battery_capex: float
    energy: float
    demand_charges: float
    carbon: float
    export_revenue: float
    unserved_penalty: float
    reserve_penalty: float


@dataclass(frozen=True)
class SiteEnergySolution:
    """Sizes and hourly dispatch; arrays share the inputs' time axis."""

    status: SolveStatus
    objective: float  # annual cost
    stats: SolveStats
    backend: Backend
    solver: str
    solar_mw: float = math.nan
    battery_mwh: float = math.nan
    battery_mw: float = math.nan
    grid_import_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    grid_export_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    solar_used_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    solar_curtailed_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    charge_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    discharge_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    soc_mwh: np.ndarray = field(default_factory=lambda: np.empty(0))
    served_it_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    unserved_it_mw: np.ndarray = field(default_factory=lambda: np.empty(0))
    reserve_shortfall_mwh: np.ndarray = field(default_factory=lambda: np.empty(0))
    peak_import_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (P,)
    # shadow price of the power balance (eq. 1) per MWh of one hour of the time step: the
    # marginal annual cost of one more MWh at t, divided by weight_h[t]
    marginal_cost_per_mwh: np.ndarray = field(default_factory=lambda: np.empty(0))
    costs: SiteEnergyCosts | None = None


def check_inputs(inputs: SiteEnergyInputs) -> list[InputProblem]:
    """Every shape, range and index problem in `inputs`, all at once (empty list when sound).

    The planner turns each into `planner.errors.Problem(file, field, problem, fix)`. Ranges are
    checked only once every series has its shape.
    """
    problems = check_series_shapes(inputs)
    if problems:
        return problems
    return check_ranges(inputs) + check_indices(inputs) + check_battery_limits(inputs)


def check_series_shapes(inputs: SiteEnergyInputs) -> list[InputProblem]:
    """One finite value per time step in every hourly series; every weight > 0 h."""
    n = inputs.n_steps
    problems: list[InputProblem] = []
    for name in _HOURLY_FIELDS:
        array = np.asarray(getattr(inputs, name))
        if array.shape != (n,):
            problems.append(
                InputProblem(
                    name, f"has shape {array.shape}, expected ({n},).", "give one value per step."
                )
            )
        elif not np.all(np.isfinite(array)):
            problems.append(
                InputProblem(name, "contains NaN or infinite values.", "fill the gaps.")
            )
    weight_h = np.asarray(inputs.weight_h, dtype=float)
    if not np.all(np.isfinite(weight_h) & (weight_h > 0)):
        problems.append(
            InputProblem("weight_h", "has values that are not positive.", "weigh each step > 0 h.")
        )
    return problems


def check_ranges(inputs: SiteEnergyInputs) -> list[InputProblem]:
    """Non-negative loads, prices of capacity and limits; PUE >= 1; a deferrable fraction."""
    problems = [
        InputProblem(name, "has negative values.", "use values >= 0.")
        for name in _NONNEGATIVE_HOURLY
        if np.any(np.asarray(getattr(inputs, name)) < 0)
    ]
    if np.any(inputs.pue < 1.0):
        problems.append(InputProblem("pue", "is below 1.", "a PUE is facility / IT power >= 1."))
    if not 0.0 <= inputs.deferrable_fraction <= 1.0:
        problems.append(
            InputProblem("deferrable_fraction", "is outside [0, 1].", "write a fraction like 0.2.")
        )
    problems += [
        InputProblem(name, "is negative or NaN.", "use a value >= 0.")
        for name in _NONNEGATIVE_SCALARS
        if not getattr(inputs, name) >= 0.0
    ]
    return problems


def check_indices(inputs: SiteEnergyInputs) -> list[InputProblem]:
    """`prev_step` points into the series; `billing_period` into `billing_period_months`."""
    n, problems = inputs.n_steps, []
    steps = np.asarray(inputs.prev_step)
    if steps.min() < 0 or steps.max() >= n:
        problems.append(
            InputProblem(
                "prev_step",
                f"indexes outside [0, {n}).",
                "point each step at a step of the series.",
            )
        )
    n_periods = inputs.billing_period_months.shape[0]
    periods = np.asarray(inputs.billing_period)
    if n_periods == 0 or periods.min() < 0 or periods.max() >= n_periods:
        problems.append(
            InputProblem(
                "billing_period",
                f"indexes outside [0, {n_periods}).",
                "give billing_period_months one entry per period.",
            )
        )
    return problems


def check_battery_limits(inputs: SiteEnergyInputs) -> list[InputProblem]:
    """0 <= soc_min <= soc_max <= 1, efficiencies in (0, 1], min duration <= max duration."""
    problems = []
    if not 0.0 <= inputs.soc_min_fraction <= inputs.soc_max_fraction <= 1.0:
        problems.append(
            InputProblem(
                "soc_min_fraction", "0 <= soc_min <= soc_max <= 1 fails.", "order the limits."
            )
        )
    problems += [
        InputProblem(name, "is outside (0, 1].", "write e.g. 0.95.")
        for name in ("charge_efficiency_fraction", "discharge_efficiency_fraction")
        if not 0.0 < getattr(inputs, name) <= 1.0
    ]
    if inputs.min_duration_h > inputs.max_duration_h:
        problems.append(
            InputProblem("min_duration_h", "exceeds max_duration_h.", "swap or widen the limits.")
        )
    return problems


class InvalidSiteEnergyInputs(ValueError):
    """Inputs that fail `check_inputs`; carries the problems for the planner to translate."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.problem} Fix: {p.fix}" for p in problems))


_HOURLY_FIELDS = (
    "prev_step",
    "day",
    "billing_period",
    "it_load_mw",
    "pue",
    "critical_load_mw",
    "price_per_mwh",
    "export_price_per_mwh",
    "emission_t_per_mwh",
    "solar_capacity_factor",
)
_NONNEGATIVE_HOURLY = (
    "day",
    "it_load_mw",
    "critical_load_mw",
    "emission_t_per_mwh",
    "solar_capacity_factor",
)
_NONNEGATIVE_SCALARS = (
    "it_capacity_mw",
    "backup_hours",
    "grid_import_cap_mw",
    "grid_export_cap_mw",
    "demand_charge_per_mw_month",
    "solar_max_mw",
    "battery_max_mwh",
    "annual_cycle_limit",
    "min_duration_h",
    "unserved_penalty_per_mwh",
    "reserve_shortfall_penalty_per_mwh",
)
