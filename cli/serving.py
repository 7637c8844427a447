"""`planner serving estimate|validate|calibrate`: tokens/s, watts and cost per part."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import FormatOpt, ProfilesOpt
from cli.render import OutputFormat, emit, err_console
from planner.catalogue.parts import Catalogue
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.evidence import Evidence
from planner.serving.measurements import (
    ValidationReport,
    calibrate,
    load_measurements,
    shipped_measurements,
    validate,
)
from planner.serving.model import Economics, ServingEstimate, ServingRequest, estimate
from planner.serving.video import VideoEstimate, estimate_video
from planner.serving.workloads import WorkloadLibrary

app = typer.Typer(
    help="The serving model: tokens/s, watts and cost per part; validation and calibration.",
    no_args_is_help=True,
)

MeasurementsOpt = Annotated[
    Path | None,
    typer.Option(
        "--measurements",
        help="Measurements CSV for overrides and error bands (default: the shipped file).",
        exists=True,
        dir_okay=False,
    ),
]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def estimate_row(est: ServingEstimate) -> dict[str, Any]:
    """The documented JSON of one estimate (docs/cli.md)."""
    eff = est.efficiency
    return {
        "part": est.part,
        "workload": est.workload,
        "precision": est.precision,
        "kv_precision": est.kv_precision,
        "parts_per_replica": est.parts_per_replica,
        "batch": est.batch,
        "prefill_tokens_per_s_per_part": est.prefill_tokens_per_s_per_part,
        "decode_tokens_per_s_per_part": est.decode_tokens_per_s_per_part,
        "output_tokens_per_s_per_part": est.output_tokens_per_s_per_part,
        "input_tokens_per_s_per_part": est.input_tokens_per_s_per_part,
        "total_tokens_per_s_per_part": est.total_tokens_per_s_per_part,
        "ttft_ms": _ms(est.ttft_s),
        "tpot_ms": _ms(est.tpot_s),
        "utilisation_fraction": est.utilisation_fraction,
        "watts_per_part": est.watts_per_part,
        "joules_per_output_token": est.joules_per_output_token,
        "cost_per_million_output_tokens": est.cost_per_million_output_tokens,
        "currency": est.currency,
        "bound": est.bound,
        "step_bound": est.step_bound,
        "source": est.source,
        "measurement_id": est.measurement_id,
        "closest_measurement": est.closest_measurement,
        "concurrency": est.concurrency,
        "error_band_fraction": est.error_band_fraction,
        "error_band_basis": est.error_band_basis,
        "flop_efficiency_fraction": eff.flop_fraction,
        "bandwidth_efficiency_fraction": eff.bandwidth_fraction,
        "interconnect_efficiency_fraction": eff.interconnect_fraction,
        "efficiency_basis": eff.basis,
    }


def video_row(est: VideoEstimate) -> dict[str, Any]:
    """The documented JSON of one video-generation estimate (docs/cli.md)."""
    return {
        "part": est.part,
        "workload": est.workload,
        "kind": "video",
        "precision": est.precision,
        "parts_per_replica": est.parts_per_replica,
        "flops_per_video_s": est.flops_per_video_s,
        "video_s_per_s_per_part": est.video_s_per_s_per_part,
        "clip_s": est.clip_s,
        "minutes_per_clip_per_part": est.seconds_per_clip_per_part / 60.0,
        "utilisation_fraction": est.utilisation_fraction,
        "watts_per_part": est.watts_per_part,
        "joules_per_video_s": est.joules_per_video_s,
        "cost_per_video_minute": est.cost_per_video_minute,
        "currency": est.currency,
        "bound": est.bound,
        "source": est.source,
        "video_flop_efficiency_fraction": est.efficiency.video_flop_fraction,
        "efficiency_basis": est.efficiency_basis,
    }


@app.command("estimate")
def estimate_cmd(
    part: Annotated[str, typer.Option(help="Part id, e.g. h20.")],
    workload: Annotated[str, typer.Option(help="Workload id, e.g. qwen3-235b-a22b.")],
    input_tokens: Annotated[int, typer.Option(help="Prompt tokens per request.")] = 1000,
    output_tokens: Annotated[int, typer.Option(help="Generated tokens per request.")] = 300,
    ttft_ms: Annotated[float | None, typer.Option(help="Time-to-first-token target, ms.")] = None,
    tpot_ms: Annotated[float | None, typer.Option(help="Time-per-output-token target, ms.")] = None,
    precision: Annotated[
        str | None, typer.Option(help="Weights: bf16, fp16, fp8, int8, fp4, int4.")
    ] = None,
    kv_precision: Annotated[str | None, typer.Option(help="KV cache precision.")] = None,
    parts_per_replica: Annotated[
        int | None, typer.Option(help="Parts per model replica (default: best that fits).")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Requests in flight per replica (default: the largest batch that meets the "
            "targets, or that fits in memory offline).",
        ),
    ] = None,
    price_per_mwh: Annotated[
        float, typer.Option(help="Electricity price per MWh, in the part's price currency.")
    ] = Economics.price_per_mwh,
    pue: Annotated[float, typer.Option(help="Power usage effectiveness.")] = Economics.pue,
    lifetime_years: Annotated[
        float, typer.Option(help="Years over which capex is amortised.")
    ] = Economics.lifetime_years,
    measurements: MeasurementsOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Tokens/s, watts, joules per token and cost per million tokens of one part (for a video
    workload: video seconds per second, watts and cost per minute of video)."""
    overlays = profiles or ()
    catalogue = Catalogue.load(overlays)
    library = WorkloadLibrary.load(overlays)
    stacks = load_stacks(overlays)
    p, w = catalogue[part], library[workload]
    economics = replace(
        Economics(), price_per_mwh=price_per_mwh, pue=pue, lifetime_years=lifetime_years
    )
    if w.kind == "video":
        _emit_row(
            video_row(estimate_video(p, w, efficiency_for(p, stacks), precision, economics)),
            fmt,
            f"{w.id} on {p.id} (model)",
        )
        return
    request = ServingRequest(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        ttft_s=None if ttft_ms is None else ttft_ms / 1e3,
        tpot_s=None if tpot_ms is None else tpot_ms / 1e3,
        precision=precision,
        kv_precision=kv_precision,
        parts_per_replica=parts_per_replica,
        economics=economics,
        **({} if concurrency is None else {"max_batch": concurrency}),
    )
    est = estimate(p, w, request, efficiency_for(p, stacks))
    evidence = Evidence.load(measurements, catalogue, {x.id: x for x in library}, stacks)
    row = estimate_row(evidence.apply(est, p, request))
    _emit_row(row, fmt, f"{w.id} on {p.id} ({row['source']})")


def _emit_row(row: dict[str, Any], fmt: OutputFormat, title: str) -> None:
    """One estimate as a field/value table, a JSON object or a one-row CSV."""
    if fmt is OutputFormat.table:
        emit([{"field": k, "value": v} for k, v in row.items()], fmt, title=title)
        return
    emit(row if fmt is OutputFormat.json else [row], fmt)


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def _summary(report: ValidationReport) -> dict[str, float | None]:
    return {
        "median_abs_error_pct": _pct(report.median_abs_error_fraction),
        "max_abs_error_pct": _pct(report.max_abs_error_fraction),
        "loo_median_abs_error_pct": _pct(report.loo_median_abs_error_fraction),
        "loo_max_abs_error_pct": _pct(report.loo_max_abs_error_fraction),
    }


@app.command("validate")
def validate_cmd(
    measurements: Annotated[
        Path | None,
        typer.Argument(help="Measurements CSV (default: the shipped file).", dir_okay=False),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Model vs each published measurement: error in-sample and leave-one-out, and the bound."""
    overlays = profiles or ()
    catalogue = Catalogue.load(overlays)
    library = WorkloadLibrary.load(overlays)
    rows = load_measurements(measurements or shipped_measurements())
    report = validate(rows, catalogue, {w.id: w for w in library}, load_stacks(overlays))
    table = [
        {
            "id": r.id,
            "part": r.part,
            "workload": r.workload,
            "scenario": r.scenario,
            "precision": r.precision,
            "measured_tokens_per_s_per_part": r.measured_tokens_per_s_per_part,
            "model_tokens_per_s_per_part": r.model_tokens_per_s_per_part,
            "error_pct": _pct(r.error_fraction),
            "loo_error_pct": _pct(r.loo_error_fraction),
            "bound": r.bound,
            "parts_per_replica": r.parts_per_replica,
            "batch": r.batch,
            "note": r.note,
        }
        for r in report.rows
    ]
    summary = _summary(report)
    if fmt is OutputFormat.json:
        emit({"rows": table, **summary}, fmt)
        return
    emit(table, fmt, title="model vs measured (output tokens/s per part)")
    text = ", ".join(f"{k} {v:.1f}" if v is not None else f"{k} -" for k, v in summary.items())
    err_console().print(text)


@app.command("calibrate")
def calibrate_cmd(
    measurements: Annotated[Path, typer.Argument(help="Measurements CSV.", dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="Overlay folder to write (for --profiles).")],
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Fit each measured part's FLOP and bandwidth efficiencies; write overlay part profiles."""
    overlays = profiles or ()
    catalogue = Catalogue.load(overlays)
    library = WorkloadLibrary.load(overlays)
    rows = load_measurements(measurements)
    results = calibrate(
        rows, catalogue, {w.id: w for w in library}, load_stacks(overlays), out, measurements
    )
    emit(
        [
            {
                "part": c.part,
                "rows": len(c.rows),
                "flop_efficiency_fraction": c.efficiency.flop_fraction,
                "bandwidth_efficiency_fraction": c.efficiency.bandwidth_fraction,
                "interconnect_efficiency_fraction": c.efficiency.interconnect_fraction,
                "max_abs_in_sample_error_pct": max((abs(e) for e in c.in_sample_errors), default=0)
                * 100,
                "overlay": str(c.overlay_path),
            }
            for c in results
        ],
        fmt,
        title=f"calibrated overlays in {out} (use --profiles {out})",
    )
