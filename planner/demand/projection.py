"""Token demand projection: tokens per day per workload over a horizon of years or quarters.

A workload's demand is a daily token count D(t) at the start of each plan period t (in years,
e.g. 2026.0 for 2026 or 2026Q1, 2026.25 for 2026Q2). Four growth forms give D(t):

- exponential: D(t) = D0 * m ** (t - t0), with m the multiple per year (m = 1 + annual growth);
- logistic:    D(t) = K / (1 + exp(-r (t - t_mid))), with ceiling K > D0, rate r per year and
               midpoint t_mid; given D0 and one of r, t_mid the other follows from D(t0) = D0;
- points:      explicit (period -> tokens/day), interpolated geometrically (linearly in log D)
               between points; beyond the last point only if asked (`beyond_last`);
- csv:         a file of `period,tokens_per_day` rows, one per plan period.

A daily count splits into input and output tokens by the output share, and into the 24 hours of
the day by a diurnal profile of hourly shares summing to 1: tokens_per_s[h] = D * share[h] / 3600.
A video-generation workload (`unit: video_s`) counts seconds of generated video per day instead
of tokens (`video_s_per_day`); the same growth forms and day shapes apply, with no token mix.
The formulas and the YAML fragment are documented in docs/demand.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from planner.demand.growth import (
    DemandChecker,
    demand_csv_path,
    exponential_tokens_per_day,
    geometric_interpolation,
    logistic_tokens_per_day,
    read_demand_csv,
    workload_tokens,
)
from planner.demand.horizon import Horizon, build_horizon
from planner.demand.schema import (
    BatchIn,
    CsvIn,
    DemandFile,
    DemandIn,
    DemandUnit,
    InteractiveIn,
    WorkloadDemandIn,
)
from planner.demand.shapes import DayShape, day_shape_of_shares, find_shape
from planner.errors import InputError
from planner.yamlio import read_yaml, validate

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24
SHARE_TOLERANCE = 1e-6


# --------------------------------------------------------------------------------------------
# Domain objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interactive:
    """Latency class of a workload served on arrival; targets in milliseconds."""

    ttft_ms: float
    tpot_ms: float


@dataclass(frozen=True)
class DeferrableBatch:
    """Latency class of a workload served later than it arrives: at any hour of its day, or
    within `deadline_h` hours of arriving (first come first served; 1-23)."""

    deadline_h: float | None = None


LatencyClass = Interactive | DeferrableBatch


@dataclass(frozen=True)
class DemandProjection:
    """Projected demand, workloads x periods. All arrays are read-only.

    `tokens_per_day[w, p]` is the daily token count of workload w in period p (0 for a video
    workload); `video_s_per_day[w, p]` the seconds of video a video workload generates per day
    (0 for token workloads); `hourly_share_fraction[w, h]` the share of a day's demand arriving
    in hour h (sums to 1); `units[w]` says which of the two counts workload w.
    """

    workload_names: tuple[str, ...]
    horizon: Horizon
    tokens_per_day: np.ndarray  # (W, P)
    output_share_fraction: np.ndarray  # (W,)
    hourly_share_fraction: np.ndarray  # (W, 24)
    latency: tuple[LatencyClass, ...]
    video_s_per_day: np.ndarray | None = None  # (W, P); None = no video workload
    units: tuple[DemandUnit, ...] = ()  # () = every workload counts tokens
    # Shares of a mean day's demand per hour of a weekday and a weekend day (planner.demand.
    # shapes); None = every day is the mean day. The mean day is (5 weekday + 2 weekend) / 7.
    weekday_share_fraction: np.ndarray | None = None  # (W, 24)
    weekend_share_fraction: np.ndarray | None = None  # (W, 24)
    shape_sources: tuple[str, ...] = ()  # per workload: the shape's id and source
    files: tuple[Path, ...] = ()  # the CSV and shape files read (a run records their hashes)

    def __post_init__(self) -> None:
        if self.video_s_per_day is None:
            object.__setattr__(self, "video_s_per_day", np.zeros_like(self.tokens_per_day))
        for name in ("weekday_share_fraction", "weekend_share_fraction"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.hourly_share_fraction.copy())
        if not self.units:
            object.__setattr__(self, "units", ("tokens",) * len(self.workload_names))
        for array in (
            self.tokens_per_day,
            self.output_share_fraction,
            self.hourly_share_fraction,
            self.video_s_per_day,
        ):
            if array is not None:
                array.setflags(write=False)

    @property
    def is_video(self) -> np.ndarray:
        """(W,) bool: workloads counted in seconds of generated video."""
        return np.array([u == "video_s" for u in self.units], dtype=bool)

    @property
    def per_day(self) -> np.ndarray:
        """Daily demand in each workload's own unit (tokens, or video seconds). (W, P)"""
        assert self.video_s_per_day is not None
        return np.where(self.is_video[:, None], self.video_s_per_day, self.tokens_per_day)

    @property
    def period_labels(self) -> tuple[str, ...]:
        """The horizon's period labels, e.g. ('2026', '2027') or ('2026Q1', ...)."""
        return self.horizon.labels

    @property
    def input_tokens_per_day(self) -> np.ndarray:
        """Prompt (prefill) tokens per day: D * (1 - output share). (W, P)"""
        return self.tokens_per_day * (1.0 - self.output_share_fraction)[:, None]

    @property
    def output_tokens_per_day(self) -> np.ndarray:
        """Generated (decode) tokens per day: D * output share. (W, P)"""
        return self.tokens_per_day * self.output_share_fraction[:, None]

    @property
    def mean_tokens_per_s(self) -> np.ndarray:
        """Day-average rate D / 86,400 s: the least a deferrable batch workload needs. (W, P)"""
        return self.tokens_per_day / (HOURS_PER_DAY * SECONDS_PER_HOUR)

    @property
    def weekly(self) -> bool:
        """True when some workload's weekend differs from its weekday."""
        assert self.weekday_share_fraction is not None
        assert self.weekend_share_fraction is not None
        return not np.allclose(self.weekday_share_fraction, self.weekend_share_fraction)

    @property
    def peak_tokens_per_s(self) -> np.ndarray:
        """Busiest-hour arrival rate of each workload over the week (weekday or weekend day):
        max_h share[h] * D / 3600. (W, P)"""
        assert self.weekday_share_fraction is not None
        assert self.weekend_share_fraction is not None
        peak_share = np.maximum(
            self.weekday_share_fraction.max(axis=1), self.weekend_share_fraction.max(axis=1)
        )
        return self.tokens_per_day * peak_share[:, None] / SECONDS_PER_HOUR

    def hourly_tokens_per_s(
        self, period: int | str, day: Literal["mean", "weekday", "weekend"] = "mean"
    ) -> np.ndarray:
        """Arrival rate in each hour of a mean, weekday or weekend day of `period`:
        D * share[h] / 3600. (W, 24)"""
        p = self.horizon.index(period)
        shares = {
            "mean": self.hourly_share_fraction,
            "weekday": self.weekday_share_fraction,
            "weekend": self.weekend_share_fraction,
        }[day]
        assert shares is not None
        return self.tokens_per_day[:, p, None] * shares / SECONDS_PER_HOUR

    def workload_index(self, name: str) -> int:
        """Row of a workload by name."""
        return self.workload_names.index(name)


def flat_hourly_share_fraction() -> np.ndarray:
    """The default day shape: every hour carries 1/24 of the day's tokens."""
    return np.full(HOURS_PER_DAY, 1.0 / HOURS_PER_DAY)


# The one built-in `diurnal:` day; sourced day-and-week shapes live in demand_shapes/ and are
# named with `shape:` (planner.demand.shapes).
BUILTIN_DIURNAL: dict[str, np.ndarray] = {"flat": flat_hourly_share_fraction()}
BUILTIN_DIURNAL["flat"].setflags(write=False)


def _hourly_shares(work: WorkloadDemandIn, at: str, check: DemandChecker) -> np.ndarray | None:
    if isinstance(work.diurnal, str):
        return BUILTIN_DIURNAL[work.diurnal]
    shares = np.asarray(work.diurnal, dtype=float)
    if shares.shape != (HOURS_PER_DAY,):
        check.add(
            f"{at}.diurnal",
            f"{shares.size} hourly shares.",
            "write 24 shares, hour 0 (00:00-01:00 local) first.",
        )
        return None
    if (shares < 0).any():
        check.add(f"{at}.diurnal", "a share is negative.", "write shares >= 0.")
        return None
    total = float(shares.sum())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        check.add(
            f"{at}.diurnal",
            f"the 24 shares sum to {total:.9g}, not 1 (tolerance {SHARE_TOLERANCE:g}).",
            "scale the shares so they sum to 1, or write diurnal: flat.",
        )
        return None
    return shares


def _day_shape(
    work: WorkloadDemandIn, file: Path, prefix: str, at: str, check: DemandChecker
) -> DayShape | None:
    """The workload's day-and-week shape: a named or file shape, else its `diurnal` day."""
    if work.shape is not None:
        if work.diurnal != "flat":
            check.add(f"{at}.shape", "both `shape` and `diurnal` are given.", "keep one of them.")
            return None
        try:
            return find_shape(work.shape, file, f"{prefix}{at}.shape")
        except InputError as exc:
            check.problems.extend(exc.problems)
            return None
    shares = _hourly_shares(work, at, check)
    if shares is None:
        return None
    name = work.diurnal if isinstance(work.diurnal, str) else "diurnal"
    return day_shape_of_shares(name, shares, "as written in the scenario")


def _latency(spec: InteractiveIn | BatchIn, at: str, check: DemandChecker) -> LatencyClass:
    if isinstance(spec, BatchIn):
        h = spec.deadline_h
        if h is not None and not (1 <= h <= 24 and h == round(h)):
            check.add(
                f"{at}.latency.deadline_h",
                f"{h:g} is not a whole number of hours from 1 to 24.",
                "write e.g. 4 (served within 4 hours), or leave it out (within the day).",
            )
        return DeferrableBatch(deadline_h=None if h is None or h >= 24 else float(h))
    return Interactive(ttft_ms=spec.ttft_ms, tpot_ms=spec.tpot_ms)


def project_demand(spec: DemandIn, file: Path, prefix: str = "demand.") -> DemandProjection:
    """Resolve a validated demand section into arrays, reporting every problem at once.

    `file` names the YAML file in error messages and anchors relative CSV paths; `prefix` is the
    section's field path inside that file.
    """
    horizon = build_horizon(spec.horizon, file, prefix)
    check = DemandChecker(file, prefix)
    names = [w.name for w in spec.workloads]
    for i, name in enumerate(names):
        if name in names[:i]:
            check.add(f"workloads[{i}].name", f"'{name}' repeats.", "give each workload a name.")
    rows: list[np.ndarray | None] = []
    shares: list[DayShape | None] = []
    latency: list[LatencyClass] = []
    for i, work in enumerate(spec.workloads):
        at = f"workloads[{i}]"
        rows.append(workload_tokens(work, horizon, file, at, check))
        if work.unit == "video_s":
            if work.output_share_fraction is not None:
                check.add(
                    f"{at}.output_share_fraction",
                    "a video workload has no input/output token mix.",
                    "remove output_share_fraction.",
                )
        elif work.output_share_fraction is None:
            check.add(
                f"{at}.output_share_fraction",
                "missing: a token workload splits its tokens into input and output.",
                "add output_share_fraction: e.g. 0.25 (3 input tokens per output token).",
            )
        shares.append(_day_shape(work, file, prefix, at, check))
        latency.append(_latency(work.latency, at, check))
    tokens = [row for row in rows if row is not None]
    day_shapes = [f for f in shares if f is not None]
    if check.problems or len(tokens) != len(rows) or len(day_shapes) != len(shares):
        raise InputError(check.problems)
    counts = np.vstack(tokens)
    video = np.array([w.unit == "video_s" for w in spec.workloads], dtype=bool)[:, None]
    return DemandProjection(
        workload_names=tuple(names),
        horizon=horizon,
        tokens_per_day=np.where(video, 0.0, counts),
        output_share_fraction=np.array(
            [w.output_share_fraction or 0.0 for w in spec.workloads], dtype=float
        ),
        hourly_share_fraction=np.vstack(
            [(5 * d.weekday_share_fraction + 2 * d.weekend_share_fraction) / 7 for d in day_shapes]
        ),
        latency=tuple(latency),
        video_s_per_day=np.where(video, counts, 0.0),
        units=tuple(w.unit for w in spec.workloads),
        weekday_share_fraction=np.vstack([d.weekday_share_fraction for d in day_shapes]),
        weekend_share_fraction=np.vstack([d.weekend_share_fraction for d in day_shapes]),
        shape_sources=tuple(f"{d.id}: {d.source}" for d in day_shapes),
        files=_files_read(spec, file, day_shapes),
    )


def _files_read(spec: DemandIn, file: Path, day_shapes: list[DayShape]) -> tuple[Path, ...]:
    """The demand CSVs and shape files a projection rests on, each once, in workload order."""
    csvs = [
        demand_csv_path(w.growth, file).resolve()
        for w in spec.workloads
        if isinstance(w.growth, CsvIn)
    ]
    shapes = [d.file.resolve() for d in day_shapes if d.file is not None]
    return tuple(dict.fromkeys(csvs + shapes))


def parse_demand(data: Any, file: Path) -> DemandIn:
    """Validate a `{demand: ...}` mapping, reporting every schema error at once."""
    return validate(DemandFile, data, file).demand


def load_demand(path: Path) -> DemandProjection:
    """Read a YAML file whose top level is `demand:` and project it."""
    return project_demand(parse_demand(read_yaml(path), path), path)


def total_hourly_tokens_per_s(projection: DemandProjection, period: int | str) -> np.ndarray:
    """Coincident arrivals of all workloads in each hour of the busier of a weekday and a
    weekend day of `period`. (24,)"""
    days = [projection.hourly_tokens_per_s(period, d).sum(axis=0) for d in ("weekday", "weekend")]
    return max(days, key=lambda day: float(day.max()))


__all__: Sequence[str] = (
    "BUILTIN_DIURNAL",
    "DeferrableBatch",
    "DemandFile",
    "DemandIn",
    "DemandProjection",
    "DemandUnit",
    "Horizon",
    "Interactive",
    "LatencyClass",
    "WorkloadDemandIn",
    "exponential_tokens_per_day",
    "geometric_interpolation",
    "load_demand",
    "logistic_tokens_per_day",
    "parse_demand",
    "project_demand",
    "read_demand_csv",
)
