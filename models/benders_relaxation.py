"""A relaxation of every subproblem's serving, written into the Benders master (models/benders.py).

Without it the master knows nothing of demand until cuts teach it: its first plans buy nothing,
lose every token, and the national case spent its first rounds cutting off empty fleets
(p20y10s20d12, 2026-12-04: a 99.95% gap after 7 minutes). With it, each theta_k is bounded
below by the least unserved penalty the period's fleet must pay on the block's days, each site
held to its IT MW and to the power it can draw:

    (a) theta_k >= floor_k + sum_{w interactive, t in S_k} pv_y pi[w,t] u[w,t]
                           + sum_{w deferrable, d in k} pv_y (pi[w,t_d] / w_d) U[w,d]
    (b) theta_k >= floor_k + sum_{w, d in k} pv_y (pi[w,t_d] / w_d) U[w,d]
                           + sum_{d in k} pv_y p+_d E_d
    (c) theta_k >= floor_k + sum_{w, d in k} pv_y (pi[w,t_d] / w_d) U[w,d]
                           + sum_{d in k} pv_y (Z_d + sum_s (H_s,d - V_s,d - w_d R_s,d))

(a) with interactive work at its peak steps and deferrable work over each day, each class given
the whole fleet; (b) with every workload's day total sharing the fleet, and the least energy
bill of the day: p+_d the least net price of any of the rows' sites and steps (after the subsidy
at its most, carbon included, never below 0: `energy_price_floor`) times E_d, the MWh the IT load
draws beyond solar, sum_t w_t pue[s,t] P[s,t] - sum_t w_t cf[s,t] S[s] (the battery, whose
charge wraps within the day, only loses energy; with unequal weights its MW count as supply).
(c) the same day totals with the bill at each site's own hourly prices: Z_d the least bill of
the busy load placed hour by hour over the sites, each within the MW its parts draw when busy
(`busy_placement`, by its LP dual at each price level); H the standing load, V solar's worth
(at most the site's draw) and R the most its battery can earn moving imports on the day, a
concave function of its MWh, MW and the site's IT MW bounded by planes from the duals of that
day's arbitrage (`hourly_bills`, `battery_worth`). On p20y10s20d12 (c) raised the first bound
from 6.40e10 to 7.05e10 CNY (the optimum lies in 7.24e10-7.71e10).
Rows, per group of sites (each site of a period's busiest block alone, else all pooled):

    interactive, at the peak step t in S_k of each interactive workload of the block:
        sum_{p,s} k[w,p] b[w,p,s] + u[w] >= D[w,y,t]                     (5, relaxed to >=)
        sum_w b[w,p,s] <= I[p,s,y]                                        (4)
        P[s] = sum_p (h_p I[p,s,y] + e_p sum_w b[w,p,s]) <= C[s,y]          (9)-(10)
        pue[s,t] P[s] <= G[s,y] + cf[s,t] S[s,y] + B[s,y]                 (power balance)
    day totals, per day d of the block (weights w_t, W_d their sum; b then in part-hours):
        sum_{p,s} k[w,p] b[w,p,s] + U[w] >= sum_{t in d} w_t D[w,y,t]     (6, the day's total)
        sum_w b[w,p,s] <= W_d I[p,s,y]
        sum_p (W_d h_p I[p,s,y] + e_p sum_w b[w,p,s]) <= W_d C[s,y]
        sum_p (sum_t w_t pue[s,t] h_p I + min_t pue[s,t] e_p sum_w b)
            <= W_d G + sum_t w_t cf[s,t] S + W_d B
    and in both, CPU work at the same sites: sum_{w,p} kappa_w k[w,p] b <= W sum_c K_c J (25),
    and the CPU servers' draw in the IT and power rows (26): P^idle_c J[c,s] while installed,
    and min_c (P^act_c - P^idle_c) / K_c per busy core the busy parts need
    billed peaks, where the sites pay a demand charge, with the power row's imports (hours H:
    1 at a step, W_d over a day) and the sites' peak columns M[s,b] of the billing period b:
        imports <= H (sum_s M[s,b] + X),  X >= 0 priced in the theta row at the least of the
        sites' charges for b (pv_y x charge x months), one X per group and b in a theta row

k the scaled rates, D the scaled demand and pi the penalty per scaled unit and step
(`scaled_serve_data`), pv_y the period's discounted years, h_p the standing MW of an installed
part (idle and server overhead), e_p the least MW above idle per part's worth of uncapped
throughput (uncapped, or at any power cap of eq. 19, whichever draws less per token), G the
site's grid import cap (the power-balance row is left out where it is infinite), S its solar
and B its battery MW in service (discharge <= B).

Why it is valid: V_k is the energy bill net of subsidy, carbon and the unserved penalty, every
other term being non-negative; the bill is at least floor_k (negative prices at the import cap)
plus p+ times the MWh imported, which is at least E_d; the unserved penalty over the block is
at least that of the peak steps alone (interactive) and of each day's total (any); relaxing
equalities to >=, leaving out charging, the CPU servers' power from the hourly bill (c) and every
other workload class can only lower the least penalty (and a CPU server draws at least its idle MW,
a busy core at least the cheapest server's MW per core); the block's operation pays each
site's import above its billed peak once, at its charge (models/benders_sub.py,
`peak_excess_columns`), at least X's price; and interactive and deferrable work
each get the whole fleet here, so the sum of their two minima is at most the minimum of their
sum. The bound is on the plan itself, so it
holds beside the elastic subproblems' cuts (models/benders_sub.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.benders_bill import price_levels, worth_planes
from models.benders_inputs import Block
from models.capacity import (
    MW_PER_W,
    CapacityInputs,
    deadline_rows,
    scaled_serve_data,
    subsidy_choice,
)
from models.capacity_cpu import cpu_work_per_busy_part
from models.capacity_flex import capped_active_w, capped_throughput


@dataclass
class Rows:
    """Rows under construction: (row, column, value) triplets and each row's bounds."""

    r: list[int]
    c: list[int]
    v: list[float]
    lower: list[float]
    upper: list[float]

    def add(self, entries: list[tuple[int, float]], lower: float, upper: float) -> None:
        """One row: sum of value x column over `entries`, between `lower` and `upper`."""
        row = len(self.lower)
        for col, value in entries:
            self.r.append(row)
            self.c.append(int(col))
            self.v.append(float(value))
        self.lower.append(lower)
        self.upper.append(upper)


@dataclass(frozen=True)
class PeriodColumns:
    """The master's in-service columns of one period (-1: none) and what they hold (not the
    subproblems' Fleet of values: these are column indices)."""

    parts: np.ndarray  # (P, S) I[p, s]
    capacity: np.ndarray  # (S,) C[s]
    solar: np.ndarray  # (S,) S[s]
    battery_mw: np.ndarray  # (S,) B[s]
    battery_mwh: np.ndarray  # (S,) E[s]
    cpu: np.ndarray  # (C, S) J[c, s]
    grid_cap_mw: np.ndarray  # (S,) G[s]
    cores: np.ndarray  # (C,) K_c, cores of one CPU server
    peak: np.ndarray  # (S, B) the billed peak import M[s, b] of each billing period


def dynamic_mw_per_part(x: CapacityInputs) -> np.ndarray:
    """(P,) e_p: least MW above idle per part's worth of uncapped throughput, uncapped or at any
    power cap (a capped part at fraction tau draws (a_j - idle) for tau of the tokens)."""
    uncapped = (np.asarray(x.active_w, float) - np.asarray(x.idle_w, float)) * MW_PER_W
    tau = capped_throughput(x)
    if tau.shape[1] == 0:
        return np.maximum(uncapped, 0.0)
    extra = (capped_active_w(x) - np.asarray(x.idle_w, float)[:, None]) * MW_PER_W
    per_token = np.where(tau > 0, extra / np.where(tau > 0, tau, 1.0), np.inf)
    return np.maximum(np.minimum(uncapped, per_token.min(axis=1)), 0.0)


def standing_mw_per_part(x: CapacityInputs) -> np.ndarray:
    """(P,) h_p: MW an installed part draws busy or not (idle and server overhead, eq. 9)."""
    return (np.asarray(x.idle_w, float) + np.asarray(x.server_overhead_w, float)) * MW_PER_W


def busy_room_mw_per_part(x: CapacityInputs) -> np.ndarray:
    """(P,) the most MW above idle an installed part draws in any step: all busy, uncapped."""
    return np.maximum(np.asarray(x.active_w, float) - np.asarray(x.idle_w, float), 0.0) * MW_PER_W


def energy_price_floor(x: CapacityInputs) -> np.ndarray:
    """(S, Y, T) p+: the least a MWh imported can cost net of the site's subsidy at its most,
    carbon included, never below 0 (negative prices are the operating floor's, eq. 17)."""
    price = np.asarray(x.price_per_mwh, dtype=float)
    rebate = subsidy_choice(x)[:, :, None]  # a fraction of the bill, where the site chooses it
    net = np.where(price > 0, (1.0 - rebate) * price, price)
    carbon = (
        np.asarray(x.emission_t_per_mwh, float)[:, None, :]
        * np.asarray(x.carbon_price_per_t, float)[None, :, None]
    )
    return np.maximum(net + carbon, 0.0)


def cpu_server_draw(x: CapacityInputs) -> tuple[np.ndarray, float]:
    """(C,) each CPU server's idle MW, and the least MW above idle per busy core of any server
    type (eq. 26: (P^act - P^idle) / K over c); none without CPU servers."""
    if x.cpu is None:
        return np.zeros(0), 0.0
    idle = np.asarray(x.cpu.idle_w, dtype=float) * MW_PER_W
    above = (np.asarray(x.cpu.active_w, dtype=float) - np.asarray(x.cpu.idle_w)) * MW_PER_W
    per_core = above / np.asarray(x.cpu.cores_per_server, dtype=float)
    return idle, float(per_core.min(initial=np.inf)) if per_core.size else 0.0


def period_fleet(x: CapacityInputs, columns: dict[str, np.ndarray], year: int) -> PeriodColumns:
    """Period `year`'s master columns (`columns`: name -> (Y, ...) indices) and grid caps."""
    cores = np.zeros(0) if x.cpu is None else np.asarray(x.cpu.cores_per_server, dtype=float)
    return PeriodColumns(
        parts=columns["parts"][year],
        capacity=columns["it_capacity_mw"][year],
        solar=columns["solar_mw"][year],
        battery_mw=columns["battery_mw"][year],
        battery_mwh=columns["battery_mwh"][year],
        cpu=columns["cpu_servers"][year],
        grid_cap_mw=np.asarray(x.grid_import_cap_mw, dtype=float)[:, year],
        cores=cores,
        peak=columns["peak_import_mw"][year],
    )


def present(entries: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The entries whose column exists (index >= 0)."""
    return [(int(c), v) for c, v in entries if c >= 0]


def busiest_blocks(x: CapacityInputs, blocks: list[Block]) -> set[int]:
    """Per period, the block holding its step of highest total scaled demand (the one whose
    relaxation is written site by site)."""
    demand = scaled_serve_data(x)[1].sum(axis=0)  # (Y, T), in parts of each fastest part
    best: dict[int, tuple[float, int]] = {}
    for k, block in enumerate(blocks):
        peak = float(demand[block.year, list(block.steps)].max())
        if block.year not in best or peak > best[block.year][0]:
            best[block.year] = (peak, k)
    return {k for _, k in best.values()}


BILLS = 2  # bounds on a day's energy bill: the least price; hourly, the battery by its worth


@dataclass
class Group:
    """Sites whose fleet is pooled in one set of rows, and the busy columns placed on them."""

    sites: np.ndarray
    busy: dict[int, list[int]]  # part -> busy columns
    cpu_need: list[tuple[int, float]]  # (busy column, CPU cores it needs)


class ServingRelaxation:
    """Builds the relaxation's columns and rows for the master, block by block."""

    def __init__(self, x: CapacityInputs, first_column: int):
        self.x = x
        self.rate, self.demand, self.penalty = scaled_serve_data(x)
        self.pv = np.asarray(x.discount_fraction * x.duration_years, dtype=float)
        self.dynamic = dynamic_mw_per_part(x)
        self.standing = standing_mw_per_part(x)
        self.busy_room = busy_room_mw_per_part(x)
        n_w, n_p = self.rate.shape
        self.cpu_need = np.zeros((n_w, n_p)) if x.cpu is None else cpu_work_per_busy_part(x)
        self.cpu_idle_mw, self.cpu_mw_per_core = cpu_server_draw(x)
        deferrable = np.asarray(x.deferrable, dtype=bool)
        self.interactive = np.flatnonzero(~deferrable).tolist()
        self.deferrable = np.flatnonzero(deferrable).tolist()
        self.due = deadline_rows(x)
        self.price_floor = energy_price_floor(x)
        months = np.asarray(x.billing_period_months, dtype=float)
        charge = np.asarray(x.demand_charge_per_mw_month, dtype=float)
        self.excess_price = self.pv[None, :, None] * charge[:, :, None] * months[None, None, :]
        self.excess: dict[tuple[tuple[int, ...], int], int] = {}  # `billed_peak_rows`' columns
        self.next_column = first_column
        self.rows = Rows([], [], [], [], [])
        self.demand_rows: list[int] = []  # the serve rows, numbered among `rows`
        self.sums: dict[bytes, int] = {}  # `site_sum`'s columns

    def column(self) -> int:
        """A new non-negative column; returns its index."""
        self.next_column += 1
        return self.next_column - 1

    def add_block(
        self, block: Block, fleet: PeriodColumns, theta: int, floor: float, by_site: bool
    ) -> None:
        """theta >= floor + the block's least unserved penalty (module docstring), its fleet
        site by site (`by_site`) or pooled over every site (fewer rows, a weaker bound): once
        with interactive work at its peak steps and deferrable work over its days, each given
        the whole fleet; once with every workload sharing the fleet over each day."""
        n_s = fleet.parts.shape[1]
        groups = [[s] for s in range(n_s)] if by_site else [list(range(n_s))]
        steps = np.asarray(block.steps, dtype=int)
        days = [steps[self.x.day[steps] == d] for d in np.unique(self.x.day[steps])]
        peaks: list[tuple[int, float]] = []
        for t in self.peak_steps(block.year, steps):
            peaks += self.add_step(block.year, int(t), fleet, groups)
        for day in days:
            peaks += self.add_day(block.year, day, fleet, groups, self.deferrable)[0]
        peaks += self.take_excess(block.year)
        shared: list[list[tuple[int, float]]] = [[] for _ in range(BILLS)]
        for day in days:
            every = self.interactive + self.deferrable
            for i, bill in enumerate(self.add_day(block.year, day, fleet, groups, every, True)):
                shared[i] += bill
        excess = self.take_excess(block.year)
        shared = [bill + excess for bill in shared]
        for penalty in (peaks, *shared):
            self.rows.add([(theta, 1.0), *[(c, -v) for c, v in penalty]], floor, np.inf)

    def peak_steps(self, year: int, steps: np.ndarray) -> list[int]:
        """S_k: the step of highest demand of each interactive workload among `steps`."""
        peaks = {
            int(steps[np.argmax(self.demand[w, year, steps])])
            for w in self.interactive
            if np.max(self.demand[w, year, steps], initial=0.0) > 0
        }
        return sorted(peaks)

    def add_step(
        self, year: int, t: int, fleet: PeriodColumns, groups: list[list[int]]
    ) -> list[tuple[int, float]]:
        """The interactive rows at peak step t; the unserved columns' penalty coefficients."""
        when = (year, np.array([t]), np.ones(1))  # one step in MW: weight 1
        unserved, _ = self.serve(self.interactive, when, fleet, groups, False)
        return [(u, float(self.pv[year] * self.penalty[w, t])) for w, u in unserved.items()]

    def add_day(
        self,
        year: int,
        day: np.ndarray,
        fleet: PeriodColumns,
        groups: list[list[int]],
        workloads: list[int],
        energy: bool = False,
    ) -> list[list[tuple[int, float]]]:
        """The day-total rows of `workloads` on one day (steps `day`), sharing the fleet's
        part-hours; their penalty coefficients, and with `energy` one list per bound on the
        day's energy bill (`group_rows`), each with the penalty added. A workload with a
        deadline counts its day unweighted (eq. 6b), so it is kept only where the day's weights
        are equal, when the two totals agree; an interactive one's hourly rows (5) sum to the
        weighted total."""
        w_h = np.asarray(self.x.weight_h, dtype=float)[day]
        equal = bool(np.allclose(w_h, w_h[0]))
        work = [w for w in workloads if equal or not self.due[w]]
        if not work or w_h[0] <= 0:
            return [[] for _ in range(BILLS)]
        unserved, bills = self.serve(work, (year, day, w_h), fleet, groups, energy)
        # pi[w, t] = per unit x w_t x 3,600: the penalty per weighted unit is pi / w_t
        per_weighted = {w: float(self.penalty[w, day[0]] / w_h[0]) for w in work}
        pv = float(self.pv[year])
        out = [(u, pv * per_weighted[w]) for w, u in unserved.items()]
        if not energy:
            return [out]
        return [out + [(c, pv * v) for c, v in bill] for bill in bills]

    def serve(
        self,
        workloads: list[int],
        when: tuple[int, np.ndarray, np.ndarray],
        fleet: PeriodColumns,
        groups: list[list[int]],
        energy: bool,
    ) -> tuple[dict[int, int], list[list[tuple[int, float]]]]:
        """Serve rows of one peak step (`when` = (year, [t], [1]): MW, weight 1) or of one day
        ((year, its steps, their weights w_h): busy columns in weighted part-hours, even for a
        day of one step), then each group's busy, IT, power and CPU rows; returns each
        workload's unserved column and the bounds on the energy bill (undiscounted) of the
        steps' operation (`group_rows`)."""
        year, day, w_h = when
        placed = [Group(np.asarray(g), {}, []) for g in groups]
        unserved = {}
        for w in workloads:
            entries = []
            for p in np.flatnonzero(self.rate[w] > 0):
                for group in placed:
                    if not (fleet.parts[p, group.sites] >= 0).any():
                        continue
                    b = self.column()
                    entries.append((b, float(self.rate[w, p])))
                    group.busy.setdefault(int(p), []).append(b)
                    if self.cpu_need[w, p] > 0:
                        group.cpu_need.append((b, float(self.cpu_need[w, p])))
            unserved[w] = self.column()
            demand = float(w_h @ self.demand[w, year, day])
            self.demand_rows.append(len(self.rows.lower))
            self.rows.add([*entries, (unserved[w], 1.0)], demand, np.inf)
        bills: list[list[tuple[int, float]]] = [[] for _ in range(BILLS)]
        for group in placed:
            if group.busy:
                for i, bill in enumerate(self.group_rows(fleet, group, (year, day), w_h, energy)):
                    bills[i] += bill
        return unserved, bills

    def group_rows(
        self,
        fleet: PeriodColumns,
        group: Group,
        when: tuple[int, np.ndarray],
        w_h: np.ndarray,
        energy: bool,
    ) -> list[list[tuple[int, float]]]:
        """A group's busy rows (4), IT capacity row (9)-(10), power-balance row and CPU row (25);
        returns BILLS lower bounds on its energy bill on the steps. The least: p+ (the least net
        price of any of its sites and steps, `energy_price_floor`) x the MWh its IT load draws
        beyond solar; over a whole day of equal weights the battery only loses energy (its
        charge wraps, eq. 12), so it is left out; otherwise its MW are counted as supply. The
        hourly one: the busy load placed hour by hour at the sites' own prices
        (`busy_placement`), the standing load, solar and battery at each site's own hourly
        prices (`hourly_bills`). Without `energy` only the rows of the fleet's limits."""
        year, day = when
        hours = float(w_h.sum())
        sites = group.sites
        for p, cols in group.busy.items():
            own = [(int(c), -hours) for c in fleet.parts[p, sites]]
            self.rows.add(present([(b, 1.0) for b in cols] + own), -np.inf, 0.0)
        dynamic = [(b, float(self.dynamic[p])) for p, cols in group.busy.items() for b in cols]
        standing = [
            (int(fleet.parts[p, s]), float(self.standing[p]), s)
            for p in range(fleet.parts.shape[0])
            for s in sites
        ]
        # the CPU servers' draw (26): idle while installed, and at least the cheapest server's
        # MW per busy core for the cores the busy parts need (IT, power and least-price bill
        # rows; the hourly bill of row (c) leaves it out)
        standing += [(int(fleet.cpu[c, s]), float(self.cpu_idle_mw[c]), s)
                     for c in range(fleet.cores.size) for s in sites]  # fmt: skip
        cpu_busy = [(b, need * self.cpu_mw_per_core) for b, need in group.cpu_need]
        it_row = [(c, hours * h) for c, h, _ in standing] + dynamic + cpu_busy
        it_row += [(int(c), -hours) for c in fleet.capacity[sites]]
        self.rows.add(present(it_row), -np.inf, 0.0)
        if group.cpu_need and fleet.cores.size:
            supply = [(int(fleet.cpu[c, s]), -hours * float(fleet.cores[c]))
                      for c in range(fleet.cores.size) for s in sites]  # fmt: skip
            self.rows.add(present(group.cpu_need + supply), -np.inf, 0.0)
        pue = np.asarray(self.x.pue, dtype=float)[:, day]
        cf = np.asarray(self.x.solar_capacity_factor, dtype=float)[:, day]
        drawn = [(c, float(w_h @ pue[s]) * h) for c, h, s in standing]
        drawn += [(b, float(pue[sites].min()) * e) for b, e in dynamic + cpu_busy]
        drawn += [(int(fleet.solar[s]), -float(w_h @ cf[s])) for s in sites]
        battery = [(int(fleet.battery_mw[s]), -hours) for s in sites]
        wraps = day.size > 1 and bool(np.allclose(w_h, w_h[0]))
        supply = drawn if wraps else drawn + battery  # a wrapping day's battery gives no MWh
        self.import_rows(fleet, sites, when, hours, present(supply))
        if not energy:  # the bill's rows only where a theta row prices them
            return [[] for _ in range(BILLS)]
        prices = self.price_floor[sites][:, year][:, day]  # (sites, steps)
        price = float(prices.min())
        least = [(c, price * v) for c, v in present(supply)]
        busy = self.busy_placement(fleet, sites, prices * pue[sites], w_h, dynamic)
        hourly = self.hourly_bills(fleet, sites, prices, (pue, cf, w_h), wraps)
        return [least, *[busy + bill for bill in hourly]]

    def import_rows(
        self,
        fleet: PeriodColumns,
        sites: np.ndarray,
        when: tuple[int, np.ndarray],
        hours: float,
        supply: list[tuple[int, float]],
    ) -> None:
        """The imports the group's load needs (`supply`, MWh over the steps' `hours`) within
        the sites' grid caps (the power-balance row, left out where a cap is infinite) and
        within their billed peaks (`billed_peak_rows`)."""
        cap = fleet.grid_cap_mw[sites]
        if np.isfinite(cap).all():
            self.rows.add(supply, -np.inf, hours * float(cap.sum()))
        self.billed_peak_rows(fleet, sites, when, hours, supply)

    def billed_peak_rows(
        self,
        fleet: PeriodColumns,
        sites: np.ndarray,
        when: tuple[int, np.ndarray],
        hours: float,
        supply: list[tuple[int, float]],
    ) -> None:
        """The imports the group's load needs (`supply`, MWh over the steps' `hours`) within its
        sites' billed peaks M[s, b] of the steps' billing period b, or above them by X MW:
            supply <= hours (sum_s M[s, b] + X)
        X one column per group and billing period among the rows of one theta row, priced there
        at the least of the sites' demand charges for the period (`take_excess`). Valid: a
        block's operation pays each site's excess over its peak, max_t (imports - M)+, once at
        its charge (`peak_excess_columns`), and hours x that excess bounds the steps' imports
        above the peak, summed over sites, from above. Without it the master, which pays for M
        and sees no load needing it, buys no peak and every day pays its imports' charge. Left
        out (valid, weaker): steps that span two billing periods, and a group with a site that
        pays no charge or has no peak column (one pooled X cannot price it)."""
        year, day = when
        billing = np.unique(np.asarray(self.x.billing_period)[day])
        if billing.size != 1 or not supply:
            return
        b = int(billing[0])
        peaks = fleet.peak[sites, b]
        price = float(self.excess_price[sites, year, b].min())
        if (peaks < 0).any() or price <= 0:
            return
        key = (tuple(int(s) for s in sites), b)
        if key not in self.excess:
            self.excess[key] = self.column()
        over = [(int(m), -hours) for m in peaks] + [(self.excess[key], -hours)]
        self.rows.add(supply + over, -np.inf, 0.0)

    def take_excess(self, year: int) -> list[tuple[int, float]]:
        """The excess columns of `billed_peak_rows` since the last call, each at its group's
        least demand charge for the billing period (present value); starts a new set."""
        out = [
            (col, float(self.excess_price[list(sites), year, b].min()))
            for (sites, b), col in self.excess.items()
        ]
        self.excess = {}
        return out

    def site_sum(self, fleet: PeriodColumns, s: int, per_part: np.ndarray) -> int:
        """A column equal to sum_p per_part[p] I[p, s] for the period of `fleet`, made once and
        shared by every block of the period: the rows that use it carry one entry in place of
        one a part (fewer nonzeros, less fill in the interior point's factors)."""
        key = fleet.parts[:, s].tobytes() + np.asarray(per_part, float).tobytes()
        if key not in self.sums:
            col = self.sums[key] = self.column()
            terms = [(int(fleet.parts[q, s]), -float(v)) for q, v in enumerate(per_part)]
            self.rows.add(present([(col, 1.0), *terms]), 0.0, 0.0)
        return self.sums[key]

    def busy_placement(
        self,
        fleet: PeriodColumns,
        sites: np.ndarray,
        per_it_mwh: np.ndarray,
        w_h: np.ndarray,
        dynamic: list[tuple[int, float]],
    ) -> list[tuple[int, float]]:
        """z, the least bill of the busy load D = sum e_p busy_p (MWh above idle, `dynamic`)
        placed hour by hour over the sites, each site s drawing at most Q_s = sum_p (a_p -
        idle_p) I[p,s] MW above idle in any step, at c[s,t] = p[s,t] pue[s,t] an IT MWh:
            min sum c[s,t] y[s,t]  s.t.  sum y = D,  0 <= y[s,t] <= w_t Q_s
        whose LP dual is max over pi of pi D - sum_s Q_s G_s(pi), G_s(pi) = sum_t w_t (pi -
        c[s,t])+, concave in pi with its kinks at the c's: so z >= pi D - sum_s G_s(pi) Q_s
        at every distinct c (at most PRICE_LEVELS of them, evenly among the sorted values)
        bounds the bill from below, and equals the least bill when every level is kept."""
        busy_mwh = self.column()
        self.rows.add([(busy_mwh, 1.0), *[(b, -e) for b, e in dynamic]], 0.0, np.inf)
        room = [self.site_sum(fleet, int(s), self.busy_room) for s in sites]
        z = self.column()
        for pi, below in price_levels(per_it_mwh, w_h):
            terms = [(q, float(g)) for q, g in zip(room, below, strict=True)]
            self.rows.add([(z, 1.0), (busy_mwh, -pi), *terms], 0.0, np.inf)
        return [(z, 1.0)]

    def hourly_bills(
        self,
        fleet: PeriodColumns,
        sites: np.ndarray,
        prices: np.ndarray,
        profiles: tuple[np.ndarray, np.ndarray, np.ndarray],
        wraps: bool,
    ) -> list[list[tuple[int, float]]]:
        """The bill of the standing load, solar and battery at each site's own hourly net prices
        p[s,t] (`energy_price_floor`), the busy load's left to the caller, as (column, currency
        per unit). imports[s,t] >= pue[s,t] (h I + busy) + charge - cf[s,t] S - discharge, no
        export (eq. 2-3), so the bill sum_t w_t p[s,t] imports[s,t] is at least sum_t w_t
        p[s,t] (pue[s,t] h I - cf[s,t] S) less the battery's worth sum_t w_t p[s,t] (discharge
        - charge): on a day that wraps (equal weights, eq. 12) at most w R(E, B, C)
        (`battery_worth`); without the wrap at most sum_t w_t p B, the charge taken as free."""
        pue, cf, w_h = profiles
        hourly: list[tuple[int, float]] = []
        for i, s in enumerate(sites):
            p = prices[i]
            per_standing_mw = float(w_h @ (p * pue[s]))
            base = [(self.site_sum(fleet, int(s), self.standing), per_standing_mw)]
            base += self.solar_worth(fleet, int(s), w_h @ (p * cf[s]), w_h @ (p * pue[s]), p @ w_h)
            if wraps:
                hourly += [*base, *self.battery_worth(fleet, int(s), p, pue[s], float(w_h[0]))]
            else:  # no wrap: every MWh discharged may have been charged for free
                hourly += [*base, (int(fleet.battery_mw[s]), -float(w_h @ p))]
        return [present(hourly)]

    def battery_worth(
        self, fleet: PeriodColumns, s: int, p: np.ndarray, pue: np.ndarray, w: float
    ) -> list[tuple[int, float]]:
        """-w R, R a new column: the most a battery of E MWh and B MW at a site of C IT MW
        can earn on a wrapping day at prices p by moving imports, R(E, B, C) = max sum_t p_t
        (d_t - c_t) over soc_t = soc_t-1 + eta_c c_t - d_t / eta_d, soc <= E, c, d <= B and
        d_t - c_t <= pue_t C (no export: it displaces at most the site's draw). R is concave
        and of degree one, so each dual solution is a plane above it: R <= l E + m B + n C
        (`worth_planes`, at a few durations and sizes)."""
        cols = (int(fleet.battery_mwh[s]), int(fleet.battery_mw[s]), int(fleet.capacity[s]))
        if cols[0] < 0 and cols[1] < 0:
            return []
        eta = (
            float(self.x.charge_efficiency_fraction),
            float(self.x.discharge_efficiency_fraction),
        )
        planes = worth_planes(p.tobytes(), pue.tobytes(), eta)
        if not any(any(plane) for plane in planes):  # a flat price: nothing to move
            return []
        r = self.column()
        for plane in planes:
            entries = [(c, -k) for c, k in zip(cols, plane, strict=True)]
            self.rows.add(present([(r, 1.0), *entries]), -np.inf, 0.0)
        return [(r, -w)]

    def solar_worth(
        self, fleet: PeriodColumns, s: int, per_solar_mw: float, per_it_mw: float, per_mw: float
    ) -> list[tuple[int, float]]:
        """The solar term of `hourly_bills`, -u with u a new column: solar used displaces
        imports worth sum_t w_t p[s,t] used[s,t], used <= cf[s,t] S (eq. 5) and, with no export,
        used <= the site's draw, pue[s,t] IT + charge <= pue[s,t] C + B; so u <= `per_solar_mw`
        S and u <= `per_it_mw` C + `per_mw` B (without the second, solar past the load would
        lower the bound and the master would buy it to escape the row)."""
        solar, it, battery = (int(fleet.solar[s]), int(fleet.capacity[s]), int(fleet.battery_mw[s]))
        if solar < 0 or it < 0:
            return []
        u = self.column()
        self.rows.add([(u, 1.0), (solar, -float(per_solar_mw))], -np.inf, 0.0)
        self.rows.add(present([(u, 1.0), (it, -float(per_it_mw)), (battery, -float(per_mw))]),
                      -np.inf, 0.0)  # fmt: skip
        return [(u, -1.0)]

    def matrix(self) -> sp.csr_matrix:
        """The new rows over every column, the existing and the new."""
        n = len(self.rows.lower)
        return sp.csr_matrix((self.rows.v, (self.rows.r, self.rows.c)), shape=(n, self.next_column))
