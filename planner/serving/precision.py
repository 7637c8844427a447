"""The precision a part serves a workload at: weights and KV cache (docs/serving.md, Precisions).

Weights: the request's precision where given; else the best of the workload's published serving
precisions that the part's stack serves and the part can multiply (`PREFERENCE`: fp8, int8, then
bf16, fp16; 4-bit only when asked). bf16 and fp16 stand in for each other (same bytes) where the
part has only one. A part multiplies a format it lists a dense peak at, or integer weights at a
wider format it has a peak at (weight-only quantisation). KV cache: the request's, else the
stack's 8-bit cache beside 8- or 4-bit weights, else the weights' 16-bit format.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalogue.parts import Part
from planner.errors import InputError
from planner.serving.efficiency import Efficiency
from planner.serving.formats import PREFERENCE
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
    attention: str = ""  # the attention projections' weights ("" = the other weights')
    attention_compute: str = ""  # the precision whose peak they multiply at ("" = compute)

    @property
    def compute_precision(self) -> str:
        """The precision whose dense peak the compute term uses (the weights' when not set)."""
        return self.compute or self.weights

    @property
    def attention_precision(self) -> str:
        """The attention projections' weight precision (the other weights' when not set)."""
        return self.attention or self.weights

    @property
    def attention_compute_precision(self) -> str:
        """The precision whose dense peak the attention projections multiply at."""
        return self.attention_compute or self.compute_precision


def served_precisions(part: Part) -> list[str]:
    """Serving precisions the part has a dense peak at, in SERVING_PRECISIONS order."""
    return [p for p in SERVING_PRECISIONS if part.peak(p) is not None]


# Integer weights a part has no peak for are multiplied at a wider format (weight-only
# quantisation, e.g. W8A16 / W4A8): the first of these the part has a peak at.
WIDER_COMPUTE: dict[str, tuple[str, ...]] = {
    "int8": ("bf16", "fp16"),
    "int4": ("int8", "bf16", "fp16"),
}


def compute_precision(part: Part, weights: str) -> str | None:
    """The precision whose dense peak serves `weights`: its own, else (integer weights only)
    the first wider format the part has a peak at; None when there is none."""
    if part.peak(weights) is not None:
        return weights
    for wider in WIDER_COMPUTE.get(weights, ()):
        if part.peak(wider) is not None:
            return wider
    return None


def _unserved(part: Part, precision: str) -> InputError:
    have = served_precisions(part)
    return InputError.one(
        part.path,
        f"peak_dense.{precision}",
        f"{part.id} has no dense {precision} throughput, so it cannot serve at {precision}.",
        f"serve it at {' or '.join(have)}, or add the figure."
        if have
        else f"add a dense throughput figure to peak_dense in {part.path.name}.",
    )


def _check_name(name: str, field: str, what: str) -> None:
    if name not in BYTES_PER_ELEMENT:
        raise InputError.option(
            field, f"'{name}' is not a {what}.", f"use one of: {', '.join(SERVING_PRECISIONS)}."
        )


def kv_precision_for(weights: str, request: ServingRequest, eff: Efficiency | None = None) -> str:
    """The request's KV precision; else beside 8- or 4-bit weights the stack's 8-bit cache (fp8,
    else int8) where it keeps one; else the weights' 16-bit format (the first the stack keeps)."""
    kv = request.kv_precision
    served = eff.served_kv if eff is not None else ()
    if kv is None and BYTES_PER_ELEMENT[weights] <= 1:
        kv = next((k for k in ("fp8", "int8") if not served or k in served), None)
    if kv is None:
        sixteen = weights if BYTES_PER_ELEMENT[weights] == 2 else "bf16"
        twin = SIXTEEN_BIT_TWIN[sixteen]
        kv = sixteen if not served or sixteen in served or twin not in served else twin
    _check_name(kv, "kv_precision", "KV-cache precision")
    return kv


def candidates(part: Part, workload: WorkloadLike, eff: Efficiency | None) -> list[str]:
    """The workload's serving precisions (with 16-bit twins) the stack serves and the part can
    multiply, best first."""
    published = getattr(workload, "serving_precisions", ()) or (workload.weight_precision,)
    wanted = set(published) | {SIXTEEN_BIT_TWIN[p] for p in published if p in SIXTEEN_BIT_TWIN}
    served = eff.served_weights if eff is not None and eff.served_weights else SERVING_PRECISIONS
    order = [*PREFERENCE, *(p for p in SERVING_PRECISIONS if p not in PREFERENCE)]
    return [
        p for p in order if p in wanted and p in served and compute_precision(part, p) is not None
    ]


def _no_precision(part: Part, workload: WorkloadLike, eff: Efficiency | None) -> InputError:
    published = getattr(workload, "serving_precisions", ()) or (workload.weight_precision,)
    served = eff.served_weights if eff is not None and eff.served_weights else SERVING_PRECISIONS
    return InputError.one(
        part.path,
        "peak_dense",
        f"{part.id} ({part.software_stack} serves {', '.join(served)}) cannot serve "
        f"{workload.id} at any precision it is published in ({', '.join(published)}).",
        "add the part's peak at one of them, or the workload's serving_precisions "
        "(workload_profiles), or name a precision to serve at.",
    )


def _require_served(part: Part, precision: str, eff: Efficiency | None, what: str) -> None:
    """Refuse `what` at a precision the part's stack does not serve."""
    served = eff.served_weights if eff is not None else ()
    if not served or precision in served:
        return
    raise InputError.one(
        "workload_profiles/serving/precisions.yaml",
        f"stacks.{part.software_stack}.weights",
        f"the {part.software_stack} stack of {part.id} does not serve {precision} {what}.",
        f"serve at {' or '.join(served)}.",
    )


def choose_precision(
    part: Part, workload: WorkloadLike, request: ServingRequest, eff: Efficiency | None = None
) -> Chosen:
    """Weights and KV precision for `workload` on `part` under `request`, with the reason."""
    if request.precision is not None:
        _check_name(request.precision, "precision", "serving precision")
        weights, basis = request.precision, "asked"
        _require_served(part, weights, eff, "weights")
    else:
        best = candidates(part, workload, eff)
        if not best:
            raise _no_precision(part, workload, eff)
        weights = best[0]
        basis = f"the best of {workload.id}'s serving precisions {part.id} serves"
    compute = compute_precision(part, weights)
    if compute is None:
        raise _unserved(part, weights)
    if compute != weights:
        basis += f"; {weights} weights multiplied at {compute} ({part.id} lists no {weights} peak)"
    attention, attention_compute, why = projections(part, workload, request, weights, eff)
    kv = kv_precision_for(weights, request, eff)
    return Chosen(weights, kv, basis + why, compute, attention, attention_compute)


def projections(
    part: Part,
    workload: WorkloadLike,
    request: ServingRequest,
    weights: str,
    eff: Efficiency | None = None,
) -> tuple[str, str, str]:
    """The attention projections' precision, the one they multiply at, and the reason: the
    request's, else the published checkpoint's at `weights` (the workload's
    attention_precision), else the weights'."""
    asked = request.attention_precision
    if asked is not None:
        _check_name(asked, "attention_precision", "serving precision")
        _require_served(part, asked, eff, "attention projections")
    kept = getattr(workload, "attention_precision_at", None)
    attention = asked or (kept(weights) if callable(kept) else weights)
    if attention == weights:
        return weights, "", ""
    compute = compute_precision(part, attention)
    if compute is None and attention in SIXTEEN_BIT_TWIN:
        compute = compute_precision(part, SIXTEEN_BIT_TWIN[attention])  # same bytes
    if compute is None and asked:
        raise _unserved(part, attention)
    if compute is None:
        raise InputError.one(
            part.path,
            f"peak_dense.{attention}",
            f"{workload.id}'s published {weights} checkpoint keeps its attention projections at "
            f"{attention}, and {part.id} has no dense {attention} throughput.",
            f"ask for the projections at {weights} (attention_precision), or add the figure.",
        )
    why = "asked" if asked else f"as {workload.id}'s published {weights} checkpoint keeps them"
    return attention, compute, f"; attention projections at {attention} ({why})"
