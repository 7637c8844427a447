"""A bare serving replica for the step model's hand-worked tests (shared by several test files)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from planner.serving.step import Replica

TP8 = Replica(
    parts=8, parallel="tp", tensor_parallel=8, pipeline_stages=1, domain_parts=8,
    weight_bytes_per_param=1.0, dispatch_bytes=1.0, kv_bytes_per_token=70272.0,
    kv_replication=8.0, flops_per_s=989e12, bandwidth_bytes_per_s=4.8e12,
    link_bytes_per_s=450e9, scale_out_bytes_per_s=50e9, usable_memory_bytes=1e12,
    layer_floor_s=0.0, expert_fraction=1.0, expert_floor_s=0.0,
    collective_latency_s=0.0, scale_out_latency_s=0.0,
)  # fmt: skip


def bare_replica(**changes: Any) -> Replica:
    """Eight H200-like parts in TP8 at fp8, rates at their peaks, no fixed costs; `changes`
    replaces any field (a pair on a mesh, a slower link, a collective latency)."""
    return replace(TP8, **changes)
