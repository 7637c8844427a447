"""Optimisation models only: frozen dataclasses of numpy inputs and solutions, and one
formulation per backend (cvxpy, Pyomo) built from small functions, one per constraint family;
never `planner`, pandas or files (docs/ARCHITECTURE.md)."""
