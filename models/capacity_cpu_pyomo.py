"""CPU work and CPU servers in Pyomo (eqs. 22-27 of docs/capacity_model.md).

The twin of capacity_cpu_cvxpy.py, family by family, on indexed components over (c, s, y, t).
`add_cpu_work` builds them on the capacity model `m` (after `add_it_power`) and adds the CPU
servers' power to `m.it_power_mw` (eq. 9 + 23); `cpu_capex_by_year` and `cpu_resale_credit` give
the capacity model its cost terms; `cpu_arrays` reads the solution back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.capacity import MW_PER_W, CapacityInputs
from models.capacity_cpu import (
    cpu_alive_from_purchase,
    cpu_demand_scale,
    cpu_inputs,
    cpu_resale_credit_per_server,
    cpu_work_per_busy_part,
    cpu_work_per_capped_part,
)


def make_cpu_variables(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(22) m^c >= 0, integer unless relaxed; z >= 0."""
    m.CS = pyo.RangeSet(0, cpu_inputs(x).cores_per_server.shape[0] - 1)
    domain = pyo.NonNegativeReals if x.relax else pyo.NonNegativeIntegers
    m.cpu_servers = pyo.Var(m.CS, m.S, m.Y, domain=domain)
    m.cpu_busy = pyo.Var(m.CS, m.S, m.Y, m.T, domain=pyo.NonNegativeReals)


def add_cpu_allowed(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(22) m^c[c,s,y] = 0 where the site may not buy the server in y (as upper bounds)."""
    for c, s, y in zip(*np.nonzero(~np.asarray(cpu_inputs(x).allowed, dtype=bool)), strict=True):
        m.cpu_servers[int(c), int(s), int(y)].setub(0)


def cpu_servers_installed(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(23) J[c,s,y] = sum_y' alive[c,y',y] m^c[c,s,y'], servers."""
    alive = cpu_alive_from_purchase(x)

    def installed(_: pyo.ConcreteModel, c: int, s: int, y: int) -> Any:
        return pyo.quicksum(m.cpu_servers[c, s, b] for b in m.Y if alive[c, b, y])

    m.cpu_installed = pyo.Var(m.CS, m.S, m.Y, domain=pyo.NonNegativeReals)  # a column, as I
    m.cpu_installed_def = pyo.Constraint(
        m.CS, m.S, m.Y, rule=lambda _, c, s, y: m.cpu_installed[c, s, y] == installed(m, c, s, y)
    )


def add_cpu_busy_limit(m: pyo.ConcreteModel) -> None:
    """(24) z[c,s,y,t] <= J[c,s,y], servers."""
    m.cpu_busy_limit = pyo.Constraint(
        m.CS, m.S, m.Y, m.T,
        rule=lambda _, c, s, y, t: m.cpu_busy[c, s, y, t] <= m.cpu_installed[c, s, y],
    )  # fmt: skip


def add_cpu_demand(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(25) sum_c K_c z[c,s,y,t] >= sum_{w,p} kappa_w k[w,p] u[w,p,s,y,t], busy cores, written
    x `cpu_demand_scale`."""
    scale = cpu_demand_scale(x)
    cores = (cpu_inputs(x).cores_per_server * scale).tolist()
    need = (cpu_work_per_busy_part(x) * scale).tolist()
    capped = (cpu_work_per_capped_part(x) * scale).tolist()  # (W, P, J): at a power cap

    def rule(_: pyo.ConcreteModel, s: int, y: int, t: int) -> Any:
        served = [need[w][p] * m.busy[w, p, s, y, t] for w in m.W for p in m.P if need[w][p] > 0]
        served += [capped[w][p][j] * m.capped_busy[w, p, s, y, t, j]
                   for w in m.W for p in m.P if need[w][p] > 0 for j in m.J]  # fmt: skip
        supply = pyo.quicksum(cores[c] * m.cpu_busy[c, s, y, t] for c in m.CS)
        return supply >= pyo.quicksum(served) if served else pyo.Constraint.Skip

    m.cpu_demand = pyo.Constraint(m.S, m.Y, m.T, rule=rule)


def cpu_power_mw(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """(26) P^cpu[s,y,t] = 1e-6 sum_c (P^idle_c J + (P^act_c - P^idle_c) z), MW, added to the
    IT power of eq. (9)."""
    cpu = cpu_inputs(x)
    idle = (cpu.idle_w * MW_PER_W).tolist()
    dynamic = ((cpu.active_w - cpu.idle_w) * MW_PER_W).tolist()

    def rule(_: pyo.ConcreteModel, s: int, y: int, t: int) -> Any:
        return pyo.quicksum(
            idle[c] * m.cpu_installed[c, s, y] + dynamic[c] * m.cpu_busy[c, s, y, t] for c in m.CS
        )

    m.cpu_power_mw = pyo.Expression(m.S, m.Y, m.T, rule=rule)
    for index in m.it_power_mw:
        m.it_power_mw[index].set_value(m.it_power_mw[index].expr + m.cpu_power_mw[index])


def add_cpu_work(m: pyo.ConcreteModel, x: CapacityInputs) -> None:
    """Eqs. (22)-(26) on the capacity model; nothing without `x.cpu`."""
    if x.cpu is None:
        return
    make_cpu_variables(m, x)
    add_cpu_allowed(m, x)
    cpu_servers_installed(m, x)
    add_cpu_busy_limit(m)
    add_cpu_demand(m, x)
    cpu_power_mw(m, x)


def cpu_power(m: pyo.ConcreteModel, s: int, y: int, t: int) -> Any:
    """(26) the CPU servers' power at (s, y, t), 0 without CPU work."""
    return m.cpu_power_mw[s, y, t] if hasattr(m, "cpu_power_mw") else 0.0


def cpu_capex_by_year(m: pyo.ConcreteModel, x: CapacityInputs) -> dict[str, Any]:
    """(27) {"cpu_servers_capex": y -> sum_{c,s} price[c,y] m^c[c,s,y]}, undiscounted."""
    if x.cpu is None:
        return {}
    price = x.cpu.price_per_server
    return {
        "cpu_servers_capex": lambda y: pyo.quicksum(
            float(price[c, y]) * m.cpu_servers[c, s, y] for c in m.CS for s in m.S
        )
    }


def cpu_resale_credit(m: pyo.ConcreteModel, x: CapacityInputs) -> dict[str, Any]:
    """(27) {"cpu_resale_credit": sum delta_H rho[c,y] price[c,y] m^c[c,s,y]}, present value."""
    if x.cpu is None:
        return {}
    credit = cpu_resale_credit_per_server(x)
    return {
        "cpu_resale_credit": pyo.quicksum(
            float(credit[c, y]) * m.cpu_servers[c, s, y] for c in m.CS for s in m.S for y in m.Y
        )
    }


def cpu_arrays(m: pyo.ConcreteModel, x: CapacityInputs) -> dict[str, np.ndarray]:
    """The solution's CPU arrays on (C, S, Y[, T]) and (S, Y, T); empty without CPU work."""
    if x.cpu is None:
        return {}

    def values(component: Any, shape: tuple[int, ...]) -> np.ndarray:
        flat = [pyo.value(v, exception=False) or 0.0 for v in component.values()]
        return np.array(flat, dtype=float).reshape(shape) + 0.0

    csy = (len(m.CS), len(m.S), len(m.Y))
    return {
        "cpu_servers_bought": values(m.cpu_servers, csy),
        "cpu_servers_installed": values(m.cpu_installed, csy),
        "cpu_servers_busy": values(m.cpu_busy, (*csy, len(m.T))),
        "cpu_power_mw": values(m.cpu_power_mw, (len(m.S), len(m.Y), len(m.T))),
    }
