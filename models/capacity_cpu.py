"""CPU work and the CPU servers that serve it: a sub-model of the capacity model (issue 15).

Agentic workloads need CPU time beside their accelerator tokens (tool calls, sandboxes,
retrieval). A workload w declares kappa_w CPU core-seconds per token served; the tokens a site
serves in a step then need that many busy cores at the same site, served by CPU servers the plan
buys (docs/capacity_model.md, eqs. 22-27). Axes as in models/capacity.py, plus

    C CPU server types (e.g. a one-socket Yitian 710 server).

The inputs are `models.capacity.CpuServerInputs` (`CapacityInputs.cpu`); this module holds the
numpy both backends and the checker share; the
formulations are `capacity_cpu_cvxpy.py` and `capacity_cpu_pyomo.py`, the checks
`capacity_cpu_check.py`. Host CPUs of accelerator servers are not here: their watts are part of
each accelerator's `server_overhead_w` and they feed their accelerators, not agents' tools.
"""

from __future__ import annotations

import numpy as np

from models.capacity import CapacityInputs, CpuServerInputs
from models.capacity_flex import capped_throughput
from models.common import InputProblem

EPS_YEARS = 1e-9


def cpu_inputs(x: CapacityInputs) -> CpuServerInputs:
    """The CPU sub-model of `x` (callers check `x.cpu is not None` first)."""
    assert x.cpu is not None
    return x.cpu


def cpu_alive_from_purchase(x: CapacityInputs) -> np.ndarray:
    """(C, Y', Y) 1 where a CPU server bought in y' is delivered and not retired in y (eq. 23):
    lead_c <= tau_y - tau_y' < lead_c + life_c."""
    c = cpu_inputs(x)
    age = x.year_start_years[None, :] - x.year_start_years[:, None]  # (Y', Y)
    lead = c.lead_time_years[:, None, None]
    life = c.lifetime_years[:, None, None]
    return ((age[None] >= lead - EPS_YEARS) & (age[None] < lead + life - EPS_YEARS)).astype(float)


def cpu_resale_fraction(x: CapacityInputs) -> np.ndarray:
    """(C, Y) value at the horizon end per unit paid, by purchase period (eq. 27): given, or the
    share of the lifetime left at H, clip((tau_y + lead + life - H) / life, 0, 1)."""
    c = cpu_inputs(x)
    if c.resale_value_fraction is not None:
        return np.asarray(c.resale_value_fraction, dtype=float)
    end = float(x.year_start_years[-1] + x.duration_years[-1])
    retire = x.year_start_years[None, :] + (c.lead_time_years + c.lifetime_years)[:, None]
    return np.clip((retire - end) / c.lifetime_years[:, None], 0.0, 1.0)


def cpu_work_per_busy_part(x: CapacityInputs) -> np.ndarray:
    """(W, P) busy CPU cores one busy part of p serving w needs at its site (eq. 25):
    kappa_w core-s per token x k[w,p] tokens/s."""
    c = cpu_inputs(x)
    return np.asarray(c.core_s_per_token, dtype=float)[:, None] * x.tokens_per_s_per_part


def cpu_work_per_capped_part(x: CapacityInputs) -> np.ndarray:
    """(W, P, J) busy CPU cores one part of p busy at power cap j serving w needs (eq. 25 with
    power caps, eq. 19): kappa_w x k[w,p] x tau[p,j], its tokens at that cap."""
    return cpu_work_per_busy_part(x)[:, :, None] * capped_throughput(x)[None, :, :]


def cpu_demand_scale(x: CapacityInputs) -> float:
    """What both backends multiply the rows of eq. (25) by: 1 / the most cores of a server, so a
    row counts CPU work in servers' worth of cores (coefficients of order 1, as the busy-part
    columns); the feasible set is unchanged."""
    return 1.0 / float(np.max(cpu_inputs(x).cores_per_server))


def cpu_resale_credit_per_server(x: CapacityInputs) -> np.ndarray:
    """(C, Y) present value at the horizon end of one server bought in y: delta_H rho price."""
    return x.horizon_end_discount_fraction * cpu_resale_fraction(x) * cpu_inputs(x).price_per_server


def cpu_shapes(x: CapacityInputs) -> dict[str, tuple[int, ...]]:
    """The shape every CPU array must have, for the input checks."""
    c = cpu_inputs(x)
    n_c = np.shape(c.cores_per_server)[0]
    n_w, _n_p, n_s, n_y, _n_t = x.shape
    return {
        "cores_per_server": (n_c,),
        "price_per_server": (n_c, n_y),
        "idle_w": (n_c,),
        "active_w": (n_c,),
        "lead_time_years": (n_c,),
        "lifetime_years": (n_c,),
        "allowed": (n_c, n_s, n_y),
        "core_s_per_token": (n_w,),
    }


def check_cpu_inputs(x: CapacityInputs) -> list[InputProblem]:
    """Every shape and range problem of the CPU sub-model."""
    if x.cpu is None:
        return []
    c, problems = x.cpu, []
    for name, shape in cpu_shapes(x).items():
        found = np.shape(getattr(c, name))
        if found != shape:
            problems.append(
                InputProblem(f"cpu.{name}", f"has shape {found}, not {shape}.", "resolve again.")
            )
    if problems:
        return problems
    for name in ("cores_per_server", "lifetime_years"):
        if np.any(~(np.asarray(getattr(c, name), dtype=float) > 0)):
            problems.append(InputProblem(f"cpu.{name}", "must be > 0.", "give a positive figure."))
    for name in ("price_per_server", "idle_w", "lead_time_years", "core_s_per_token"):
        values = np.asarray(getattr(c, name), dtype=float)
        if np.any(~np.isfinite(values)) or np.any(values < 0):
            problems.append(InputProblem(f"cpu.{name}", "must be finite and >= 0.", "check it."))
    if np.any(np.asarray(c.active_w) < np.asarray(c.idle_w)):
        problems.append(InputProblem("cpu.active_w", "is below idle_w.", "check both powers."))
    return problems
