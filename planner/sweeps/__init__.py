"""Sweeps: many plans of one scenario (grid and Monte Carlo) fanned out over Dask.

In: a scenario, its parameters to vary or sample, solve options. Out: a sweep folder of run
folders, `sweep.parquet` and its manifest (`sweep`), tornado and distributions (`summary`), and
regime comparisons (`regimes_compare`).
"""
