"""Achievable fractions of peak for serving: per part (its `serving:` block) or per software stack.

A datasheet peak is never reached in serving: kernels, scheduling and the runtime leave a share of
the FLOPs, the memory bandwidth and the scale-up bandwidth unused. The planner carries three
fractions per part: `flop_efficiency_fraction` (of dense peak at the serving precision),
`bandwidth_efficiency_fraction` (of HBM/DRAM bandwidth) and `interconnect_efficiency_fraction`
(of scale-up bandwidth). A part profile may set them in its `serving:` block; otherwise the default
of its software stack (`hardware_profiles/software_stacks.yaml`, overlays replace a stack whole)
applies.

Video generation (a diffusion transformer denoising a whole clip) is compute-bound and reaches a
different share of peak than LLM decoding, so each stack also carries
`video_flop_efficiency_fraction`: the share of dense peak at the serving precision that a DiT
video generator achieves end to end (docs/serving.md, "Video generation"). It lives with the stack
because it measures the stack's kernels (attention above all) on that kind of work; a part's
`serving:` block does not override it.

Where the serving calibration table (`fitted.py`, `workload_profiles/serving/calibration.yaml`)
is present it takes precedence: a part in one of its families gets the family's fitted FLOP and
bandwidth fractions (or the table's default), its stack's fitted launch floor and the table's
collective latencies. A part outside every family keeps its own `serving:` block where it has
one. The interconnect fraction and the video fraction stay with the part or its stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from pydantic import Field

from planner.catalogue.parts import Part, PeakFraction
from planner.errors import InputError, Problem
from planner.paths import search_dirs
from planner.provenance import FigureIn, Provenance, SourceIn, resolve_source
from planner.schema import StrictModel
from planner.serving.fitted import CalibrationTable, calibration_file, load_calibration
from planner.serving.served import Served, load_precisions, precisions_file
from planner.yamlio import read_yaml, validate

STACKS_FILE = "software_stacks.yaml"
FITTED = (
    "flop_efficiency_fraction",
    "bandwidth_efficiency_fraction",
    "layer_floor_s",
    "expert_efficiency_fraction",
    "expert_floor_s",
    "unit_bandwidth_bytes_per_s",
    "collective_peer_latency_s",
    "gemm_tile_rows",  # an input of the family, read like the fitted figures
)
FRACTIONS = (
    "flop_efficiency_fraction",
    "bandwidth_efficiency_fraction",
    "interconnect_efficiency_fraction",
)


class StackIn(StrictModel):
    """One software stack's default fractions of peak."""

    name: str
    flop_efficiency_fraction: PeakFraction
    bandwidth_efficiency_fraction: PeakFraction
    interconnect_efficiency_fraction: PeakFraction
    video_flop_efficiency_fraction: PeakFraction | None = None  # None = video not estimable


class StacksFile(StrictModel):
    """Schema of `hardware_profiles/software_stacks.yaml`."""

    stacks: dict[str, StackIn]
    sources: dict[str, SourceIn] = Field(default_factory=dict)


@dataclass(frozen=True)
class Efficiency:
    """Fractions of peak a serving stack achieves (each in (0, 1]) and where they come from."""

    flop_fraction: float
    bandwidth_fraction: float
    interconnect_fraction: float
    basis: str
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False, repr=False)
    video_flop_fraction: float | None = None  # DiT video generation; None = no figure
    # Fixed costs per decode step (docs/serving.md, S2): launch/sync floor per layer, latency of
    # one collective inside the scale-up domain and across domains, s. 0 = none.
    layer_floor_s: float = 0.0
    expert_fraction: float = 1.0  # e_x: grouped expert GEMMs' share of e_f and e_bw
    # Memory bandwidth one compute unit (SM) can pull, and the part's units: achievable bandwidth
    # is min(BW e_bw, units x per-unit), 0 units = no such cap (docs/serving.md, S2).
    compute_units: int = 0
    # Precisions the stack serves (weights, KV cache); () = any (docs/serving.md, Precisions).
    served_weights: tuple[str, ...] = ()
    served_kv: tuple[str, ...] = ()
    unit_bandwidth_bytes_per_s: float = 0.0
    expert_floor_s: float = 0.0  # fixed cost of each expert a part reads in one step
    collective_latency_s: float = 0.0
    collective_peer_latency_s: float = 0.0  # delta: each further peer of a collective (S2)
    scale_out_latency_s: float = 0.0
    # Fixed cost of one expert-parallel dispatch or combine on this stack's kernels; 0 = the
    # collective latency above (docs/serving.md, S2).
    all_to_all_latency_s: float = 0.0
    # The fewest token rows a dense tensor-core GEMM computes (Hopper: 64); 1 = no padding known
    gemm_tile_rows: int = 1
    engine: str = ""  # the serving engine the figures describe ("" = stack default, no table)


def _fraction(path: Path, field: str, figure: FigureIn) -> float | Problem:
    """A fraction of peak: a plain number, in (0, 1] by the schema's range (PEAK_FRACTION)."""
    value = figure.value
    if not isinstance(value, int | float) or isinstance(value, bool):
        return Problem(
            str(path),
            f"{field}.value",
            f"{value!r} is not a fraction of peak.",
            "write a fraction of peak, e.g. 0.6.",
        )
    return float(value)


class Stacks(dict[str, Efficiency]):
    """Default efficiencies by software stack id, with the calibration table (if any) that
    refines them per part family and adds the fixed costs per step."""

    calibration: CalibrationTable | None = None
    precisions: dict[str, Served] = {}  # noqa: RUF012 - set per instance by load_stacks
    files: tuple[Path, ...] = ()  # what they were read from (a run records their hashes)


def load_stacks(overlays: Sequence[Path] = ()) -> Stacks:
    """Default efficiencies by software stack id; overlay files replace stacks of the same id.
    The serving calibration table travels with them (`Stacks.calibration`)."""
    stacks = Stacks()
    stacks.calibration = load_calibration(overlays)
    stacks.precisions = load_precisions(overlays)
    problems: list[Problem] = []
    for folder in search_dirs("hardware_profiles", overlays):
        path = folder / STACKS_FILE
        if not path.is_file():
            continue
        raw = validate(StacksFile, read_yaml(path), path)
        for stack_id, stack in raw.stacks.items():
            values: dict[str, float] = {}
            provenance: dict[str, Provenance] = {}
            for name in FRACTIONS:
                figure: FigureIn = getattr(stack, name)
                field = f"stacks.{stack_id}.{name}"
                got = _fraction(path, field, figure)
                if isinstance(got, Problem):
                    problems.append(got)
                    continue
                values[name] = got
                provenance[name] = Provenance(
                    resolve_source(figure.source, raw.sources), figure.confidence, figure.note
                )
            video: float | None = None
            if stack.video_flop_efficiency_fraction is not None:
                name = "video_flop_efficiency_fraction"
                got = _fraction(
                    path, f"stacks.{stack_id}.{name}", stack.video_flop_efficiency_fraction
                )
                if isinstance(got, Problem):
                    problems.append(got)
                else:
                    video = got
                    fig = stack.video_flop_efficiency_fraction
                    provenance[name] = Provenance(
                        resolve_source(fig.source, raw.sources), fig.confidence, fig.note
                    )
            if len(values) == len(FRACTIONS):
                stacks[stack_id] = Efficiency(
                    values["flop_efficiency_fraction"],
                    values["bandwidth_efficiency_fraction"],
                    values["interconnect_efficiency_fraction"],
                    basis=f"software stack '{stack_id}' default ({path.parent.name}/{path.name})",
                    provenance=MappingProxyType(provenance),
                    video_flop_fraction=video,
                )
    if problems:
        raise InputError(problems)
    stacks.files = stack_files(overlays)
    return stacks


def stack_files(overlays: Sequence[Path] = ()) -> tuple[Path, ...]:
    """The files the stacks, the calibration table and the precisions table are read from."""
    folders = search_dirs("hardware_profiles", overlays)
    files = [f / STACKS_FILE for f in folders if (f / STACKS_FILE).is_file()]
    files += [p for p in (calibration_file(overlays), precisions_file(overlays)) if p is not None]
    return tuple(files)


def efficiency_for(
    part: Part, stacks: Mapping[str, Efficiency], engine: str | None = None
) -> Efficiency:
    """The calibration table's figures for the part where it has a table (module docstring),
    else the part's own `serving:` fractions where set, else its software stack's defaults.
    `engine` (e.g. "sglang") applies the table's speed factor of that serving engine on the
    part's stack; None = the stack's reference engine."""
    own = _own_or_stack(part, stacks)
    served = getattr(stacks, "precisions", {}).get(part.software_stack)
    if served is not None:
        own = replace(own, served_weights=served.weights, served_kv=served.kv)
    table = getattr(stacks, "calibration", None)
    if table is None:
        return own
    return with_engine(calibrated(part, own, table), part, table, engine)


def with_engine(
    eff: Efficiency, part: Part, table: CalibrationTable, engine: str | None
) -> Efficiency:
    """`eff` for serving engine `engine`: fractions x s (at most 1), floors / s, s its fitted
    speed factor on the part's stack; unchanged for the reference engine. An engine the table
    has no factor for is an InputError naming the ones it has."""
    key = table.engine_key(part.software_stack, engine)
    reference = table.reference_engines.get(part.software_stack, "the reference")
    if key is None:
        return replace(eff, engine=reference)
    speed = table.engine_speeds.get(key)
    if speed is None:
        known = sorted(
            k.split("/", 1)[1]
            for k in table.engine_speeds
            if k.startswith(f"{part.software_stack}/")
        )
        raise InputError(
            Problem(
                str(table.path),
                f"engines.{key}",
                f"no speed factor for serving engine '{engine}' on the {part.software_stack} "
                "stack.",
                f"serve with engine {' or '.join([reference, *known])}, or refit with rows of "
                "that engine.",
                options=("engine",),
            )
        )
    s = speed.value
    return replace(
        eff,
        flop_fraction=min(1.0, eff.flop_fraction * s),
        bandwidth_fraction=min(1.0, eff.bandwidth_fraction * s),
        layer_floor_s=eff.layer_floor_s / s,
        engine=engine or reference,
        basis=f"{eff.basis}; engine '{engine}' x {s:.3g} ({table.path.name})",
    )


def calibrated(part: Part, base: Efficiency, table: CalibrationTable) -> Efficiency:
    """`base` with the table's fractions (when the part is in a family or has no serving block
    of its own), its launch floor and its collective latencies."""
    in_family = part.id in table.family_of
    own_block = part.flop_efficiency_fraction is not None
    figures = {}
    sources = []
    for name in FITTED:
        if name in FRACTIONS[:2] and own_block and not in_family:
            continue
        got, where = table.figure(part.id, part.software_stack, name)
        if got is not None:
            figures[name] = got
            sources.append(f"{name} from {where}")
    provenance = dict(base.provenance)
    provenance.update({name: f.provenance for name, f in figures.items()})
    provenance.update({name: f.provenance for name, f in table.latencies.items()})
    flop = figures.get("flop_efficiency_fraction")
    bandwidth = figures.get("bandwidth_efficiency_fraction")
    expert_share = figures.get("expert_efficiency_fraction")
    per_unit = figures.get("unit_bandwidth_bytes_per_s")
    tile = figures.get("gemm_tile_rows")
    units = table.compute_units.get(part.id)
    expert = figures.get("expert_floor_s")
    latency = table.latencies.get("collective_latency_s")
    peer = figures.get("collective_peer_latency_s")
    scale_out = table.latencies.get("scale_out_latency_s")
    all_to_all = table.all_to_all_latencies.get(part.software_stack)
    if all_to_all is not None:
        provenance["expert_all_to_all_latency_s"] = all_to_all.provenance
    return replace(
        base,
        flop_fraction=base.flop_fraction if flop is None else flop.value,
        bandwidth_fraction=base.bandwidth_fraction if bandwidth is None else bandwidth.value,
        layer_floor_s=figures["layer_floor_s"].value if "layer_floor_s" in figures else 0.0,
        expert_fraction=1.0 if expert_share is None else expert_share.value,
        compute_units=0 if units is None else int(units.value),
        unit_bandwidth_bytes_per_s=0.0 if per_unit is None else per_unit.value,
        expert_floor_s=0.0 if expert is None else expert.value,
        collective_latency_s=0.0 if latency is None else latency.value,
        collective_peer_latency_s=0.0 if peer is None else peer.value,
        scale_out_latency_s=0.0 if scale_out is None else scale_out.value,
        all_to_all_latency_s=0.0 if all_to_all is None else all_to_all.value,
        gemm_tile_rows=1 if tile is None else int(tile.value),
        basis=f"calibration table {table.path} ({'; '.join(sources)})",
        provenance=MappingProxyType(provenance),
    )


def _own_or_stack(part: Part, stacks: Mapping[str, Efficiency]) -> Efficiency:
    """The part's own `serving:` fractions where set, else its software stack's defaults."""
    default = stacks.get(part.software_stack)
    flop, bandwidth, interconnect = own = (
        part.flop_efficiency_fraction,
        part.bandwidth_efficiency_fraction,
        part.interconnect_efficiency_fraction,
    )
    if default is None and None in own:
        raise InputError.one(
            part.path,
            "software_stack",
            f"no default serving efficiencies for software stack '{part.software_stack}' "
            f"(known: {', '.join(sorted(stacks))}) and the part's 'serving:' block is incomplete.",
            f"add '{part.software_stack}' to hardware_profiles/{STACKS_FILE} or set all three "
            "fractions in the part's 'serving:' block.",
        )
    if flop is not None and bandwidth is not None and interconnect is not None:
        provenance = {
            name: part.provenance[f"serving.{name}"]
            for name in FRACTIONS
            if f"serving.{name}" in part.provenance
        }
        return Efficiency(
            flop,
            bandwidth,
            interconnect,
            basis=f"part profile serving block ({part.path})",
            provenance=MappingProxyType(provenance),
            video_flop_fraction=None if default is None else default.video_flop_fraction,
        )
    assert default is not None
    if all(v is None for v in own):
        return default
    return Efficiency(
        flop if flop is not None else default.flop_fraction,
        bandwidth if bandwidth is not None else default.bandwidth_fraction,
        interconnect if interconnect is not None else default.interconnect_fraction,
        basis=f"part serving block ({part.path}), gaps from {default.basis}",
        provenance=default.provenance,
        video_flop_fraction=default.video_flop_fraction,
    )
