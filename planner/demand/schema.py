"""The `demand:` YAML fragment's schema (docs/demand.md): horizon, growth forms, latency, day."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

Step = Literal["year", "quarter"]
DemandUnit = Literal["tokens", "video_s"]
PeriodLabel = int | str


# --------------------------------------------------------------------------------------------
# YAML fragment schema (docs/demand.md)
# --------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HorizonIn(_Strict):
    """Plan periods from `start` to `end` inclusive: years (2026) or quarters ('2026Q1')."""

    start: PeriodLabel
    end: PeriodLabel
    step: Step = "year"


class ExponentialIn(_Strict):
    """D(t) = D0 * m ** (t - t0): give `annual_growth_fraction` (m - 1) or `multiple_per_year`."""

    kind: Literal["exponential"]
    annual_growth_fraction: FiniteFloat | None = None
    multiple_per_year: FiniteFloat | None = None


class LogisticIn(_Strict):
    """D(t) = K / (1 + exp(-r (t - t_mid))): a ceiling and either a midpoint or a rate."""

    kind: Literal["logistic"]
    ceiling_tokens_per_day: FiniteFloat
    midpoint: PeriodLabel | FiniteFloat | None = None
    rate_per_year: FiniteFloat | None = None


class PointsIn(_Strict):
    """Explicit tokens/day at named periods, geometric in between."""

    kind: Literal["points"]
    points: dict[PeriodLabel, FiniteFloat]
    beyond_last: Literal["error", "hold", "trend"] = "error"


class CsvIn(_Strict):
    """A CSV file (path relative to the file that names it) with `period,tokens_per_day`
    (`period,video_s_per_day` for a video workload)."""

    kind: Literal["csv"]
    file: str


GrowthIn = Annotated[ExponentialIn | LogisticIn | PointsIn | CsvIn, Field(discriminator="kind")]


class InteractiveIn(_Strict):
    """Served as it arrives, under time-to-first-token and time-per-output-token targets."""

    kind: Literal["interactive"]
    ttft_ms: FiniteFloat
    tpot_ms: FiniteFloat


class BatchIn(_Strict):
    """Deferrable: each day's tokens are served within that day, at any hour; or, with
    `deadline_h`, each hour's arrivals within that many hours, first come first served."""

    kind: Literal["batch"]
    deadline_h: FiniteFloat | None = None


LatencyIn = Annotated[InteractiveIn | BatchIn, Field(discriminator="kind")]


class WorkloadDemandIn(_Strict):
    """One workload's demand: its size now, its growth, its token mix, latency and day shape.

    `unit: video_s` makes it a video-generation demand: `video_s_per_day` (seconds of video
    generated per day) replaces `tokens_per_day` and no output share applies."""

    name: str
    unit: DemandUnit = "tokens"
    tokens_per_day: FiniteFloat | None = None
    video_s_per_day: FiniteFloat | None = None
    growth: GrowthIn
    output_share_fraction: FiniteFloat | None = None  # token workloads only
    latency: LatencyIn
    diurnal: Literal["flat"] | list[FiniteFloat] = "flat"
    shape: str | None = None  # a sourced day-and-week shape (demand_shapes/) or a file


class DemandIn(_Strict):
    """The `demand:` section of a scenario."""

    horizon: HorizonIn
    workloads: list[WorkloadDemandIn] = Field(min_length=1)


class DemandFile(_Strict):
    """A file holding only a `demand:` section (the same fragment a scenario embeds)."""

    demand: DemandIn
