"""The capacity plan cut in two for Benders decomposition (models/benders.py): the master's inputs
(every plan period, one representative step: the investment families) and one subproblem's
inputs (one plan period, some representative days: the hourly operation with the fleet fixed).

Both are ordinary `CapacityInputs`, so the master and every subproblem are built by the capacity
model's own Pyomo families (models/capacity_pyomo.py): the decomposition writes no equation of
its own. What a slice changes, and why the optimum is unchanged, is said per field below; the
test `test_every_field_is_sliced` fails when CapacityInputs grows a field this module does not
know.

First-stage quantities (fixed in a subproblem, decided by the master), per site s and period y:
parts installed I[p,s,y], IT MW in service C[s,y], solar S, battery MWh E and MW B in service,
each billing period's peak import G[s,y,b], the subsidy choice d[s,y], the grid options z[s,o]
and CPU servers installed J[c,s,y]. A subproblem's own purchases and builds stand for them: it
has one period starting at 0 with no lead time, no retirement and no installed base, so its
`servers` x N_p is I, its `dc_built_mw` is C, its builds are S, E and B. Its prices, capex,
budget, caps and demand charges are zero or absent (the master pays them), so its objective is
the period's discounted operating cost: energy, carbon, unserved tokens, less the chosen subsidy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from models.capacity import (
    CapacityInputs,
    CpuServerInputs,
    base_parts_alive,
    foreign_parts_bound,
    parts_alive_from_purchase,
)

NEVER_RETIRED_YEARS = 1e9  # a subproblem's fleet is in service for its whole (single) period


@dataclass(frozen=True)
class Block:
    """One subproblem: plan period `year` over the representative steps `steps` (whole days)."""

    year: int
    steps: tuple[int, ...]

    @property
    def key(self) -> str:
        """A short name for logs: the period and the first step."""
        return f"y{self.year}t{self.steps[0]}"


def curtailment_is_yearly(x: CapacityInputs) -> bool:
    """True when a grid option's curtailment events are placed over the whole year (eq. 21):
    they rank every step of the year, so a subproblem must hold every day of its period."""
    hours = x.grid_option_curtailment_h
    return hours is not None and bool(np.any(np.asarray(hours) > 0))


def blocks(x: CapacityInputs, days_per_block: int = 1) -> list[Block]:
    """The subproblems: each plan period cut into groups of `days_per_block` representative days
    (whole periods when curtailment events need the whole year). Days are independent once the
    peaks are fixed: storage wraps and deferrable work is served within each day (eqs. 6, 12)."""
    days = [np.flatnonzero(x.day == d) for d in np.unique(x.day)]
    size = len(days) if curtailment_is_yearly(x) else max(1, days_per_block)
    groups = [np.concatenate(days[i : i + size]) for i in range(0, len(days), size)]
    return [
        Block(year=y, steps=tuple(int(t) for t in np.sort(g)))
        for y in range(x.shape[3])
        for g in groups
    ]


def held_anywhere_in(x: CapacityInputs, year: int) -> np.ndarray:
    """(P, S) bool: part p can be installed at site s in period y (a base alive, or a purchase
    allowed in a period whose cohort is in service in y)."""
    alive = parts_alive_from_purchase(x)[:, :, year]  # (P, Y')
    bought = np.einsum("psb,pb->ps", np.asarray(x.allowed, dtype=float), alive) > 0
    return bought | (base_parts_alive(x)[:, :, year] > 0)


def _steps(values: np.ndarray | None, steps: np.ndarray) -> np.ndarray | None:
    """A (…, T) array cut to `steps` (None stays None)."""
    return None if values is None else np.asarray(values)[..., steps]


def _prev_step(x: CapacityInputs, steps: np.ndarray) -> np.ndarray:
    """The storage predecessor of each kept step, renumbered (days are kept whole)."""
    where = {int(t): i for i, t in enumerate(steps)}
    return np.array([where[int(x.prev_step[t])] for t in steps], dtype=int)


def _cpu_for_subproblem(cpu: CpuServerInputs | None, n_s: int) -> CpuServerInputs | None:
    """CPU servers fixed by the master: free, delivered at once, never retired, allowed."""
    if cpu is None:
        return None
    n_c = cpu.cores_per_server.shape[0]
    return replace(
        cpu,
        price_per_server=np.zeros((n_c, 1)),
        lead_time_years=np.zeros(n_c),
        lifetime_years=np.full(n_c, NEVER_RETIRED_YEARS),
        allowed=np.ones((n_c, n_s, 1), dtype=bool),
        resale_value_fraction=np.zeros((n_c, 1)),
    )


def subproblem_inputs(x: CapacityInputs, block: Block) -> CapacityInputs:
    """The operation of period `block.year` over `block.steps`, the fleet left to be fixed: an LP
    whose optimum, with its purchases and builds fixed at the master's in-service quantities, is
    that period's discounted operating cost on those days."""
    return replace(x, **subproblem_changes(x, block))  # type: ignore[arg-type]  # fields by name


def subproblem_changes(x: CapacityInputs, block: Block) -> dict[str, object]:
    """The fields `subproblem_inputs` replaces, by name (see the module docstring for why)."""
    y, steps = block.year, np.asarray(block.steps, dtype=int)
    _n_w, n_p, n_s, _n_y, _n_t = x.shape
    n_g = x.tpp_cap.shape[0]
    held = held_anywhere_in(x, y)
    return dict(
        year_start_years=np.zeros(1),
        duration_years=x.duration_years[[y]],
        discount_fraction=x.discount_fraction[[y]],
        weight_h=x.weight_h[steps],
        prev_step=_prev_step(x, steps),
        day=x.day[steps],
        billing_period=x.billing_period[steps],
        price_per_part=np.zeros((n_p, 1)),
        price_uplift_fraction=np.zeros((n_p, 1)),
        lead_time_years=np.zeros(n_p),
        lifetime_years=np.full(n_p, NEVER_RETIRED_YEARS),
        supply_cap_parts=np.full((n_p, 1), math.inf),
        resale_value_fraction=np.zeros((n_p, 1)),
        base_parts=np.zeros_like(x.base_parts),
        demand_tokens_per_s=x.demand_tokens_per_s[:, [y]][..., steps],
        allowed=held[:, :, None],
        dc_existing_mw=np.zeros(n_s),
        dc_max_mw=np.full(n_s, math.inf),
        dc_build_lead_years=np.zeros(n_s),
        dc_capex_per_mw=np.zeros((n_s, 1)),
        pue=x.pue[:, steps],
        grid_import_cap_mw=x.grid_import_cap_mw[:, [y]],
        price_per_mwh=x.price_per_mwh[:, [y]][..., steps],
        demand_charge_per_mw_month=np.zeros((n_s, 1)),  # peaks are the master's
        emission_t_per_mwh=x.emission_t_per_mwh[:, steps],
        carbon_price_per_t=x.carbon_price_per_t[[y]],
        solar_capacity_factor=x.solar_capacity_factor[:, steps],
        solar_capex_per_mw=np.zeros((n_s, 1)),
        battery_capex_per_mwh=np.zeros((n_s, 1)),
        battery_capex_per_mw=np.zeros((n_s, 1)),
        battery_calendar_cost_per_mwh_year=None,  # on the battery in service: the master's
        tpp_cap=np.full((n_g, 1), math.inf),
        budget=np.full(1, math.inf),
        domestic_share_min_fraction=np.zeros(1),
        subsidy_choice_fraction=None
        if x.subsidy_choice_fraction is None
        else np.asarray(x.subsidy_choice_fraction)[:, [y]],
        tpp_cap_cumulative=None,
        subsidy_big_m_parts=None,  # the row holds only fixed columns and is dropped
        cpu=_cpu_for_subproblem(x.cpu, n_s),
        grid_option_cap_mw=None
        if x.grid_option_cap_mw is None
        else np.asarray(x.grid_option_cap_mw)[:, :, [y]],
        grid_load_mw=_steps(x.grid_load_mw, steps),
        relax=True,
    )


def master_inputs(x: CapacityInputs) -> CapacityInputs:
    """Every plan period over the first representative day's first step only: built, then cut to
    the investment columns and the rows holding nothing else (models/benders.py). The big-M of
    eq. (18) is the whole plan's, computed from every step's demand."""
    first = np.array([0])
    return replace(
        x,
        weight_h=x.weight_h[first],
        prev_step=np.zeros(1, dtype=int),
        day=x.day[first],
        billing_period=x.billing_period[first],
        demand_tokens_per_s=x.demand_tokens_per_s[..., first],
        pue=x.pue[:, first],
        price_per_mwh=x.price_per_mwh[..., first],
        emission_t_per_mwh=x.emission_t_per_mwh[:, first],
        solar_capacity_factor=x.solar_capacity_factor[:, first],
        grid_load_mw=_steps(x.grid_load_mw, first),
        grid_option_curtailment_h=None
        if x.grid_option_curtailment_h is None
        else np.zeros_like(np.asarray(x.grid_option_curtailment_h, dtype=float)),
        subsidy_big_m_parts=foreign_parts_bound(x),
    )


# Fields each slice leaves as they are: no Y or T axis, or an axis the slice does not cut.
UNCUT_FIELDS = frozenset(
    {
        "horizon_end_discount_fraction",
        "billing_period_months",
        "parts_per_server",
        "idle_w",
        "active_w",
        "server_overhead_w",
        "tpp_per_part",
        "domestic",
        "base_start_years",
        "tokens_per_s_per_part",
        "deferrable",
        "unserved_penalty_per_mtok",
        "deadline_h",
        "video",
        "unserved_penalty_per_video_minute",
        "solar_max_mw",
        "battery_max_mwh",
        "charge_efficiency_fraction",
        "discharge_efficiency_fraction",
        "soc_min_fraction",
        "soc_max_fraction",
        "min_duration_h",
        "max_duration_h",
        "cap_group_sites",
        "domestic_share_basis",
        "power_cap_fraction",
        "capped_active_w",
        "capped_throughput_fraction",
        "grid_option_offered",
        "grid_option_curtailed_mw",
        "grid_option_curtailment_h",
    }
)


def unknown_fields(x: CapacityInputs) -> set[str]:
    """CapacityInputs fields neither sliced by `subproblem_changes` nor listed as uncut."""
    sliced = set(subproblem_changes(x, blocks(x)[0]))
    return {f.name for f in fields(CapacityInputs)} - sliced - UNCUT_FIELDS
