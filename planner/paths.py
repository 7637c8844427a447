"""Where the shipped data folders live, and the user's overlay folders.

In a checkout (or an editable install) the data folders sit at the repo root; in a wheel they
travel inside the package as `planner/_data/<folder>`. A user's overlay folder mirrors that layout
(`DIR/hardware_profiles/...`, `DIR/workload_profiles/...`) and is given with `--profiles DIR` or
the `PLANNER_PROFILES` variable (several folders joined by the path separator, later ones win).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

DataFolder = Literal[
    "hardware_profiles", "workload_profiles", "export_regimes", "scenarios", "demand_shapes"
]

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(folder: DataFolder) -> Path:
    """The shipped copy of a data folder (inside the wheel, else at the repo root)."""
    bundled = _PACKAGE / "_data" / folder
    return bundled if bundled.is_dir() else _PACKAGE.parent / folder


def overlay_roots(extra: Sequence[Path] = ()) -> list[Path]:
    """User overlay roots: `PLANNER_PROFILES` first, then `--profiles` folders, in that order."""
    roots = [Path(p) for p in os.environ.get("PLANNER_PROFILES", "").split(os.pathsep) if p]
    return [*roots, *(Path(p) for p in extra)]


SERVERS_FOLDER = "servers"  # hardware_profiles/servers/*.yaml: server profiles, not parts


def search_dirs(folder: DataFolder, extra: Sequence[Path] = ()) -> list[Path]:
    """Shipped folder then each overlay's copy of it, lowest precedence first."""
    return [shipped_dir(folder), *(root / folder for root in overlay_roots(extra))]
