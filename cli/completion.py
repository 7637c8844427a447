"""Shell completion of part, workload, scenario and regime ids (typer `autocompletion`).

Ids are the file names of the profiles (the loaders require id = file name), read from the
shipped folders and the overlays (`PLANNER_PROFILES`, and `--profiles` when it comes earlier on
the line), so completing imports no catalogue, serving model or solver. Enable it once per shell:

    eval "$(_PLANNER_COMPLETE=source_bash planner)"   # zsh: source_zsh; fish: source_fish
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import typer

from planner.paths import SERVERS_FOLDER, DataFolder, search_dirs


def _overlays(ctx: typer.Context) -> list[Path]:
    """`--profiles` folders given so far on this command line (this command or a parent)."""
    found: list[Path] = []
    node: Any = ctx
    while node is not None:
        found += [Path(p) for p in node.params.get("profiles") or []]
        node = node.parent
    return found


def ids(
    folder: DataFolder, pattern: str, ctx: typer.Context, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Sorted file stems matching `pattern` in a data folder and its overlays, leaving out files
    whose folder is named in `skip`."""
    stems = {
        path.stem
        for root in search_dirs(folder, _overlays(ctx))
        if root.is_dir()
        for path in root.glob(pattern)
        if path.parent.name not in skip
    }
    return sorted(stems)


def complete_part(ctx: typer.Context, incomplete: str) -> list[str]:
    """Part ids (hardware_profiles/<vendor>/<id>.yaml; server profiles are not parts)."""
    parts = ids("hardware_profiles", "*/*.yaml", ctx, frozenset({SERVERS_FOLDER}))
    return [i for i in parts if i.startswith(incomplete)]


def complete_part_list(ctx: typer.Context, incomplete: str) -> list[str]:
    """A comma-separated list of part ids: completes the id after the last comma."""
    head, _, tail = incomplete.rpartition(",")
    given = set(head.split(",")) if head else set()
    prefix = f"{head}," if head else ""
    return [f"{prefix}{i}" for i in complete_part(ctx, tail) if i not in given]


def complete_workload(ctx: typer.Context, incomplete: str) -> list[str]:
    """Workload profile ids (workload_profiles/<id>.yaml)."""
    return [i for i in ids("workload_profiles", "*.yaml", ctx) if i.startswith(incomplete)]


def complete_regime(ctx: typer.Context, incomplete: str) -> list[str]:
    """Export-regime snapshot ids (export_regimes/<id>.yaml)."""
    return [i for i in ids("export_regimes", "*.yaml", ctx) if i.startswith(incomplete)]


def complete_scenario(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shipped scenario names, then YAML files and folders matching what is typed as a path."""
    names = [i for i in ids("scenarios", "*.yaml", ctx) if i.startswith(incomplete)]
    paths = []
    for match in sorted(glob.glob(os.path.expanduser(incomplete) + "*")):
        if os.path.isdir(match):
            paths.append(match.rstrip(os.sep) + os.sep)
        elif match.endswith((".yaml", ".yml")):
            paths.append(match)
    return [*names, *(p for p in paths if p not in names)]
