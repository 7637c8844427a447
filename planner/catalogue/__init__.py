"""The catalogue of parts: what a chip computes, moves and burns, and its TPP.

In: `hardware_profiles/**/*.yaml` (and overlays). Out: `Catalogue` of frozen `Part` records with
SI floats and provenance per figure (`parts`), and the 3A090 metrics TPP, PD and I/O (`tpp`).
"""
