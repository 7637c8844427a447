"""`planner report RUN [RUN...]` and `planner compare RUN RUN...`."""

from __future__ import annotations


def report() -> None:
    """Write a self-contained HTML report of one or more runs (not yet implemented)."""
    raise NotImplementedError


def compare() -> None:
    """Compare runs side by side (not yet implemented)."""
    raise NotImplementedError
