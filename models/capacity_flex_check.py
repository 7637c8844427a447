"""The checker's share of power caps and grid options (docs/capacity_model.md, eqs. 19-21).

Recomputed from a solution's arrays and the inputs with plain loops, independently of
models/capacity_flex.py: the capped terms that (4), (5)-(6), (9) and (18) add, the curtailment
steps (ranked by the regional load, taken until they cover the option's hours), one option per
site, and the import within the chosen option's limit in every step, curtailment steps named.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.capacity import CapacityInputs, CapacitySolution

Check = Callable[..., None]


def _capped(sol: CapacitySolution) -> np.ndarray | None:
    return sol.capped_busy if sol.capped_busy.size else None


def capped_parts(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(19 in 4) (P, S, Y, T) parts busy at any cap."""
    v = _capped(sol)
    return np.zeros(sol.parts_busy.shape[1:]) if v is None else v.sum(axis=(0, 5))


def capped_tokens(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(19 in 5-6) (W, Y, T) tokens/s served by parts busy at a cap: sum k tau v."""
    v = _capped(sol)
    n_w, _n_p, _n_s, n_y, n_t = x.shape
    if v is None:
        return np.zeros((n_w, n_y, n_t))
    tau = np.asarray(x.capped_throughput_fraction, dtype=float)
    return np.einsum("wp,pj,wpsytj->wyt", x.tokens_per_s_per_part, tau, v)


def capped_dynamic_w(
    x: CapacityInputs, sol: CapacitySolution, counted: np.ndarray | None = None
) -> np.ndarray:
    """(19 in 9) (S, Y, T) W above idle of the capped parts (only `counted` ones when given)."""
    v = _capped(sol)
    _n_w, n_p, n_s, n_y, n_t = x.shape
    if v is None:
        return np.zeros((n_s, n_y, n_t))
    keep = np.ones(n_p) if counted is None else np.asarray(counted, dtype=float)
    extra = (np.asarray(x.capped_active_w, dtype=float) - x.idle_w[:, None]) * keep[:, None]
    return np.einsum("pj,wpsytj->syt", extra, v)


def event_steps(x: CapacityInputs, s: int, hours: float) -> list[int]:
    """(21) steps of site s the grid calls: highest regional load first (ties: earlier step),
    each taken while the hours already taken fall short of `hours`."""
    load = np.asarray(x.grid_load_mw, dtype=float)[s]
    ranked = sorted(range(load.size), key=lambda t: (-load[t], t))
    taken: list[int] = []
    covered = 0.0
    for t in ranked:
        if x.weight_h[t] <= 0:
            continue
        if covered >= hours - 1e-9:
            break
        taken.append(t)
        covered += float(x.weight_h[t])
    return taken


def check_power_caps(x: CapacityInputs, sol: CapacitySolution, require: Check) -> None:
    """(19) parts busy at a cap are >= 0, and only where caps are offered."""
    v = _capped(sol)
    if x.power_cap_fraction is None:
        require("(19) no capped parts without caps", -np.abs(v) if v is not None else 0.0)
        return
    require("(19) capped busy parts >= 0", v if v is not None else -1.0)


def check_grid_options(
    x: CapacityInputs, sol: CapacitySolution, require: Check, equal: Check
) -> None:
    """(20) one option per site (z binary in a MILP); (20-21) import within the chosen option's
    limit in every step, and within the curtailed import in every curtailment step."""
    if x.grid_option_offered is None:
        return
    offered = np.asarray(x.grid_option_offered, dtype=bool)
    cap_mw = np.asarray(x.grid_option_cap_mw, dtype=float)
    kept_mw = np.asarray(x.grid_option_curtailed_mw, dtype=float)
    hours_h = np.asarray(x.grid_option_curtailment_h, dtype=float)
    z = sol.grid_option_chosen
    require("(20) grid option chosen >= 0", z)
    require("(20) grid option only where offered", -np.abs(z[~offered]))
    scale = float(np.max(sol.grid_import_mw, initial=1.0))
    for s in np.flatnonzero(offered.any(axis=1)).tolist():
        equal(f"(20) one grid option at site {s}", z[s].sum(), 1.0)
        if not x.relax:
            equal(f"(20) grid option of site {s} is 0 or 1", z[s], np.round(z[s]))
        for y in range(x.shape[3]):
            limit = np.zeros(x.shape[4])
            for o in np.flatnonzero(offered[s]):
                cap = float(cap_mw[s, o, y])
                kept = min(cap, float(kept_mw[s, o]))
                row = np.full(x.shape[4], cap)
                hours = float(hours_h[s, o])
                if hours > 0:
                    row[event_steps(x, s, hours)] = kept
                limit += z[s, o] * row
            require(f"(20) import within the chosen option, site {s} year {y}",
                    limit - sol.grid_import_mw[s, y], scale)  # fmt: skip
        if x.relax:
            continue
        for o in np.flatnonzero(z[s] > 0.5):
            hours = float(hours_h[s, o])
            kept = float(kept_mw[s, o])
            steps = event_steps(x, s, hours) if hours > 0 else []
            require(f"(21) import within {kept:g} MW in every curtailment step, site {s}",
                    kept - sol.grid_import_mw[s][:, steps], scale)  # fmt: skip


def check_levers(x: CapacityInputs, sol: CapacitySolution, require: Check, equal: Check) -> None:
    """(19)-(21): capped parts and grid options."""
    check_power_caps(x, sol, require)
    check_grid_options(x, sol, require, equal)
