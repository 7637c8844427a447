"""Video generation on one part: compute-bound video seconds per second, watts, and the cost
of a minute of video (docs/workloads.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from planner.catalogue.parts import Part
from planner.errors import InputError
from planner.serving.efficiency import Efficiency
from planner.serving.power import cost_per_million_output_tokens, power_w, require
from planner.serving.precision import choose_precision
from planner.serving.request import (
    BYTES_PER_ELEMENT,
    Bound,
    Economics,
    ServingRequest,
    WorkloadLike,
)

# ---------------------------------------------------------------- video generation


@dataclass(frozen=True)
class VideoEstimate:
    """Per-part figures of a video generator on one part (V1, V2); rates are per part."""

    part: str
    workload: str
    precision: str
    parts_per_replica: int  # parts whose memory holds the weights (sequence parallel beyond 1)
    flops_per_video_s: float
    video_s_per_s_per_part: float
    clip_s: float  # length of one clip, s
    seconds_per_clip_per_part: float  # part-seconds to generate one clip
    utilisation_fraction: float
    watts_per_part: float
    joules_per_video_s: float
    cost_per_video_minute: float | None
    currency: str | None
    bound: Bound
    efficiency: Efficiency
    efficiency_basis: str = ""  # where the video flop fraction comes from
    source: Literal["model"] = "model"


def video_s_per_s_per_part(peak_flops_per_s: float, flop_fraction: float, flops: float) -> float:
    """(V1) seconds of video one part generates per second: F x e_video / FLOPs per video s."""
    return peak_flops_per_s * flop_fraction / flops


def cost_per_video_minute(
    part: Part, watts: float, video_s_per_s: float, economics: Economics
) -> float | None:
    """(V2) (capex x CRF / busy hours + energy at the wall x price) per minute of video.

    None when the part has no price. Same economics as the token cost (S6)."""
    per_mtok = cost_per_million_output_tokens(part, watts, video_s_per_s, economics)
    return None if per_mtok is None else per_mtok / 1e6 * 60.0


def _video_parts(part: Part, workload: WorkloadLike, precision: str, reserve: float) -> int:
    """Fewest parts whose usable memory holds the weights (activations are not modelled)."""
    memory = require(part, part.memory_bytes, "memory_capacity", "memory capacity")
    need = workload.total_params * BYTES_PER_ELEMENT[precision]
    return max(1, math.ceil(need / (memory * (1.0 - reserve))))


def estimate_video(
    part: Part,
    workload: WorkloadLike,
    efficiency: Efficiency,
    precision: str | None = None,
    economics: Economics | None = None,
) -> VideoEstimate:
    """Video seconds per second, watts and cost per video minute of one part (V1, V2).

    Raises InputError when the workload is not a video card, the part lacks a peak at the
    precision or a TDP, or the software stack has no `video_flop_efficiency_fraction`.
    """
    flops = getattr(workload, "flops_per_video_s", None)
    clip = getattr(workload, "video", None)
    if workload.kind != "video" or not flops or clip is None:
        raise InputError.one(
            "workload",
            "kind",
            f"'{workload.id}' is not a video workload with FLOPs per video second.",
            "choose a video workload card (kind: video).",
        )
    if efficiency.video_flop_fraction is None:
        raise InputError.one(
            "hardware_profiles/software_stacks.yaml",
            f"stacks.{part.software_stack}.video_flop_efficiency_fraction",
            f"software stack '{part.software_stack}' of {part.id} has no video-generation "
            "efficiency, so video throughput cannot be estimated.",
            "add video_flop_efficiency_fraction with its source (docs/serving.md).",
        )
    chosen = choose_precision(part, workload, ServingRequest(precision=precision)).weights
    peak = part.peak(chosen)
    assert peak is not None
    rate = video_s_per_s_per_part(peak, efficiency.video_flop_fraction, flops)
    watts = power_w(part, 1.0)
    econ = economics or Economics()
    return VideoEstimate(
        part=part.id,
        workload=workload.id,
        precision=chosen,
        parts_per_replica=_video_parts(
            part, workload, chosen, ServingRequest().memory_reserve_fraction
        ),
        flops_per_video_s=flops,
        video_s_per_s_per_part=rate,
        clip_s=float(clip.clip_s),
        seconds_per_clip_per_part=float(clip.clip_s) / rate,
        utilisation_fraction=1.0,
        watts_per_part=watts,
        joules_per_video_s=watts / rate,
        cost_per_video_minute=cost_per_video_minute(part, watts, rate, econ),
        currency=part.price_currency,
        bound="compute",
        efficiency=efficiency,
        efficiency_basis=f"software stack '{part.software_stack}' "
        "video_flop_efficiency_fraction (hardware_profiles/software_stacks.yaml)",
    )
