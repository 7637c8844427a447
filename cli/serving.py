"""`planner serving estimate|validate|calibrate`: tokens/s, watts and cost per part."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.completion import complete_part, complete_workload
from cli.options import FormatOpt, ProfilesOpt
from cli.render import OutputFormat, emit
from cli.serving_checks import collectives_report, energy_report, pct
from planner.catalogue.parts import Catalogue, Part
from planner.errors import InputError
from planner.serving.calibration_io import write_calibration
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.evidence import Evidence
from planner.serving.measurements import (
    load_measurements,
    shipped_measurements,
    shipped_test_measurements,
)
from planner.serving.model import (
    Disaggregation,
    Economics,
    ServingEstimate,
    ServingRequest,
    Speculative,
    estimate,
)
from planner.serving.power import cost_per_million_output_tokens
from planner.serving.power_cap import load_power_caps
from planner.serving.request import is_parallel
from planner.serving.validation import ValidationReport, predict, validate
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


LATENCY_FLAGS = {"ttft_s": "--ttft-ms", "tpot_s": "--tpot-ms"}


def estimate_row(est: ServingEstimate) -> dict[str, Any]:
    """The documented JSON of one estimate (docs/cli.md)."""
    eff = est.efficiency
    return {
        "part": est.part,
        "workload": est.workload,
        "precision": est.precision,
        "kv_precision": est.kv_precision,
        "attention_precision": est.attention_precision,
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
        "accelerator_watts_per_part": est.accelerator_watts_per_part,
        "joules_per_output_token": est.joules_per_output_token,
        "accelerator_joules_per_output_token": est.accelerator_joules_per_output_token,
        "cost_per_million_output_tokens": est.cost_per_million_output_tokens,
        "currency": est.currency,
        "bound": est.bound,
        "step_bound": est.step_bound,
        "parallel": est.parallel,
        "precision_basis": est.precision_basis,
        "decode_only": est.decode_only,
        "tokens_per_decode_step": est.speculative_tokens_per_step,
        **{f"step_{k}_ms": v * 1e3 for k, v in est.step_terms_s.items()},
        "source": est.source,
        "measurement_id": est.measurement_id,
        "model_output_tokens_per_s_per_part": est.model_output_tokens_per_s_per_part,
        "closest_measurement": est.closest_measurement,
        "concurrency": est.concurrency,
        "error_band_fraction": est.error_band_fraction,
        "error_band_basis": est.error_band_basis,
        "flop_efficiency_fraction": eff.flop_fraction,
        "bandwidth_efficiency_fraction": eff.bandwidth_fraction,
        "interconnect_efficiency_fraction": eff.interconnect_fraction,
        "layer_floor_us": eff.layer_floor_s * 1e6,
        "expert_floor_us": eff.expert_floor_s * 1e6,
        "expert_efficiency_fraction": eff.expert_fraction,
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
    part: Annotated[str, typer.Option(help="Part id, e.g. h20.", autocompletion=complete_part)],
    workload: Annotated[
        str,
        typer.Option(help="Workload id, e.g. qwen3-235b-a22b.", autocompletion=complete_workload),
    ],
    input_tokens: Annotated[int, typer.Option(help="Prompt tokens per request.")] = 1000,
    output_tokens: Annotated[int, typer.Option(help="Generated tokens per request.")] = 300,
    ttft_ms: Annotated[float | None, typer.Option(help="Time-to-first-token target, ms.")] = None,
    tpot_ms: Annotated[float | None, typer.Option(help="Time-per-output-token target, ms.")] = None,
    precision: Annotated[
        str | None, typer.Option(help="Weights: bf16, fp16, fp8, int8, fp4, int4.")
    ] = None,
    kv_precision: Annotated[str | None, typer.Option(help="KV cache precision.")] = None,
    attention_precision: Annotated[
        str | None,
        typer.Option(
            help="Attention projections' weights (default: as the workload's published "
            "checkpoint keeps them, e.g. bf16 in NVIDIA's NVFP4 DeepSeek-R1; else the weights')."
        ),
    ] = None,
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
    decode_only: Annotated[
        bool,
        typer.Option(
            "--decode-only",
            help="A disaggregated decode instance: prefill runs on other parts (not counted).",
        ),
    ] = False,
    speculative_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="Draft tokens per step (speculative decoding, e.g. MTP)."),
    ] = None,
    acceptance: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Acceptance rate of each draft token (with MTP)."),
    ] = None,
    parallel: Annotated[
        str | None,
        typer.Option(
            help="tp (tensor parallel), ep (expert parallel with data-parallel attention) or "
            "tep (expert parallel with tensor-parallel attention), MoE; default: best."
        ),
    ] = None,
    attention_tensor_parallel: Annotated[
        int | None,
        typer.Option(
            "--attention-tp",
            min=1,
            help="With --parallel ep: devices per data-parallel attention group, attention "
            "split among them by head (SGLang's --tp-size / --dp-size); default 1.",
        ),
    ] = None,
    power_cap: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=1.0,
            help="Power cap as a fraction of TDP (0.5-1.0): tokens/s and watts under it "
            "(workload_profiles/serving/power_caps.yaml).",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Serving engine, e.g. sglang (default: the stack's reference engine: "
            "tensorrt-llm on CUDA, vllm on ROCm, cloudmatrix-infer on CANN)."
        ),
    ] = None,
    prefill_decode: Annotated[
        str | None,
        typer.Option(
            help="A disaggregated system: prefill parts and decode parts, e.g. 8:16 (rates per "
            "part of the whole system; --parts-per-replica sizes the decode replicas)."
        ),
    ] = None,
    scale_up_domain: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Parts in one scale-up domain of the system (default: the part's; e.g. 8 for "
            "Ascend 910C in Atlas 800 A3 servers outside a CloudMatrix384 SuperPoD).",
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
        attention_precision=attention_precision,
        parts_per_replica=parts_per_replica,
        economics=economics,
        decode_only=decode_only,
        speculative=_speculative(speculative_tokens, acceptance),
        parallel=_parallel(parallel),
        attention_tensor_parallel=attention_tensor_parallel,
        max_batch=concurrency,
        disaggregated=_split(prefill_decode),
        scale_up_domain_parts=scale_up_domain,
    )
    try:
        est = estimate(p, w, request, efficiency_for(p, stacks, engine))
    except InputError as exc:  # the request names its targets in seconds, the flags in ms
        raise exc.with_flags(LATENCY_FLAGS) from exc
    evidence = Evidence.load(measurements, catalogue, {x.id: x for x in library}, stacks)
    row = estimate_row(evidence.apply(est, p, request))
    if power_cap is not None:
        row = capped_row(row, p, power_cap, economics, overlays)
    _emit_row(row, fmt, f"{w.id} on {p.id} ({row['source']})")


def capped_row(
    row: dict[str, Any], part: Part, cap: float, economics: Economics, overlays: Any
) -> dict[str, Any]:
    """(S9) the estimate under a power cap of `cap` x TDP: the busy draw falls to the cap (if
    below it) and tokens/s by the part's curve; joules and cost per token follow."""
    overhead = part.server_overhead_w or 0.0
    curve = load_power_caps(overlays).curve(part, row["watts_per_part"] - overhead, (cap,))
    tau = float(curve.throughput_fraction[0])
    watts = float(curve.busy_w[0]) + overhead
    out = dict(row)
    for key in (
        "prefill_tokens_per_s_per_part", "decode_tokens_per_s_per_part",
        "output_tokens_per_s_per_part", "input_tokens_per_s_per_part",
        "total_tokens_per_s_per_part", "model_output_tokens_per_s_per_part",
    ):  # fmt: skip
        out[key] = None if row[key] is None else row[key] * tau
    output_tps = out["output_tokens_per_s_per_part"] or 0.0
    out["watts_per_part"] = watts
    out["joules_per_output_token"] = watts / output_tps if output_tps > 0 else None
    out["cost_per_million_output_tokens"] = cost_per_million_output_tokens(
        part, watts, output_tps, economics
    )
    out.update(
        power_cap_fraction=cap,
        power_cap_w=float(curve.cap_w[0]),
        uncapped_watts_per_part=row["watts_per_part"],
        uncapped_total_tokens_per_s_per_part=row["total_tokens_per_s_per_part"],
        cap_throughput_fraction=tau,
        cap_curve_exponent=curve.exponent,
        cap_curve_basis=curve.basis,
        cap_curve_confidence=curve.confidence,
        cap_curve_series=", ".join(curve.sources),
    )
    return out


def _speculative(tokens: int | None, acceptance: float | None) -> Speculative | None:
    if tokens is None and acceptance is None:
        return None
    if tokens is None or acceptance is None:
        raise InputError.one(
            "--speculative-tokens/--acceptance",
            "speculative",
            "speculative decoding needs both the draft tokens per step and their acceptance.",
            "give both, e.g. --speculative-tokens 1 --acceptance 0.85.",
        )
    return Speculative(tokens, acceptance)


def _split(value: str | None) -> Disaggregation | None:
    """'P:D' -> a system of P prefill and D decode parts."""
    if value is None:
        return None
    head, _, tail = value.partition(":")
    if head.isdigit() and tail.isdigit() and int(head) > 0 and int(tail) > 0:
        return Disaggregation(int(head), int(tail))
    raise InputError.one(
        "--prefill-decode",
        "prefill_decode",
        f"'{value}' is not a prefill:decode split.",
        "write prefill parts and decode parts, e.g. --prefill-decode 8:16.",
    )


def _parallel(value: str | None) -> Any:
    if value is None or is_parallel(value):
        return value
    raise InputError.one(
        "--parallel", "parallel", f"'{value}' is not a parallel layout.", "use tp, ep or tep."
    )


def _emit_row(row: dict[str, Any], fmt: OutputFormat, title: str) -> None:
    """One estimate as a field/value table, a JSON object or a one-row CSV."""
    if fmt is OutputFormat.table:
        emit([{"field": k, "value": v} for k, v in row.items()], fmt, title=title)
        return
    emit(row if fmt is OutputFormat.json else [row], fmt)


SUMMARY_KINDS = (
    ("in-sample", "error_fraction"),
    ("leave-one-out", "loo_error_fraction"),
    ("leave-one-part-out", "lopo_error_fraction"),
)


def summary_rows(report: ValidationReport) -> list[dict[str, Any]]:
    """(V4) median and max |error| in-sample, leave-one-out and leave-one-part-out, overall and
    over the batch-1 / low-concurrency rows, in percent; (V5) as shipped, over all rows, then
    over dense models and mixtures of experts apart."""
    if not report.as_shipped:
        return [_summary_row(report, label, name) for label, name in SUMMARY_KINDS]
    dense = replace(report, rows=[r for r in report.rows if not r.moe])
    moe = replace(report, rows=[r for r in report.rows if r.moe])
    return [
        _summary_row(report, "as shipped, no refit", "error_fraction"),
        _summary_row(dense, "as shipped, dense models", "error_fraction"),
        _summary_row(moe, "as shipped, mixtures of experts", "error_fraction"),
    ]


def _summary_row(report: ValidationReport, label: str, name: str) -> dict[str, Any]:
    return {
        "validation": label,
        "rows": len(report.errors(name)),
        "median_abs_error_pct": pct(report.median(name)),
        "max_abs_error_pct": pct(report.maximum(name)),
        "low_concurrency_rows": len(report.errors(name, low_concurrency=True)),
        "low_concurrency_max_abs_error_pct": pct(report.maximum(name, low_concurrency=True)),
    }


def _summary(report: ValidationReport) -> dict[str, float | int | None]:
    """The flat summary keys of the JSON (percent)."""
    out: dict[str, float | int | None] = {
        "parts": len({r.part for r in report.rows if r.error_fraction is not None}),
    }
    rows = summary_rows(report)
    prefixes = ("",) if report.as_shipped else ("", "loo_", "lopo_")
    for row, prefix in zip(rows[: len(prefixes)], prefixes, strict=True):
        out[f"{prefix}median_abs_error_pct"] = row["median_abs_error_pct"]
        out[f"{prefix}max_abs_error_pct"] = row["max_abs_error_pct"]
        out[f"{prefix}low_concurrency_max_abs_error_pct"] = row["low_concurrency_max_abs_error_pct"]
    return out


def validation_rows(report: ValidationReport) -> list[dict[str, Any]]:
    """One row per measurement: measured vs model, the three errors, the layout chosen."""
    return [
        {
            "id": r.id,
            "part": r.part,
            "workload": r.workload,
            "scenario": r.scenario,
            "precision": r.precision,
            "measured_tokens_per_s_per_part": r.measured_tokens_per_s_per_part,
            "model_tokens_per_s_per_part": r.model_tokens_per_s_per_part,
            "error_pct": pct(r.error_fraction),
            "loo_error_pct": pct(r.loo_error_fraction),
            "lopo_error_pct": pct(r.lopo_error_fraction),
            "low_concurrency": r.low_concurrency,
            "bound": r.bound,
            "parallel": r.parallel,
            "parts_per_replica": r.parts_per_replica,
            "batch": r.batch,
            "note": r.note,
        }
        for r in report.rows
    ]


def _world(profiles: Any) -> tuple[Catalogue, dict[str, Any], Any]:
    """The catalogue, the workload library by id and the serving stacks, overlays applied."""
    overlays = profiles or ()
    library = {w.id: w for w in WorkloadLibrary.load(overlays)}
    return Catalogue.load(overlays), library, load_stacks(overlays)


def _report(
    measurements: Path | None, profiles: Any, leave_out: bool, as_shipped: bool = False
) -> ValidationReport:
    catalogue, library, stacks = _world(profiles)
    default = shipped_test_measurements() if as_shipped else shipped_measurements()
    rows = load_measurements(measurements or default)
    if as_shipped:
        return predict(rows, catalogue, library, stacks)
    return validate(rows, catalogue, library, stacks, leave_out=leave_out)


CsvArg = Annotated[
    Path | None,
    typer.Argument(help="Measurements CSV (default: the shipped file).", dir_okay=False),
]
ValidateCsvArg = Annotated[
    Path | None,
    typer.Argument(
        help="Measurements CSV (default: the shipped file; with --as-shipped, the test set).",
        dir_okay=False,
    ),
]


@app.command("validate")
def validate_cmd(
    measurements: ValidateCsvArg = None,
    leave_out: Annotated[
        bool,
        typer.Option(
            "--leave-out/--in-sample-only",
            help="Also leave each row, and each part, out of the fit (slower: one refit each).",
        ),
    ] = True,
    energy: Annotated[
        bool,
        typer.Option(
            "--energy",
            help="Validate joules per output token against measured GPU energy instead (the "
            "ML.ENERGY rows, or the CSV given): held-out and leave-one-part-out.",
        ),
    ] = False,
    collectives: Annotated[
        bool,
        typer.Option(
            "--collectives",
            help="Validate the all-reduce, dispatch and combine times against timed "
            "collectives instead (the shipped microbenchmarks, or the CSV given).",
        ),
    ] = False,
    as_shipped: Annotated[
        bool,
        typer.Option(
            "--as-shipped",
            help="Predict each row with the shipped calibration table, nothing refitted: how "
            "the model a plan reads fares on measurements it was never fitted to (by default "
            "the shipped test set).",
        ),
    ] = False,
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Fit the model to the measurements, then each row in-sample, left out and with its part
    left out: the errors and the summary (median and max |error| each way)."""
    if energy and collectives:
        raise InputError.option(
            "--energy", "--energy and --collectives validate different files.", "give one of them."
        )
    if as_shipped and (energy or collectives):
        flag = "--energy" if energy else "--collectives"
        raise InputError.option(
            "--as-shipped",
            f"--as-shipped predicts token rates; {flag} validates another model.",
            f"give --as-shipped or {flag}, not both.",
        )
    if energy:
        energy_report(measurements, profiles, leave_out, fmt)
        return
    if collectives:
        collectives_report(measurements, profiles, fmt)
        return
    report = _report(measurements, profiles, leave_out, as_shipped)
    if fmt is OutputFormat.json:
        emit({"rows": validation_rows(report), "summary": summary_rows(report),
              **_summary(report)}, fmt)  # fmt: skip
        return
    emit(validation_rows(report), fmt, title="model vs measured (output tokens/s per part)")
    if fmt is OutputFormat.table:
        emit(summary_rows(report), fmt, title="|error| summary (model / measured - 1), percent")


@app.command("calibrate")
def calibrate_cmd(
    measurements: CsvArg = None,
    out: Annotated[
        Path, typer.Option("--out", help="Overlay folder to write (use with --profiles).")
    ] = Path("calibrated"),
    fmt: FormatOpt = OutputFormat.table,
    profiles: ProfilesOpt = None,
) -> None:
    """Fit the efficiencies and fixed costs to the measurements and write the calibration table
    to OUT/workload_profiles/serving/calibration.yaml (error bands from leave-one-part-out and
    from the shipped test set scored at the fit)."""
    source = measurements or shipped_measurements()
    catalogue, library, stacks = _world(profiles)
    report = validate(load_measurements(source), catalogue, library, stacks, leave_out=True)
    table = stacks.calibration
    if table is None or report.fit is None:
        raise InputError.one(
            source,
            "rows",
            "nothing to fit: no calibration table to start from, or no row the model can serve.",
            "check workload_profiles/serving/calibration.yaml and the rows' part and workload.",
        )
    tests = load_measurements(shipped_test_measurements())
    tested = predict(tests, catalogue, library, stacks, params=report.fit.params)
    target = write_calibration(report, table, out, source.name, tested)
    emit(summary_rows(report), fmt, title=f"calibrated: {target} (use --profiles {out})")
