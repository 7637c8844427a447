"""Parts the plan can leave out before it builds a model: never held, or dominated.

A candidate part p is left out of the capacity model (its columns and rows never built) when

- **never held**: no site may buy it in any period and it has no installed base, so every
  purchase, installed and busy variable of p is zero in every feasible plan; or
- **dominated** by a kept part q: one q can stand in for one p in every feasible plan at no
  more cost and without breaking any row. Then some optimal plan holds no p, and the optimum
  of the reduced problem is the optimum of the whole one.

q dominates p when p has no installed base and, for every field the model reads:

- rules: q is allowed wherever and whenever p is (eq. 2); both domestic or both foreign (the
  domestic share, eq. 16, and the subsidy choice, eq. 18, see only this); q's supply is
  unlimited (eq. 12); where a TPP cap is finite q's TPP <= p's (eq. 13), and where the share
  counts compute and asks for domestic parts q's TPP >= p's (eq. 16);
- time: q is in service in exactly the periods p would be, for every purchase period (same lead
  time and lifetime window, eq. 3: a longer life would draw standing power for longer);
- servers: N_p is a multiple of N_q, so a p-server is N_p / N_q q-servers (eq. 1);
- money: in every period q's paid price <= p's (the budget, eq. 15) and its paid price less
  its discounted resale credit <= p's (eq. 17);
- serving: q serves every workload at least as fast (k[w,q] >= k[w,p]) and draws no more idle,
  busy or host watts; so the q standing in for a p busy u serves the same tokens busy
  u k_p / k_q <= u, and its power idle_q + (active_q - idle_q) u' never exceeds p's (eqs. 4-9);
- power caps (eq. 19): at every cap level q's capped watts <= p's and its capped rate
  k[w,q] tau[q,j] >= k[w,p] tau[p,j], by the same argument.

Pure numpy: `reduce_parts` returns the reduced inputs and which parts it kept, `restore_parts`
puts a reduced solution back on the whole parts axis (zeros for the parts left out), so every
caller (summary, checker, reports) sees the scenario's own axes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from models.capacity import (
    CapacityInputs,
    CapacitySolution,
    paid_per_part,
    parts_alive_from_purchase,
    resale_fraction,
)

# Where the parts axis is in each field of CapacityInputs (None: the field has no parts axis).
# `test_every_input_field_has_a_parts_axis_or_none` fails when CapacityInputs grows a field this
# table does not know.
INPUT_PARTS_AXIS: dict[str, int | None] = {
    "parts_per_server": 0, "price_per_part": 0, "price_uplift_fraction": 0, "idle_w": 0,
    "active_w": 0, "server_overhead_w": 0, "lead_time_years": 0, "lifetime_years": 0,
    "tpp_per_part": 0, "domestic": 0, "supply_cap_parts": 0, "resale_value_fraction": 0,
    "base_parts": 0, "tokens_per_s_per_part": 1, "allowed": 0, "capped_active_w": 0,
    "capped_throughput_fraction": 0,
    "year_start_years": None, "duration_years": None, "discount_fraction": None,
    "horizon_end_discount_fraction": None, "weight_h": None, "prev_step": None, "day": None,
    "billing_period": None, "billing_period_months": None, "base_start_years": None,
    "demand_tokens_per_s": None, "deferrable": None, "unserved_penalty_per_mtok": None,
    "deadline_h": None, "video": None, "unserved_penalty_per_video_minute": None,
    "dc_existing_mw": None, "dc_max_mw": None, "dc_build_lead_years": None,
    "dc_capex_per_mw": None, "pue": None, "grid_import_cap_mw": None, "price_per_mwh": None,
    "demand_charge_per_mw_month": None, "emission_t_per_mwh": None, "carbon_price_per_t": None,
    "solar_capacity_factor": None, "solar_capex_per_mw": None, "solar_max_mw": None,
    "battery_capex_per_mwh": None, "battery_capex_per_mw": None, "battery_max_mwh": None,
    "battery_calendar_cost_per_mwh_year": None,
    "charge_efficiency_fraction": None, "discharge_efficiency_fraction": None,
    "soc_min_fraction": None, "soc_max_fraction": None, "min_duration_h": None,
    "max_duration_h": None, "cap_group_sites": None, "tpp_cap": None, "budget": None,
    "domestic_share_min_fraction": None, "domestic_share_basis": None,
    "subsidy_choice_fraction": None, "tpp_cap_cumulative": None, "subsidy_big_m_parts": None,
    "cpu": None, "power_cap_fraction": None, "grid_option_offered": None,
    "grid_option_cap_mw": None, "grid_option_curtailed_mw": None,
    "grid_option_curtailment_h": None, "grid_load_mw": None, "relax": None,
}  # fmt: skip

# Where the parts axis is in each array of a CapacitySolution and of its duals.
SOLUTION_PARTS_AXIS: dict[str, int] = {
    "servers_bought": 0, "parts_bought": 0, "parts_installed": 0, "parts_busy": 1,
    "capped_busy": 1,
}  # fmt: skip
DUALS_PARTS_AXIS: dict[str, int] = {"supply_cap_per_part": 0}

TOLERANCE = 1e-9  # relative slack in the comparisons (figures are read from files)


@dataclass(frozen=True)
class PartsKept:
    """Which parts the reduced problem holds (`kept`, ascending) and why the others are out."""

    n_parts: int
    kept: np.ndarray  # (P',) int, indices into the whole parts axis
    reasons: dict[int, int | None]  # part left out -> the part dominating it (None: never held)

    @property
    def reduced(self) -> bool:
        """True when at least one part was left out."""
        return len(self.kept) < self.n_parts


def never_held(x: CapacityInputs) -> np.ndarray:
    """(P,) bool: no site may buy the part in any period and no site holds it already."""
    allowed = np.asarray(x.allowed, dtype=bool).any(axis=(1, 2))
    based = np.asarray(x.base_parts, dtype=float).sum(axis=(1, 2)) > 0
    return ~allowed & ~based


def _no_more(a: np.ndarray, b: np.ndarray) -> bool:
    """a <= b everywhere, with a relative tolerance (inf <= inf holds)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a <= b + TOLERANCE * np.abs(b)))


def net_cost_per_part(x: CapacityInputs, paid: np.ndarray) -> np.ndarray:
    """(P, Y) present cost of one part bought in y: paid x (delta_y - resale x delta_H)."""
    credit = resale_fraction(x) * x.horizon_end_discount_fraction
    return paid * (np.asarray(x.discount_fraction)[None, :] - credit)


def rules_allow_standing_in(x: CapacityInputs, q: int, p: int) -> bool:
    """Allowed wherever p is, same side of the domestic line, unlimited supply, TPP no worse
    under the caps and the compute share (eqs. 2, 12, 13, 16, 18)."""
    allowed = np.asarray(x.allowed, dtype=bool)
    domestic = np.asarray(x.domestic, dtype=bool)
    if np.any(allowed[p] & ~allowed[q]) or domestic[p] != domestic[q]:
        return False
    if np.any(np.isfinite(np.asarray(x.supply_cap_parts, dtype=float)[q])):
        return False
    tpp = np.asarray(x.tpp_per_part, dtype=float)
    if np.any(np.isfinite(np.asarray(x.tpp_cap, dtype=float))) and tpp[q] > tpp[p]:
        return False
    counts_compute = x.domestic_share_basis == "compute" and np.any(
        np.asarray(x.domestic_share_min_fraction) > 0
    )
    return not (counts_compute and domestic[p] and tpp[q] < tpp[p])


def serves_no_worse(x: CapacityInputs, q: int, p: int) -> bool:
    """At least the rate on every workload for no more watts, at full power and at every cap
    (eqs. 4-9, 19)."""
    rate = np.asarray(x.tokens_per_s_per_part, dtype=float)
    if not _no_more(rate[:, p], rate[:, q]):
        return False
    for watts in (x.idle_w, x.active_w, x.server_overhead_w):
        if not _no_more(np.asarray(watts)[q], np.asarray(watts)[p]):
            return False
    if x.capped_active_w is None or x.capped_throughput_fraction is None:
        return True
    capped_w = np.asarray(x.capped_active_w, dtype=float)
    tau = np.asarray(x.capped_throughput_fraction, dtype=float)
    return _no_more(capped_w[q], capped_w[p]) and _no_more(
        rate[:, p, None] * tau[p][None, :], rate[:, q, None] * tau[q][None, :]
    )


@dataclass(frozen=True)
class PartFigures:
    """What the dominance test compares, computed once per plan: (P, Y', Y) in service, (P, Y)
    paid per part, (P, Y) paid less the discounted resale credit."""

    alive: np.ndarray
    paid: np.ndarray
    net: np.ndarray

    @classmethod
    def of(cls, x: CapacityInputs) -> PartFigures:
        """The figures of every part of `x`."""
        paid = paid_per_part(x)
        return cls(parts_alive_from_purchase(x), paid, net_cost_per_part(x, paid))


def dominates(x: CapacityInputs, q: int, p: int, figures: PartFigures) -> bool:
    """True when one part q can stand in for one part p in every plan at no more cost (the
    module docstring lists the conditions and the equations each protects)."""
    alive, paid, net = figures.alive, figures.paid, figures.net
    if np.asarray(x.base_parts, dtype=float)[p].sum() > 0:
        return False
    per_server = np.asarray(x.parts_per_server, dtype=int)
    if per_server[p] % per_server[q] != 0 or not np.array_equal(alive[q], alive[p]):
        return False
    if not (_no_more(paid[q], paid[p]) and _no_more(net[q], net[p])):
        return False
    return rules_allow_standing_in(x, q, p) and serves_no_worse(x, q, p)


def parts_to_keep(x: CapacityInputs) -> PartsKept:
    """Leave out never-held parts, then every part a kept part dominates. Parts are visited in
    file order; of two identical parts the first is kept."""
    n_p = int(np.shape(x.tokens_per_s_per_part)[1])
    reasons: dict[int, int | None] = {int(p): None for p in np.flatnonzero(never_held(x))}
    figures = PartFigures.of(x)
    candidates = [p for p in range(n_p) if p not in reasons]
    for p in candidates:
        for q in candidates:
            if q != p and q not in reasons and dominates(x, q, p, figures):
                if dominates(x, p, q, figures) and q > p:
                    continue  # identical: keep the first, drop the later one when it comes
                reasons[p] = q
                break
    kept = np.array([p for p in range(n_p) if p not in reasons], dtype=int)
    return PartsKept(n_parts=n_p, kept=kept, reasons=reasons)


def reduce_parts(x: CapacityInputs, keep: PartsKept) -> CapacityInputs:
    """The inputs with only the kept parts on the parts axis. The big-M of eq. (18), when not
    given, is then computed from the kept parts: a bound on the reduced problem's optimal plans,
    which are the whole problem's."""
    if not keep.reduced:
        return x
    changes: dict[str, Any] = {}
    for f in fields(x):
        axis = INPUT_PARTS_AXIS[f.name]
        value = getattr(x, f.name)
        if axis is not None and value is not None:
            changes[f.name] = np.take(np.asarray(value), keep.kept, axis=axis)
    return replace(x, **changes)


def _widen(a: np.ndarray, keep: PartsKept, axis: int) -> np.ndarray:
    """An array on the kept parts put back on the whole parts axis, zeros elsewhere."""
    if a.size == 0 and a.ndim == 1:
        return a  # an empty family (no capping) stays empty
    shape = list(a.shape)
    shape[axis] = keep.n_parts
    whole = np.zeros(shape, dtype=a.dtype)
    index: list[slice | np.ndarray] = [slice(None)] * a.ndim
    index[axis] = keep.kept
    whole[tuple(index)] = a
    return whole


def restore_parts(sol: CapacitySolution, keep: PartsKept) -> CapacitySolution:
    """A solution of the reduced inputs on the whole parts axis: the parts left out are bought,
    installed and busy zero times, and one more of them available to buy saves nothing."""
    if not keep.reduced:
        return sol
    if sol.servers_bought.ndim != 3:  # no plan: nothing to put back
        return replace(sol, parts_left_out=dict(keep.reasons))
    changes: dict[str, Any] = {
        name: _widen(getattr(sol, name), keep, axis) for name, axis in SOLUTION_PARTS_AXIS.items()
    }
    duals = sol.duals
    if duals is not None:
        widened = {n: _widen(getattr(duals, n), keep, a) for n, a in DUALS_PARTS_AXIS.items()}
        duals = replace(duals, **widened)
    return replace(sol, **changes, duals=duals, parts_left_out=dict(keep.reasons))
