"""A plan's servers and CPUs in words and tables (issue 15): the CPUs the plan buys (host CPUs of
its accelerator servers and the CPUs of its CPU servers), the servers bought, and the CPUs' share
of the site load.

Host CPUs follow from the bill: host CPUs of part q at (s, y) = sum_p H[q,p] n[p,s,y], with
H[q,p] the host CPUs per part (per server / parts per server); a CPU server's CPUs = Q[q,c] m^c.
Each CPU row names the server it comes in, so a part used as a host and in CPU servers (the
Yitian 710) shows in both roles.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.plan.result import PlanResult

_TOL = 1e-6


def _rows(result: PlanResult, cpu: str, server: str, counts: np.ndarray) -> list[dict[str, Any]]:
    """One row per (site, period) with CPUs of part `cpu` in `server` profiles: `kind: cpu`."""
    ax = result.resolved.axes
    return [
        {
            "part": cpu,
            "kind": "cpu",
            "server": server,
            "site": ax.sites[s],
            "year": ax.periods[y],
            "count": float(counts[s, y]),
        }
        for s, y in zip(*np.nonzero(counts > 0.5 * _TOL), strict=True)
    ]


def cpu_rows(result: PlanResult, installed: bool = False) -> list[dict[str, Any]]:
    """CPUs bought (or in service): host CPUs of the accelerator servers, H[q,p] n[p,s,y], then
    the CPUs of the CPU servers, Q[q,c] m^c[c,s,y]; each row names the server it comes in."""
    bills, sol = result.resolved.servers, result.solution
    if bills is None or not bills.cpu_parts:
        return []
    parts = sol.parts_installed if installed else sol.parts_bought
    rows = []
    for p, server_id in enumerate(bills.part_servers):
        q = int(np.argmax(bills.host_cpus_per_part[:, p]))
        if server_id is not None:
            counts = bills.host_cpus_per_part[q, p] * parts[p]
            rows += _rows(result, bills.cpu_parts[q], server_id, counts)
    cpu_servers = sol.cpu_servers_installed if installed else sol.cpu_servers_bought
    for c, server_id in enumerate(bills.cpu_servers if cpu_servers.size else ()):
        q = int(np.argmax(bills.cpus_per_cpu_server[:, c]))
        counts = bills.cpus_per_cpu_server[q, c] * cpu_servers[c]
        rows += _rows(result, bills.cpu_parts[q], server_id, counts)
    return rows


def server_rows(result: PlanResult) -> list[dict[str, Any]]:
    """Servers bought: one row per (server profile, site, period), accelerator servers with a
    profile and CPU servers (`kind` accelerated or cpu)."""
    res, sol = result.resolved, result.solution
    bills, ax = res.servers, res.axes
    if bills is None:
        return []
    units = [(sid, "accelerated", sol.servers_bought[p]) for p, sid in enumerate(bills.part_servers)
             if sid is not None]  # fmt: skip
    if sol.cpu_servers_bought.size:
        units += [
            (sid, "cpu", sol.cpu_servers_bought[c]) for c, sid in enumerate(bills.cpu_servers)
        ]
    return [
        {"server": sid, "kind": kind, "site": ax.sites[s], "year": ax.periods[y],
         "count": float(bought[s, y])}
        for sid, kind, bought in units
        for s, y in zip(*np.nonzero(bought > 0.5 * _TOL), strict=True)
    ]  # fmt: skip


def cpu_power_mw(result: PlanResult) -> np.ndarray:
    """(S, Y, T) the CPUs' part of the IT load, MW: host CPUs at their TDP whenever installed
    (inside each part's host power) plus the CPU servers (model eq. 26)."""
    res, sol = result.resolved, result.solution
    bills = res.servers
    power = np.zeros(sol.it_power_mw.shape)
    if bills is not None:
        host = np.einsum("p,psy->sy", bills.host_cpu_w_per_part, sol.parts_installed) * 1e-6
        power += host[..., None]
    if sol.cpu_power_mw.size:
        power += sol.cpu_power_mw
    return power
