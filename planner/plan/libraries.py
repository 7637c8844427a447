"""The profile libraries a plan reads, loaded once and reused while their files are unchanged.

Resolving a scenario reads the part, server, workload and export-regime profiles and the serving
stacks (about 70 YAML files for a flagship, most of a resolution's time). They depend on the
overlay folders only, never on the scenario, so a process that resolves many cases of one
scenario (a sweep's worker) loads them once: `cached_libraries(overlays)` keys them by the overlay
folders and by the path, size and modification time of every file under the searched folders, so
an edited, added or removed profile is read again. A file's validation warnings are given on its
first load only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.catalogue.parts import Catalogue
from planner.catalogue.servers import ServerLibrary, servers_with_parts
from planner.paths import DataFolder, search_dirs
from planner.rules import RegimeLibrary
from planner.serving.efficiency import Stacks, load_stacks
from planner.serving.workloads import WorkloadLibrary

# The data folders the libraries read (demand shapes and sites belong to the scenario).
LIBRARY_FOLDERS: tuple[DataFolder, ...] = (
    "hardware_profiles",
    "workload_profiles",
    "export_regimes",
)
_CACHE_SIZE = 4  # overlay sets kept per process (a sweep uses one)


@dataclass(frozen=True)
class Libraries:
    """Parts, servers (their bills checked against the parts), workloads, export regimes and
    serving stacks for one set of overlay folders."""

    catalogue: Catalogue
    servers: ServerLibrary
    workloads: WorkloadLibrary
    regimes: RegimeLibrary
    stacks: Stacks

    @classmethod
    def load(cls, overlays: Sequence[Path] = ()) -> Libraries:
        """Read every library from its files (an input error names each bad file)."""
        catalogue = Catalogue.load(overlays)
        return cls(
            catalogue=catalogue,
            servers=servers_with_parts(overlays, catalogue),
            workloads=WorkloadLibrary.load(overlays),
            regimes=RegimeLibrary.load(overlays),
            stacks=load_stacks(overlays),
        )


FileStamp = tuple[str, int, int]  # path, size in bytes, modification time in ns
_loaded: dict[tuple[tuple[str, ...], tuple[FileStamp, ...]], Libraries] = {}


def library_files(overlays: Sequence[Path] = ()) -> tuple[FileStamp, ...]:
    """Every file under the folders the libraries search, with its size and modification time."""
    stamps: list[FileStamp] = []
    for kind in LIBRARY_FOLDERS:
        for folder in search_dirs(kind, overlays):
            for here, dirs, files in os.walk(folder):
                dirs.sort()
                for name in sorted(files):
                    path = os.path.join(here, name)
                    try:
                        st = os.stat(path)
                    except OSError:  # removed while listing: the next call sees it gone
                        continue
                    stamps.append((path, st.st_size, st.st_mtime_ns))
    return tuple(stamps)


def cached_libraries(overlays: Sequence[Path] = ()) -> Libraries:
    """`Libraries.load(overlays)`, reused while no file under the searched folders changed."""
    folders = tuple(str(f) for kind in LIBRARY_FOLDERS for f in search_dirs(kind, overlays))
    key = (folders, library_files(overlays))
    found = _loaded.get(key)
    if found is None:
        found = Libraries.load(overlays)
        if len(_loaded) >= _CACHE_SIZE:
            _loaded.pop(next(iter(_loaded)))
        _loaded[key] = found
    return found
