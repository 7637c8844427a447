"""The serving calibration table: fitted efficiencies per part family and fixed costs per stack.

`workload_profiles/serving/calibration.yaml` (docs/serving.md, "Calibration") holds what
`planner serving calibrate` fits to the measurements, each figure with its provenance:

- `default`: the FLOP and bandwidth fractions and the per-layer launch floor every part gets
  unless its family or stack has its own;
- `families`: the parts of one microarchitecture and serving stack (e.g. NVIDIA Hopper) and, where
  the measurements reach them, their own FLOP and bandwidth fractions;
- `stacks`: the per-layer launch/synchronisation floor of a software stack and the
  synchronisation each further peer adds to one of its collectives (delta), where fitted;
- `collective_latency_s`, `scale_out_latency_s`: the latency of one collective inside a scale-up
  domain and across domains (sourced, not fitted; each synchronisation over t parts adds
  delta (t - 1): a one-shot all-reduce waits one, a two-shot one two);
- `expert_all_to_all_latency_s`: per software stack, the fixed cost of one expert-parallel
  dispatch or combine where its stack's kernels are measured to differ from the generic
  collective latency (sourced, not fitted; e.g. DeepEP-Ascend on the A3);
- `compute_units`: streaming multiprocessors (or the vendor's equivalent) per part, where
  known: with the fitted bandwidth one unit can pull they cap a part's achievable bandwidth;
- `reference_engines`: per software stack, the serving engine its family and stack figures
  describe (an input: e.g. TensorRT-LLM on CUDA, CloudMatrix-Infer on CANN);
- `engines`: per other engine on a stack ("cann/sglang"), the fitted speed factor s: its kernels
  reach s times the reference's fractions of peak, its fixed costs take 1 / s as long;
- `error_bands`: per family and kind of model (`hopper` for dense models, `hopper-moe` for
  mixtures of experts; `default` and `default-moe` over every row), the largest factor f by which
  a held-out row missed, either way (leave-one-part-out and the test set scored at the fit),
  written as f - 1: an estimate for a part of that family without its own measurements may be
  f times too fast or too slow; at k bands (`serving.band`) a rate r is taken at r f^k.

An overlay (`--profiles DIR`, `DIR/workload_profiles/serving/calibration.yaml`) replaces the table
whole: that is where `planner serving calibrate --out DIR` writes its fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel

from planner.errors import InputError, Problem
from planner.paths import search_dirs
from planner.provenance import FigureIn, Provenance, SourceIn, resolve_source
from planner.schema import Bounds, StrictModel
from planner.yamlio import read_yaml, validate

CALIBRATION_FILE = Path("serving") / "calibration.yaml"


# Ranges of the fitted figures (planner.schema.Bounds), plain numbers in SI units. The shipped
# fit: layer floors 26 to 31 us, an expert floor of 3.2 us, collective latencies of 6 and 20 us,
# 19 GB/s per compute unit, 78 to 132 compute units, error bands 0.40 to 2.37.
FLOOR_S = Bounds("", hard=(0, 1), typical=(0, 0.001), what="a fixed cost in seconds")
# A fitted fraction of peak may sit at its bound of 1 (the fit's own limit), so only the hard
# range applies: the table is written by `planner serving calibrate`.
FittedFraction = Annotated[
    FigureIn, Bounds("", hard=(0, 1), low_open=True, what="a fitted fraction of peak")
]


class FractionsIn(StrictModel):
    """Fitted fractions of peak (each optional: a family the rows do not reach has none)."""

    flop_efficiency_fraction: FittedFraction | None = None
    bandwidth_efficiency_fraction: FittedFraction | None = None


class DefaultIn(FractionsIn):
    """The figures every part gets unless its family or stack has its own: fractions of peak,
    the per-layer launch floor (s), the expert-parallel floor (s) and fraction, and the
    bandwidth one compute unit can pull (bytes/s)."""

    layer_floor_s: Annotated[FigureIn, FLOOR_S]
    expert_efficiency_fraction: FittedFraction | None = None
    unit_bandwidth_bytes_per_s: Annotated[
        FigureIn | None,
        Bounds("", hard=(0, 1e13), typical=(1e9, 1e12), what="a bandwidth in bytes/s"),
    ] = None
    expert_floor_s: Annotated[FigureIn | None, FLOOR_S] = None
    collective_peer_latency_s: Annotated[FigureIn | None, FLOOR_S] = None


class FamilyIn(FractionsIn):
    """The parts of one microarchitecture and stack, with their fitted fractions of peak and
    the fewest token rows their dense tensor-core GEMMs compute (an input, sourced)."""

    name: str
    parts: list[str]
    gemm_tile_rows: Annotated[
        FigureIn | None,
        Bounds("", hard=(1, 4_096), typical=(8, 256), what="a count of token rows"),
    ] = None


class StackIn(StrictModel):
    """A software stack's per-layer launch and synchronisation floor and the synchronisation
    each further peer adds to one collective (its library's), seconds."""

    layer_floor_s: Annotated[FigureIn, FLOOR_S]
    collective_peer_latency_s: Annotated[FigureIn | None, FLOOR_S] = None


class EngineIn(StrictModel):
    """A serving engine's speed against its stack's reference engine (SGLang on CANN: 0.57)."""

    speed_factor: Annotated[
        FigureIn, Bounds("", hard=(0, 100), typical=(0.1, 10), low_open=True, what="a speed factor")
    ]


class CalibrationFile(StrictModel):
    """Schema of `workload_profiles/serving/calibration.yaml`."""

    default: DefaultIn
    families: dict[str, FamilyIn] = {}
    stacks: dict[str, StackIn] = {}
    collective_latency_s: Annotated[FigureIn, FLOOR_S]
    scale_out_latency_s: Annotated[FigureIn, FLOOR_S]
    expert_all_to_all_latency_s: Annotated[dict[str, FigureIn], FLOOR_S] = {}
    reference_engines: dict[str, str] = {}
    engines: dict[str, EngineIn] = {}
    error_bands: Annotated[
        dict[str, FigureIn],
        Bounds("", hard=(0, 100), typical=(0, 10), what="a relative error bound"),
    ] = {}
    compute_units: Annotated[
        dict[str, FigureIn],
        Bounds("", hard=(1, 1_000_000), typical=(1, 1_024), what="compute units (SMs)"),
    ] = {}
    sources: dict[str, SourceIn] = {}


@dataclass(frozen=True)
class Figure:
    """One loaded number with its provenance."""

    value: float
    provenance: Provenance


@dataclass(frozen=True)
class CalibrationTable:
    """The loaded table: figures by name for the default, each family and each stack."""

    path: Path
    family_of: Mapping[str, str]  # part id -> family id
    family_names: Mapping[str, str]
    default: Mapping[str, Figure]
    families: Mapping[str, Mapping[str, Figure]]
    stacks: Mapping[str, Mapping[str, Figure]]
    latencies: Mapping[str, Figure]
    error_bands: Mapping[str, Figure]
    compute_units: Mapping[str, Figure]
    all_to_all_latencies: Mapping[str, Figure]  # by software stack
    reference_engines: Mapping[str, str]  # stack -> the engine its figures describe
    engine_speeds: Mapping[str, Figure]  # "stack/engine" -> fitted speed factor s

    def engine_key(self, stack: str, engine: str | None) -> str | None:
        """'stack/engine' for an engine other than the stack's reference; None otherwise."""
        if engine is None or engine == self.reference_engines.get(stack):
            return None
        return f"{stack}/{engine}"

    def figure(self, part_id: str, stack: str, name: str) -> tuple[Figure | None, str]:
        """The figure `name` for a part, and where it came from (family, stack or default)."""
        family = self.family_of.get(part_id)
        if family is not None and name in self.families.get(family, {}):
            return self.families[family][name], f"family '{family}'"
        if name in self.stacks.get(stack, {}):
            return self.stacks[stack][name], f"stack '{stack}'"
        return self.default.get(name), "default"

    def error_band(self, part_id: str, moe: bool = False) -> tuple[float, str] | None:
        """The band (f - 1, module docstring) of the part's family for a dense model or a
        mixture of experts, else the default's; a table without bands by kind (written before
        them) gives the family's one band for both."""
        family = self.family_of.get(part_id)
        kinds = (f"{family}-moe", "default-moe") if moe else ()
        for key in (*kinds, family, "default"):
            if key is not None and key in self.error_bands:
                band = self.error_bands[key]
                return band.value, f"{band.provenance.note or key} ({self.path.name})"
        return None


def _figure(
    path: Path, field: str, figure: FigureIn, sources: dict[str, SourceIn], problems: list[Problem]
) -> Figure | None:
    value = figure.value  # its range is the schema's (planner.schema.Bounds)
    if not isinstance(value, int | float) or isinstance(value, bool):
        problems.append(
            Problem(str(path), f"{field}.value", f"{value!r} is not a number.", "fix it.")
        )
        return None
    prov = Provenance(resolve_source(figure.source, sources), figure.confidence, figure.note)
    return Figure(float(value), prov)


def _figures(
    path: Path, prefix: str, block: BaseModel, sources: dict[str, SourceIn], problems: list[Problem]
) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    for name in type(block).model_fields:
        figure = getattr(block, name)
        if isinstance(figure, FigureIn) and figure.value is not None:
            got = _figure(path, f"{prefix}.{name}", figure, sources, problems)
            if got is not None:
                out[name] = got
    return out


def read_calibration(path: Path) -> CalibrationTable:
    """Load and check one calibration table; every problem is reported at once."""
    raw = validate(CalibrationFile, read_yaml(path), path)
    problems: list[Problem] = []
    family_of: dict[str, str] = {}
    for family_id, family in raw.families.items():
        for part in family.parts:
            if part in family_of:
                problems.append(
                    Problem(
                        str(path),
                        f"families.{family_id}.parts",
                        f"'{part}' is already in family '{family_of[part]}'.",
                        "list each part in one family.",
                    )
                )
            family_of[part] = family_id
    src = raw.sources
    table = CalibrationTable(
        path=path,
        family_of=MappingProxyType(family_of),
        family_names=MappingProxyType({k: f.name for k, f in raw.families.items()}),
        default=_figures(path, "default", raw.default, src, problems),
        families={
            k: _figures(path, f"families.{k}", f, src, problems) for k, f in raw.families.items()
        },
        stacks={k: _figures(path, f"stacks.{k}", s, src, problems) for k, s in raw.stacks.items()},
        latencies={
            name: got
            for name in ("collective_latency_s", "scale_out_latency_s")
            if (got := _figure(path, name, getattr(raw, name), src, problems)) is not None
        },
        compute_units={
            k: got
            for k, f in raw.compute_units.items()
            if (got := _figure(path, f"compute_units.{k}", f, src, problems)) is not None
        },
        error_bands={
            k: got
            for k, f in raw.error_bands.items()
            if (got := _figure(path, f"error_bands.{k}", f, src, problems)) is not None
        },
        reference_engines=MappingProxyType(dict(raw.reference_engines)),
        engine_speeds={
            k: got
            for k, e in raw.engines.items()
            if (got := _figure(path, f"engines.{k}.speed_factor", e.speed_factor, src, problems))
            is not None
        },
        all_to_all_latencies={
            k: got
            for k, f in raw.expert_all_to_all_latency_s.items()
            if (got := _figure(path, f"expert_all_to_all_latency_s.{k}", f, src, problems))
            is not None
        },
    )  # fmt: skip
    if problems:
        raise InputError(problems)
    return table


def band_families(table: CalibrationTable | None) -> set[str]:
    """The part families a `serving.band.<family>` knob may name: the table's and "default"
    (a stand-in table without `family_of` has none of its own)."""
    return {*(getattr(table, "family_of", None) or {}).values(), "default"}


def calibration_file(overlays: Sequence[Path] = ()) -> Path | None:
    """The calibration table's file: the last folder's that has one (overlays replace it)."""
    found = None
    for folder in search_dirs("workload_profiles", overlays):
        path = folder / CALIBRATION_FILE
        if path.is_file():
            found = path
    return found


def load_calibration(overlays: Sequence[Path] = ()) -> CalibrationTable | None:
    """The calibration table of the last folder that has one (overlays replace it whole)."""
    found = calibration_file(overlays)
    return None if found is None else read_calibration(found)
