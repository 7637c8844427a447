"""`planner hardware list|show|compare|servers`: the parts catalogue and the server profiles,
with every figure's provenance.

The serving model and the server profiles load only in the commands that use them, so `list` and
`show` start quickly (benches/test_cli_startup.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.completion import complete_part, complete_workload
from cli.options import FormatOpt, ProfilesOpt
from cli.render import OutputFormat, emit
from planner.catalogue.parts import PRECISIONS, Catalogue, Part
from planner.catalogue.tpp import total_processing_performance
from planner.errors import PlannerError

if TYPE_CHECKING:
    from planner.catalogue.servers import Server
    from planner.serving.efficiency import Efficiency
    from planner.serving.model import ServingRequest
    from planner.serving.workloads import Workload

app = typer.Typer(
    help="The hardware catalogue: parts, figures and their sources.", no_args_is_help=True
)


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value / scale


def part_row(part: Part) -> dict[str, Any]:
    """Headline figures of one part, units in the key names."""
    tpp = total_processing_performance(part)
    return {
        "id": part.id,
        "vendor": part.vendor,
        "kind": part.kind,
        "designed_in": part.designed_in,
        "launch_date": part.launch_date,
        "bf16_dense_tflops": _scaled(part.peak("bf16"), 1e12),
        "fp8_dense_tflops": _scaled(part.peak("fp8"), 1e12),
        "int8_dense_tops": _scaled(part.peak("int8"), 1e12),
        "memory_gb": _scaled(part.memory_bytes, 1e9),
        "memory_bandwidth_tb_per_s": _scaled(part.memory_bandwidth_bytes_per_s, 1e12),
        "scale_up_gb_per_s": _scaled(part.scale_up_bandwidth_bytes_per_s, 1e9),
        "tdp_w": part.tdp_w,
        "tpp": tpp.tpp,
        "performance_density": tpp.performance_density,
        "unit_price": part.unit_price,
        "price_currency": part.price_currency,
    }


_SHOW_FIELDS: list[tuple[str, str, float]] = [
    ("launch_date", "", 1),
    ("process_node", "", 1),
    ("die_area_mm2", "mm^2", 1),
    ("cores", "", 1),
    *[(f"peak_dense.{p}", "TFLOPS or TOPS", 1e12) for p in PRECISIONS],
    ("memory_bytes", "GB", 1e9),
    ("memory_bandwidth_bytes_per_s", "TB/s", 1e12),
    ("scale_up_bandwidth_bytes_per_s", "GB/s", 1e9),
    ("scale_up_domain_parts", "parts", 1),
    ("io_bandwidth_bytes_per_s", "GB/s", 1e9),
    ("tdp_w", "W", 1),
    ("idle_w", "W", 1),
    ("server_overhead_w", "W", 1),
    ("unit_price", "", 1),
    ("serving.flop_efficiency_fraction", "", 1),
    ("serving.bandwidth_efficiency_fraction", "", 1),
    ("serving.interconnect_efficiency_fraction", "", 1),
]


def _value_of(part: Part, name: str) -> Any:
    if name.startswith("peak_dense."):
        return part.peak(name.split(".", 1)[1])
    return getattr(part, name.removeprefix("serving."))


def figure_rows(part: Part) -> list[dict[str, Any]]:
    """Every figure of a part with its unit, confidence, source and note."""
    rows = []
    for name, unit, scale in _SHOW_FIELDS:
        if name not in part.provenance:
            continue
        value = _value_of(part, name)
        if isinstance(value, float) and scale != 1:
            value = value / scale
        if name == "unit_price" and value is not None:
            unit = f"{part.price_currency} ({part.price_date})"
        prov = part.provenance[name]
        rows.append(
            {
                "field": name,
                "value": value,
                "unit": unit,
                "confidence": prov.confidence,
                "source": prov.cite(),
                "note": prov.note,
            }
        )
    return rows


@app.command("list")
def list_parts(
    vendor: Annotated[str | None, typer.Option(help="Only this vendor, e.g. nvidia.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind: gpu, npu or cpu.")] = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """List the parts in the catalogue with their headline figures."""
    catalogue = Catalogue.load(profiles or ())
    rows = [part_row(p) for p in catalogue.select(vendor=vendor, kind=kind)]
    emit(rows, fmt, title=f"{len(rows)} parts")


@app.command("show")
def show(
    part: Annotated[str, typer.Argument(help="Part id, e.g. h20.", autocompletion=complete_part)],
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Every figure of one part with its source, confidence and note."""
    p = Catalogue.load(profiles or ())[part]
    tpp = total_processing_performance(p)
    if fmt is OutputFormat.json:
        emit(
            {
                **part_row(p),
                "name": p.name,
                "tpp_arithmetic": tpp.arithmetic,
                "availability": p.availability,
                "figures": figure_rows(p),
            },
            fmt,
        )
        return
    emit(figure_rows(p), fmt, title=f"{p.name} ({p.id}): TPP {tpp.arithmetic}")


def server_row(server: Server, catalogue: Catalogue) -> dict[str, Any]:
    """One server's bill and what follows from it: host watts (per accelerator too), cores."""
    cpu = catalogue[server.host_cpu]
    host_w = server.host_w(cpu)
    n = server.accelerators_per_server
    return {
        "id": server.id,
        "kind": server.kind,
        "accelerator": server.accelerator,
        "accelerators_count": n,
        "host_cpu": server.host_cpu,
        "host_cpus_count": server.cpus_per_server,
        "cores_count": server.cores(cpu),
        "memory_gb": _scaled(server.memory_bytes, 1e9),
        "nics": server.nics,
        "overhead_w": server.overhead_w,
        "host_w": host_w,
        "host_w_per_accelerator": None if host_w is None or not n else host_w / n,
        "idle_w": server.idle_w(cpu) if server.kind == "cpu" else None,
        "platform_price": server.platform_price,
        "price_currency": server.price_currency,
    }


@app.command("servers")
def servers(fmt: FormatOpt = OutputFormat.table, profiles: ProfilesOpt = None) -> None:
    """The server profiles: each server's bill of parts, its host watts and platform price."""
    from planner.catalogue.servers import servers_with_parts

    catalogue = Catalogue.load(profiles or ())
    library = servers_with_parts(profiles or (), catalogue)
    rows = [server_row(s, catalogue) for s in library.servers.values()]
    emit(rows, fmt, title=f"{len(rows)} servers")


@app.command("compare")
def compare(
    parts: Annotated[
        list[str], typer.Argument(help="Two or more part ids.", autocompletion=complete_part)
    ],
    workload: Annotated[
        str | None,
        typer.Option(
            help="Add serving columns for this workload (planner serving estimate).",
            autocompletion=complete_workload,
        ),
    ] = None,
    precision: Annotated[
        str | None, typer.Option(help="Serving precision with --workload (default: its own).")
    ] = None,
    tpot_ms: Annotated[
        float | None, typer.Option(help="Time-per-output-token target with --workload, ms.")
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Parts side by side: throughput, memory, power, TPP and price (and serving figures)."""
    catalogue = Catalogue.load(profiles or ())
    rows = [part_row(catalogue[p]) for p in parts]
    if workload is not None:
        from planner.serving.efficiency import load_stacks
        from planner.serving.model import ServingRequest
        from planner.serving.workloads import WorkloadLibrary

        library = WorkloadLibrary.load(profiles or ())
        stacks = load_stacks(profiles or ())
        request = ServingRequest(
            precision=precision, tpot_s=None if tpot_ms is None else tpot_ms / 1e3
        )
        w = library[workload]
        spec = list(rows[0]) if rows else []
        for row, part_id in zip(rows, parts, strict=True):
            row.update(_serving_columns(catalogue[part_id], w, request, stacks))
        # A narrow table shows the serving answer first, the datasheet after (cli/render.py).
        served = [c for c in dict.fromkeys(k for r in rows for k in r) if c not in spec]
        columns = spec[:1] + served + spec[1:] if fmt is OutputFormat.table else None
        emit(rows, fmt, title=f"comparison serving {workload}", columns=columns)
        return
    emit(rows, fmt, title="comparison")


def _serving_columns(
    part: Part, workload: Workload, request: ServingRequest, stacks: Mapping[str, Efficiency]
) -> dict[str, Any]:
    """Serving figures of one part (model, default request); a part that cannot serve says why.
    A video workload gives video seconds per second and cost per minute of video instead."""
    from planner.serving.efficiency import efficiency_for
    from planner.serving.model import estimate

    if workload.kind == "video":
        return _video_columns(part, workload, request, stacks)
    try:
        est = estimate(part, workload, request, efficiency_for(part, stacks))
    except PlannerError as exc:
        return {"serving_note": str(exc)}
    return {
        "serving_precision": est.precision,
        "parts_per_replica": est.parts_per_replica,
        "output_tokens_per_s_per_part": est.output_tokens_per_s_per_part,
        "watts_per_part": est.watts_per_part,
        "joules_per_output_token": est.joules_per_output_token,
        "cost_per_million_output_tokens": est.cost_per_million_output_tokens,
        "bound": est.bound,
        "serving_note": None,
    }


def _video_columns(
    part: Part, workload: Workload, request: ServingRequest, stacks: Mapping[str, Efficiency]
) -> dict[str, Any]:
    """Video-generation figures of one part (compute-bound model, docs/serving.md)."""
    from planner.serving.efficiency import efficiency_for
    from planner.serving.video import estimate_video

    try:
        est = estimate_video(part, workload, efficiency_for(part, stacks), request.precision)
    except PlannerError as exc:
        return {"serving_note": str(exc)}
    return {
        "serving_precision": est.precision,
        "parts_per_replica": est.parts_per_replica,
        "video_s_per_s_per_part": est.video_s_per_s_per_part,
        "minutes_per_clip_per_part": est.seconds_per_clip_per_part / 60.0,
        "watts_per_part": est.watts_per_part,
        "joules_per_video_s": est.joules_per_video_s,
        "cost_per_video_minute": est.cost_per_video_minute,
        "bound": est.bound,
        "serving_note": None,
    }
