"""The decomposed plan's arrays (models/benders.py): first-stage quantities from the master's
columns at the best point, each block's operation placed on the plan's (Y, T) axes, and the
costs summed, demand charges at the larger of the master's peaks and the realised imports."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from models.benders_master import Master
from models.benders_separation import Runner
from models.capacity import CapacityInputs, CapacitySolution
from models.common import SolveStats, SolveStatus

# --- the plan's arrays from the master and the subproblems ----------------------------------------

# (field, Y axis, T axis) of the solution arrays the subproblems hold
OPERATION_AXES = (
    ("parts_busy", 3, 4),
    ("unserved_tokens_per_s", 1, 2),
    ("it_power_mw", 1, 2),
    ("grid_import_mw", 1, 2),
    ("solar_used_mw", 1, 2),
    ("charge_mw", 1, 2),
    ("discharge_mw", 1, 2),
    ("soc_mwh", 1, 2),
    ("subsidised_import_mw", 1, 2),
    ("cpu_servers_busy", 2, 3),
    ("cpu_power_mw", 1, 2),
    ("capped_busy", 3, 4),
)
OPERATING_COSTS = ("energy", "carbon", "unserved_penalty", "power_subsidy_credit")


def assemble(
    x: CapacityInputs, master: Master, runner: Runner, point: np.ndarray, wall_s: float
) -> CapacitySolution:
    """The plan at the best master point: first-stage arrays from the master's columns, operation
    from every subproblem placed on the plan's (Y, T) axes, costs summed."""
    fleets = [master.fleet(point, b.year) for b in master.blocks]
    parts = runner.operations(fleets)
    first = master.first_stage_solution(point)
    assert first.costs is not None, "the master's solution always carries its costs"
    arrays: dict[str, np.ndarray] = {}
    n_y, n_t = x.shape[3], x.shape[4]
    for name, y_axis, t_axis in OPERATION_AXES:
        sample = getattr(parts[0], name)
        if sample.size == 0:
            arrays[name] = sample
            continue
        shape = list(sample.shape)
        shape[y_axis], shape[t_axis] = n_y, n_t
        full = np.zeros(shape)
        for block, sub in zip(master.blocks, parts, strict=True):
            index: list[Any] = [slice(None)] * len(shape)
            index[y_axis] = slice(block.year, block.year + 1)
            index[t_axis] = np.asarray(block.steps)
            full[tuple(index)] = getattr(sub, name)
        arrays[name] = full
    peaks = plan_peaks(x, first.peak_import_mw, arrays["grid_import_mw"])
    operating = {k: sum(float(getattr(sub.costs, k)) for sub in parts) for k in OPERATING_COSTS}
    operating["demand_charges"] = demand_charges(x, peaks)
    costs = replace(first.costs, **operating)  # type: ignore[arg-type]  # fields by name: floats
    credit = operating.pop("power_subsidy_credit")
    objective = (
        master.first_stage_cost(point)
        - first.costs.demand_charges
        + sum(operating.values())
        - credit
    )
    iterations = sum(sub.stats.iterations or 0 for sub in parts)
    stats = SolveStats(0.0, wall_s, iterations, None)
    return replace(
        first,
        **arrays,  # type: ignore[arg-type]  # fields by name: mypy cannot pair them with types
        peak_import_mw=peaks,
        costs=costs,
        objective=objective,
        stats=stats,
        status=SolveStatus.optimal,
    )


def plan_peaks(x: CapacityInputs, master_peak: np.ndarray, imports: np.ndarray) -> np.ndarray:
    """(S, Y, B) each billing period's peak: the master's, or the highest import of the period
    where a subproblem bought a higher one (at its demand charge)."""
    peaks = np.array(master_peak, dtype=float)
    for b in range(peaks.shape[2]):
        steps = np.flatnonzero(x.billing_period == b)
        if steps.size:
            peaks[:, :, b] = np.maximum(peaks[:, :, b], imports[:, :, steps].max(axis=2))
    return peaks


def demand_charges(x: CapacityInputs, peaks: np.ndarray) -> float:
    """Present value of the demand charges on `peaks` (eq. 17)."""
    pv_opex = x.discount_fraction * x.duration_years  # (Y,)
    per_mw = pv_opex[None, :, None] * x.demand_charge_per_mw_month[:, :, None]
    return float(np.sum(per_mw * x.billing_period_months[None, None, :] * peaks))
