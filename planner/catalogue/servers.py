"""Server profiles: the unit a plan buys, as a bill of parts.

A server profile (`hardware_profiles/servers/<id>.yaml`, schema in docs/profiles.md) names its
accelerators (part and count; none for a CPU server), its host CPUs (part and count), its memory
and NICs, the power it draws besides its accelerators and host CPUs (`overhead_power`: NICs,
switches, memory, fans, storage) and the price of everything but the accelerators
(`platform_price`, host CPUs included). Every figure carries a source and a confidence.

From the bill and the parts' profiles follow, per server:

- host power: host CPUs at their TDP plus the overhead, drawn whenever the server is installed,
  W_host = n_cpu x TDP_cpu + W_overhead; per accelerator, W_host / n_acc (the capacity model's
  `server_overhead_w`);
- a CPU server's power: idle n_cpu x P_idle,cpu + W_overhead, every core busy
  n_cpu x TDP_cpu + W_overhead; its cores n_cpu x cores_cpu.

`ServerLibrary.load` reads the shipped folder and the user's overlays (an overlay replaces a
shipped server of the same id, whole) and reports every problem of every file at once, each
naming the file, the field and the fix; `check_against` checks the bill against the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import field_validator, model_validator

from planner.catalogue.parts import SERVERS_FOLDER, SLUG, Catalogue, Part, PriceIn
from planner.errors import InputError, Problem, UnknownName
from planner.paths import search_dirs
from planner.provenance import Confidence, FigureIn, FigureReader, Provenance, SourceIn
from planner.schema import Bounds, StrictModel
from planner.yamlio import by_id, load_layers, read_yaml, validate

ServerKind = Literal["accelerated", "cpu"]


# Ranges of a server's figures (planner.schema.Bounds). Shipped: 8 to 72 accelerators and 1 to
# 36 host CPUs (GB200 NVL72, the rack), 0.55 to 17 TB of host memory, 200 W to 22.8 kW of
# overhead, platform prices of 10,424 to 480,000 USD.
class BillItemIn(StrictModel):
    """One line of a server's bill: a catalogue part and how many the server holds."""

    part: str
    count: Annotated[int, Bounds("", hard=(1, 100_000), typical=(1, 576), what="a count of parts")]
    source: str
    confidence: Confidence
    note: str | None = None

    @model_validator(mode="after")
    def _estimate_says_how(self) -> BillItemIn:
        if self.confidence == "estimate" and not self.note:
            raise ValueError("an estimate needs a note saying how it was made")
        return self


class ServerFile(StrictModel):
    """The schema of one server profile (docs/profiles.md, "Servers")."""

    id: str
    name: str
    vendor: str
    kind: ServerKind
    accelerators: BillItemIn | None = None
    host_cpus: BillItemIn
    memory: Annotated[
        FigureIn, Bounds("GB", hard=(0, 10_000_000), typical=(0, 100_000), what="host memory")
    ]
    nics: FigureIn  # text: "8 x ConnectX-7 400 Gb/s"
    overhead_power: Annotated[
        FigureIn,
        Bounds("W", hard=(0, 1_000_000), typical=(0, 200_000), what="a server's overhead power"),
    ]
    platform_price: Annotated[
        PriceIn, Bounds("", hard=(0, 1e10), typical=(100, 1e8), what="a platform price")
    ]
    availability: str = ""
    sources: dict[str, SourceIn] = {}

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"'{value}' is not a lowercase slug like 'hgx-h20'")
        return value

    @model_validator(mode="after")
    def _accelerators_match_kind(self) -> ServerFile:
        if self.kind == "accelerated" and self.accelerators is None:
            raise ValueError("an accelerated server lists its accelerators: {part, count, ...}")
        if self.kind == "cpu" and self.accelerators is not None:
            raise ValueError("a CPU server holds no accelerators; remove 'accelerators'")
        return self


@dataclass(frozen=True)
class Server:
    """One server profile with SI figures; `None` means unknown (see its provenance note)."""

    id: str
    name: str
    vendor: str
    kind: ServerKind
    accelerator: str | None  # part id; None for a CPU server
    accelerators_per_server: int  # 0 for a CPU server
    host_cpu: str  # part id
    cpus_per_server: int
    memory_bytes: float | None
    nics: str | None
    overhead_w: float | None  # besides accelerators and host CPUs, drawn whenever installed
    platform_price: float | None  # everything but the accelerators, host CPUs included
    price_currency: str | None
    path: Path
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False, repr=False)

    def host_w(self, cpu: Part) -> float | None:
        """Power of everything but the accelerators, W: n_cpu x TDP_cpu + overhead."""
        if cpu.tdp_w is None or self.overhead_w is None:
            return None
        return self.cpus_per_server * cpu.tdp_w + self.overhead_w

    def idle_w(self, cpu: Part) -> float | None:
        """A CPU server with no core busy, W: n_cpu x idle_cpu + overhead."""
        if cpu.idle_w is None or self.overhead_w is None:
            return None
        return self.cpus_per_server * cpu.idle_w + self.overhead_w

    def cores(self, cpu: Part) -> int | None:
        """CPU cores of one server: n_cpu x cores per CPU."""
        return None if cpu.cores is None else self.cpus_per_server * cpu.cores


class _ServerReader(FigureReader):
    """Turns one validated `ServerFile` into a `Server`, collecting every problem."""

    raw: ServerFile

    def bill_item(self, name: str, item: BillItemIn | None) -> tuple[str | None, int]:
        """(part id, count) of a bill line; its source is checked like a figure's."""
        if item is None:
            return None, 0
        self.note(
            name,
            FigureIn(
                value=item.count, source=item.source, confidence=item.confidence, note=item.note
            ),
        )
        return item.part, item.count

    def server(self) -> Server:
        r = self.raw
        accelerator, n_acc = self.bill_item("accelerators", r.accelerators)
        cpu, n_cpu = self.bill_item("host_cpus", r.host_cpus)
        if r.platform_price.value is not None and not r.platform_price.currency:
            self.problems.append(
                Problem(
                    str(self.path),
                    "platform_price.currency",
                    "a price needs its currency.",
                    "add e.g. 'currency: USD'.",
                )
            )
        return Server(
            id=r.id,
            name=r.name,
            vendor=r.vendor,
            kind=r.kind,
            accelerator=accelerator,
            accelerators_per_server=n_acc,
            host_cpu=str(cpu),
            cpus_per_server=n_cpu,
            memory_bytes=self.quantity("memory", "memory_bytes", r.memory, "bytes"),
            nics=self.text("nics", r.nics),
            overhead_w=self.quantity("overhead_power", "overhead_w", r.overhead_power, "power"),
            platform_price=self.number("platform_price", r.platform_price),
            price_currency=r.platform_price.currency,
            path=self.path,
            provenance=MappingProxyType(self.provenance),
        )


def load_server(path: Path) -> Server:
    """Load and check one server profile; every problem in it is reported at once."""
    raw = validate(ServerFile, read_yaml(path), path)
    reader = _ServerReader(raw, path)
    server = reader.server()
    if path.stem != raw.id:
        reader.problems.append(
            Problem(
                str(path),
                "id",
                f"id '{raw.id}' differs from the file name '{path.stem}'.",
                f"rename the file to '{raw.id}.yaml' or change the id.",
            )
        )
    if reader.problems:
        raise InputError(reader.problems)
    return server


def _server_files(folder: Path) -> Iterator[Path]:
    servers = folder / SERVERS_FOLDER
    if servers.is_dir():
        yield from sorted(servers.glob("*.yaml"))


def _part_problem(
    server: Server, where: str, part_id: str, want: str, catalogue: Catalogue
) -> Problem | None:
    """A bill line that names no catalogue part, or a part of the wrong kind."""
    file, name = str(server.path), f"{where}.part"
    if part_id not in catalogue.parts:
        close = get_close_matches(part_id, list(catalogue.parts), n=1)
        fix = f"did you mean '{close[0]}'?" if close else "see `planner hardware list`."
        return Problem(file, name, f"'{part_id}' is not in the hardware catalogue.", fix)
    kind = catalogue.parts[part_id].kind
    if (kind == "cpu") != (want == "cpu"):
        wanted = "a CPU" if want == "cpu" else "an accelerator"
        fix = (
            "name a CPU part (`planner hardware list --kind cpu`)."
            if want == "cpu"
            else ("name a GPU or NPU part.")
        )
        return Problem(file, name, f"'{part_id}' is a {kind}, not {wanted}.", fix)
    return None


@dataclass(frozen=True)
class ServerLibrary:
    """All server profiles by id, shipped ones overridden by the user's overlays."""

    servers: Mapping[str, Server]

    @classmethod
    def load(cls, overlays: Sequence[Path] = ()) -> ServerLibrary:
        """Every server profile under hardware_profiles/, later overlays replacing an id whole."""
        dirs = search_dirs("hardware_profiles", overlays)
        files = [list(_server_files(d)) for d in dirs]
        # Later overlays replace an id whole; two files of one folder with one id are refused.
        servers = by_id(load_layers(dirs, files, load_server), "server")
        return cls(MappingProxyType(dict(sorted(servers.items()))))

    def __getitem__(self, server_id: str) -> Server:
        try:
            return self.servers[server_id]
        except KeyError:
            raise UnknownName("server", server_id, list(self.servers)) from None

    def check_against(self, catalogue: Catalogue) -> None:
        """Every bill line names a catalogue part of the right kind (all problems at once)."""
        problems = []
        for server in self.servers.values():
            lines = [("host_cpus", server.host_cpu, "cpu")]
            if server.accelerator is not None:
                lines.append(("accelerators", server.accelerator, "accelerator"))
            for where, part_id, want in lines:
                problem = _part_problem(server, where, part_id, want, catalogue)
                if problem is not None:
                    problems.append(problem)
        if problems:
            raise InputError(problems)

    def for_accelerator(self, part_id: str) -> list[Server]:
        """The servers that carry this accelerator part."""
        return [s for s in self.servers.values() if s.accelerator == part_id]


def servers_with_parts(overlays: Sequence[Path], catalogue: Catalogue) -> ServerLibrary:
    """The server library, its bills checked against the catalogue."""
    library = ServerLibrary.load(overlays)
    library.check_against(catalogue)
    return library
