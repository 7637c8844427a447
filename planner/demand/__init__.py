"""Demand: token (and video) demand per workload, year and hour.

In: a scenario's `demand:` block (growth forms, CSV series, day shapes). Out: `DemandProjection`,
tokens per day per workload and year with its hourly shape and latency class.
"""
