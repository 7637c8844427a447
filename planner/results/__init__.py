"""Results: atomic run folders of Parquet tables, queries across runs, comparisons and reports.

In: a solved site sizing or `PlanResult`. Out: run folders (`folders`, `plan_run`), DuckDB views
and `compare` (`queries`), self-contained HTML reports with inline SVG charts (`report`, `charts`).
"""
