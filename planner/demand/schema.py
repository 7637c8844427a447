"""The `demand:` YAML fragment's schema (docs/demand.md): horizon, growth forms, latency, day."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, FiniteFloat

from planner.schema import Bounds, StrictModel

# Ranges of demand figures (planner.schema.Bounds). Tokens a day: the shipped scenarios hold
# 7e9 to 2.25e13; the largest provider reported about 3e13 a day in 2025 (Google: 980 trillion
# tokens a month, July 2025 earnings call), so 1e15 is a typical ceiling and 1e18 a hard one.
PER_DAY = Bounds("", hard=(0, 1e18), typical=(0, 1e15), what="tokens (or video seconds) a day")
PerDay = Annotated[FiniteFloat, PER_DAY]

Step = Literal["year", "quarter"]
DemandUnit = Literal["tokens", "video_s"]
PeriodLabel = int | str


# --------------------------------------------------------------------------------------------
# YAML fragment schema (docs/demand.md)
# --------------------------------------------------------------------------------------------


class HorizonIn(StrictModel):
    """Plan periods from `start` to `end` inclusive: years (2026) or quarters ('2026Q1')."""

    start: PeriodLabel
    end: PeriodLabel
    step: Step = "year"


class ExponentialIn(StrictModel):
    """D(t) = D0 * m ** (t - t0): give `annual_growth_fraction` (m - 1) or `multiple_per_year`."""

    kind: Literal["exponential"]
    annual_growth_fraction: Annotated[
        FiniteFloat | None,
        Bounds(
            "", hard=(-1, 1_000), typical=(-0.5, 59), low_open=True, what="a growth a year (m - 1)"
        ),
    ] = None
    multiple_per_year: Annotated[
        FiniteFloat | None,
        Bounds("", hard=(0, 1_000), typical=(0.5, 60), low_open=True, what="a multiple a year"),
    ] = None  # shipped 1 to 2; Google's monthly tokens grew about 50-fold in a year (9.7e12 in
    # April 2024, 4.8e14 in April 2025: Google I/O 2025 keynote)


class LogisticIn(StrictModel):
    """D(t) = K / (1 + exp(-r (t - t_mid))): a ceiling and either a midpoint or a rate."""

    kind: Literal["logistic"]
    ceiling_tokens_per_day: PerDay
    midpoint: PeriodLabel | FiniteFloat | None = None
    rate_per_year: Annotated[
        FiniteFloat | None,
        Bounds("", hard=(0, 100), typical=(0.01, 10), low_open=True, what="a logistic rate"),
    ] = None


class PointsIn(StrictModel):
    """Explicit tokens/day at named periods, geometric in between."""

    kind: Literal["points"]
    points: Annotated[dict[PeriodLabel, FiniteFloat], PER_DAY]
    beyond_last: Literal["error", "hold", "trend"] = "error"


class CsvIn(StrictModel):
    """A CSV file (path relative to the file that names it) with `period,tokens_per_day`
    (`period,video_s_per_day` for a video workload)."""

    kind: Literal["csv"]
    file: str


GrowthIn = Annotated[ExponentialIn | LogisticIn | PointsIn | CsvIn, Field(discriminator="kind")]


class InteractiveIn(StrictModel):
    """Served as it arrives, under time-to-first-token and time-per-output-token targets."""

    kind: Literal["interactive"]
    ttft_ms: Annotated[
        FiniteFloat,
        Bounds("", hard=(0, 3_600_000), typical=(50, 60_000), low_open=True, what="a TTFT in ms"),
    ]  # shipped 2,000 ms
    tpot_ms: Annotated[
        FiniteFloat,
        Bounds("", hard=(0, 60_000), typical=(5, 1_000), low_open=True, what="a TPOT in ms"),
    ]  # shipped 50 to 100 ms; people read about 5 to 10 tokens a second


class BatchIn(StrictModel):
    """Deferrable: each day's tokens are served within that day, at any hour; or, with
    `deadline_h`, each hour's arrivals within that many hours, first come first served."""

    kind: Literal["batch"]
    deadline_h: Annotated[
        FiniteFloat | None, Bounds("", hard=(1, 24), what="a deadline in hours")
    ] = None


LatencyIn = Annotated[InteractiveIn | BatchIn, Field(discriminator="kind")]


class WorkloadDemandIn(StrictModel):
    """One workload's demand: its size now, its growth, its token mix, latency and day shape.

    `unit: video_s` makes it a video-generation demand: `video_s_per_day` (seconds of video
    generated per day) replaces `tokens_per_day` and no output share applies."""

    name: str
    unit: DemandUnit = "tokens"
    tokens_per_day: Annotated[FiniteFloat | None, PER_DAY] = None
    video_s_per_day: Annotated[FiniteFloat | None, PER_DAY] = None
    growth: GrowthIn
    output_share_fraction: Annotated[
        FiniteFloat | None,
        Bounds("", hard=(0, 1), typical=(0.01, 0.9), what="an output share of tokens"),
    ] = None  # token workloads only; shipped 0.05 to 0.25
    latency: LatencyIn
    diurnal: Annotated[
        Literal["flat"] | list[FiniteFloat],
        Bounds("", hard=(0, 1e12), what="an hour's relative load"),
    ] = "flat"
    shape: str | None = None  # a sourced day-and-week shape (demand_shapes/) or a file


class DemandIn(StrictModel):
    """The `demand:` section of a scenario."""

    horizon: HorizonIn
    workloads: list[WorkloadDemandIn] = Field(min_length=1)


class DemandFile(StrictModel):
    """A file holding only a `demand:` section (the same fragment a scenario embeds)."""

    demand: DemandIn
