"""Evidence for an estimate: a measured row that answers the same question replaces the model's
throughput; otherwise the model answers with its validated error band and the closest row."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from planner.catalogue.parts import Catalogue, Part
from planner.serving.efficiency import Efficiency
from planner.serving.measurements import (
    MATCH_TOLERANCE_FRACTION,
    Measurement,
    ValidationReport,
    ValidationRow,
    load_measurements,
    shipped_measurements,
    validate,
)
from planner.serving.model import (
    MAX_BATCH,
    ServingEstimate,
    ServingRequest,
    WorkloadLike,
)

# ---------------------------------------------------------------- evidence for an estimate


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= MATCH_TOLERANCE_FRACTION * b


def _same_target(ms: float | None, s: float | None) -> bool:
    return (ms is None and s is None) or (ms is not None and s is not None and _close(s * 1e3, ms))


def matching_measurement(
    measurements: Sequence[Measurement], estimate_: ServingEstimate, request: ServingRequest
) -> Measurement | None:
    """A row measured under the estimate's conditions: same part, workload and precision,
    prompt and answer within 10%, the same latency targets (none for offline) and the same
    concurrency (requests in flight per replica; none = as many as fit). A row measured at
    concurrency 1 answers only a question asked at concurrency 1."""
    for m in measurements:
        if (
            m.part == estimate_.part
            and m.workload == estimate_.workload
            and m.precision == estimate_.precision
            and _close(request.input_tokens, m.input_tokens)
            and _close(request.output_tokens, m.output_tokens)
            and _same_target(m.ttft_ms, request.ttft_s)
            and _same_target(m.tpot_ms, request.tpot_s)
            and m.concurrency == request.concurrency
        ):
            return m
    return None


def closest_measurement(
    measurements: Sequence[Measurement], estimate_: ServingEstimate, request: ServingRequest
) -> str | None:
    """The nearest row of the same part and workload, and how its conditions differ, for a
    model answer: the same precision first, then the smallest |log| ratios of concurrency and
    lengths."""

    def distance(m: Measurement) -> tuple[bool, float]:
        """Precision first, then |log| ratios of concurrency (none = 4096) and lengths."""
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

    def load(c: int | None) -> str:
        return "as many as fit" if c is None else str(c)

    return (
        f"{m.id} ({m.precision}, {m.input_tokens}/{m.output_tokens} tokens, concurrency "
        f"{load(m.concurrency)}, {m.scenario}; asked: {estimate_.precision}, "
        f"{request.input_tokens}/{request.output_tokens}, concurrency "
        f"{load(request.concurrency)}): {m.output_tokens_per_s_per_part:,.0f} tok/s per part"
    )


def apply_measurement(
    est: ServingEstimate, m: Measurement, request: ServingRequest, part: Part
) -> ServingEstimate:
    """The estimate with the measured throughput in place of the model's (watts kept)."""
    from planner.serving.model import cost_per_million_output_tokens

    out = m.output_tokens_per_s_per_part
    ratio = request.input_tokens / request.output_tokens
    return replace(
        est,
        output_tokens_per_s_per_part=out,
        input_tokens_per_s_per_part=out * ratio,
        total_tokens_per_s_per_part=out * (1 + ratio),
        joules_per_output_token=est.watts_per_part / out,
        cost_per_million_output_tokens=cost_per_million_output_tokens(
            part, est.watts_per_part, out, request.economics
        ),
        source="measured",
        measurement_id=m.id,
        error_band_fraction=0.0,
        error_band_basis=f"measured ({m.id}, {m.source_url})",
    )


def error_band(
    report: ValidationReport, part: Part, workload_id: str, catalogue: Catalogue
) -> tuple[float | None, str]:
    """The largest |error| (leave-one-out where available) among the nearest validated rows:
    same vendor and workload, else same vendor, else all rows."""

    def vendor(row: ValidationRow) -> str | None:
        return catalogue.parts[row.part].vendor if row.part in catalogue.parts else None

    def error(row: ValidationRow) -> float | None:
        return row.loo_error_fraction if row.loo_error_fraction is not None else row.error_fraction

    usable = [r for r in report.rows if error(r) is not None]
    tiers = [
        (
            [r for r in usable if vendor(r) == part.vendor and r.workload == workload_id],
            f"{part.vendor} rows for {workload_id}",
        ),
        ([r for r in usable if vendor(r) == part.vendor], f"{part.vendor} rows"),
        (usable, "all rows"),
    ]
    for rows, label in tiers:
        if rows:
            worst = max(abs(error(r)) for r in rows)  # type: ignore[arg-type]
            return worst, f"max |leave-one-out error| of {len(rows)} validated {label}"
    return None, "no validated measurement"


@dataclass(frozen=True)
class Evidence:
    """Measurements and their validation, applied to model estimates (override and error band)."""

    measurements: list[Measurement]
    report: ValidationReport
    catalogue: Catalogue

    @classmethod
    def load(
        cls,
        path: Path | None,
        catalogue: Catalogue,
        workloads: Mapping[str, WorkloadLike],
        stacks: Mapping[str, Efficiency],
    ) -> Evidence:
        measurements = load_measurements(path or shipped_measurements())
        report = validate(measurements, catalogue, workloads, stacks)
        return cls(measurements, report, catalogue)

    def apply(self, est: ServingEstimate, part: Part, request: ServingRequest) -> ServingEstimate:
        """The measured throughput where a row matches, else the model with its error band."""
        m = matching_measurement(self.measurements, est, request)
        if m is not None:
            return apply_measurement(est, m, request, part)
        band, basis = error_band(self.report, part, est.workload, self.catalogue)
        nearest = closest_measurement(self.measurements, est, request)
        return replace(
            est, error_band_fraction=band, error_band_basis=basis, closest_measurement=nearest
        )
