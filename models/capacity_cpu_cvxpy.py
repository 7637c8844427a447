"""CPU work and CPU servers in cvxpy (eqs. 22-27 of docs/capacity_model.md), vectorised.

The twin of capacity_cpu_pyomo.py, family by family. `add_cpu_work` builds every family and
returns what the capacity model collects: the constraints, the CPU servers' IT power (added to
eq. 9 by the caller), their capex by year (in eq. 15) and their resale credit (in eq. 17).
Decisions are flat vectors over (c, s, y) in C order; busy servers one (C*S*Y, T) matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from models.capacity import MW_PER_W, CapacityInputs
from models.capacity_cpu import (
    cpu_alive_from_purchase,
    cpu_demand_scale,
    cpu_inputs,
    cpu_resale_credit_per_server,
    cpu_work_per_busy_part,
    cpu_work_per_capped_part,
)
from models.capacity_flex import cap_count


def _matrix(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Sparse (rows x cols) matrix with the given entries (duplicates add up, zeros dropped)."""
    matrix = sp.csr_matrix((values.ravel(), (rows.ravel(), cols.ravel())), shape=shape)
    matrix.eliminate_zeros()
    return matrix


@dataclass(frozen=True)
class CpuVariables:
    """CPU server decisions (eq. 0: non-negative)."""

    servers: cp.Variable  # (C*S*Y,) m^c, servers bought; integer unless relaxed (eq. 22)
    busy: cp.Variable  # (C*S*Y, T) z, servers' worth of cores busy


@dataclass(frozen=True)
class CpuWork:
    """What the capacity model collects from the CPU families."""

    variables: CpuVariables
    installed: cp.Expression  # (C*S*Y,) J, eq. 23
    power_mw: cp.Expression  # (S*Y, T) P^cpu, eq. 26
    capex: cp.Expression  # (Y,) undiscounted, eq. 27
    resale_credit: cp.Expression  # present value, eq. 27
    constraints: list[cp.Constraint]


def cpu_flat_index(x: CapacityInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """c, s, y of each flat (c, s, y) entry."""
    n_c = cpu_inputs(x).cores_per_server.shape[0]
    n_s, n_y = x.shape[2], x.shape[3]
    c, s, y = np.unravel_index(np.arange(n_c * n_s * n_y), (n_c, n_s, n_y))
    return c, s, y


def make_cpu_variables(x: CapacityInputs) -> CpuVariables:
    """(22) m^c >= 0, integer unless `x.relax`; z >= 0."""
    n = cpu_flat_index(x)[0].size
    return CpuVariables(
        servers=cp.Variable(n, nonneg=True, integer=not x.relax, name="cpu_servers"),
        busy=cp.Variable((n, x.shape[4]), nonneg=True, name="cpu_busy"),
    )


def cpu_servers_installed(v: CpuVariables, x: CapacityInputs) -> cp.Expression:
    """(23) J[c,s,y] = sum_y' alive[c,y',y] m^c[c,s,y'], servers."""
    c, s, y = cpu_flat_index(x)
    alive = cpu_alive_from_purchase(x)  # (C, Y', Y)
    n_y = x.shape[3]
    row, col = np.meshgrid(np.arange(c.size), np.arange(n_y), indexing="ij")
    bought = (c * x.shape[2] + s)[:, None] * n_y + col  # flat (c, s, y') of each (row, y')
    link = alive[c[:, None], col, y[:, None]]
    return _matrix(row, bought, link, (c.size, c.size)) @ v.servers


def add_cpu_allowed(v: CpuVariables, x: CapacityInputs) -> list[cp.Constraint]:
    """(22) m^c[c,s,y] = 0 where the site may not buy the server in y."""
    banned = np.flatnonzero(~np.asarray(cpu_inputs(x).allowed, dtype=bool).ravel())
    return [v.servers[banned] == 0] if banned.size else []


def add_cpu_busy_limit(v: CpuVariables, installed: cp.Expression, x: CapacityInputs) -> list:
    """(24) z[c,s,y,t] <= J[c,s,y], servers."""
    ceiling = cp.reshape(installed, (installed.shape[0], 1), order="C") @ np.ones((1, x.shape[4]))
    return [v.busy <= ceiling]


def add_cpu_demand(
    v: CpuVariables, parts_busy: cp.Variable, capped_busy: cp.Variable | None, x: CapacityInputs
) -> list:
    """(25) the CPU work of the tokens served at each site and step, in busy cores:
    sum_c K_c z[c,s,y,t] >= sum_{w,p} kappa_w k[w,p] u[w,p,s,y,t], written x `cpu_demand_scale`."""
    n_w, n_p, n_s, n_y, _n_t = x.shape
    c, s, y = cpu_flat_index(x)
    scale = cpu_demand_scale(x)
    cores = _matrix(s * n_y + y, np.arange(c.size), cpu_inputs(x).cores_per_server[c] * scale,
                    (n_s * n_y, c.size))  # fmt: skip
    w4, p4, s4, y4 = np.unravel_index(np.arange(n_w * n_p * n_s * n_y), (n_w, n_p, n_s, n_y))
    need = _matrix(s4 * n_y + y4, np.arange(w4.size), cpu_work_per_busy_part(x)[w4, p4] * scale,
                   (n_s * n_y, w4.size))  # fmt: skip
    served = need @ parts_busy
    if capped_busy is not None:  # parts busy at a power cap serve tau of their tokens (eq. 19)
        shape5 = (n_w, n_p, n_s, n_y, cap_count(x))  # rows of the capped-busy matrix
        w5, p5, s5, y5, j5 = np.unravel_index(np.arange(capped_busy.shape[0]), shape5)
        capped = _matrix(s5 * n_y + y5, np.arange(w5.size),
                         cpu_work_per_capped_part(x)[w5, p5, j5] * scale,
                         (n_s * n_y, w5.size))  # fmt: skip
        served = served + capped @ capped_busy
    return [cores @ v.busy >= served]


def cpu_power_mw(v: CpuVariables, installed: cp.Expression, x: CapacityInputs) -> cp.Expression:
    """(26) P^cpu[s,y,t] = 1e-6 sum_c (P^idle_c J[c,s,y] + (P^act_c - P^idle_c) z[c,s,y,t]), MW."""
    cpu = cpu_inputs(x)
    n_s, n_y, n_t = x.shape[2], x.shape[3], x.shape[4]
    c, s, y = cpu_flat_index(x)
    rows = s * n_y + y
    idle = _matrix(rows, np.arange(c.size), cpu.idle_w[c] * MW_PER_W, (n_s * n_y, c.size))
    dynamic_w = (cpu.active_w - cpu.idle_w)[c] * MW_PER_W
    dynamic = _matrix(rows, np.arange(c.size), dynamic_w, (n_s * n_y, c.size))
    standing = cp.reshape(idle @ installed, (n_s * n_y, 1), order="C") @ np.ones((1, n_t))
    return standing + dynamic @ v.busy


def cpu_capex_by_year(v: CpuVariables, x: CapacityInputs) -> cp.Expression:
    """(27) K^cpu_y = sum_{c,s} price[c,y] m^c[c,s,y], undiscounted."""
    c, _s, y = cpu_flat_index(x)
    price = cpu_inputs(x).price_per_server[c, y]
    return _matrix(y, np.arange(c.size), price, (x.shape[3], c.size)) @ v.servers


def cpu_resale_credit(v: CpuVariables, x: CapacityInputs) -> cp.Expression:
    """(27) sum_{c,s,y} delta_H rho[c,y] price[c,y] m^c[c,s,y], present value."""
    c, _s, y = cpu_flat_index(x)
    return cpu_resale_credit_per_server(x)[c, y] @ v.servers


def add_cpu_work(
    parts_busy: cp.Variable, capped_busy: cp.Variable | None, x: CapacityInputs
) -> CpuWork | None:
    """Eqs. (22)-(27) on the capacity model's busy parts (uncapped, and at a power cap when
    capping is on); None when `x.cpu` is None."""
    if x.cpu is None:
        return None
    v = make_cpu_variables(x)
    # (23) installed servers as a column of their own, defined by one equality row (as the
    # parts installed, models/capacity_cvxpy.py `in_service_columns`): sparser hourly rows
    defined = cpu_servers_installed(v, x)
    installed = cp.Variable(defined.shape, nonneg=True, name="cpu_servers_installed")
    return CpuWork(
        variables=v,
        installed=installed,
        power_mw=cpu_power_mw(v, installed, x),
        capex=cpu_capex_by_year(v, x),
        resale_credit=cpu_resale_credit(v, x),
        constraints=[
            installed == defined,
            *add_cpu_allowed(v, x),
            *add_cpu_busy_limit(v, installed, x),
            *add_cpu_demand(v, parts_busy, capped_busy, x),
        ],
    )


def cpu_arrays(work: CpuWork | None, x: CapacityInputs) -> dict[str, np.ndarray]:
    """The solution's CPU arrays on (C, S, Y[, T]) and (S, Y, T); empty without CPU work."""
    if work is None:
        return {}
    n_c = cpu_inputs(x).cores_per_server.shape[0]
    csy = (n_c, x.shape[2], x.shape[3])

    def arr(expr: cp.Expression, shape: tuple[int, ...]) -> np.ndarray:
        return np.asarray(expr.value, dtype=float).reshape(shape) + 0.0

    return {
        "cpu_servers_bought": arr(work.variables.servers, csy),
        "cpu_servers_installed": arr(work.installed, csy),
        "cpu_servers_busy": arr(work.variables.busy, (*csy, x.shape[4])),
        "cpu_power_mw": arr(work.power_mw, (x.shape[2], x.shape[3], x.shape[4])),
    }
