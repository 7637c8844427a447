"""The hardware catalogue: one YAML profile per part, loaded into SI floats with provenance.

Profiles live in `hardware_profiles/<vendor>/<part>.yaml`; top-level files of that folder are
shared tables (not parts). A user overlay (`--profiles DIR`, `DIR/hardware_profiles/...`) adds
parts or replaces a shipped part with the same id, whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeGuard

from pydantic import field_validator

from planner.cache import cached
from planner.errors import InputError, Problem, UnknownName
from planner.paths import SERVERS_FOLDER, search_dirs
from planner.provenance import FigureIn, FigureReader, Provenance, SourceIn
from planner.schema import Bounds, StrictModel
from planner.yamlio import by_id, load_layers, read_yaml, reading_past, validate_collecting

Precision = Literal["fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp6", "fp4", "int4"]
PRECISIONS: tuple[Precision, ...] = (
    "fp64",
    "fp32",
    "tf32",
    "bf16",
    "fp16",
    "fp8",
    "int8",
    "fp6",
    "fp4",
    "int4",
)


def is_precision(name: str) -> TypeGuard[Precision]:
    """Whether `name` is one of the precisions a part's peaks are keyed by."""
    return name in PRECISIONS


# Bit length of the operation's inputs, as 3A090's TPP counts it (TF32 at its 32-bit container).
BIT_LENGTH: Mapping[Precision, int] = MappingProxyType(
    {
        "fp64": 64,
        "fp32": 32,
        "tf32": 32,
        "bf16": 16,
        "fp16": 16,
        "fp8": 8,
        "int8": 8,
        "fp6": 6,
        "fp4": 4,
        "int4": 4,
    }
)
Kind = Literal["gpu", "npu", "cpu"]
SLUG = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


# Ranges of a part's figures (planner.schema.Bounds). Hard ends are physics or definitions (a
# package draws no 20 kW; a die is no larger than a 300 mm wafer, 70,686 mm^2); typical ends
# span the shipped catalogue (26 parts, 2020-2026) with a wide margin, quoted beside each.
PEAK = Bounds(
    "TFLOPS",
    hard=(0, 1_000_000),
    typical=(0.1, 40_000),
    low_open=True,
    what="a dense peak the part delivers",
    fix="or leave the precision out if the part lacks it",
)  # shipped 0.93 (fp64) to 13,125 (fp4) TFLOPS
PART_W = Bounds("W", hard=(0, 20_000), typical=(0, 3_000), what="a power per part")
BANDWIDTH_GB_S = Bounds("GB/s", hard=(0, 1_000_000), typical=(0, 30_000), what="a bandwidth")


class PriceIn(FigureIn):
    """An indicative unit price: a number in a currency, as of a date."""

    currency: str | None = None
    date: str | None = None


# An achievable fraction of a peak: above 0 by definition; shipped 0.25 to 0.74.
PEAK_FRACTION = Bounds(
    "", hard=(0, 1), typical=(0.05, 0.95), low_open=True, what="a fraction of peak"
)
PeakFraction = Annotated[FigureIn, PEAK_FRACTION]


class ServingIn(StrictModel):
    """Achievable fractions of peak for serving (software maturity), each with provenance."""

    flop_efficiency_fraction: PeakFraction | None = None
    bandwidth_efficiency_fraction: PeakFraction | None = None
    interconnect_efficiency_fraction: PeakFraction | None = None


class SoldToIn(StrictModel):
    """Who can buy a part that is not on the open market: the corporate groups it is sold to
    (a part of Alibaba's T-Head: `groups: [alibaba]`), with the source saying so."""

    groups: list[str]
    source: str
    confidence: Literal["datasheet", "press", "estimate"]
    note: str | None = None

    @field_validator("groups")
    @classmethod
    def _slugs(cls, groups: list[str]) -> list[str]:
        bad = [g for g in groups if not SLUG.match(g)]
        if bad or not groups:
            raise ValueError(f"{bad or groups} are not group names; write lowercase slugs")
        return groups


class PartFile(StrictModel):
    """The schema of one hardware profile (documented in docs/profiles.md)."""

    id: str
    name: str
    vendor: str
    kind: Kind
    datacenter: bool
    designed_in: str
    fabricated_in: str | None = None
    software_stack: str
    launch_date: FigureIn
    process_node: FigureIn
    die_area: Annotated[
        FigureIn,
        Bounds("mm^2", hard=(0, 70_686), typical=(50, 2_500), low_open=True, what="a die area"),
    ]  # shipped 609 to 1,600 mm^2 (two reticle-limit dies)
    cores: Annotated[
        FigureIn | None, Bounds("", hard=(1, 1_000_000), typical=(1, 1_024), what="cores")
    ] = None  # shipped CPUs: 80 to 128
    peak_dense: Annotated[dict[Precision, FigureIn], PEAK]
    memory_type: str | None = None
    memory_capacity: Annotated[
        FigureIn, Bounds("GB", hard=(0, 100_000), typical=(0.1, 2_000), what="memory")
    ]  # shipped 0.19 to 288 GB
    memory_bandwidth: Annotated[FigureIn, BANDWIDTH_GB_S]  # shipped 614 to 8,000 GB/s
    scale_up_bandwidth: Annotated[FigureIn, BANDWIDTH_GB_S]  # shipped 0 to 2,000 GB/s
    scale_up_domain: Annotated[
        FigureIn,
        Bounds("", hard=(1, 1_000_000), typical=(1, 16_384), what="parts in a scale-up domain"),
    ]  # shipped 1 to 8,192 (an Ascend 950 SuperPoD)
    io_bandwidth: Annotated[FigureIn, BANDWIDTH_GB_S]  # shipped 64 to 768 GB/s
    # "mesh": each part links straight to each peer of its domain over its own share of the
    # scale-up bandwidth (AMD's xGMI, Cambricon's MLU-Link bridge); "switch" or absent:
    # every part reaches any peer at its whole scale-up bandwidth (NVSwitch, UB switches).
    scale_up_topology: FigureIn | None = None
    tdp: Annotated[
        FigureIn,
        Bounds("W", hard=(0, 20_000), typical=(10, 3_000), low_open=True, what="a TDP"),
    ]  # shipped 250 to 1,400 W; a GB200 superchip (two GPUs and a CPU) is 2,700 W
    idle_power: Annotated[FigureIn, PART_W]  # shipped 25 to 140 W
    server_overhead_power: Annotated[FigureIn, PART_W]  # shipped 200 to 1,120 W per part
    # In the price's own currency: shipped 10,000 to 45,000 USD; the typical end allows prices
    # in currencies of up to about 200 units per USD.
    unit_price: Annotated[
        PriceIn,
        Bounds("", hard=(0, 1e9), typical=(100, 10_000_000), what="a price per part"),
    ]
    availability: str
    sold_to: SoldToIn | None = None  # None: the open market (export rules permitting)
    serving: ServingIn | None = None
    # ICs on the board that 3A090 assesses one by one (a card of two chips: 2); default 1
    integrated_circuits: Annotated[
        FigureIn | None, Bounds("", hard=(1, 64), typical=(1, 4), what="integrated circuits")
    ] = None
    # Compute dies the serving runtime addresses as separate devices (Ascend 910C: 2); default 1
    devices: Annotated[
        FigureIn | None, Bounds("", hard=(1, 64), typical=(1, 8), what="devices per part")
    ] = None
    sources: dict[str, SourceIn] = {}

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"'{value}' is not a lowercase slug like 'h100-sxm'")
        return value

    @field_validator("designed_in", "fabricated_in")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError(f"'{value}' is not a two-letter ISO country code like 'US' or 'CN'")
        return value


@dataclass(frozen=True)
class Part:
    """One accelerator or CPU with SI figures. `None` means unknown (see its provenance note)."""

    id: str
    name: str
    vendor: str
    kind: Kind
    datacenter: bool
    designed_in: str
    fabricated_in: str | None
    software_stack: str
    launch_date: dt.date | None
    process_node: str | None
    die_area_mm2: float | None
    cores: int | None
    peak_dense_ops_per_s: Mapping[Precision, float]
    memory_type: str | None
    memory_bytes: float | None
    memory_bandwidth_bytes_per_s: float | None
    scale_up_bandwidth_bytes_per_s: float | None
    scale_up_domain_parts: int | None
    io_bandwidth_bytes_per_s: float | None
    tdp_w: float | None
    idle_w: float | None
    server_overhead_w: float | None
    unit_price: float | None
    price_currency: str | None
    price_date: str | None
    availability: str
    flop_efficiency_fraction: float | None
    bandwidth_efficiency_fraction: float | None
    interconnect_efficiency_fraction: float | None
    path: Path
    integrated_circuits: int = 1  # ICs 3A090 assesses separately (TPP per IC)
    devices: int = 1  # dies the serving runtime sees as separate devices (each 1/devices of it)
    # True: a full mesh, each of the domain's d - 1 peers over 1 / (d - 1) of the scale-up link
    scale_up_mesh: bool = False
    sold_to_groups: tuple[str, ...] | None = None  # None: the open market
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False, repr=False)

    @property
    def device_link_bytes_per_s(self) -> float:
        """One device's share of the scale-up link (else of the I/O link), B/s both directions
        together as datasheets quote them; 0 where neither is known."""
        link = self.scale_up_bandwidth_bytes_per_s or self.io_bandwidth_bytes_per_s or 0.0
        return link / self.devices

    @property
    def mesh_peers(self) -> int:
        """Peers each device of a full-mesh domain links to straight (0: switched)."""
        return (self.scale_up_domain_parts or 1) * self.devices - 1 if self.scale_up_mesh else 0

    def domestic_for(self, buyer_country: str) -> bool:
        """A part counts as domestic for a buyer when it was designed in the buyer's country."""
        return self.designed_in == buyer_country.upper()

    def sold_to(self, group: str | None) -> bool:
        """Whether a buyer of this corporate group (None: none) can buy the part at all."""
        return self.sold_to_groups is None or group in self.sold_to_groups

    def peak(self, precision: str) -> float | None:
        """Dense peak throughput at a precision in op/s, or None where unsupported or unknown."""
        return self.peak_dense_ops_per_s.get(precision) if is_precision(precision) else None


class _PartReader(FigureReader):
    """Turns one validated `PartFile` into a `Part`, collecting every problem."""

    raw: PartFile

    def peaks(self) -> dict[Precision, float]:
        """Dense peak throughput per precision, op/s (unknown precisions left out)."""
        peaks: dict[Precision, float] = {}
        for precision, figure in self.raw.peak_dense.items():
            value = self.quantity(
                f"peak_dense.{precision}", f"peak_dense.{precision}", figure, "ops_per_s"
            )
            if value is not None:  # > 0 by the schema's range (PEAK): the model divides by it
                peaks[precision] = value
        return peaks

    def memory_and_links(self) -> dict[str, Any]:
        """Memory size and bandwidth, scale-up links and host I/O, in bytes and bytes/s."""
        r = self.raw
        return {
            "memory_type": r.memory_type,
            "memory_bytes": self.quantity(
                "memory_capacity", "memory_bytes", r.memory_capacity, "bytes"
            ),
            "memory_bandwidth_bytes_per_s": self.quantity(
                "memory_bandwidth",
                "memory_bandwidth_bytes_per_s",
                r.memory_bandwidth,
                "bytes_per_s",
            ),
            "scale_up_bandwidth_bytes_per_s": self.quantity(
                "scale_up_bandwidth",
                "scale_up_bandwidth_bytes_per_s",
                r.scale_up_bandwidth,
                "bytes_per_s",
            ),
            "scale_up_domain_parts": self.number(
                "scale_up_domain", r.scale_up_domain, integer=True
            ),
            "io_bandwidth_bytes_per_s": self.quantity(
                "io_bandwidth", "io_bandwidth_bytes_per_s", r.io_bandwidth, "bytes_per_s"
            ),
        }

    def serving_fractions(self) -> dict[str, Any]:
        """Achievable fractions of peak compute, memory and link bandwidth for serving."""
        serving = self.raw.serving or ServingIn()
        names = (
            "flop_efficiency_fraction",
            "bandwidth_efficiency_fraction",
            "interconnect_efficiency_fraction",
        )
        return {n: self.fraction(f"serving.{n}", getattr(serving, n)) for n in names}

    def topology_is_mesh(self) -> bool:
        """Whether the scale-up fabric is a full mesh ("mesh") rather than switched."""
        figure = self.raw.scale_up_topology
        if figure is None:
            return False
        value = self.text("scale_up_topology", figure)
        if value not in (None, "mesh", "switch"):
            self.problems.append(
                Problem(
                    str(self.path),
                    "scale_up_topology.value",
                    f"'{value}' is not a scale-up topology.",
                    "write mesh (each part wired to each peer) or switch.",
                )
            )
        return value == "mesh"

    def part(self) -> Part:
        r = self.raw
        circuits = self.number("integrated_circuits", r.integrated_circuits, integer=True)
        devices = self.number("devices", r.devices, integer=True)
        part = Part(
            id=r.id,
            name=r.name,
            vendor=r.vendor,
            kind=r.kind,
            datacenter=r.datacenter,
            designed_in=r.designed_in,
            fabricated_in=r.fabricated_in,
            software_stack=r.software_stack,
            launch_date=self.date("launch_date", r.launch_date),
            process_node=self.text("process_node", r.process_node),
            die_area_mm2=self.quantity("die_area", "die_area_mm2", r.die_area, "area_mm2"),
            cores=self.count("cores", r.cores),
            peak_dense_ops_per_s=MappingProxyType(self.peaks()),
            **self.memory_and_links(),
            tdp_w=self.quantity("tdp", "tdp_w", r.tdp, "power"),
            idle_w=self.quantity("idle_power", "idle_w", r.idle_power, "power"),
            server_overhead_w=self.quantity(
                "server_overhead_power", "server_overhead_w", r.server_overhead_power, "power"
            ),
            unit_price=self.number("unit_price", r.unit_price),
            price_currency=r.unit_price.currency,
            price_date=r.unit_price.date,
            availability=r.availability,
            sold_to_groups=None if r.sold_to is None else tuple(r.sold_to.groups),
            **self.serving_fractions(),
            integrated_circuits=int(circuits or 1),
            devices=int(devices or 1),
            scale_up_mesh=self.topology_is_mesh(),
            path=self.path,
            provenance=MappingProxyType(self.provenance),
        )
        if r.unit_price.value is not None and not r.unit_price.currency:
            self.problems.append(
                Problem(
                    str(self.path),
                    "unit_price.currency",
                    "a price needs its currency.",
                    "add e.g. 'currency: USD'.",
                )
            )
        if part.idle_w is not None and part.tdp_w is not None and part.idle_w > part.tdp_w:
            self.problems.append(
                Problem(
                    str(self.path),
                    "idle_power.value",
                    "idle power exceeds TDP.",
                    "check both figures.",
                )
            )
        return part


def _check_sold_to(loader: _PartReader) -> None:
    """`sold_to` cites a key of `sources:` (or a URL), like every figure."""
    sold = loader.raw.sold_to
    if sold is not None and not (
        sold.source in loader.raw.sources or sold.source.startswith("http")
    ):
        loader.problems.append(
            Problem(
                str(loader.path),
                "sold_to.source",
                f"'{sold.source}' is neither a key of 'sources:' nor a URL.",
                "add it to the file's 'sources:' table or write the URL.",
            )
        )


def load_part(path: Path) -> Part:
    """Load and check one profile file; every problem in it is reported at once."""
    raw, refused = validate_collecting(PartFile, read_yaml(path), path)
    loader = _PartReader(raw, path)
    loader.problems.extend(refused)  # figures outside their ranges, reported with the rest
    with reading_past(refused):
        part = loader.part()
    _check_sold_to(loader)
    if path.stem != raw.id:
        loader.problems.append(
            Problem(
                str(path),
                "id",
                f"id '{raw.id}' differs from the file name '{path.stem}'.",
                f"rename the file to '{raw.id}.yaml' or change the id.",
            )
        )
    if loader.problems:
        raise InputError(loader.problems)
    return part


def _part_files(folder: Path) -> Iterator[Path]:
    """Part files are the YAML files in vendor subfolders; top-level files are shared tables and
    `servers/` holds server profiles (planner.catalogue.servers)."""
    if folder.is_dir():
        yield from sorted(p for p in folder.glob("*/*.yaml") if p.parent.name != SERVERS_FOLDER)


@dataclass(frozen=True)
class Catalogue:
    """All parts by id, shipped ones overridden by the user's overlays."""

    parts: Mapping[str, Part]

    @classmethod
    def load(cls, overlays: Sequence[Path] = ()) -> Catalogue:
        """The shipped parts and each overlay's, from the parsed-catalogue cache while their
        files are unchanged (planner/cache.py)."""
        folders = search_dirs("hardware_profiles", overlays)
        files = [list(_part_files(folder)) for folder in folders]

        def read() -> Catalogue:
            # Later overlays replace an id whole; two files of one folder with one id are refused.
            parts = by_id(load_layers(folders, files, load_part), "part")
            return cls(MappingProxyType(dict(sorted(parts.items()))))

        return cached("catalogue", folders, [p for layer in files for p in layer], read)

    def __getitem__(self, part_id: str) -> Part:
        try:
            return self.parts[part_id]
        except KeyError:
            raise UnknownName("part", part_id, list(self.parts)) from None

    def __iter__(self) -> Iterator[Part]:
        return iter(self.parts.values())

    def __len__(self) -> int:
        return len(self.parts)

    def select(self, vendor: str | None = None, kind: str | None = None) -> list[Part]:
        """Parts filtered by vendor and kind (case-insensitive)."""
        return [
            p
            for p in self
            if (vendor is None or p.vendor.lower() == vendor.lower())
            and (kind is None or p.kind == kind.lower())
        ]
