"""The capacity plan: scenario file -> `CapacityInputs` -> solve -> summary.

In: a scenario (`scenario`), with what-if overrides (`overrides`), the catalogue, rules, serving
model, demand and sites. Out: `ResolvedPlan` (model inputs and their labels, `resolve`),
`PlanResult` (`solve`), the documented summary JSON (`summary`) and the MPS file (`mps`).
"""
