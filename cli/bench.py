"""`planner bench`: build, solve and total time against HiGHS alone."""

from __future__ import annotations


def bench() -> None:
    """Benchmark the optimisation models (not yet implemented)."""
    raise NotImplementedError
