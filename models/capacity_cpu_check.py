"""The independent checker's part for CPU work and CPU servers (eqs. 22-27).

Recomputes every CPU family from a solution's arrays with plain loops (none of the backends'
index algebra); models/capacity_check.py calls it and adds the CPU servers' power to the IT
power (9) and their capex and resale to the costs (15, 17).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.capacity import CapacityInputs, CapacitySolution

EPS_YEARS = 1e-9
Check = Callable[..., None]  # require(name, slack, scale) or equal(name, left, right)


def has_cpu_work(x: CapacityInputs, sol: CapacitySolution) -> bool:
    """Whether the plan had CPU servers to buy and its solution bought any."""
    return x.cpu is not None and sol.cpu_servers_bought.size > 0


def cpu_installed(x: CapacityInputs, bought: np.ndarray) -> np.ndarray:
    """(23) (C, S, Y) CPU servers delivered and not yet retired."""
    assert x.cpu is not None
    tau, out = x.year_start_years, np.zeros_like(bought)
    for c in range(bought.shape[0]):
        lead, life = x.cpu.lead_time_years[c], x.cpu.lifetime_years[c]
        for y in range(bought.shape[2]):
            for y_buy in range(bought.shape[2]):
                if lead - EPS_YEARS <= tau[y] - tau[y_buy] < lead + life - EPS_YEARS:
                    out[c, :, y] += bought[c, :, y_buy]
    return out


def cpu_power_mw(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(26) (S, Y, T) 1e-6 sum_c (idle J + (active - idle) z), MW; zeros without CPU work."""
    if not has_cpu_work(x, sol):
        return np.zeros(sol.it_power_mw.shape)
    assert x.cpu is not None
    installed = cpu_installed(x, sol.cpu_servers_bought)
    standing = np.einsum("c,csy->sy", x.cpu.idle_w, installed)[..., None]
    dynamic = np.einsum("c,csyt->syt", x.cpu.active_w - x.cpu.idle_w, sol.cpu_servers_busy)
    return (standing + dynamic) * 1e-6


def cpu_capex_by_year(x: CapacityInputs, sol: CapacitySolution) -> np.ndarray:
    """(27) (Y,) undiscounted price of the CPU servers bought in each period."""
    if not has_cpu_work(x, sol):
        return np.zeros(x.year_start_years.shape)
    assert x.cpu is not None
    return np.einsum("cy,csy->y", x.cpu.price_per_server, sol.cpu_servers_bought)


def cpu_costs(x: CapacityInputs, sol: CapacitySolution) -> dict[str, float]:
    """(17, 24) present value of the CPU servers bought, and their value at the horizon end."""
    if not has_cpu_work(x, sol):
        return {"cpu_servers_capex": 0.0, "cpu_resale_credit": 0.0}
    assert x.cpu is not None
    c = x.cpu
    end = x.year_start_years[-1] + x.duration_years[-1]
    if c.resale_value_fraction is None:
        left = x.year_start_years[None, :] + (c.lead_time_years + c.lifetime_years)[:, None] - end
        resale = np.clip(left / c.lifetime_years[:, None], 0, 1)
    else:
        resale = c.resale_value_fraction
    bought = sol.cpu_servers_bought.sum(axis=1)  # (C, Y)
    return {
        "cpu_servers_capex": float(np.sum(x.discount_fraction * c.price_per_server * bought)),
        "cpu_resale_credit": float(
            x.horizon_end_discount_fraction * np.sum(resale * c.price_per_server * bought)
        ),
    }


def check_cpu_servers(
    x: CapacityInputs, sol: CapacitySolution, require: Check, equal: Check
) -> None:
    """(22) whole servers, bought only where allowed; (23) installed; (24) busy <= installed;
    (25) busy cores >= the CPU work of the tokens served at the site; (26) CPU power."""
    if x.cpu is None:
        return
    c = x.cpu
    bought, busy = sol.cpu_servers_bought, sol.cpu_servers_busy
    require("(0) cpu_servers_bought >= 0", bought)
    require("(0) cpu_servers_busy >= 0", busy)
    if not x.relax:
        equal("(22) whole CPU servers", bought, np.round(bought))
    require("(22) no CPU server where not allowed", -np.abs(bought[~c.allowed.astype(bool)]))
    installed = cpu_installed(x, bought)
    equal("(23) CPU servers installed", sol.cpu_servers_installed, installed)
    require("(24) CPU servers busy <= installed", installed[..., None] - busy,
            float(installed.max(initial=1.0)))  # fmt: skip
    need = np.einsum("w,wp,wpsyt->syt", c.core_s_per_token, x.tokens_per_s_per_part,
                     sol.parts_busy)  # fmt: skip
    if sol.capped_busy.size:  # parts busy at a power cap serve tau of their tokens (eq. 19)
        tau = np.asarray(x.capped_throughput_fraction, dtype=float)
        need = need + np.einsum("w,wp,pj,wpsytj->syt", c.core_s_per_token,
                                x.tokens_per_s_per_part, tau, sol.capped_busy)  # fmt: skip
    cores = np.einsum("c,csyt->syt", c.cores_per_server, busy)
    require("(25) CPU cores busy >= CPU work", cores - need, float(need.max(initial=1.0)))
    equal("(26) CPU servers' power", sol.cpu_power_mw, cpu_power_mw(x, sol))
