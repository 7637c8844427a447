"""Total Processing Performance and performance density, as 3A090 defines them.

TPP = 2 x MacTOPS x bit length of the operation, for the precision that gives the largest value,
dense (sparsity never counts). Datasheets quote dense TOPS/TFLOPS, which already equal 2 x MacTOPS,
so TPP = TOPS x bit length. Performance density (PD) = TPP / applicable die area in mm^2.
The Oct-2022 rule also counted aggregate bidirectional I/O (scale-up links plus host I/O).
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalogue.parts import BIT_LENGTH, Part, Precision


@dataclass(frozen=True)
class TppResult:
    """TPP with the arithmetic that produced it."""

    tpp: float | None
    precision: Precision | None
    performance_density: float | None
    arithmetic: str


def total_processing_performance(part: Part) -> TppResult:
    """TPP = max over precisions of dense TOPS x bit length; PD = TPP / applicable die area."""
    candidates = {
        precision: ops / 1e12 * BIT_LENGTH[precision]
        for precision, ops in part.peak_dense_ops_per_s.items()
    }
    if not candidates:
        return TppResult(None, None, None, "no dense throughput figure: TPP unknown")
    precision = max(candidates, key=lambda p: (candidates[p], -BIT_LENGTH[p]))
    tpp = candidates[precision]
    tops = part.peak_dense_ops_per_s[precision] / 1e12
    arithmetic = f"{tops:g} T{precision} ops/s x {BIT_LENGTH[precision]} bit = {tpp:,.0f}"
    density = None
    if part.die_area_mm2:
        density = tpp / part.die_area_mm2
        arithmetic += f"; PD = {tpp:,.0f} / {part.die_area_mm2:g} mm^2 = {density:.2f}"
    else:
        arithmetic += "; PD unknown (no applicable die area)"
    return TppResult(tpp, precision, density, arithmetic)


def assessed_processing_performance(part: Part) -> TppResult:
    """TPP as 3A090 assesses it: per integrated circuit. A board of n ICs (a card of two chips)
    is assessed chip by chip, TPP / n; PD is unchanged (the die area divides alike)."""
    whole = total_processing_performance(part)
    n = part.integrated_circuits or 1
    if n <= 1 or whole.tpp is None:
        return whole
    per_ic = whole.tpp / n
    arithmetic = f"{whole.arithmetic}; per IC: {whole.tpp:,.0f} / {n} ICs = {per_ic:,.0f}"
    return TppResult(per_ic, whole.precision, whole.performance_density, arithmetic)


@dataclass(frozen=True)
class IoResult:
    """Aggregate bidirectional I/O bandwidth (scale-up links plus host I/O), in B/s."""

    io_bytes_per_s: float | None
    arithmetic: str


def aggregate_io_bandwidth(part: Part) -> IoResult:
    """I/O as the Oct-2022 3A090 counts it: every input and output except to volatile memory.

    aggregate_io = scale_up_bandwidth + io_bandwidth (both bidirectional, B/s). A missing term
    counts as zero when the other is known (a PCIe-only card has no scale-up link); with both
    unknown the aggregate is unknown.
    """
    scale_up, host = part.scale_up_bandwidth_bytes_per_s, part.io_bandwidth_bytes_per_s
    if scale_up is None and host is None:
        return IoResult(None, "I/O unknown (no scale-up or host I/O figure)")
    total = (scale_up or 0.0) + (host or 0.0)
    terms = f"{(scale_up or 0.0) / 1e9:g} GB/s scale-up + {(host or 0.0) / 1e9:g} GB/s host I/O"
    return IoResult(total, f"I/O = {terms} = {total / 1e9:,.0f} GB/s")
