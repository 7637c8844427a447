"""Benchmarks: build, solve and total time of the models against HiGHS alone on the same MPS.

In: shipped sites and scenarios resized by the case. Out: measured rows (`site`, `plan`) that
`planner bench` prints and `benches/` records.
"""
