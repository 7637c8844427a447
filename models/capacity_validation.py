"""Checks of `CapacityInputs` before a build: every shape, sign, range and index problem at once.

The planner turns each `InputProblem` into `planner.errors.Problem(file, field, problem, fix)`.
"""

from __future__ import annotations

import numpy as np

from models.capacity import (
    CapacityInputs,
    deadline_rows,
    subsidy_choice,
)
from models.capacity_cpu import check_cpu_inputs
from models.capacity_flex import check_flex_inputs
from models.common import InputProblem

# --- input checks --------------------------------------------------------------------------------


def check_inputs(x: CapacityInputs) -> list[InputProblem]:
    """Every shape, range and index problem in `x`, all at once (empty list when sound).

    The planner turns each into `planner.errors.Problem(file, field, problem, fix)`. Ranges are
    checked only once every array has its shape.
    """
    problems = check_shapes(x)
    if problems:
        return problems
    return (
        check_signs_and_finiteness(x)
        + check_physical_ranges(x)
        + check_indices(x)
        + check_battery_and_penalties(x)
        + check_subsidy_choice(x)
        + check_deadlines(x)
        + check_cpu_inputs(x)
        + check_flex_inputs(x)
    )


def check_deadlines(x: CapacityInputs) -> list[InputProblem]:
    """Deadlines are whole hours >= 1 (inf: within the day), and a deadline shorter than a day
    needs days of 24 equally weighted hourly steps (representative days)."""
    if x.deadline_h is None:
        return []
    h = np.asarray(x.deadline_h, dtype=float)
    finite = np.isfinite(h)
    if np.any(np.isnan(h)) or np.any(h[finite] < 1) or np.any(h[finite] != np.round(h[finite])):
        return [InputProblem("deadline_h", "is not a whole number of hours >= 1.", "use 1-24.")]
    if not np.any(deadline_rows(x)):
        return []
    days = [np.flatnonzero(x.day == d) for d in np.unique(x.day)]
    if any(d.size != 24 or np.ptp(x.weight_h[d]) > 0 for d in days):
        return [
            InputProblem(
                "deadline_h",
                "needs days of 24 equally weighted hours.",
                "use representative days, or no deadline shorter than a day.",
            )
        ]
    return []


def axis_sizes(x: CapacityInputs) -> dict[str, int]:
    """The length of every axis letter of `_SHAPES`, read off the arrays that define it."""
    n_w, n_p = np.shape(x.tokens_per_s_per_part)
    return {
        "W": n_w,
        "P": n_p,
        "S": np.shape(x.pue)[0],
        "Y": np.shape(x.year_start_years)[0],
        "T": np.shape(x.weight_h)[0],
        "B": np.shape(x.billing_period_months)[0],
        "G": np.shape(x.cap_group_sites)[0],
        "V": np.shape(x.base_start_years)[0],
    }


def check_shapes(x: CapacityInputs) -> list[InputProblem]:
    """Each array has the shape its axes say, and no NaN."""
    dims, problems = axis_sizes(x), []
    for name, axes in _SHAPES.items():
        value = getattr(x, name)
        if value is None:
            continue
        expected = tuple(dims[a] for a in axes)
        array = np.asarray(value)
        if array.shape != expected:
            problems.append(
                InputProblem(
                    name,
                    f"has shape {array.shape}, expected {expected} ({', '.join(axes)}).",
                    "give one value per " + " x ".join(_AXIS_WORDS[a] for a in axes) + ".",
                )
            )
        elif array.dtype.kind == "f" and np.isnan(array).any():
            problems.append(InputProblem(name, "contains NaN.", "fill the missing values."))
    return problems


def check_signs_and_finiteness(x: CapacityInputs) -> list[InputProblem]:
    """Quantities that cannot be negative are not; those that must be finite are."""
    problems = [
        InputProblem(name, "has negative values.", "use values >= 0.")
        for name in _NONNEGATIVE
        if getattr(x, name) is not None and np.any(np.asarray(getattr(x, name)) < 0)
    ]
    problems += [
        InputProblem(name, "has infinite values.", "give finite values.")
        for name in _FINITE
        if getattr(x, name) is not None
        and not np.all(np.isfinite(np.asarray(getattr(x, name), dtype=float)))
    ]
    return problems


def check_physical_ranges(x: CapacityInputs) -> list[InputProblem]:
    """Lifetimes > 0, servers of >= 1 part, active >= idle watts, PUE >= 1, periods in order."""
    problems = []
    if np.any(x.lifetime_years <= 0):
        problems.append(InputProblem("lifetime_years", "has values <= 0.", "use years > 0."))
    if np.any(x.parts_per_server < 1):
        problems.append(InputProblem("parts_per_server", "has values < 1.", "use 1, 4 or 8."))
    if np.any(x.active_w < x.idle_w):
        problems.append(
            InputProblem("active_w", "is below idle_w for some part.", "check the power figures.")
        )
    if np.any(x.pue < 1.0):
        problems.append(InputProblem("pue", "is below 1.", "a PUE is facility / IT power >= 1."))
    if np.any(np.diff(x.year_start_years) <= 0):
        problems.append(
            InputProblem("year_start_years", "is not increasing.", "list periods in order.")
        )
    share = x.domestic_share_min_fraction
    if np.any((share < 0) | (share > 1)):
        problems.append(
            InputProblem("domestic_share_min_fraction", "is outside [0, 1].", "write a fraction.")
        )
    if x.domestic_share_basis not in ("parts", "compute"):
        problems.append(
            InputProblem("domestic_share_basis", "is not 'parts' or 'compute'.", "pick one.")
        )
    return problems


def check_indices(x: CapacityInputs) -> list[InputProblem]:
    """`prev_step` points at a step, `billing_period` at a billing period."""
    dims = axis_sizes(x)
    problems = []
    for name, size in (("prev_step", dims["T"]), ("billing_period", dims["B"])):
        idx = np.asarray(getattr(x, name))
        if idx.min() < 0 or idx.max() >= size:
            problems.append(
                InputProblem(name, f"indexes outside [0, {size}).", "point at existing entries.")
            )
    return problems


def check_battery_and_penalties(x: CapacityInputs) -> list[InputProblem]:
    """State-of-charge limits in order, efficiencies in (0, 1], unserved penalties >= 0."""
    problems = []
    if not 0.0 <= x.soc_min_fraction <= x.soc_max_fraction <= 1.0:
        problems.append(
            InputProblem(
                "soc_min_fraction", "0 <= soc_min <= soc_max <= 1 fails.", "order the limits."
            )
        )
    problems += [
        InputProblem(name, "is outside (0, 1].", "write e.g. 0.95.")
        for name in ("charge_efficiency_fraction", "discharge_efficiency_fraction")
        if not 0.0 < getattr(x, name) <= 1.0
    ]
    problems += [
        InputProblem(name, "is negative or NaN.", "give a price >= 0.")
        for name in ("unserved_penalty_per_mtok", "unserved_penalty_per_video_minute")
        if not getattr(x, name) >= 0
    ]
    return problems


def check_subsidy_choice(x: CapacityInputs) -> list[InputProblem]:
    """A chosen subsidy is a fraction, and its site-years need a finite grid cap: the cap bounds
    the subsidised import u <= G d of eq. (18)."""
    f = subsidy_choice(x)
    problems: list[InputProblem] = []
    if np.any(f > 1):
        problems.append(
            InputProblem("subsidy_choice_fraction", "is above 1.", "write a fraction in [0, 1].")
        )
    if np.any((f > 0) & ~np.isfinite(x.grid_import_cap_mw)):
        problems.append(
            InputProblem(
                "grid_import_cap_mw",
                "is infinite at a site-year with a power subsidy by choice.",
                "give that site a finite grid import cap (it bounds the subsidised import).",
            )
        )
    return problems


class InvalidCapacityInputs(ValueError):
    """Inputs that fail `check_inputs`; carries the problems for the planner to translate."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.problem} Fix: {p.fix}" for p in problems))


_AXIS_WORDS = {
    "W": "workload",
    "P": "part",
    "S": "site",
    "Y": "year",
    "T": "step",
    "B": "billing period",
    "G": "cap group",
    "V": "vintage",
}
_SHAPES: dict[str, tuple[str, ...]] = {
    "year_start_years": ("Y",),
    "duration_years": ("Y",),
    "discount_fraction": ("Y",),
    "weight_h": ("T",),
    "prev_step": ("T",),
    "day": ("T",),
    "billing_period": ("T",),
    "billing_period_months": ("B",),
    "parts_per_server": ("P",),
    "price_per_part": ("P", "Y"),
    "price_uplift_fraction": ("P", "Y"),
    "idle_w": ("P",),
    "active_w": ("P",),
    "server_overhead_w": ("P",),
    "lead_time_years": ("P",),
    "lifetime_years": ("P",),
    "tpp_per_part": ("P",),
    "domestic": ("P",),
    "supply_cap_parts": ("P", "Y"),
    "resale_value_fraction": ("P", "Y"),
    "base_parts": ("P", "S", "V"),
    "base_start_years": ("V",),
    "tokens_per_s_per_part": ("W", "P"),
    "demand_tokens_per_s": ("W", "Y", "T"),
    "deferrable": ("W",),
    "deadline_h": ("W",),
    "video": ("W",),
    "allowed": ("P", "S", "Y"),
    "dc_existing_mw": ("S",),
    "dc_max_mw": ("S",),
    "dc_build_lead_years": ("S",),
    "dc_capex_per_mw": ("S", "Y"),
    "pue": ("S", "T"),
    "grid_import_cap_mw": ("S", "Y"),
    "price_per_mwh": ("S", "Y", "T"),
    "demand_charge_per_mw_month": ("S", "Y"),
    "emission_t_per_mwh": ("S", "T"),
    "carbon_price_per_t": ("Y",),
    "solar_capacity_factor": ("S", "T"),
    "solar_capex_per_mw": ("S", "Y"),
    "solar_max_mw": ("S",),
    "battery_capex_per_mwh": ("S", "Y"),
    "battery_capex_per_mw": ("S", "Y"),
    "battery_max_mwh": ("S",),
    "battery_calendar_cost_per_mwh_year": ("S", "Y"),
    "cap_group_sites": ("G", "S"),
    "tpp_cap": ("G", "Y"),
    "tpp_cap_cumulative": ("G",),
    "budget": ("Y",),
    "domestic_share_min_fraction": ("Y",),
    "subsidy_choice_fraction": ("S", "Y"),
}
_NONNEGATIVE = (
    "duration_years",
    "discount_fraction",
    "weight_h",
    "price_per_part",
    "price_uplift_fraction",
    "idle_w",
    "server_overhead_w",
    "lead_time_years",
    "tpp_per_part",
    "supply_cap_parts",
    "resale_value_fraction",
    "base_parts",
    "tokens_per_s_per_part",
    "demand_tokens_per_s",
    "dc_existing_mw",
    "dc_max_mw",
    "dc_build_lead_years",
    "dc_capex_per_mw",
    "grid_import_cap_mw",
    "demand_charge_per_mw_month",
    "emission_t_per_mwh",
    "carbon_price_per_t",
    "solar_capacity_factor",
    "solar_capex_per_mw",
    "solar_max_mw",
    "battery_capex_per_mwh",
    "battery_capex_per_mw",
    "battery_max_mwh",
    "battery_calendar_cost_per_mwh_year",
    "tpp_cap",
    "budget",
    "subsidy_choice_fraction",
)
_FINITE = (
    "duration_years",
    "discount_fraction",
    "weight_h",
    "price_per_part",
    "price_uplift_fraction",
    "idle_w",
    "active_w",
    "server_overhead_w",
    "lead_time_years",
    "lifetime_years",
    "tpp_per_part",
    "base_parts",
    "tokens_per_s_per_part",
    "demand_tokens_per_s",
    "pue",
    "price_per_mwh",
    "dc_capex_per_mw",
    "solar_capex_per_mw",
    "battery_capex_per_mwh",
    "battery_capex_per_mw",
    "battery_calendar_cost_per_mwh_year",
    "solar_capacity_factor",
    "dc_existing_mw",
)
