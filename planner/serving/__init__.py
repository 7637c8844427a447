"""Serving: what an LLM needs per token and what a part delivers under a latency target.

In: `workload_profiles/*.yaml` (architecture from config.json), `Part` records, the software
stacks' efficiency factors, published measurements. Out: per part and workload, output tokens/s,
watts, J/token and cost per million tokens (`model.estimate`), with validation and calibration
against the measurements (`measurements`).
"""
