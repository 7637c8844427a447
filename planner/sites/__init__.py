"""Sites: one schema and one reader for a site's grid, tariff, solar, battery and load.

In: `scenarios/sites/*.yaml` or a scenario's `sites:` block. Out: a `Site` (SI floats, provenance)
and, for `site size`, `SiteEnergyInputs` for the site energy model, then its sizing summary.
"""
