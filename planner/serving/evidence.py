"""Evidence for an estimate: a measured row that answers the same question replaces the model's
throughput; otherwise the model answers with its validated error band and the closest row."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from planner.catalogue.parts import Catalogue, Part
from planner.serving.efficiency import Efficiency
from planner.serving.fitted import CalibrationTable
from planner.serving.formats import SIXTEEN_BIT_TWIN
from planner.serving.measurements import (
    MATCH_TOLERANCE_FRACTION,
    Measurement,
    load_measurements,
    shipped_measurements,
)
from planner.serving.power import cost_per_million_output_tokens
from planner.serving.request import MAX_BATCH, ServingEstimate, ServingRequest, WorkloadLike
from planner.serving.step import is_moe


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= MATCH_TOLERANCE_FRACTION * b


def _same_target(ms: float | None, s: float | None) -> bool:
    return (ms is None and s is None) or (ms is not None and s is not None and _close(s * 1e3, ms))


def _projections(precision: str) -> str:
    """A projections' precision with the 16-bit twins (bf16, fp16) as one: same bytes, and a
    row naming either answers a question asked at the other."""
    return "bf16" if precision in SIXTEEN_BIT_TWIN else precision


def _same_projections(m: Measurement, est: ServingEstimate, published: str | None) -> bool:
    """Whether the row's attention projections are the estimate's. A row with no named
    precision ran the checkpoint as published: at `published` (the workload card's choice at
    the row's weights' precision, the weights' own when None)."""
    ran = m.attention_precision or published or m.precision
    return _projections(ran) == _projections(est.attention_precision or est.precision)


def same_conditions(
    m: Measurement,
    estimate_: ServingEstimate,
    request: ServingRequest,
    published: str | None = None,
) -> bool:
    """Whether a row answers the estimate's question: same part, workload and precision (the
    attention projections' too), prompt
    and answer within 10%, the same scenario (latency targets, or none offline; a disaggregated
    decode instance or a whole service; the same speculative decoding) and the same concurrency
    (requests in flight per replica; none = as many as fit), the same prefill/decode split and,
    where the row names them and the question asks them, the same serving engine, parallel
    layout and parts per replica."""
    asked = m.request()
    engine = estimate_.efficiency.engine
    return (
        m.part == estimate_.part
        and m.workload == estimate_.workload
        and m.precision == estimate_.precision
        and _same_projections(m, estimate_, published)
        and _close(request.input_tokens, m.input_tokens)
        and _close(request.output_tokens, m.output_tokens)
        and _same_target(None if asked.ttft_s is None else asked.ttft_s * 1e3, request.ttft_s)
        and _same_target(None if asked.tpot_s is None else asked.tpot_s * 1e3, request.tpot_s)
        and m.decode_only == request.decode_only
        and m.speculative == request.speculative
        and m.concurrency == request.concurrency
        and m.split == request.disaggregated
        and (m.engine is None or not engine or m.engine == engine)
        and (m.parallel is None or request.parallel is None or m.parallel == request.parallel)
        and (
            m.parts_per_replica is None
            or request.parts_per_replica is None
            or m.parts_per_replica == request.parts_per_replica
        )
    )


def matching_measurement(
    measurements: Sequence[Measurement],
    estimate_: ServingEstimate,
    request: ServingRequest,
    workload: WorkloadLike | None = None,
) -> Measurement | None:
    """The first row measured under the estimate's conditions (`same_conditions`; a row that
    names no projections' precision ran them as `workload`'s card says). A row measured at
    concurrency 1 answers only a question asked at concurrency 1."""
    return next(
        (
            m
            for m in measurements
            if same_conditions(m, estimate_, request, published_projections(workload, m))
        ),
        None,
    )


def published_projections(workload: WorkloadLike | None, m: Measurement) -> str | None:
    """The attention projections' precision of the checkpoint a row ran, as published: the
    workload card's choice at the row's weights' precision (None when the card is unknown)."""
    if workload is None or workload.id != m.workload:
        return None
    kept = getattr(workload, "attention_precision_at", None)
    return kept(m.precision) if callable(kept) else None


def _load(c: int | None) -> str:
    return "as many as fit" if c is None else str(c)


def closest_measurement(
    measurements: Sequence[Measurement], estimate_: ServingEstimate, request: ServingRequest
) -> str | None:
    """The nearest row of the same part and workload, and how its conditions differ, for a
    model answer: the same precision first, then the smallest |log| ratios of concurrency and
    lengths."""

    def distance(m: Measurement) -> tuple[bool, float]:
        return (
            m.precision != estimate_.precision,
            abs(math.log((m.concurrency or MAX_BATCH) / (request.concurrency or MAX_BATCH)))
            + abs(math.log(m.input_tokens / request.input_tokens))
            + abs(math.log(m.output_tokens / request.output_tokens)),
        )

    rows = [
        m for m in measurements if m.part == estimate_.part and m.workload == estimate_.workload
    ]
    if not rows:
        return None
    m = min(rows, key=distance)
    phase = ", decode only" if m.decode_only else ""
    projections = f", projections {m.attention_precision}" if m.attention_precision else ""
    return (
        f"{m.id} ({m.precision}{projections}, {m.input_tokens}/{m.output_tokens} tokens, "
        f"concurrency {_load(m.concurrency)}, {m.scenario}{phase}; asked: {estimate_.precision}, "
        f"{request.input_tokens}/{request.output_tokens}, concurrency "
        f"{_load(request.concurrency)}): {m.output_tokens_per_s_per_part:,.0f} tok/s per part"
    )


def apply_measurement(
    est: ServingEstimate, m: Measurement, request: ServingRequest, part: Part
) -> ServingEstimate:
    """The estimate with the measured throughput in place of the model's (watts kept; the
    model's own rate kept beside it), and the measured run's replica size and layout where they
    differ from the model's choice."""
    out = m.output_tokens_per_s_per_part
    ratio = request.input_tokens / request.output_tokens
    parts = m.parts_per_replica or est.parts_per_replica
    layout = est.parallel
    if parts != est.parts_per_replica or (m.parallel and m.parallel != request.parallel):
        layout = f"as measured: {m.parallel or 'layout not stated'} on {parts} parts"
    return replace(
        est,
        parts_per_replica=parts,
        parallel=layout,
        output_tokens_per_s_per_part=out,
        input_tokens_per_s_per_part=out * ratio,
        total_tokens_per_s_per_part=out * (1 + ratio),
        joules_per_output_token=est.watts_per_part / out,
        cost_per_million_output_tokens=cost_per_million_output_tokens(
            part, est.watts_per_part, out, request.economics
        ),
        source="measured",
        measurement_id=m.id,
        replaced_model_tokens_per_s_per_part=est.output_tokens_per_s_per_part,
        error_band_fraction=0.0,
        error_band_basis=f"measured ({m.id}, {m.source_url})",
    )


@dataclass(frozen=True)
class Evidence:
    """Measurements applied to model estimates: the measured override and the error band (the
    calibration table's leave-one-part-out bound for the part's family)."""

    measurements: list[Measurement]
    table: CalibrationTable | None = None
    workloads: Mapping[str, WorkloadLike] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        path: Path | None,
        catalogue: Catalogue | None = None,
        workloads: Mapping[str, WorkloadLike] | None = None,
        stacks: Mapping[str, Efficiency] | None = None,
    ) -> Evidence:
        """Read the measurements (the shipped file by default); `stacks` carries the table."""
        del catalogue  # kept for callers of the earlier signature
        table = getattr(stacks, "calibration", None)
        rows = load_measurements(path or shipped_measurements())
        return cls(rows, table, dict(workloads or {}))

    def apply(self, est: ServingEstimate, part: Part, request: ServingRequest) -> ServingEstimate:
        """The measured throughput where a row matches, else the model with its error band."""
        workload = self.workloads.get(est.workload)
        m = matching_measurement(self.measurements, est, request, workload)
        if m is not None:
            return apply_measurement(est, m, request, part)
        moe = workload is not None and is_moe(workload)
        band = None if self.table is None else self.table.error_band(part.id, moe)
        nearest = closest_measurement(self.measurements, est, request)
        return replace(
            est,
            error_band_fraction=None if band is None else band[0],
            error_band_basis="no calibration table" if band is None else band[1],
            closest_measurement=nearest,
        )
