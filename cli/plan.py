"""`planner plan SCENARIO`: the multi-year capacity plan."""

from __future__ import annotations


def plan() -> None:
    """Solve a scenario's capacity plan (not yet implemented)."""
    raise NotImplementedError
