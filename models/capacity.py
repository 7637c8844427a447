"""Multi-period capacity model: which parts to buy, where and when; how much data-centre, solar and
battery to build; how every site runs over representative hours of each plan year.

Inputs and solution are frozen dataclasses of numpy arrays with units in their names; the
formulations live in `capacity_cvxpy.py` and `capacity_pyomo.py` and build the same mathematics
(docs/capacity_model.md, equation numbers in brackets). Axes, always in this order:

    W workloads, P parts, S sites, Y plan periods ("years"), T representative steps (hours),
    B demand-charge billing periods, G country-cap groups of sites, V installed-base vintages.

Money is in the scenario's currency; capex is paid at the start of the period it is bought in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from models.common import Backend, SolveStats, SolveStatus
from models.site_energy import BatteryLimits

SECONDS_PER_HOUR = 3_600.0
SECONDS_PER_MINUTE = 60.0
TOKENS_PER_MTOK = 1e6
MW_PER_W = 1e-6


@dataclass(frozen=True, kw_only=True)
class CpuServerInputs:
    """CPU servers a plan may buy and the CPU work of each workload (axes C, S, Y, W)."""

    cores_per_server: np.ndarray  # (C,) cores K_c of one server
    price_per_server: np.ndarray  # (C, Y) price paid per server bought in y
    idle_w: np.ndarray  # (C,) one installed server with no core busy, W
    active_w: np.ndarray  # (C,) one server with every core busy, W (>= idle_w)
    lead_time_years: np.ndarray  # (C,) bought at the start of y, usable from y + lead
    lifetime_years: np.ndarray  # (C,) economic lifetime from delivery
    allowed: np.ndarray  # (C, S, Y) bool: the site may buy the server in y
    core_s_per_token: np.ndarray  # (W,) kappa_w, CPU core-seconds per token served; 0 = none
    resale_value_fraction: np.ndarray | None = None  # (C, Y); None = straight line


@dataclass(frozen=True, kw_only=True)
class CapacityInputs:
    """Everything the capacity model needs, resolved by the planner into arrays (axes as above)."""

    # --- plan periods (Y,) ---
    year_start_years: np.ndarray  # (Y,) start of each period, years after the horizon start
    duration_years: np.ndarray  # (Y,) years each period stands for (opex is x duration)
    discount_fraction: np.ndarray  # (Y,) present value of one unit paid at the start of y
    horizon_end_discount_fraction: float  # present value of one unit at the horizon end
    # --- representative steps (T,), shared by every year and site ---
    weight_h: np.ndarray  # (T,) hours of a year each step stands for (sum 8,760)
    prev_step: np.ndarray  # (T,) int, step before t for storage; wraps within each day
    day: np.ndarray  # (T,) int, representative day of each step; deferrable tokens stay in it
    billing_period: np.ndarray  # (T,) int in [0, B)
    billing_period_months: np.ndarray  # (B,) months each billing period's peak is charged for
    # --- parts (P,) ---
    parts_per_server: np.ndarray  # (P,) int, parts are bought in whole servers of N_p parts
    price_per_part: np.ndarray  # (P, Y) purchase price per part incl. its share of the server
    price_uplift_fraction: np.ndarray  # (P, Y) licence fees, duties: paid = price x (1 + uplift)
    idle_w: np.ndarray  # (P,) power of an installed, idle part
    active_w: np.ndarray  # (P,) power of a busy part (>= idle_w)
    server_overhead_w: np.ndarray  # (P,) host CPU, NIC, fans per part, drawn whenever installed
    lead_time_years: np.ndarray  # (P,) delivery: bought at the start of y, usable from y + lead
    lifetime_years: np.ndarray  # (P,) economic lifetime from delivery; retired afterwards
    tpp_per_part: np.ndarray  # (P,) total processing performance (export-control metric)
    domestic: np.ndarray  # (P,) bool, made by the home country (domestic share, state sites)
    supply_cap_parts: np.ndarray  # (P, Y) parts that can be bought across all sites; inf = none
    resale_value_fraction: np.ndarray | None = None  # (P, Y) value at horizon end per unit paid,
    # by purchase period; None = straight line over the lifetime from delivery
    base_parts: np.ndarray  # (P, S, V) parts installed before the horizon, by vintage
    base_start_years: np.ndarray  # (V,) delivery date of each vintage, years (<= 0)
    # --- workloads (W,) ---
    # A workload's rows are in tokens, or in seconds of generated video where `video[w]` is True:
    # then tokens_per_s_per_part, demand_tokens_per_s and the solution's unserved_tokens_per_s
    # hold video seconds per second (docs/capacity_model.md, "Video workloads").
    tokens_per_s_per_part: np.ndarray  # (W, P) throughput of one busy part; 0 = cannot serve
    demand_tokens_per_s: np.ndarray  # (W, Y, T) tokens (video: video seconds) per second demanded
    deferrable: np.ndarray  # (W,) bool: met within its day (batch) instead of every hour
    unserved_penalty_per_mtok: float  # price of a million tokens not served
    # (W,) hours within which a deferrable workload's arrivals are served, first come first
    # served (eq. 6b); inf (or None for all) = anywhere within the day (eq. 6)
    deadline_h: np.ndarray | None = None
    video: np.ndarray | None = None  # (W,) bool: rows in video seconds; None = all tokens
    unserved_penalty_per_video_minute: float = 0.0  # price of a minute of video not generated
    # --- sites (S,) ---
    allowed: np.ndarray  # (P, S, Y) bool: the site may buy the part in that period (rules)
    dc_existing_mw: np.ndarray  # (S,) IT MW built before the horizon
    dc_max_mw: np.ndarray  # (S,) most IT MW the site can ever hold; inf = no limit
    dc_build_lead_years: np.ndarray  # (S,) IT MW built in y is usable from y + lead
    dc_capex_per_mw: np.ndarray  # (S, Y) data-centre shell, cooling, electrical per IT MW
    pue: np.ndarray  # (S, T) facility power / IT power
    grid_import_cap_mw: np.ndarray  # (S, Y) connection MW available (time to power, ramping)
    price_per_mwh: np.ndarray  # (S, Y, T) energy price of grid imports
    demand_charge_per_mw_month: np.ndarray  # (S, Y) on each billing period's peak import
    emission_t_per_mwh: np.ndarray  # (S, T) grid emission factor
    carbon_price_per_t: np.ndarray  # (Y,)
    solar_capacity_factor: np.ndarray  # (S, T) AC output per MW installed, fraction
    solar_capex_per_mw: np.ndarray  # (S, Y)
    solar_max_mw: np.ndarray  # (S,) inf = no limit
    battery_capex_per_mwh: np.ndarray  # (S, Y)
    battery_capex_per_mw: np.ndarray  # (S, Y)
    battery_max_mwh: np.ndarray  # (S,) inf = no limit
    # (S, Y) calendar ageing: what one MWh of battery in service in y costs a year, whether it
    # cycles or not (eq. 17); None = no such cost
    battery_calendar_cost_per_mwh_year: np.ndarray | None = None
    charge_efficiency_fraction: float = 0.95
    discharge_efficiency_fraction: float = 0.95
    soc_min_fraction: float = 0.0
    soc_max_fraction: float = 1.0
    min_duration_h: float = 0.0
    max_duration_h: float = math.inf
    # --- rules ---
    cap_group_sites: np.ndarray  # (G, S) bool: sites counted in each country-cap group
    tpp_cap: np.ndarray  # (G, Y) TPP of parts bought per group and period; inf = none
    budget: np.ndarray  # (Y,) capex that may be spent in each period; inf = none
    domestic_share_min_fraction: np.ndarray  # (Y,) installed domestic / installed total
    domestic_share_basis: Literal["parts", "compute"] = "parts"  # count parts or TPP
    subsidy_choice_fraction: np.ndarray | None = None  # (S, Y) power subsidy the site earns if
    # it chooses to run domestic parts only in y (a binary decision, eq. 18); None/0 = no choice
    tpp_cap_cumulative: np.ndarray | None = None  # (G,) bool: group g's cap is one allowance
    # over its capped periods (TPP bought so far <= cap), not one per period; None = per period
    subsidy_big_m_parts: np.ndarray | None = None  # (S, Y) the big-M of eq. (18) given, not
    # computed from these inputs' demand (a decomposition's master keeps the whole plan's)
    # --- CPU work and CPU servers (eqs. 22-27, models/capacity_cpu.py); None = none ---
    cpu: CpuServerInputs | None = None
    # --- power caps and flexible grid options (eqs. 19-21, models/capacity_flex.py) ---
    power_cap_fraction: np.ndarray | None = None  # (J,) caps below 1 a busy part may run at
    capped_active_w: np.ndarray | None = None  # (P, J) watts of a busy part at each cap
    capped_throughput_fraction: np.ndarray | None = None  # (P, J) tokens/s / tokens/s uncapped
    grid_option_offered: np.ndarray | None = None  # (S, O) bool: the site may choose option o
    grid_option_cap_mw: np.ndarray | None = None  # (S, O, Y) import cap of option o (0 = not yet)
    grid_option_curtailed_mw: np.ndarray | None = None  # (S, O) import kept during an event
    grid_option_curtailment_h: np.ndarray | None = None  # (S, O) hours a year the grid may call
    grid_load_mw: np.ndarray | None = None  # (S, T) regional grid load: events go on its peaks
    # --- model ---
    relax: bool = False  # True: servers bought are continuous (the LP, with duals)

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        """(W, P, S, Y, T)."""
        w, p = self.tokens_per_s_per_part.shape
        return w, p, self.pue.shape[0], self.year_start_years.shape[0], self.weight_h.shape[0]

    def battery_limits(self, site: int) -> BatteryLimits:
        """Site s's battery SOC window, duration range and energy cap (site model eqs. 9-11)."""
        return BatteryLimits(
            self.soc_min_fraction,
            self.soc_max_fraction,
            self.min_duration_h,
            self.max_duration_h,
            float(self.battery_max_mwh[site]),
        )


@dataclass(frozen=True)
class CapacityCosts:
    """Net present cost breakdown (eq. 17), each term discounted; resale and the chosen power
    subsidy are credits (>= 0)."""

    parts_capex: float
    dc_capex: float
    solar_capex: float
    battery_capex: float
    energy: float
    demand_charges: float
    carbon: float
    unserved_penalty: float
    resale_credit: float
    capex_by_year: np.ndarray  # (Y,) undiscounted capex spent in each period (eq. 15)
    power_subsidy_credit: float = 0.0  # energy rebate of sites choosing domestic parts (eq. 18)
    cpu_servers_capex: float = 0.0  # CPU servers bought (eq. 27)
    cpu_resale_credit: float = 0.0  # CPU servers' value at the horizon end (eq. 27)
    battery_calendar: float = 0.0  # calendar ageing of the battery MWh in service (eq. 17)


@dataclass(frozen=True)
class CapacityDuals:
    """What one more unit of each binding limit would save, in present-value currency (LP only).

    Every value is >= 0: the objective falls by about this much per unit of relaxation.
    """

    grid_import_cap_per_mw: np.ndarray  # (S, Y) one more MW of grid connection in y, every hour
    dc_max_per_mw: np.ndarray  # (S,) one more MW of buildable IT capacity at the site
    supply_cap_per_part: np.ndarray  # (P, Y) one more part available to buy
    tpp_cap_per_tpp: np.ndarray  # (G, Y) one more TPP under the country cap
    budget_per_currency: np.ndarray  # (Y,) one more unit of budget
    domestic_share_per_unit: np.ndarray  # (Y,) one more part (or TPP, by the basis) of slack
    # in eq. 16; one percentage point less share is worth this x 0.01 x installed total


@dataclass(frozen=True)
class CapacitySolution:
    """The plan: purchases, builds and hourly operation; axes as in CapacityInputs."""

    status: SolveStatus
    objective: float  # net present cost
    stats: SolveStats
    backend: Backend
    solver: str
    servers_bought: np.ndarray = field(default_factory=lambda: np.empty(0))  # (P, S, Y)
    parts_bought: np.ndarray = field(default_factory=lambda: np.empty(0))  # (P, S, Y)
    parts_installed: np.ndarray = field(default_factory=lambda: np.empty(0))  # (P, S, Y)
    parts_busy: np.ndarray = field(default_factory=lambda: np.empty(0))  # (W, P, S, Y, T)
    unserved_tokens_per_s: np.ndarray = field(default_factory=lambda: np.empty(0))  # (W, Y, T)
    dc_built_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y)
    it_capacity_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y) usable
    solar_built_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y)
    battery_built_mwh: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y)
    battery_built_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y)
    solar_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y) cumulative
    battery_mwh: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y) cumulative
    battery_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y) cumulative
    it_power_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T)
    grid_import_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T)
    solar_used_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T)
    charge_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T)
    discharge_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T)
    soc_mwh: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T)
    peak_import_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, B)
    domestic_only: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y) chosen d,
    # 1 = the site runs domestic parts only for the subsidy (0 where there is no choice)
    subsidised_import_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T)
    power_subsidy_fraction: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y)
    # realised chosen subsidy f x d (the planner's forced subsidy is already in the price)
    # CPU servers (eqs. 22-26), empty without `inputs.cpu`
    cpu_servers_bought: np.ndarray = field(default_factory=lambda: np.empty(0))  # (C, S, Y)
    cpu_servers_installed: np.ndarray = field(default_factory=lambda: np.empty(0))  # (C, S, Y)
    cpu_servers_busy: np.ndarray = field(default_factory=lambda: np.empty(0))  # (C, S, Y, T)
    cpu_power_mw: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, Y, T), in it_power
    capped_busy: np.ndarray = field(default_factory=lambda: np.empty(0))  # (W, P, S, Y, T, J)
    # parts busy at each power cap below full (eq. 19); empty when capping is off
    grid_option_chosen: np.ndarray = field(default_factory=lambda: np.empty(0))  # (S, O) z
    # of eq. 20, 1 = the site takes option o; empty when no site has grid options
    costs: CapacityCosts | None = None
    duals: CapacityDuals | None = None  # only for relax=True and an optimal solve
    # parts left out before the model was built (models/presolve.py): part -> the part that
    # dominates it, or None when no site may ever hold it
    parts_left_out: dict[int, int | None] = field(default_factory=dict)


# --- derived data both backends share (pure numpy) ------------------------------------------------


def parts_alive_from_purchase(x: CapacityInputs) -> np.ndarray:
    """(P, Y', Y) 1 where a part bought in y' is delivered and not retired in y (eq. 3).

    Delivered when tau_y - tau_y' >= lead_p; retired when tau_y - tau_y' >= lead_p + life_p.
    """
    age = x.year_start_years[None, :] - x.year_start_years[:, None]  # (Y', Y)
    lead = x.lead_time_years[:, None, None]
    life = x.lifetime_years[:, None, None]
    return ((age[None] >= lead - 1e-9) & (age[None] < lead + life - 1e-9)).astype(float)


def base_parts_alive(x: CapacityInputs) -> np.ndarray:
    """(P, S, Y) parts of the installed base still within their lifetime in y (eq. 3)."""
    age = x.year_start_years[None, :] - x.base_start_years[:, None]  # (V, Y)
    alive = age[None] < x.lifetime_years[:, None, None] - 1e-9  # (P, V, Y)
    return np.einsum("psv,pvy->psy", x.base_parts, alive.astype(float))


def dc_usable_from_build(x: CapacityInputs) -> np.ndarray:
    """(S, Y', Y) 1 where IT MW built in y' is usable in y: tau_y - tau_y' >= build lead (eq. 7)."""
    age = x.year_start_years[None, :] - x.year_start_years[:, None]
    return (age[None] >= x.dc_build_lead_years[:, None, None] - 1e-9).astype(float)


def paid_per_part(x: CapacityInputs) -> np.ndarray:
    """(P, Y) price paid per part: list price x (1 + uplift) (eq. 15)."""
    return x.price_per_part * (1.0 + x.price_uplift_fraction)


def resale_fraction(x: CapacityInputs) -> np.ndarray:
    """(P, Y) value at the horizon end per unit paid, by purchase period (eq. 17).

    Straight line unless given: the share of the lifetime left at the horizon end,
    clip((tau_y + lead + life - H) / life, 0, 1), H = end of the last period.
    """
    if x.resale_value_fraction is not None:
        return np.asarray(x.resale_value_fraction, dtype=float)
    end = float(x.year_start_years[-1] + x.duration_years[-1])
    retire = x.year_start_years[None, :] + (x.lead_time_years + x.lifetime_years)[:, None]
    return np.clip((retire - end) / x.lifetime_years[:, None], 0.0, 1.0)


def compute_weight(x: CapacityInputs) -> np.ndarray:
    """(P,) what one part counts for in the domestic share: 1 (parts) or its TPP (compute)."""
    return np.ones_like(x.tpp_per_part) if x.domestic_share_basis == "parts" else x.tpp_per_part


def mtok_per_tokens_per_s_step(x: CapacityInputs) -> np.ndarray:
    """(T,) million tokens one token/s in step t stands for in a year: w_t x 3,600 / 1e6."""
    return x.weight_h * SECONDS_PER_HOUR / TOKENS_PER_MTOK


def video_rows(x: CapacityInputs) -> np.ndarray:
    """(W,) bool: workloads whose rows count seconds of generated video instead of tokens."""
    n_w = np.shape(x.tokens_per_s_per_part)[0]
    return np.zeros(n_w, dtype=bool) if x.video is None else np.asarray(x.video, dtype=bool)


def unserved_penalty_per_unit_s_step(x: CapacityInputs) -> np.ndarray:
    """(W, T) price of one unit/s left unserved in step t for a year (eq. 17), undiscounted:
    tokens: penalty per Mtok x w_t x 3,600 / 1e6; video: penalty per minute x w_t x 3,600 / 60."""
    per_unit = np.where(
        video_rows(x),
        x.unserved_penalty_per_video_minute / SECONDS_PER_MINUTE,
        x.unserved_penalty_per_mtok / TOKENS_PER_MTOK,
    )
    return per_unit[:, None] * x.weight_h[None, :] * SECONDS_PER_HOUR


def serve_scale(x: CapacityInputs) -> np.ndarray:
    """(W,) power of ten each workload's serve-demand rows are written in (eq. 5-6 scaled).

    Rows of national-scale token demand (1e8 tokens/s) beside part counts make a badly scaled
    matrix (HiGHS may then reject its own MIP solution). Each workload's rows, its unserved
    variable and its per-part rates are multiplied by sigma_w = 10^-floor(log10(max_p k[w,p])),
    so the largest rate lands in [1, 10): a row then counts demand in "parts of the fastest
    part", the same order as the busy-part columns. Workloads no part can serve keep 1.
    """
    k_max = np.max(np.asarray(x.tokens_per_s_per_part, dtype=float), axis=1, initial=0.0)
    exponent = np.floor(np.log10(np.where(k_max > 0, k_max, 1.0)))
    return 10.0**-exponent


def scaled_serve_data(x: CapacityInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What both backends put in the serve-demand rows: (W, P) rates k x sigma, (W, Y, T)
    demand D x sigma, and (W, T) the unserved penalty per scaled unit (penalty / sigma).

    The optimum is unchanged: q' = sigma q, so penalty x q = (penalty / sigma) x q'; the
    solution divides q' by sigma to report tokens (or video seconds) per second."""
    sigma = serve_scale(x)
    return (
        x.tokens_per_s_per_part * sigma[:, None],
        x.demand_tokens_per_s * sigma[:, None, None],
        unserved_penalty_per_unit_s_step(x) / sigma[:, None],
    )


# --- country TPP caps (eq. 13) ------------------------------------------------------------------


def tpp_cap_windows(x: CapacityInputs) -> np.ndarray:
    """(G, Y, Y) bool: purchases in period y' count against the cap of (g, y).

    Per period (default): y' = y. Cumulative (one allowance over a window, e.g. the AI Diffusion
    rule's 2025-2027 country allocation): every capped period y' <= y of the group, so the cap
    of the window's last period bounds the TPP bought over the whole window.
    """
    n_g, n_y = np.shape(x.tpp_cap)
    same = np.broadcast_to(np.eye(n_y, dtype=bool), (n_g, n_y, n_y))
    if x.tpp_cap_cumulative is None:
        return same.copy()
    capped = np.isfinite(np.asarray(x.tpp_cap, dtype=float))  # (G, Y)
    earlier = np.tril(np.ones((n_y, n_y), dtype=bool))  # [y, y'] = y' <= y
    cumulative = np.asarray(x.tpp_cap_cumulative, dtype=bool)[:, None, None]
    return np.where(cumulative, earlier[None] & capped[:, None, :], same)


# --- the power subsidy by choice (eq. 18) ---------------------------------------------------------


def subsidy_choice(x: CapacityInputs) -> np.ndarray:
    """(S, Y) subsidy fraction f a site earns in y by running domestic parts only; 0 = no choice."""
    n_s, n_y = np.shape(x.pue)[0], np.shape(x.year_start_years)[0]
    if x.subsidy_choice_fraction is None:
        return np.zeros((n_s, n_y))
    return np.asarray(x.subsidy_choice_fraction, dtype=float)


def subsidy_choice_sites(x: CapacityInputs) -> np.ndarray:
    """(K,) flat k = s*Y + y of the site-years with a choice (f > 0), ascending: the index set
    of the decision d and the rebate u in both backends."""
    return np.flatnonzero(subsidy_choice(x).ravel() > 0)


HOURS_PER_DAY = 24


def deadline_hours(x: CapacityInputs) -> np.ndarray:
    """(W,) hours within which each workload's arrivals are served (inf: within the day)."""
    if x.deadline_h is None:
        return np.full(len(x.deferrable), math.inf)
    return np.asarray(x.deadline_h, dtype=float)


def deadline_rows(x: CapacityInputs) -> np.ndarray:
    """(W,) True for a deferrable workload with a deadline shorter than its day (eq. 6b)."""
    return np.asarray(x.deferrable, dtype=bool) & (deadline_hours(x) < HOURS_PER_DAY)


def day_steps(x: CapacityInputs) -> np.ndarray:
    """(days, 24) the steps of each representative day, in hour order."""
    days = np.unique(x.day)
    return np.array([np.flatnonzero(x.day == d) for d in days])


def hours_so_far() -> np.ndarray:
    """(24, 24) U[j, k] = 1 when hour j is at or before hour k: (a - s) @ U sums to hour k."""
    return np.triu(np.ones((HOURS_PER_DAY, HOURS_PER_DAY)))


def may_still_wait(deadline_h: float) -> np.ndarray:
    """(24, 24) M[j, k] = 1 when work arriving in hour j may still wait at the end of hour k:
    it is due by the end of hour j + H - 1, so 0 <= (k - j) mod 24 < H - 1 (the day wraps)."""
    j, k = np.meshgrid(np.arange(HOURS_PER_DAY), np.arange(HOURS_PER_DAY), indexing="ij")
    return (((k - j) % HOURS_PER_DAY) < deadline_h - 1).astype(float)


def peak_busy_parts(x: CapacityInputs) -> np.ndarray:
    """(P,) most parts of p that can be busy at once in any step of any year, all sites together.

    A part serving w carries k[w,p] tokens/s, and (5) gives k u <= D in every step, so
    u <= max_{y,t} D / k for an interactive workload; for a deferrable one (6) gives
    w_t k u_t <= sum_{t in day} w_t D_t, so u <= max_{y,day} sum w_t D_t / (min_{t in day} w_t k).
    Summed over the workloads p can serve (k > 0)."""
    rate = np.asarray(x.tokens_per_s_per_part, dtype=float)
    demand = np.asarray(x.demand_tokens_per_s, dtype=float)
    deferrable = np.asarray(x.deferrable, dtype=bool)
    peak = np.where(deferrable, 0.0, demand.max(axis=(1, 2)))  # (W,) interactive: busiest step
    for d in np.unique(x.day):
        on = (x.day == d) & (x.weight_h > 0)  # a step of weight 0 serves and costs nothing
        if on.any():
            daily = demand[:, :, on] @ x.weight_h[on] / float(x.weight_h[on].min())  # (W, Y)
            peak = np.where(deferrable, np.maximum(peak, daily.max(axis=1)), peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_part = np.where(rate > 0, peak[:, None] / rate, 0.0)
    return per_part.sum(axis=0)


def foreign_parts_bound(x: CapacityInputs) -> np.ndarray:
    """(S, Y) big-M of eq. (18): the most foreign parts site s can hold in y in an optimal plan.

    Per foreign part p, installed I[p,s,y] <= base alive + sum over purchase periods y' alive
    in y and allowed at s of min(supply cap[p,y'], N_p ceil(peak busy_p / N_p)). The second
    term: a purchase cohort larger than the most parts of p ever busy plus one server can drop
    a server without breaking (4) in any year (removing foreign parts also loosens (10), (13)-
    (16) and (18)), and it costs no more when the price paid is at least its discounted resale
    credit and energy prices are >= 0, so some optimal plan obeys it. Then the parts must fit
    the site: sum_p (idle + host) I <= 1e6 max(C_max, C0) W (eqs. 9-10), a fractional knapsack
    filled from the part with the least standing power. Finite whatever the site size: the
    demand term is always finite. Inputs that carry `subsidy_big_m_parts` get it back."""
    if x.subsidy_big_m_parts is not None:
        return np.asarray(x.subsidy_big_m_parts, dtype=float)
    _n_p, n_s, n_y = np.shape(x.allowed)
    foreign = ~np.asarray(x.domestic, dtype=bool)
    per_server = np.asarray(x.parts_per_server, dtype=float)
    need = per_server * np.ceil(peak_busy_parts(x) / per_server - 1e-9)  # (P,)
    cohort = np.minimum(np.asarray(x.supply_cap_parts, dtype=float), need[:, None])  # (P, Y')
    cohort = cohort[:, None, :] * np.asarray(x.allowed, dtype=float)  # (P, S, Y')
    alive = parts_alive_from_purchase(x)  # (P, Y', Y)
    upper = base_parts_alive(x) + np.einsum("psb,pby->psy", cohort, alive)  # (P, S, Y)
    standing_w = np.asarray(x.idle_w + x.server_overhead_w, dtype=float)
    room_w = np.maximum(x.dc_max_mw, x.dc_existing_mw) / MW_PER_W  # (S,) inf = no limit
    order = [p for p in np.argsort(standing_w, kind="stable") if foreign[p]]
    bound = np.zeros((n_s, n_y))
    left_w = np.broadcast_to(room_w[:, None], (n_s, n_y)).astype(float)
    for p in order:
        fits = left_w / standing_w[p] if standing_w[p] > 0 else np.inf  # inf / w stays inf
        take = np.minimum(upper[p], fits)
        bound += take
        left_w = np.maximum(left_w - take * standing_w[p], 0.0)
    return bound
