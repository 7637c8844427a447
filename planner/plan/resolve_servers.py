"""Servers of a plan (issue 15): the bill of each part's server and the CPU servers that serve
workloads' CPU work.

- A part with `server:` is bought in that server: parts per server = its accelerator count, host
  power per part = (n_cpu x TDP_cpu + overhead) / n (`server_overhead_w`), price per part = the
  accelerator's price + platform price / n (both x (1 - decline)^tau), and its host CPUs are
  counted. A part without one keeps its profile's `server_overhead_power` and counts no host CPU
  (a note says so).
- A workload's `cpu_core_s_per_request` becomes kappa_w = core-s per request / (input + output
  tokens per request), served by `cpu_servers` (model eqs. 22-27, `CapacityInputs.cpu`).
"""

from __future__ import annotations

from dataclasses import replace
from difflib import get_close_matches

import numpy as np

from models.capacity import CpuServerInputs
from planner.catalogue.parts import Catalogue, Part
from planner.catalogue.servers import Server, ServerLibrary
from planner.plan.resolve_parts import PartsTable, input_tokens_per_request, read_parts
from planner.plan.resolver import Resolver, exchange_rate
from planner.plan.scenario import CpuServerIn, PartIn
from planner.plan.server_bills import ServerBills


def _server_of(r: Resolver, library: ServerLibrary, server_id: str, at: str) -> Server | None:
    """The named server profile, or a problem with the closest id."""
    if server_id in library.servers:
        return library.servers[server_id]
    close = get_close_matches(server_id, list(library.servers), n=1)
    r.problem(
        at,
        f"'{server_id}' is not a server profile.",
        f"did you mean '{close[0]}'?" if close else "see `planner hardware servers`.",
    )
    return None


def _check_part_server(
    r: Resolver, spec: PartIn, at: str, part: Part, server: Server, library: ServerLibrary
) -> bool:
    """The server carries this part, in the count the scenario gives (if it gives one)."""
    if server.accelerator != part.id:
        fit = ", ".join(s.id for s in library.for_accelerator(part.id))
        carried = server.accelerator or "no accelerator"
        r.problem(
            f"{at}.server",
            f"'{server.id}' carries {carried}, not {part.id}.",
            f"name a server of {part.id}: {fit}." if fit else "see `planner hardware servers`.",
        )
        return False
    if spec.parts_per_server not in (None, server.accelerators_per_server):
        r.problem(
            f"{at}.parts_per_server",
            f"{spec.parts_per_server} differs from the "
            f"{server.accelerators_per_server} parts of server '{server.id}'.",
            "drop parts_per_server; the server gives it.",
        )
        return False
    return True


def _bill_per_part(
    r: Resolver, at: str, server: Server, catalogue: Catalogue
) -> tuple[float, float] | None:
    """(host W per part, platform price per part in the scenario currency) of an accelerator
    server, or None with a problem when a figure is unknown."""
    cpu, n = catalogue[server.host_cpu], server.accelerators_per_server
    host_w = server.host_w(cpu)
    if host_w is None or server.platform_price is None:
        what = "host power" if host_w is None else "platform price"
        r.problem(
            f"{at}.server",
            f"server '{server.id}' has no known {what}.",
            f"give it in {server.path.name} (overhead_power, its CPU's tdp, platform_price).",
        )
        return None
    rate = exchange_rate(r, server.price_currency, f"{at}.server")
    return host_w / n, server.platform_price * rate / n


def apply_part_servers(
    r: Resolver, parts: PartsTable, catalogue: Catalogue, library: ServerLibrary, tau: np.ndarray
) -> tuple[PartsTable, np.ndarray, list[Server | None]]:
    """Parts table with each server's count and platform price folded in, (P,) host W per part,
    and the server of each part (None: the profile's server_overhead_power, with a note)."""
    specs = {spec.part: (i, spec) for i, spec in enumerate(r.raw.parts)}
    price, per_server = parts.price_per_part.copy(), parts.per_server.copy()
    conf = list(parts.confidence)
    overhead = np.array([p.server_overhead_w or 0.0 for p in parts.parts])
    servers: list[Server | None] = []
    for p, part in enumerate(parts.parts):
        i, spec = specs[part.id]
        at = f"parts[{i}]"
        server = (
            None if spec.server is None else _server_of(r, library, spec.server, f"{at}.server")
        )
        if server is None or not _check_part_server(r, spec, at, part, server, library):
            servers.append(None)
            if spec.server is None:
                _note_no_server(r, at, part, library)
            continue
        bill = _bill_per_part(r, at, server, catalogue)
        servers.append(server if bill is not None else None)
        if bill is None:
            continue
        decline = r.number(
            f"{at}.price_decline_fraction_per_year", spec.price_decline_fraction_per_year, 0.0
        )
        overhead[p], per_server[p] = bill[0], server.accelerators_per_server
        price[p] += bill[1] * (1.0 - decline) ** tau
        platform = server.provenance.get("platform_price")
        conf[p] = "estimate" if platform and platform.confidence == "estimate" else conf[p]
    table = replace(parts, price_per_part=price, per_server=per_server, confidence=conf)
    return table, overhead, servers


def _note_no_server(r: Resolver, at: str, part: Part, library: ServerLibrary) -> None:
    shipped = [s.id for s in library.for_accelerator(part.id)]
    offer = f"; a server profile exists: server: {shipped[0]}" if shipped else ""
    r.notes.append(
        f"{at} {part.id}: no server profile, so its host power is the profile's "
        f"server_overhead_power ({part.server_overhead_w or 0:g} W per part) and no host CPU is "
        f"counted{offer}."
    )


# --------------------------------------------------------------------------- CPU work


def core_s_per_token(r: Resolver) -> np.ndarray:
    """(W,) kappa_w: a request's CPU core-seconds over its input + output tokens (0 = none)."""
    demand = r.scenario.demand
    by_name = {s.workload: (i, s) for i, s in enumerate(r.raw.serving)}
    kappa = np.zeros(len(demand.workload_names))
    for w, name in enumerate(demand.workload_names):
        i, spec = by_name[name]
        if spec.cpu_core_s_per_request is None:
            continue
        at = f"serving[{i}].cpu_core_s_per_request"
        if demand.is_video[w]:
            r.problem(
                at,
                "CPU work is counted per token; this workload counts video seconds.",
                "remove it, or serve a token workload.",
            )
            continue
        out = spec.output_tokens_per_request
        tokens = out + input_tokens_per_request(out, float(demand.output_share_fraction[w]))
        kappa[w] = r.number(at, spec.cpu_core_s_per_request) / tokens
    return kappa


def _cpu_server_row(
    r: Resolver,
    j: int,
    spec: CpuServerIn,
    library: ServerLibrary,
    catalogue: Catalogue,
    tau: np.ndarray,
) -> tuple[Server, list[float], np.ndarray] | None:
    """One CPU server: the profile and [cores, idle W, active W, lead, life, resale] and (Y,)
    prices, or None with a problem."""
    at = f"cpu_servers[{j}]"
    server = _server_of(r, library, spec.server, f"{at}.server")
    if server is None:
        return None
    cpu = catalogue[server.host_cpu]
    figures = (server.cores(cpu), server.idle_w(cpu), server.host_w(cpu))
    if server.kind != "cpu" or None in figures:
        why = (
            "is not a CPU server" if server.kind != "cpu" else "has an unknown core count or power"
        )
        r.problem(
            f"{at}.server",
            f"'{server.id}' {why}.",
            "name a CPU server profile with known figures (`planner hardware servers`).",
        )
        return None
    if spec.price_per_server is not None:
        base = r.number(f"{at}.price_per_server", spec.price_per_server)
    else:
        rate = exchange_rate(r, server.price_currency, f"{at}.price_per_server")
        base = (server.platform_price or np.nan) * rate
    decline = r.number(
        f"{at}.price_decline_fraction_per_year", spec.price_decline_fraction_per_year, 0.0
    )
    life = r.number(f"{at}.lifetime_years", spec.lifetime_years)
    if not life > 0:
        r.problem(f"{at}.lifetime_years.value", "a lifetime must be > 0.", "write years > 0.")
    resale = (
        np.nan
        if spec.resale_value_fraction is None
        else r.number(f"{at}.resale_value_fraction", spec.resale_value_fraction)
    )
    row = [*figures, r.number(f"{at}.lead_time_years", spec.lead_time_years, 0.0), life, resale]
    return server, [np.nan if v is None else float(v) for v in row], base * (1.0 - decline) ** tau


def read_cpu_servers(
    r: Resolver, catalogue: Catalogue, library: ServerLibrary, tau: np.ndarray, end: float
) -> tuple[CpuServerInputs | None, list[Server]]:
    """The CPU sub-model (None without CPU work or CPU servers) and the CPU servers listed."""
    kappa = core_s_per_token(r)
    if not r.raw.cpu_servers:
        if np.any(kappa > 0):
            r.problem(
                "cpu_servers",
                "a workload declares CPU work but no CPU server is listed.",
                "add cpu_servers: [{server: yitian-710-server, lifetime_years: ...}].",
            )
        return None, []
    rows = [
        _cpu_server_row(r, j, spec, library, catalogue, tau)
        for j, spec in enumerate(r.raw.cpu_servers)
    ]
    if any(row is None for row in rows):
        return None, []
    servers = [row[0] for row in rows if row is not None]
    table = np.array([row[1] for row in rows if row is not None])  # (C, 6)
    prices = np.array([row[2] for row in rows if row is not None])  # (C, Y)
    group = r.raw.rules.buyer.group
    sold = np.array([catalogue[s.host_cpu].sold_to(group) for s in servers])
    for j, server in enumerate(servers):
        if not sold[j]:
            r.notes.append(
                f"cpu_servers[{j}] {server.id}: its {server.host_cpu} is sold only "
                f"within its group, so not bought for this buyer."
            )
    n_s = len(r.raw.sites)
    resale = table[:, 5]
    straight = np.isnan(resale)
    return CpuServerInputs(
        cores_per_server=table[:, 0],
        idle_w=table[:, 1],
        active_w=table[:, 2],
        price_per_server=prices,
        lead_time_years=table[:, 3],
        lifetime_years=table[:, 4],
        allowed=np.broadcast_to(sold[:, None, None], (len(servers), n_s, tau.size)).copy(),
        core_s_per_token=kappa,
        resale_value_fraction=None if straight.all() else _resale(table, tau, end),
    ), servers


def _resale(table: np.ndarray, tau: np.ndarray, end: float) -> np.ndarray:
    """(C, Y) given resale fractions, straight line where none is given (as the model's);
    `end` is the horizon end, years from its start."""
    lead, life, given = table[:, 3], table[:, 4], table[:, 5]
    straight = np.clip((tau[None, :] + (lead + life)[:, None] - end) / life[:, None], 0.0, 1.0)
    return np.where(np.isnan(given)[:, None], straight, given[:, None])


def server_bills(
    parts: PartsTable,
    servers: list[Server | None],
    cpu_servers: list[Server],
    catalogue: Catalogue,
) -> ServerBills:
    """The bill of every purchase unit of the plan, for its tables and JSON."""
    cpu_parts = tuple(
        dict.fromkeys(
            [s.host_cpu for s in servers if s is not None] + [s.host_cpu for s in cpu_servers]
        )
    )
    host, host_w = np.zeros((len(cpu_parts), len(parts.parts))), np.zeros(len(parts.parts))
    for p, server in enumerate(servers):
        if server is not None:
            n = server.accelerators_per_server
            host[cpu_parts.index(server.host_cpu), p] = server.cpus_per_server / n
            host_w[p] = server.cpus_per_server * (catalogue[server.host_cpu].tdp_w or 0.0) / n
    in_cpu_servers = np.zeros((len(cpu_parts), len(cpu_servers)))
    for c, server in enumerate(cpu_servers):
        in_cpu_servers[cpu_parts.index(server.host_cpu), c] = server.cpus_per_server
    return ServerBills(
        part_servers=tuple(None if s is None else s.id for s in servers),
        host_cpu_w_per_part=host_w,
        cpu_parts=cpu_parts,
        host_cpus_per_part=host,
        cpu_tdp_w=tuple(catalogue[q].tdp_w or 0.0 for q in cpu_parts),
        cpu_servers=tuple(s.id for s in cpu_servers),
        cpus_per_cpu_server=in_cpu_servers,
    )


def read_servers(
    r: Resolver, catalogue: Catalogue, library: ServerLibrary, tau: np.ndarray, end: float
) -> PartsTable:
    """The scenario's parts in their servers, with its CPU servers (`end`: the horizon end,
    years from its start): the parts table carries the host power per part, the CPU sub-model,
    the bills and the server files read. `library`: the server profiles, their bills checked
    against `catalogue` (`servers_with_parts`); bad scenario entries become problems."""
    parts, host_w, servers = apply_part_servers(
        r, read_parts(r, catalogue, tau), catalogue, library, tau
    )
    cpu, cpu_servers = read_cpu_servers(r, catalogue, library, tau, end)
    files = tuple(dict.fromkeys(s.path for s in [*servers, *cpu_servers] if s is not None))
    bills = server_bills(parts, servers, cpu_servers, catalogue)
    return replace(parts, server_overhead_w=host_w, cpu=cpu, servers=bills, server_files=files)
