"""The precision a part serves a workload at: weights and KV cache (docs/serving.md, Precisions).

Weights: the request's precision where given, else the workload's; bf16 and fp16 stand in for each
other (same bytes) where the part has only one. A part serves a precision only where it lists a
dense peak at it (the compute term needs it). KV cache: fp8 when the weights are 8- or 4-bit,
else the weights' precision.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalogue.parts import Part
from planner.errors import InputError
from planner.serving.request import (
    BYTES_PER_ELEMENT,
    SERVING_PRECISIONS,
    SIXTEEN_BIT_TWIN,
    ServingRequest,
    WorkloadLike,
)


@dataclass(frozen=True)
class Chosen:
    """The precisions chosen and why."""

    weights: str
    kv: str
    basis: str
    compute: str = ""  # the precision whose dense peak the compute term uses ("" = weights)

    @property
    def compute_precision(self) -> str:
        return self.compute or self.weights


def served_precisions(part: Part) -> list[str]:
    """Serving precisions the part has a dense peak at, in SERVING_PRECISIONS order."""
    return [p for p in SERVING_PRECISIONS if part.peak(p) is not None]  # type: ignore[arg-type]


# Integer weights a part has no peak for are multiplied at a wider format (weight-only
# quantisation, e.g. W8A16 / W4A8): the first of these the part has a peak at.
WIDER_COMPUTE: dict[str, tuple[str, ...]] = {
    "int8": ("bf16", "fp16"),
    "int4": ("int8", "bf16", "fp16"),
}


def compute_precision(part: Part, weights: str) -> str | None:
    """The precision whose dense peak serves `weights`: its own, else (integer weights only)
    the first wider format the part has a peak at; None when there is none."""
    if part.peak(weights) is not None:  # type: ignore[arg-type]
        return weights
    for wider in WIDER_COMPUTE.get(weights, ()):
        if part.peak(wider) is not None:  # type: ignore[arg-type]
            return wider
    return None


def _unserved(part: Part, precision: str) -> InputError:
    have = served_precisions(part)
    return InputError.one(
        part.path,
        f"peak_dense.{precision}",
        f"{part.id} has no dense {precision} throughput, so it cannot serve at {precision}.",
        f"choose --precision {' or '.join(have)}, or add the figure."
        if have
        else f"add a dense throughput figure to peak_dense in {part.path.name}.",
    )


def _check_name(name: str, option: str, field: str, what: str) -> None:
    if name not in BYTES_PER_ELEMENT:
        raise InputError.one(
            option,
            field,
            f"'{name}' is not a {what}.",
            f"use one of: {', '.join(SERVING_PRECISIONS)}.",
        )


def kv_precision_for(weights: str, request: ServingRequest) -> str:
    """The request's KV precision, else fp8 beside 8- or 4-bit weights, else the weights'."""
    kv = request.kv_precision
    if kv is None:
        kv = "fp8" if BYTES_PER_ELEMENT[weights] <= 1 else weights
    _check_name(kv, "--kv-precision", "kv_precision", "KV-cache precision")
    return kv


def choose_precision(part: Part, workload: WorkloadLike, request: ServingRequest) -> Chosen:
    """Weights and KV precision for `workload` on `part` under `request`, with the reason."""
    if request.precision is not None:
        _check_name(request.precision, "--precision", "precision", "serving precision")
        weights, basis = request.precision, "asked"
    else:
        weights, basis = workload.weight_precision, "the workload's published precision"
        twin = SIXTEEN_BIT_TWIN.get(weights)
        if part.peak(weights) is None and twin and part.peak(twin) is not None:  # type: ignore[arg-type]
            weights, basis = twin, f"{twin}, the 16-bit format {part.id} has"
        _check_name(weights, "--precision", "precision", "serving precision")
    compute = compute_precision(part, weights)
    if compute is None:
        raise _unserved(part, weights)
    if compute != weights:
        basis += f"; {weights} weights multiplied at {compute} ({part.id} lists no {weights} peak)"
    return Chosen(weights, kv_precision_for(weights, request), basis, compute)
