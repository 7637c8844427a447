"""The serving calibration table: fitted efficiencies per part family and fixed costs per stack.

`workload_profiles/serving/calibration.yaml` (docs/serving.md, "Calibration") holds what
`planner serving calibrate` fits to the measurements, each figure with its provenance:

- `default`: the FLOP and bandwidth fractions and the per-layer launch floor every part gets
  unless its family or stack has its own;
- `families`: the parts of one microarchitecture and serving stack (e.g. NVIDIA Hopper) and, where
  the measurements reach them, their own FLOP and bandwidth fractions;
- `stacks`: the per-layer launch/synchronisation floor of a software stack, where fitted;
- `collective_latency_s`, `scale_out_latency_s`: the latency of one collective inside a scale-up
  domain and across domains (sourced, not fitted);
- `expert_all_to_all_latency_s`: per software stack, the fixed cost of one expert-parallel
  dispatch or combine where its stack's kernels are measured to differ from the generic
  collective latency (sourced, not fitted; e.g. DeepEP-Ascend on the A3);
- `compute_units`: streaming multiprocessors (or the vendor's equivalent) per part, where
  known: with the fitted bandwidth one unit can pull they cap a part's achievable bandwidth;
- `reference_engines`: per software stack, the serving engine its family and stack figures
  describe (an input: e.g. TensorRT-LLM on CUDA, CloudMatrix-Infer on CANN);
- `engines`: per other engine on a stack ("cann/sglang"), the fitted speed factor s: its kernels
  reach s times the reference's fractions of peak, its fixed costs take 1 / s as long;
- `error_bands`: per family (and `default`), the largest |leave-one-part-out error| of its rows:
  the error an estimate for a part of that family without its own measurements should expect.

An overlay (`--profiles DIR`, `DIR/workload_profiles/serving/calibration.yaml`) replaces the table
whole: that is where `planner serving calibrate --out DIR` writes its fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from planner.errors import InputError, Problem
from planner.paths import search_dirs
from planner.provenance import FigureIn, Provenance, SourceIn, resolve_source
from planner.yamlio import read_yaml, validate

CALIBRATION_FILE = Path("serving") / "calibration.yaml"


class FractionsIn(BaseModel):
    """Fitted fractions of peak (each optional: a family the rows do not reach has none)."""

    model_config = ConfigDict(extra="forbid")
    flop_efficiency_fraction: FigureIn | None = None
    bandwidth_efficiency_fraction: FigureIn | None = None


class DefaultIn(FractionsIn):
    layer_floor_s: FigureIn
    expert_efficiency_fraction: FigureIn | None = None
    unit_bandwidth_bytes_per_s: FigureIn | None = None
    expert_floor_s: FigureIn | None = None


class FamilyIn(FractionsIn):
    name: str
    parts: list[str]


class StackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer_floor_s: FigureIn


class EngineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speed_factor: FigureIn


class CalibrationFile(BaseModel):
    """Schema of `workload_profiles/serving/calibration.yaml`."""

    model_config = ConfigDict(extra="forbid")
    default: DefaultIn
    families: dict[str, FamilyIn] = {}
    stacks: dict[str, StackIn] = {}
    collective_latency_s: FigureIn
    scale_out_latency_s: FigureIn
    expert_all_to_all_latency_s: dict[str, FigureIn] = {}
    reference_engines: dict[str, str] = {}
    engines: dict[str, EngineIn] = {}
    error_bands: dict[str, FigureIn] = {}
    compute_units: dict[str, FigureIn] = {}
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

    def error_band(self, part_id: str) -> tuple[float, str] | None:
        """The |leave-one-part-out error| bound for the part's family, else the default's."""
        family = self.family_of.get(part_id)
        for key in (family, "default"):
            if key is not None and key in self.error_bands:
                band = self.error_bands[key]
                return band.value, f"{band.provenance.note or key} ({self.path.name})"
        return None


def _figure(
    path: Path, field: str, figure: FigureIn, sources: dict[str, SourceIn], problems: list[Problem]
) -> Figure | None:
    value = figure.value
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        problems.append(
            Problem(str(path), f"{field}.value", f"{value!r} is not a number >= 0.", "fix it.")
        )
        return None
    if field.endswith("_fraction") and not 0 < value <= 1:
        problems.append(
            Problem(str(path), f"{field}.value", f"{value} is not a fraction in (0, 1].", "")
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


def load_calibration(overlays: Sequence[Path] = ()) -> CalibrationTable | None:
    """The calibration table of the last folder that has one (overlays replace it whole)."""
    found = None
    for folder in search_dirs("workload_profiles", overlays):
        path = folder / CALIBRATION_FILE
        if path.is_file():
            found = path
    return None if found is None else read_calibration(found)
