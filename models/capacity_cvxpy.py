"""Capacity model in cvxpy: purchases, builds and hourly operation, vectorised.

Equation numbers refer to docs/capacity_model.md. Purchase and build decisions are flat vectors
over (p, s, y) or (s, y) in C order; busy parts are one (W*P*S*Y, T) matrix; the lifetime, lead
time, cumulative-build and rule sums are sparse matrices built once with numpy, so no constraint
family loops over hours, parts or workloads. Each site and year runs the site energy model's own
constraint families (models/site_energy_cvxpy.py); those take one site-year's (T,) vectors and
scalar limits, so they are called once per (site, year) on rows of the (S*Y, T) dispatch matrices:
the only Python loop, S x Y iterations. The power balance takes whole matrices and is called once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from models import site_energy_cvxpy as se
from models.capacity import (
    MW_PER_W,
    CapacityInputs,
    base_parts_alive,
    compute_weight,
    day_steps,
    dc_usable_from_build,
    deadline_hours,
    deadline_rows,
    foreign_parts_bound,
    hours_so_far,
    may_still_wait,
    paid_per_part,
    parts_alive_from_purchase,
    resale_fraction,
    scaled_serve_data,
    subsidy_choice,
    subsidy_choice_sites,
    tpp_cap_windows,
)
from models.capacity_cpu_cvxpy import CpuWork, add_cpu_work
from models.capacity_cvxpy_index import Index, selector, within_site_matrix
from models.capacity_flex_cvxpy import (
    FlexVariables,
    add_grid_option_choice,
    capped_dynamic_mw,
    capped_parts_busy,
    capped_tokens,
    make_flex_variables,
)

Constraints = list[cp.Constraint]


# --- variables -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityVariables:
    """Decision variables (eq. 0); flat vectors in C order over the axes named."""

    servers: cp.Variable  # (P*S*Y,) servers bought, integer unless relaxed
    busy: cp.Variable  # (W*P*S*Y, T) parts busy serving workload w
    unserved: cp.Variable  # (W*Y, T) demand not served, scaled: sigma_w x tokens (video s) / s
    dc_built_mw: cp.Variable  # (S*Y,)
    solar_built_mw: cp.Variable  # (S*Y,)
    battery_built_mwh: cp.Variable  # (S*Y,)
    battery_built_mw: cp.Variable  # (S*Y,)
    grid_import_mw: cp.Variable  # (S*Y, T)
    grid_export_mw: cp.Variable  # (S*Y, T), capped at 0: the plan does not export
    solar_used_mw: cp.Variable  # (S*Y, T)
    charge_mw: cp.Variable  # (S*Y, T)
    discharge_mw: cp.Variable  # (S*Y, T)
    soc_mwh: cp.Variable  # (S*Y, T)
    peak_import_mw: cp.Variable  # (S*Y, B)
    domestic_only: cp.Variable | None  # (K,) d of each site-year with a subsidy choice (eq. 18)
    subsidised_import_mw: cp.Variable | None  # (K, T) u, the import the subsidy applies to
    flex: FlexVariables  # parts busy at a power cap (eq. 19), grid option chosen (eq. 20)


def make_variables(x: CapacityInputs) -> CapacityVariables:
    """All variables non-negative (eq. 0); servers integer unless `x.relax` (eq. 1)."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    k, b = n_s * n_y, x.billing_period_months.shape[0]

    def nonneg(shape: int | tuple[int, int], name: str) -> cp.Variable:
        return cp.Variable(shape, nonneg=True, name=name)

    servers = cp.Variable(n_p * n_s * n_y, nonneg=True, integer=not x.relax, name="servers")
    n_k = subsidy_choice_sites(x).size  # site-years with a subsidy choice; none: no columns
    domestic_only = (
        None
        if not n_k
        else cp.Variable(n_k, nonneg=True, name="domestic_only")
        if x.relax
        else cp.Variable(n_k, boolean=True, name="domestic_only")
    )
    return CapacityVariables(
        servers=servers,
        busy=nonneg((n_w * n_p * n_s * n_y, n_t), "busy"),
        unserved=nonneg((n_w * n_y, n_t), "unserved"),
        dc_built_mw=nonneg(k, "dc_built_mw"),
        solar_built_mw=nonneg(k, "solar_built_mw"),
        battery_built_mwh=nonneg(k, "battery_built_mwh"),
        battery_built_mw=nonneg(k, "battery_built_mw"),
        grid_import_mw=nonneg((k, n_t), "grid_import_mw"),
        grid_export_mw=nonneg((k, n_t), "grid_export_mw"),
        solar_used_mw=nonneg((k, n_t), "solar_used_mw"),
        charge_mw=nonneg((k, n_t), "charge_mw"),
        discharge_mw=nonneg((k, n_t), "discharge_mw"),
        soc_mwh=nonneg((k, n_t), "soc_mwh"),
        peak_import_mw=nonneg((k, b), "peak_import_mw"),
        domestic_only=domestic_only,
        subsidised_import_mw=nonneg((n_k, n_t), "subsidised_import_mw") if n_k else None,
        flex=make_flex_variables(x),
    )


# --- expressions the families share --------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """Linear expressions of the decisions: parts bought and installed, capacities in service."""

    parts_bought: cp.Expression  # (P*S*Y,) eq. 1
    parts_installed: cp.Expression  # (P*S*Y,) eq. 3
    it_capacity_mw: cp.Expression  # (S*Y,) eq. 7
    solar_mw: cp.Expression  # (S*Y,) eq. 11
    battery_mwh: cp.Expression  # (S*Y,)
    battery_mw: cp.Expression  # (S*Y,)
    it_power_mw: cp.Expression  # (S*Y, T) eq. 9, CPU servers' power included (eq. 26)
    cpu_power_mw: cp.Expression | None = None  # (S*Y, T) eq. 26; None without CPU work


def parts_bought(v: CapacityVariables, x: CapacityInputs, ix: Index) -> cp.Expression:
    """(1) n[p,s,y] = N_p m[p,s,y], parts."""
    return cp.multiply(x.parts_per_server[ix.psy[0]].astype(float), v.servers)


def parts_installed(bought: cp.Expression, x: CapacityInputs) -> cp.Expression:
    """(3) I[p,s,y] = base alive + sum_y' alive[p,y',y] n[p,s,y'], parts."""
    _n_w, n_p, n_s, _n_y, _ = x.shape
    alive = parts_alive_from_purchase(x)  # (P, Y', Y)
    per_ps = np.repeat(alive, n_s, axis=0)  # (P*S, Y', Y): same link for every site
    return base_parts_alive(x).ravel() + within_site_matrix(per_ps, n_p * n_s) @ bought


def cumulative(built: cp.Expression, link: np.ndarray) -> cp.Expression:
    """(7, 11) capacity in service in y = sum_y' link[s,y',y] x built[s,y'], per site."""
    return within_site_matrix(link, link.shape[0]) @ built


def it_power_mw(
    v: CapacityVariables,
    installed: cp.Expression,
    x: CapacityInputs,
    ix: Index,
    counted: np.ndarray | None = None,
) -> cp.Expression:
    """(9) P_IT[s,y,t] = 1e-6 sum_p (I (idle + overhead) + (active - idle) sum_w u), MW; only
    the parts where `counted` (P,) is True when given (eq. 18 takes the domestic ones)."""
    _n_w, n_p, n_s, n_y, n_t = x.shape
    keep = np.ones(n_p) if counted is None else np.asarray(counted, dtype=float)
    p, s, y = ix.psy
    standing_w = (x.idle_w + x.server_overhead_w) * keep
    standing = (
        selector(s * n_y + y, np.arange(p.size), standing_w[p], (n_s * n_y, p.size)) * MW_PER_W
    )
    _, pw, sw, yw = ix.wpsy
    dynamic_w = (x.active_w - x.idle_w) * keep
    dynamic = (
        selector(sw * n_y + yw, np.arange(pw.size), dynamic_w[pw], (n_s * n_y, pw.size)) * MW_PER_W
    )
    power = cp.reshape(standing @ installed, (n_s * n_y, 1), order="C") @ np.ones((1, n_t)) + (
        dynamic @ v.busy
    )
    capped = capped_dynamic_mw(v.flex, x, counted)  # eq. 19: parts busy at a power cap
    return power if capped is None else power + capped


def in_service_columns(
    defined: dict[str, cp.Expression],
) -> tuple[dict[str, cp.Variable], Constraints]:
    """(3, 7, 11) parts installed, IT capacity, solar and battery in service as columns of their
    own, each defined by one equality row (as in the Pyomo backend): an hourly row then reads
    one column, not every purchase or build still in service, so HiGHS sees fewer and sparser
    dense columns; the optimum is the same."""
    columns = {n: cp.Variable(e.shape, nonneg=True, name=n) for n, e in defined.items()}
    return columns, [columns[n] == e for n, e in defined.items()]


def make_fleet(v: CapacityVariables, x: CapacityInputs, ix: Index) -> tuple[Fleet, Constraints]:
    """Parts, capacities and IT power as expressions of the decisions (eqs. 1, 3, 7, 9, 11);
    parts installed, IT capacity, storage and solar in service as columns with their defining
    rows."""
    n_y = x.shape[3]
    bought = parts_bought(v, x, ix)
    existing = np.repeat(x.dc_existing_mw, n_y)
    built_before = np.broadcast_to(np.triu(np.ones((n_y, n_y))), (x.shape[2], n_y, n_y))
    col, rows = in_service_columns({
        "parts_installed": parts_installed(bought, x),
        "solar_mw": cumulative(v.solar_built_mw, built_before),
        "battery_mwh": cumulative(v.battery_built_mwh, built_before),
        "battery_mw": cumulative(v.battery_built_mw, built_before),
        "it_capacity_mw": existing + cumulative(v.dc_built_mw, dc_usable_from_build(x)),
    })  # fmt: skip
    fleet = Fleet(
        parts_bought=bought,
        parts_installed=col["parts_installed"],
        it_capacity_mw=col["it_capacity_mw"],
        solar_mw=col["solar_mw"],
        battery_mwh=col["battery_mwh"],
        battery_mw=col["battery_mw"],
        it_power_mw=it_power_mw(v, col["parts_installed"], x, ix),
    )
    return fleet, rows


# --- constraint families -------------------------------------------------------------------------


def add_allowed_purchases(v: CapacityVariables, x: CapacityInputs) -> Constraints:
    """(2) m[p,s,y] = 0 where the rules forbid the part at the site in that period."""
    banned = np.flatnonzero(~x.allowed.astype(bool).ravel())
    return [v.servers[banned] == 0] if banned.size else []


def add_parts_busy_limit(
    v: CapacityVariables, installed: cp.Expression, x: CapacityInputs, ix: Index
) -> Constraints:
    """(4) sum_w u[w,p,s,y,t] <= I[p,s,y], parts."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    rows = np.arange(n_w * n_p * n_s * n_y) % (n_p * n_s * n_y)  # drop the workload index
    over_workloads = selector(
        rows, np.arange(rows.size), np.ones(rows.size), (n_p * n_s * n_y, rows.size)
    )
    ceiling = cp.reshape(installed, (n_p * n_s * n_y, 1), order="C") @ np.ones((1, n_t))
    busy = over_workloads @ v.busy
    capped = capped_parts_busy(v.flex, x)  # eq. 19: parts busy at a power cap count too
    return [(busy if capped is None else busy + capped) <= ceiling]


def add_serve_demand(v: CapacityVariables, x: CapacityInputs, ix: Index) -> Constraints:
    """(5) interactive: sum_{p,s} k[w,p] u + q = D every step; (6) deferrable: equal daily
    weighted totals (tokens) within each representative day, per workload and year. Each
    workload's rows are multiplied by sigma_w (`scaled_serve_data`), q is in scaled units."""
    n_w, _n_p, _n_s, n_y, n_t = x.shape
    w, p, _, y = ix.wpsy
    rate, scaled_demand, _ = scaled_serve_data(x)
    tokens = selector(w * n_y + y, np.arange(w.size), rate[w, p], (n_w * n_y, w.size))
    handled = tokens @ v.busy + v.unserved  # (W*Y, T) sigma_w x tokens per second
    capped = capped_tokens(v.flex, x)  # eq. 19: tokens of parts busy at a power cap
    handled = handled if capped is None else handled + capped
    demand = scaled_demand.reshape(n_w * n_y, n_t)
    due = np.repeat(deadline_rows(x), n_y)
    deferrable = np.repeat(x.deferrable.astype(bool), n_y) & ~due
    constraints: Constraints = []
    hourly = np.flatnonzero(~deferrable & ~due)
    daily_rows = np.flatnonzero(deferrable)
    if hourly.size:
        constraints.append(handled[hourly, :] == demand[hourly])
    if daily_rows.size:
        daily = se.group_matrix(x.day, x.weight_h).T  # (T, days): weighted daily sums
        constraints.append(handled[daily_rows, :] @ daily == demand[daily_rows] @ daily)
    for due_w in np.flatnonzero(deadline_rows(x)).tolist():
        rows = due_w * n_y + np.arange(n_y)
        constraints += add_serve_by_deadline(
            handled[rows, :], demand[rows], x, float(deadline_hours(x)[due_w])
        )
    return constraints


def add_serve_by_deadline(
    handled: cp.Expression, demand: np.ndarray, x: CapacityInputs, deadline_h: float
) -> Constraints:
    """(6b) a deferrable workload due within H hours, first come first served, per year and
    representative day: with beta >= 0 the backlog carried in from the day's end (the day
    wraps), the backlog at the end of hour k, B_k = beta + sum_{j<=k} (D_j - h_j), lies
    between 0 (nothing served before it arrives) and the arrivals still within their deadline,
    sum_j M[j, k] D_j; the day's totals are equal."""
    constraints: Constraints = []
    for steps in day_steps(x):
        gap = -handled[:, steps] + demand[:, steps]  # (Y, 24)
        carried = cp.Variable((demand.shape[0], 1), nonneg=True)
        backlog = carried @ np.ones((1, steps.size)) + gap @ hours_so_far()
        constraints += [
            backlog >= 0,
            backlog <= demand[:, steps] @ may_still_wait(deadline_h),
            cp.sum(gap, axis=1) == 0,
        ]
    return constraints


def add_it_capacity(fleet: Fleet, x: CapacityInputs) -> Constraints:
    """(10) P_IT[s,y,t] <= C[s,y], MW: installed and busy parts fit the data centre."""
    n_t = x.shape[4]
    ceiling = cp.reshape(fleet.it_capacity_mw, (fleet.it_capacity_mw.shape[0], 1), order="C")
    return [fleet.it_power_mw <= ceiling @ np.ones((1, n_t))]


def add_dc_max(v: CapacityVariables, x: CapacityInputs) -> Constraints:
    """(8) existing + sum_y b[s,y] <= max MW per site (finite limits only)."""
    n_s, n_y = x.shape[2], x.shape[3]
    finite = np.flatnonzero(np.isfinite(x.dc_max_mw))
    if not finite.size:
        return []
    total = selector(
        np.repeat(np.arange(n_s), n_y), np.arange(n_s * n_y), np.ones(n_s * n_y), (n_s, n_s * n_y)
    )
    return [(total @ v.dc_built_mw)[finite] <= (x.dc_max_mw - x.dc_existing_mw)[finite]]


def site_year_operation(
    v: CapacityVariables, fleet: Fleet, x: CapacityInputs
) -> tuple[Constraints, dict[int, cp.Constraint]]:
    """(12) the site energy families of docs/model.md, once per (site, year) k = s*Y + y on rows
    of the dispatch matrices; the power balance once on whole matrices. Also returns each finite
    grid cap's `import <= cap` row by k, for its dual."""
    n_s, n_y = x.shape[2], x.shape[3]
    pue = np.repeat(x.pue, n_y, axis=0)  # (S*Y, T)
    constraints = se.add_power_balance(
        supply_mw=[v.grid_import_mw, v.solar_used_mw, v.discharge_mw],
        demand_mw=[cp.multiply(pue, fleet.it_power_mw), v.charge_mw, v.grid_export_mw],
    )
    grid_rows: dict[int, cp.Constraint] = {}
    for k in range(n_s * n_y):
        s, y = divmod(k, n_y)
        cap_mw = float(x.grid_import_cap_mw[s, y])
        limits = se.add_grid_limits(v.grid_import_mw[k], v.grid_export_mw[k], cap_mw, 0.0)
        if math.isfinite(cap_mw):
            grid_rows[k] = limits[0]
        constraints += [
            *limits,
            *se.add_demand_charge(v.grid_import_mw[k], v.peak_import_mw[k], x.billing_period),
            *se.add_solar(fleet.solar_mw[k], v.solar_used_mw[k], x.solar_capacity_factor[s],
                          float(x.solar_max_mw[s])),
            *se.add_battery_balance(v.soc_mwh[k], v.charge_mw[k], v.discharge_mw[k],
                                    x.prev_step, x.charge_efficiency_fraction,
                                    x.discharge_efficiency_fraction),
            *se.add_battery_bounds(fleet.battery_mwh[k], fleet.battery_mw[k], v.charge_mw[k],
                                   v.discharge_mw[k], v.soc_mwh[k], x.battery_limits(s)),
        ]  # fmt: skip
    return constraints, grid_rows


def add_subsidy_choice(
    v: CapacityVariables, fleet: Fleet, x: CapacityInputs, ix: Index
) -> Constraints:
    """(18) the domestic-chip power subsidy by choice, for each site-year k = (s, y) with f > 0:
    sum_{p foreign} I[p,s,y] <= M[s,y] (1 - d[k]) (rows with M > 0 only; `foreign_parts_bound`),
    0 <= u[k,t] <= g[s,y,t] and u[k,t] <= G[s,y] d[k], d in {0, 1} ([0, 1] when relaxed), and
    the cut u[k,t] <= PUE P_IT_domestic[s,y,t] + charge[s,y,t] (valid: with d = 1 all IT power
    is domestic and the balance gives g <= PUE P_IT + charge), which keeps the relaxation from
    rebating foreign parts' power. The objective credits f x price x u, so the bill is
    price x (g - f u) = price x (1 - f) g when d = 1. Without choices: no columns, no rows."""
    n_s, n_y, n_t = x.shape[2], x.shape[3], x.shape[4]
    sites = subsidy_choice_sites(x)
    if v.domestic_only is None or v.subsidised_import_mw is None:
        return []
    p, s, y = ix.psy
    foreign = ~x.domestic.astype(bool)[p]
    row_of = np.full(n_s * n_y, -1)
    row_of[sites] = np.arange(sites.size)
    rows = row_of[s * n_y + y]
    keep = foreign & (rows >= 0)
    total = selector(rows[keep], np.flatnonzero(keep), np.ones(keep.sum()), (sites.size, p.size))
    bound = foreign_parts_bound(x).ravel()[sites]
    cap = x.grid_import_cap_mw.ravel()[sites]
    rebate_cap = cp.reshape(cp.multiply(cap, v.domestic_only), (sites.size, 1), order="C")
    domestic_mw = it_power_mw(v, fleet.parts_installed, x, ix, counted=x.domestic.astype(bool))
    if fleet.cpu_power_mw is not None:  # CPU servers run at a domestic-only site too (eq. 26)
        domestic_mw = domestic_mw + fleet.cpu_power_mw
    pue = np.repeat(x.pue, n_y, axis=0)[sites]  # (K, T)
    constraints: Constraints = [
        v.subsidised_import_mw <= v.grid_import_mw[sites, :],
        v.subsidised_import_mw <= rebate_cap @ np.ones((1, n_t)),
        v.subsidised_import_mw <= cp.multiply(pue, domestic_mw[sites, :]) + v.charge_mw[sites, :],
    ]
    if x.relax:
        constraints.append(v.domestic_only <= 1)
    held = np.flatnonzero(bound > 0)
    if held.size:
        foreign_installed = total @ fleet.parts_installed
        constraints.append(
            foreign_installed[held] <= cp.multiply(bound[held], 1 - v.domestic_only[held])
        )
    return constraints


def subsidy_credit(v: CapacityVariables, x: CapacityInputs) -> cp.Expression:
    """(17-18) present value of the chosen subsidy: sum_{k,t} delta_y Delta_y w_t f price u."""
    n_s, n_y, n_t = x.shape[2], x.shape[3], x.shape[4]
    sites = subsidy_choice_sites(x)
    if v.subsidised_import_mw is None:
        return cp.Constant(0.0)
    pv_opex = np.tile(x.discount_fraction * x.duration_years, n_s)[sites, None]  # (K, 1)
    f = subsidy_choice(x).ravel()[sites, None]
    price = x.price_per_mwh.reshape(n_s * n_y, n_t)[sites]
    return cp.sum(cp.multiply(pv_opex * f * price * x.weight_h[None, :], v.subsidised_import_mw))


def add_tpp_caps(fleet: Fleet, x: CapacityInputs, ix: Index) -> Constraints:
    """(13) sum_{s in g, p, y' in window(g, y)} TPP_p n[p,s,y'] <= cap[g,y] (finite caps only);
    the window is y itself, or every capped period up to y for a cumulative cap."""
    n_g, n_y = x.tpp_cap.shape
    p, s, y = ix.psy
    g, col = np.nonzero(x.cap_group_sites[:, s])  # every (group, flat purchase) pair
    total = selector(
        g * n_y + y[col], col, x.tpp_per_part[p[col]].astype(float), (n_g * n_y, p.size)
    )
    window = sp.block_diag([sp.csr_matrix(w.astype(float)) for w in tpp_cap_windows(x)])
    finite = np.flatnonzero(np.isfinite(x.tpp_cap.ravel()))
    if not finite.size:
        return []
    return [((window @ total) @ fleet.parts_bought)[finite] <= x.tpp_cap.ravel()[finite]]


def add_supply_caps(fleet: Fleet, x: CapacityInputs, ix: Index) -> Constraints:
    """(14) sum_s n[p,s,y] <= supply cap[p,y], parts (finite caps only)."""
    n_p, n_y = x.supply_cap_parts.shape
    p, _, y = ix.psy
    total = selector(p * n_y + y, np.arange(p.size), np.ones(p.size), (n_p * n_y, p.size))
    finite = np.flatnonzero(np.isfinite(x.supply_cap_parts.ravel()))
    if not finite.size:
        return []
    return [(total @ fleet.parts_bought)[finite] <= x.supply_cap_parts.ravel()[finite]]


def capex_by_year(
    v: CapacityVariables, fleet: Fleet, x: CapacityInputs, ix: Index
) -> dict[str, cp.Expression]:
    """(15) K_y = sum_{p,s} price (1 + uplift) n + sum_s (DC, solar, battery), undiscounted."""
    n_s, n_y = x.shape[2], x.shape[3]
    p, _, y = ix.psy
    parts = selector(y, np.arange(p.size), paid_per_part(x)[p, y], (n_y, p.size))
    k_y = np.tile(np.arange(n_y), n_s)

    def per_year(cost: np.ndarray) -> sp.csr_matrix:
        return selector(k_y, np.arange(n_s * n_y), cost.ravel(), (n_y, n_s * n_y))

    return {
        "parts_capex": parts @ fleet.parts_bought,
        "dc_capex": per_year(x.dc_capex_per_mw) @ v.dc_built_mw,
        "solar_capex": per_year(x.solar_capex_per_mw) @ v.solar_built_mw,
        "battery_capex": per_year(x.battery_capex_per_mwh) @ v.battery_built_mwh
        + per_year(x.battery_capex_per_mw) @ v.battery_built_mw,
    }


def add_budget(capex: dict[str, cp.Expression], x: CapacityInputs) -> Constraints:
    """(15) K_y <= budget_y (finite budgets only)."""
    finite = np.flatnonzero(np.isfinite(x.budget))
    return [cp.sum(list(capex.values()))[finite] <= x.budget[finite]] if finite.size else []


def add_domestic_share(fleet: Fleet, x: CapacityInputs, ix: Index) -> Constraints:
    """(16) sum_{p dom, s} c_p I[p,s,y] >= sigma_y sum_{p,s} c_p I[p,s,y] (sigma_y > 0 only)."""
    n_y = x.shape[3]
    p, _, y = ix.psy
    c = compute_weight(x)
    coefficient = c[p] * (x.domestic.astype(float)[p] - x.domestic_share_min_fraction[y])
    excess = selector(y, np.arange(p.size), coefficient, (n_y, p.size)) @ fleet.parts_installed
    rows = np.flatnonzero(x.domestic_share_min_fraction > 0)
    return [excess[rows] >= 0] if rows.size else []


# --- objective (eq. 17) --------------------------------------------------------------------------


def cost_terms(
    v: CapacityVariables,
    fleet: Fleet,
    capex: dict[str, cp.Expression],
    x: CapacityInputs,
    ix: Index,
) -> dict[str, cp.Expression]:
    """Each present-value cost of eq. (17), keyed by the CapacityCosts field name."""
    n_w, _n_p, n_s, n_y, n_t = x.shape
    pv_year = x.discount_fraction  # (Y,) capex at the start of y
    pv_opex = x.discount_fraction * x.duration_years  # (Y,) one year's opex in y, x duration
    pv_site = np.tile(pv_opex, n_s)[:, None]  # (S*Y, 1)
    w = x.weight_h[None, :]
    price = x.price_per_mwh.reshape(n_s * n_y, n_t)
    carbon = (
        np.repeat(x.emission_t_per_mwh, n_y, axis=0) * np.tile(x.carbon_price_per_t, n_s)[:, None]
    )
    months = x.demand_charge_per_mw_month.reshape(-1, 1) * x.billing_period_months[None, :]
    penalty = np.repeat(scaled_serve_data(x)[2], n_y, axis=0) * np.tile(pv_opex, n_w)[:, None]
    p, _, y = ix.psy
    resale = x.horizon_end_discount_fraction * resale_fraction(x)[p, y] * paid_per_part(x)[p, y]
    return {
        **{name: pv_year @ value for name, value in capex.items()},
        "energy": cp.sum(cp.multiply(pv_site * w * price, v.grid_import_mw)),
        "demand_charges": cp.sum(cp.multiply(pv_site * months, v.peak_import_mw)),
        "carbon": cp.sum(cp.multiply(pv_site * w * carbon, v.grid_import_mw)),
        "unserved_penalty": cp.sum(cp.multiply(penalty, v.unserved)),
        "resale_credit": resale @ fleet.parts_bought,
        "power_subsidy_credit": subsidy_credit(v, x),
        **battery_calendar_cost(fleet, x),
    }


def battery_calendar_cost(fleet: Fleet, x: CapacityInputs) -> dict[str, cp.Expression]:
    """(17) Calendar ageing, sum_{s,y} delta_y D_y c_cal[s,y] E[s,y] (E in service, eq. 11)."""
    c = x.battery_calendar_cost_per_mwh_year
    if c is None:
        return {}
    per_mwh = np.asarray(c, dtype=float) * (x.discount_fraction * x.duration_years)[None, :]
    return {"battery_calendar": per_mwh.ravel() @ fleet.battery_mwh}  # k = s*Y + y


CREDITS = ("resale_credit", "power_subsidy_credit", "cpu_resale_credit")


def net_present_cost(terms: dict[str, cp.Expression]) -> cp.Expression:
    """(17) every cost added, the resale and chosen-subsidy credits subtracted."""
    costs = cp.sum([e for k, e in terms.items() if k not in CREDITS])
    return costs - cp.sum([terms[k] for k in CREDITS if k in terms])


def with_cpu_work(
    fleet: Fleet, capex: dict[str, cp.Expression], cpu: CpuWork | None
) -> tuple[Fleet, dict[str, cp.Expression]]:
    """(9, 15) the CPU servers' power joins the IT power, their capex the period's capex."""
    if cpu is None:
        return fleet, capex
    fleet = replace(fleet, it_power_mw=fleet.it_power_mw + cpu.power_mw, cpu_power_mw=cpu.power_mw)
    return fleet, {**capex, "cpu_servers_capex": cpu.capex}


# --- assembly ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityProblem:
    """A built problem with handles on what the solution reads back."""

    problem: cp.Problem
    variables: CapacityVariables
    fleet: Fleet
    capex: dict[str, cp.Expression]
    costs: dict[str, cp.Expression]
    binding: dict[str, Constraints]  # families whose duals the solution reports
    grid_rows: dict[int, cp.Constraint]  # finite grid caps by k = s*Y + y
    cpu: CpuWork | None = None  # eqs. 22-27, None without CPU work


def build(x: CapacityInputs) -> CapacityProblem:
    """The capacity model of docs/capacity_model.md, families (1)-(16) and (18)-(27), objective
    (17)."""
    ix = Index.of(*x.shape[:4])
    v = make_variables(x)
    cpu = add_cpu_work(v.busy, v.flex.capped_busy, x)
    fleet, in_service = make_fleet(v, x, ix)
    fleet, capex = with_cpu_work(fleet, capex_by_year(v, fleet, x, ix), cpu)
    operation, grid_rows = site_year_operation(v, fleet, x)
    binding = {
        "dc_max": add_dc_max(v, x),
        "supply": add_supply_caps(fleet, x, ix),
        "tpp": add_tpp_caps(fleet, x, ix),
        "budget": add_budget(capex, x),
        "domestic": add_domestic_share(fleet, x, ix),
    }
    # the families in the order both backends build them (docs/capacity_model.md)
    constraints = [
        *add_allowed_purchases(v, x),
        *in_service,
        *add_parts_busy_limit(v, fleet.parts_installed, x, ix),
        *add_serve_demand(v, x, ix),
        *add_it_capacity(fleet, x),
        *binding["dc_max"],
        *operation,
        *binding["supply"],
        *binding["tpp"],
        *binding["budget"],
        *binding["domestic"],
        *add_subsidy_choice(v, fleet, x, ix),
        *(cpu.constraints if cpu is not None else []),
        *add_grid_option_choice(v.flex, v.grid_import_mw, x),
    ]
    costs = cost_terms(v, fleet, capex, x, ix)
    if cpu is not None:
        costs["cpu_resale_credit"] = cpu.resale_credit
    problem = cp.Problem(cp.Minimize(net_present_cost(costs)), constraints)
    return CapacityProblem(problem, v, fleet, capex, costs, binding, grid_rows, cpu)
