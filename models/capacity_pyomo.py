"""Capacity model in Pyomo: the same families as capacity_cvxpy.py, by name, on indexed components.

Equation numbers refer to docs/capacity_model.md. Purchases, builds and busy parts are indexed
components over (w, p, s, y, t); each (site, year) is a block `m.site[s, y]` on which the site
energy model's own variables and constraint families (models/site_energy_pyomo.py) are built
unchanged. Solving with HiGHS compiles the model to standard form and hands the matrices, with
integrality, to highspy; for an LP the row and column duals come back too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models import site_energy_pyomo as se
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
    may_still_wait,
    paid_per_part,
    parts_alive_from_purchase,
    resale_fraction,
    scaled_serve_data,
    subsidy_choice,
    subsidy_choice_sites,
    tpp_cap_windows,
)
from models.capacity_cpu_pyomo import (
    add_cpu_work,
    cpu_capex_by_year,
    cpu_power,
    cpu_resale_credit,
)
from models.capacity_flex_pyomo import (
    add_grid_option_choice,
    capped_dynamic_mw,
    capped_parts_busy,
    capped_tokens,
    make_flex_variables,
)


def make_variables(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """Index sets and the plan-level variables, non-negative (eq. 0); servers integer unless
    relaxed (eq. 1)."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    for name, size in (("W", n_w), ("P", n_p), ("S", n_s), ("Y", n_y), ("T", n_t)):
        m.add_component(name, pyo.RangeSet(0, size - 1))
    nonneg = pyo.NonNegativeReals
    m.servers = pyo.Var(m.P, m.S, m.Y, domain=nonneg if x.relax else pyo.NonNegativeIntegers)
    m.busy = pyo.Var(m.W, m.P, m.S, m.Y, m.T, domain=nonneg)
    m.unserved = pyo.Var(m.W, m.Y, m.T, domain=nonneg)
    for name in ("dc_built_mw", "solar_built_mw", "battery_built_mwh", "battery_built_mw"):
        m.add_component(name, pyo.Var(m.S, m.Y, domain=nonneg))


# --- expressions the families share --------------------------------------------------------------


def add_fleet(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(1) parts bought as Expressions; (3) parts installed and (7) IT capacity in service as
    columns defined by equality rows."""
    n_y = x.shape[3]
    per_server = x.parts_per_server.tolist()
    m.parts_bought = pyo.Expression(
        m.P, m.S, m.Y, rule=lambda _, p, s, y: per_server[p] * m.servers[p, s, y]
    )
    alive, base = parts_alive_from_purchase(x), base_parts_alive(x)

    def installed(_: pyo.ConcreteModel, p: int, s: int, y: int) -> Any:
        bought = [m.parts_bought[p, s, b] for b in range(n_y) if alive[p, b, y]]
        return float(base[p, s, y]) + pyo.quicksum(bought)

    # A column of its own with one defining row (as the site blocks hold storage in service):
    # the hourly rows then read one column, not every purchase still alive.
    m.parts_installed = pyo.Var(m.P, m.S, m.Y, domain=pyo.NonNegativeReals)
    m.parts_installed_def = pyo.Constraint(
        m.P, m.S, m.Y, rule=lambda _, p, s, y: m.parts_installed[p, s, y] == installed(m, p, s, y)
    )
    usable = dc_usable_from_build(x)

    def capacity(_: pyo.ConcreteModel, s: int, y: int) -> Any:
        built = [m.dc_built_mw[s, b] for b in range(n_y) if usable[s, b, y]]
        return float(x.dc_existing_mw[s]) + pyo.quicksum(built)

    m.it_capacity_mw = pyo.Var(m.S, m.Y, domain=pyo.NonNegativeReals)  # a column, as I
    m.it_capacity_def = pyo.Constraint(
        m.S, m.Y, rule=lambda _, s, y: m.it_capacity_mw[s, y] == capacity(m, s, y)
    )


def add_it_power(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(9) P_IT[s,y,t] = 1e-6 sum_p (I (idle + overhead) + (active - idle) sum_w u), MW."""
    standing = ((x.idle_w + x.server_overhead_w) * MW_PER_W).tolist()
    dynamic = ((x.active_w - x.idle_w) * MW_PER_W).tolist()

    def rule(_: pyo.ConcreteModel, s: int, y: int, t: int) -> Any:
        return pyo.quicksum(
            standing[p] * m.parts_installed[p, s, y]
            + dynamic[p] * pyo.quicksum(m.busy[w, p, s, y, t] for w in m.W)
            for p in m.P
        ) + capped_dynamic_mw(m, x, s, y, t, m.P)  # eq. 19: parts busy at a power cap

    m.it_power_mw = pyo.Expression(m.S, m.Y, m.T, rule=rule)


# --- constraint families -------------------------------------------------------------------------


def add_allowed_purchases(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(2) m[p,s,y] = 0 where the rules forbid the part at the site in that period (as bounds)."""
    for p, s, y in zip(*np.nonzero(~x.allowed.astype(bool)), strict=True):
        m.servers[int(p), int(s), int(y)].setub(0)


def add_parts_busy_limit(m: pyo.ConcreteModel) -> None:
    """(4) sum_w u[w,p,s,y,t] <= I[p,s,y], parts."""
    m.busy_limit = pyo.Constraint(
        m.P,
        m.S,
        m.Y,
        m.T,
        rule=lambda _, p, s, y, t: (
            pyo.quicksum(m.busy[w, p, s, y, t] for w in m.W) + capped_parts_busy(m, p, s, y, t)
            <= m.parts_installed[p, s, y]
        ),
    )


def add_serve_demand(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(5) interactive: sum_{p,s} k[w,p] u + q = D every step; (6) deferrable: equal daily
    weighted totals (tokens) within each representative day, per workload and year. Each
    workload's rows are multiplied by sigma_w (`scaled_serve_data`), q is in scaled units."""
    scaled_rate, demand, _ = scaled_serve_data(x)
    rate = scaled_rate.tolist()
    w_h = x.weight_h.tolist()

    def handled(w: int, y: int, t: int) -> Any:
        served = pyo.quicksum(
            rate[w][p] * m.busy[w, p, s, y, t] for p in m.P for s in m.S if rate[w][p] > 0
        )
        return served + m.unserved[w, y, t] + capped_tokens(m, x, rate, w, y, t)  # eq. 19

    due = deadline_rows(x)
    hourly = [(w, y, t) for w in m.W if not x.deferrable[w] for y in m.Y for t in m.T]
    m.serve_hourly = pyo.Constraint(
        hourly, rule=lambda _, w, y, t: handled(w, y, t) == float(demand[w, y, t])
    )
    days = {int(d): np.flatnonzero(x.day == d).tolist() for d in np.unique(x.day)}
    daily = [(w, y, d) for w in m.W if x.deferrable[w] and not due[w] for y in m.Y for d in days]
    m.serve_daily = pyo.Constraint(
        daily,
        rule=lambda _, w, y, d: (
            pyo.quicksum(w_h[t] * handled(w, y, t) for t in days[d])
            == float(sum(w_h[t] * demand[w, y, t] for t in days[d]))
        ),
    )
    add_serve_by_deadline(m, x, handled, demand)


def add_serve_by_deadline(
    m: pyo.ConcreteModel, x: CapacityInputs, handled: Any, demand: np.ndarray
) -> None:
    """(6b) a deferrable workload due within H hours, first come first served, per year and
    representative day: with beta >= 0 the backlog carried in from the day's end, the backlog
    at the end of hour k, B_k = beta + sum_{j<=k} (D_j - h_j), lies between 0 and the arrivals
    still within their deadline, sum_j M[j, k] D_j; the day's totals are equal."""
    due = np.flatnonzero(deadline_rows(x)).tolist()
    steps = day_steps(x).tolist()
    cells = [(w, y, d) for w in due for y in m.Y for d in range(len(steps))]
    m.carried_backlog = pyo.Var(cells, domain=pyo.NonNegativeReals)
    waiting = {w: may_still_wait(float(deadline_hours(x)[w])) for w in due}

    def backlog(w: int, y: int, d: int, k: int) -> Any:
        day = steps[d]
        gap = pyo.quicksum(float(demand[w, y, t]) - handled(w, y, t) for t in day[: k + 1])
        return m.carried_backlog[w, y, d] + gap

    def room(w: int, y: int, d: int, k: int) -> float:
        return float(sum(waiting[w][j, k] * demand[w, y, t] for j, t in enumerate(steps[d])))

    hours = [(w, y, d, k) for w, y, d in cells for k in range(len(steps[d]))]
    m.backlog_nonnegative = pyo.Constraint(
        hours, rule=lambda _, w, y, d, k: backlog(w, y, d, k) >= 0
    )
    m.backlog_within_deadline = pyo.Constraint(
        hours, rule=lambda _, w, y, d, k: backlog(w, y, d, k) <= room(w, y, d, k)
    )
    m.deadline_day_total = pyo.Constraint(
        cells,
        rule=lambda _, w, y, d: (
            pyo.quicksum(handled(w, y, t) for t in steps[d])
            == float(sum(demand[w, y, t] for t in steps[d]))
        ),
    )


def add_it_capacity(m: pyo.ConcreteModel) -> None:
    """(10) P_IT[s,y,t] <= C[s,y], MW: installed and busy parts fit the data centre."""
    m.it_capacity_limit = pyo.Constraint(
        m.S, m.Y, m.T, rule=lambda _, s, y, t: m.it_power_mw[s, y, t] <= m.it_capacity_mw[s, y]
    )


def add_dc_max(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(8) existing + sum_y b[s,y] <= max MW per site (finite limits only)."""
    finite = np.flatnonzero(np.isfinite(x.dc_max_mw)).tolist()
    m.dc_max = pyo.Constraint(
        finite,
        rule=lambda _, s: (
            pyo.quicksum(m.dc_built_mw[s, y] for y in m.Y)
            <= float(x.dc_max_mw[s] - x.dc_existing_mw[s])
        ),
    )


def site_year_operation(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(11) cumulative solar and battery; (12) the site energy families of docs/model.md on one
    block per (site, year), with the block's own variables and the plan's IT power."""
    n_b = x.billing_period_months.shape[0]

    def block(b: pyo.Block, s: int, y: int) -> None:
        se.make_variables(b, x.shape[4], n_b)
        add_in_service(m, b, s, y)
        pue = x.pue[s].tolist()
        b.it_facility_mw = pyo.Expression(b.T, rule=lambda _, t: pue[t] * m.it_power_mw[s, y, t])
        se.add_power_balance(
            b,
            b.T,
            supply=[b.grid_import_mw, b.solar_used_mw, b.discharge_mw],
            demand=[b.it_facility_mw, b.charge_mw, b.grid_export_mw],
        )
        se.add_grid_limits(
            b, b.grid_import_mw, b.grid_export_mw, float(x.grid_import_cap_mw[s, y]), 0.0
        )
        se.add_demand_charge(b, b.T, b.grid_import_mw, b.peak_import_mw, x.billing_period)
        se.add_solar(
            b,
            b.T,
            b.solar_mw,
            b.solar_used_mw,
            x.solar_capacity_factor[s],
            float(x.solar_max_mw[s]),
        )
        se.add_battery_balance(
            b,
            b.T,
            b.soc_mwh,
            b.charge_mw,
            b.discharge_mw,
            x.prev_step,
            x.charge_efficiency_fraction,
            x.discharge_efficiency_fraction,
        )
        se.add_battery_bounds(
            b,
            b.T,
            b.battery_mwh,
            b.battery_mw,
            b.charge_mw,
            b.discharge_mw,
            b.soc_mwh,
            x.battery_limits(s),
        )

    m.site = pyo.Block(m.S, m.Y, rule=block)


def add_in_service(m: pyo.ConcreteModel, b: pyo.Block, s: int, y: int) -> None:
    """(11) Solar MW, battery MWh and battery MW in service at site s in year y: all built in
    years 0..y (neither retires within the horizon)."""
    earlier = range(y + 1)
    b.solar_in_service = pyo.Constraint(
        expr=b.solar_mw == pyo.quicksum(m.solar_built_mw[s, k] for k in earlier)
    )
    b.battery_mwh_in_service = pyo.Constraint(
        expr=b.battery_mwh == pyo.quicksum(m.battery_built_mwh[s, k] for k in earlier)
    )
    b.battery_mw_in_service = pyo.Constraint(
        expr=b.battery_mw == pyo.quicksum(m.battery_built_mw[s, k] for k in earlier)
    )


def add_tpp_caps(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(13) sum_{s in g, p, y' in window(g, y)} TPP_p n[p,s,y'] <= cap[g,y] (finite caps only);
    the window is y itself, or every capped period up to y for a cumulative cap."""
    tpp = x.tpp_per_part.tolist()
    window = tpp_cap_windows(x)
    finite = [(int(g), int(y)) for g, y in zip(*np.nonzero(np.isfinite(x.tpp_cap)), strict=True)]
    m.tpp_cap = pyo.Constraint(
        finite,
        rule=lambda _, g, y: (
            pyo.quicksum(
                tpp[p] * m.parts_bought[p, s, yy]
                for p in m.P
                for s in m.S
                if x.cap_group_sites[g, s]
                for yy in np.flatnonzero(window[g, y]).tolist()
            )
            <= float(x.tpp_cap[g, y])
        ),
    )


def add_supply_caps(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(14) sum_s n[p,s,y] <= supply cap[p,y], parts (finite caps only)."""
    cap = x.supply_cap_parts
    finite = [(int(p), int(y)) for p, y in zip(*np.nonzero(np.isfinite(cap)), strict=True)]
    m.supply_cap = pyo.Constraint(
        finite,
        rule=lambda _, p, y: pyo.quicksum(m.parts_bought[p, s, y] for s in m.S) <= float(cap[p, y]),
    )


def add_capex_by_year(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(15) K_y per cost kind, undiscounted: parts at price x (1 + uplift); DC, solar, battery."""
    paid = paid_per_part(x)
    terms = {
        "parts_capex": lambda y: pyo.quicksum(
            float(paid[p, y]) * m.parts_bought[p, s, y] for p in m.P for s in m.S
        ),
        "dc_capex": lambda y: pyo.quicksum(
            float(x.dc_capex_per_mw[s, y]) * m.dc_built_mw[s, y] for s in m.S
        ),
        "solar_capex": lambda y: pyo.quicksum(
            float(x.solar_capex_per_mw[s, y]) * m.solar_built_mw[s, y] for s in m.S
        ),
        "battery_capex": lambda y: pyo.quicksum(
            float(x.battery_capex_per_mwh[s, y]) * m.battery_built_mwh[s, y]
            + float(x.battery_capex_per_mw[s, y]) * m.battery_built_mw[s, y]
            for s in m.S
        ),
        **cpu_capex_by_year(m, x),  # (27)
    }
    m.K = pyo.Set(initialize=list(terms))
    m.capex = pyo.Expression(m.K, m.Y, rule=lambda _, k, y: terms[k](y))


def add_budget(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(15) K_y <= budget_y (finite budgets only)."""
    finite = np.flatnonzero(np.isfinite(x.budget)).tolist()
    m.budget = pyo.Constraint(
        finite,
        rule=lambda _, y: pyo.quicksum(m.capex[k, y] for k in m.K) <= float(x.budget[y]),
    )


def add_domestic_share(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(16) sum_{p dom, s} c_p I[p,s,y] >= sigma_y sum_{p,s} c_p I[p,s,y] (sigma_y > 0 only)."""
    c, share = compute_weight(x), x.domestic_share_min_fraction
    rows = np.flatnonzero(share > 0).tolist()
    m.domestic_share = pyo.Constraint(
        rows,
        rule=lambda _, y: (
            pyo.quicksum(
                float(c[p] * (float(x.domestic[p]) - share[y])) * m.parts_installed[p, s, y]
                for p in m.P
                for s in m.S
            )
            >= 0
        ),
    )


def add_subsidy_choice(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(18) the domestic-chip power subsidy by choice, for each site-year (s, y) with f > 0:
    sum_{p foreign} I[p,s,y] <= M[s,y] (1 - d[s,y]) (rows with M > 0 only; `foreign_parts_bound`),
    0 <= u[s,y,t] <= g[s,y,t] and u[s,y,t] <= G[s,y] d[s,y], d in {0, 1} ([0, 1] when relaxed),
    and the cut u[s,y,t] <= PUE P_IT_domestic[s,y,t] + charge[s,y,t] (valid: with d = 1 all IT
    power is domestic). The objective credits f x price x u (`cost_terms`)."""
    n_y = x.shape[3]
    m.C = pyo.Set(
        initialize=[divmod(int(k), n_y) for k in subsidy_choice_sites(x)], dimen=2, ordered=True
    )
    m.domestic_only = pyo.Var(m.C, domain=pyo.UnitInterval if x.relax else pyo.Binary)
    m.subsidised_import_mw = pyo.Var(m.C, m.T, domain=pyo.NonNegativeReals)
    bound, cap = foreign_parts_bound(x), x.grid_import_cap_mw
    foreign = [p for p in m.P if not x.domestic[p]]
    m.subsidy_foreign_parts = pyo.Constraint(
        [(s, y) for s, y in m.C if bound[s, y] > 0],
        rule=lambda _, s, y: (
            pyo.quicksum(m.parts_installed[p, s, y] for p in foreign)
            <= float(bound[s, y]) * (1 - m.domestic_only[s, y])
        ),
    )
    m.subsidy_within_import = pyo.Constraint(
        m.C,
        m.T,
        rule=lambda _, s, y, t: m.subsidised_import_mw[s, y, t] <= m.site[s, y].grid_import_mw[t],
    )
    standing = ((x.idle_w + x.server_overhead_w) * MW_PER_W).tolist()
    dynamic = ((x.active_w - x.idle_w) * MW_PER_W).tolist()
    domestic = [p for p in m.P if x.domestic[p]]

    def within_domestic_load(_: pyo.ConcreteModel, s: int, y: int, t: int) -> Any:
        domestic_mw = pyo.quicksum(
            standing[p] * m.parts_installed[p, s, y]
            + dynamic[p] * pyo.quicksum(m.busy[w, p, s, y, t] for w in m.W)
            for p in domestic
        )
        domestic_mw += capped_dynamic_mw(m, x, s, y, t, domestic)  # eq. 19
        domestic_mw += cpu_power(m, s, y, t)  # CPU servers run at a domestic-only site too
        load = float(x.pue[s, t]) * domestic_mw + m.site[s, y].charge_mw[t]
        return m.subsidised_import_mw[s, y, t] <= load

    m.subsidy_within_domestic_load = pyo.Constraint(m.C, m.T, rule=within_domestic_load)
    m.subsidy_within_choice = pyo.Constraint(
        m.C,
        m.T,
        rule=lambda _, s, y, t: (
            m.subsidised_import_mw[s, y, t] <= float(cap[s, y]) * m.domestic_only[s, y]
        ),
    )


# --- objective (eq. 17) --------------------------------------------------------------------------


def cost_terms(m: pyo.ConcreteModel, x: CapacityInputs) -> dict[str, Any]:
    """Each present-value cost of eq. (17), keyed by the CapacityCosts field name."""
    pv = x.discount_fraction.tolist()
    pv_opex = (x.discount_fraction * x.duration_years).tolist()
    w_h = x.weight_h.tolist()
    penalty = scaled_serve_data(x)[2].tolist()  # (W, T) per scaled unit/s for a year
    months = x.billing_period_months.tolist()
    resale = x.horizon_end_discount_fraction * resale_fraction(x) * paid_per_part(x)
    sites = [(s, y, m.site[s, y]) for s in m.S for y in m.Y]
    f = subsidy_choice(x)
    return {
        **{k: pyo.quicksum(pv[y] * m.capex[k, y] for y in m.Y) for k in m.K},
        "energy": pyo.quicksum(
            pv_opex[y] * w_h[t] * float(x.price_per_mwh[s, y, t]) * b.grid_import_mw[t]
            for s, y, b in sites
            for t in m.T
        ),
        "demand_charges": pyo.quicksum(
            pv_opex[y] * float(x.demand_charge_per_mw_month[s, y]) * months[k] * b.peak_import_mw[k]
            for s, y, b in sites
            for k in b.P
        ),
        "carbon": pyo.quicksum(
            pv_opex[y]
            * w_h[t]
            * float(x.emission_t_per_mwh[s, t] * x.carbon_price_per_t[y])
            * b.grid_import_mw[t]
            for s, y, b in sites
            for t in m.T
        ),
        "unserved_penalty": pyo.quicksum(
            pv_opex[y] * penalty[w][t] * m.unserved[w, y, t] for w in m.W for y in m.Y for t in m.T
        ),
        "resale_credit": pyo.quicksum(
            float(resale[p, y]) * m.parts_bought[p, s, y] for p in m.P for s in m.S for y in m.Y
        ),
        "power_subsidy_credit": pyo.quicksum(
            pv_opex[y]
            * w_h[t]
            * float(f[s, y] * x.price_per_mwh[s, y, t])
            * m.subsidised_import_mw[s, y, t]
            for s, y in m.C
            for t in m.T
        ),
        **cpu_resale_credit(m, x),  # (27)
        **battery_calendar_cost(m, x),
    }


def battery_calendar_cost(m: pyo.ConcreteModel, x: CapacityInputs) -> dict[str, Any]:
    """(17) Calendar ageing: sum_{s,y} delta_y D_y c_cal[s,y] E[s,y], E the MWh in service at
    site s in year y (eq. 11), c_cal per MWh and year; no term when the plan sets no such cost."""
    c = x.battery_calendar_cost_per_mwh_year
    if c is None:
        return {}
    per_mwh = np.asarray(c, dtype=float) * (x.discount_fraction * x.duration_years)[None, :]
    return {
        "battery_calendar": pyo.quicksum(
            float(per_mwh[s, y]) * m.site[s, y].battery_mwh for s in m.S for y in m.Y
        )
    }


CREDITS = ("resale_credit", "power_subsidy_credit", "cpu_resale_credit")


def net_present_cost(terms: dict[str, Any]) -> Any:
    """(17) every cost added, the resale and chosen-subsidy credits subtracted."""
    credits = sum(terms[k] for k in CREDITS if k in terms)
    return sum(e for k, e in terms.items() if k not in CREDITS) - credits


# --- assembly ------------------------------------------------------------------------------------


def build(x: CapacityInputs) -> pyo.ConcreteModel:
    """The capacity model of docs/capacity_model.md, families (1)-(16) and (18)-(27), objective
    (17)."""
    m = pyo.ConcreteModel(name="capacity")
    make_variables(m, x)
    make_flex_variables(m, x)
    add_fleet(m, x)
    add_it_power(m, x)
    add_cpu_work(m, x)  # (22)-(26), its power added to the IT power
    add_allowed_purchases(m, x)
    add_parts_busy_limit(m)
    add_serve_demand(m, x)
    add_it_capacity(m)
    add_dc_max(m, x)
    site_year_operation(m, x)
    add_supply_caps(m, x)
    add_tpp_caps(m, x)
    add_capex_by_year(m, x)
    add_budget(m, x)
    add_domestic_share(m, x)
    add_subsidy_choice(m, x)
    add_grid_option_choice(m, x)
    costs = cost_terms(m, x)
    m.cost = pyo.Expression(list(costs), initialize=costs)
    m.net_present_cost = pyo.Objective(expr=net_present_cost({k: m.cost[k] for k in m.cost}))
    return m
