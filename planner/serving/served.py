"""Precisions each software stack serves (docs/serving.md, Precisions).

`workload_profiles/serving/precisions.yaml` lists, per software stack, the weight formats its
serving engines load (`weights`) and the KV-cache formats they keep (`kv`), each with its source.
A part serves a weight format when its stack does and the part can multiply it (a dense peak at
it, or, for integer weights, at a wider format). An overlay replaces the table whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.errors import InputError, Problem
from planner.paths import search_dirs
from planner.provenance import FigureIn, Provenance, SourceIn, resolve_source
from planner.schema import StrictModel
from planner.serving.formats import SERVING_PRECISIONS
from planner.yamlio import read_yaml, validate

PRECISIONS_FILE = Path("serving") / "precisions.yaml"


class ServedIn(StrictModel):
    """The weight and KV-cache formats one software stack serves, each with its source."""

    weights: FigureIn
    kv: FigureIn


class PrecisionsFile(StrictModel):
    """Schema of `workload_profiles/serving/precisions.yaml`."""

    stacks: dict[str, ServedIn]
    sources: dict[str, SourceIn] = {}


@dataclass(frozen=True)
class Served:
    """What one stack serves: weight and KV formats, with where that is documented."""

    weights: tuple[str, ...]
    kv: tuple[str, ...]
    provenance: Provenance


def _formats(path: Path, field: str, figure: FigureIn, problems: list[Problem]) -> tuple[str, ...]:
    names = tuple(x.strip() for x in str(figure.value or "").split(",") if x.strip())
    wrong = [x for x in names if x not in SERVING_PRECISIONS]
    if wrong or not names:
        problems.append(
            Problem(
                str(path),
                f"{field}.value",
                f"'{figure.value}' is not a comma-separated list of serving precisions.",
                f"use some of: {', '.join(SERVING_PRECISIONS)}.",
            )
        )
    return tuple(x for x in names if x in SERVING_PRECISIONS)


def read_precisions(path: Path) -> dict[str, Served]:
    """Load and check one precisions table; every problem is reported at once."""
    raw = validate(PrecisionsFile, read_yaml(path), path)
    problems: list[Problem] = []
    out: dict[str, Served] = {}
    for stack, entry in raw.stacks.items():
        weights = _formats(path, f"stacks.{stack}.weights", entry.weights, problems)
        kv = _formats(path, f"stacks.{stack}.kv", entry.kv, problems)
        w = entry.weights
        prov = Provenance(resolve_source(w.source, raw.sources), w.confidence, w.note)
        out[stack] = Served(weights, kv, prov)
    if problems:
        raise InputError(problems)
    return out


def precisions_file(overlays: Sequence[Path] = ()) -> Path | None:
    """The precisions table's file: the last folder's that has one (overlays replace it)."""
    found = None
    for folder in search_dirs("workload_profiles", overlays):
        if (folder / PRECISIONS_FILE).is_file():
            found = folder / PRECISIONS_FILE
    return found


def load_precisions(overlays: Sequence[Path] = ()) -> dict[str, Served]:
    """The precisions table of the last folder that has one ({} when none does)."""
    found = precisions_file(overlays)
    return {} if found is None else read_precisions(found)
