"""What each purchase unit of a plan holds (issue 15): the server profile of each part, the
host CPUs per part, the CPU servers and their CPUs. Filled by planner.plan.resolve_servers,
read by the plan's summary and tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ServerBills:
    """What each purchase unit holds, for the plan's tables (axes P parts, Q CPU parts, C CPU
    servers)."""

    part_servers: tuple[str | None, ...]  # (P,) server profile of each part; None = none
    host_cpu_w_per_part: np.ndarray  # (P,) host CPUs' TDP per part, W (0 without a server)
    cpu_parts: tuple[str, ...]  # (Q,) CPU parts: host CPUs and the CPU servers' CPUs
    cpu_tdp_w: tuple[float, ...]  # (Q,) each CPU part's TDP, W
    host_cpus_per_part: np.ndarray  # (Q, P) host CPUs per part p (per server / parts per server)
    cpu_servers: tuple[str, ...]  # (C,) CPU server profiles the plan may buy
    cpus_per_cpu_server: np.ndarray  # (Q, C) CPUs in one CPU server
