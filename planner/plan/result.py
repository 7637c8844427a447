"""A solved plan, the one record the solve step hands to summaries, run folders and reports."""

from __future__ import annotations

from dataclasses import dataclass

from models.capacity import CapacitySolution
from planner.plan.resolve import ResolvedPlan


@dataclass(frozen=True)
class PlanResult:
    """A solved plan: the main solution and, for a MILP, the LP relaxation read for duals."""

    resolved: ResolvedPlan
    solution: CapacitySolution
    dual_solution: CapacitySolution | None  # the LP (the main one when relaxed)
    duals_from_relaxation: bool  # True when the main solve is a MILP
    solver_log: str | None = None  # HiGHS's own log of every solve, kept in the run folder
    method: str = "monolith"  # "monolith" (one problem) or "decompose" (Benders)
    method_note: str | None = None  # which method and why, in a sentence
