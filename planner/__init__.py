"""The planner's domain, as packages named by the pipeline.

    catalogue/ (parts, TPP) ─┐
    rules/ (export, buyer) ──┼─> serving/ (workloads, model, measurements)
    demand/ (projection) ────┤                        │
    sites/ (one schema, one reader, sizing) ──────────┼─> plan/ (scenario, resolve, solve, summary)
                                                      │          │
                                         results/ (run folders, queries, reports) <─ sweeps/, bench/

Foundations every package may use: `errors`, `paths`, `units`, `provenance`, `yamlio` (the strict
schema base and the YAML reader), `atomic` (atomic writes), `economics`, `timeseries`,
`solver_log`. Data flows one way: no package imports one to its right in the picture above.
"""
