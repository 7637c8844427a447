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

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from planner.demand.shapes import DayShape, day_shape_of_shares, find_shape
from planner.errors import InputError, Problem
from planner.yamlio import read_yaml, validate

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24
SHARE_TOLERANCE = 1e-6
Step = Literal["year", "quarter"]
DemandUnit = Literal["tokens", "video_s"]
DAILY_FIELD: dict[str, str] = {"tokens": "tokens_per_day", "video_s": "video_s_per_day"}
PeriodLabel = int | str
_LABEL = re.compile(r"^\s*(\d{4})(?:\s*[-_ ]?\s*[Qq]([1-4]))?\s*$")


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
    """Deferrable: each day's tokens must be served within that day, at any hour."""

    kind: Literal["batch"]


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
    """Latency class of a workload whose daily tokens may be served at any hour of the day."""


LatencyClass = Interactive | DeferrableBatch


@dataclass(frozen=True)
class Horizon:
    """Plan periods: labels ('2026' or '2026Q1') and each period's start in years (2026.25)."""

    labels: tuple[str, ...]
    start_years: np.ndarray  # (P,)
    step: Step

    def index(self, period: int | str) -> int:
        """Position of a period given by its position (int < 1000) or its label / year."""
        if isinstance(period, int) and 0 <= period < len(self.labels):
            return period
        key = _quarter_index(period)
        for p, year in enumerate(self.start_years):
            if key is not None and round(year * 4) == key:
                return p
        raise KeyError(
            f"period {period!r} is not in the horizon {self.labels[0]}..{self.labels[-1]}"
        )


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


# --------------------------------------------------------------------------------------------
# Growth forms: pure, vectorised over time (years)
# --------------------------------------------------------------------------------------------


def exponential_tokens_per_day(
    start_tokens_per_day: float, multiple_per_year: float, years_since_start: np.ndarray
) -> np.ndarray:
    """D(t) = D0 * m ** t, t in years since the horizon start."""
    return start_tokens_per_day * np.power(multiple_per_year, np.asarray(years_since_start))


def logistic_tokens_per_day(
    ceiling_tokens_per_day: float, rate_per_year: float, midpoint_year: float, years: np.ndarray
) -> np.ndarray:
    """D(t) = K / (1 + exp(-r (t - t_mid))), t and t_mid in calendar years."""
    exponent = np.clip(-rate_per_year * (np.asarray(years) - midpoint_year), -700.0, 700.0)
    return ceiling_tokens_per_day / (1.0 + np.exp(exponent))


def logistic_rate_per_year(
    start_tokens_per_day: float, ceiling_tokens_per_day: float, years_to_midpoint: float
) -> float:
    """Rate r making D(t0) = D0 when t_mid = t0 + years_to_midpoint: r = ln(K/D0 - 1) / Δt."""
    return math.log(ceiling_tokens_per_day / start_tokens_per_day - 1.0) / years_to_midpoint


def logistic_years_to_midpoint(
    start_tokens_per_day: float, ceiling_tokens_per_day: float, rate_per_year: float
) -> float:
    """Years from the start to the midpoint given the rate: Δt = ln(K/D0 - 1) / r."""
    return math.log(ceiling_tokens_per_day / start_tokens_per_day - 1.0) / rate_per_year


def geometric_interpolation(
    point_years: np.ndarray,
    point_tokens_per_day: np.ndarray,
    years: np.ndarray,
    beyond_last: Literal["hold", "trend"] = "hold",
) -> np.ndarray:
    """Interpolate linearly in log D between points (sorted years, positive values).

    Beyond the last point, `hold` keeps its value; `trend` continues the last segment's growth
    (a single point has no trend and holds).
    """
    log_points = np.log(point_tokens_per_day)
    years = np.asarray(years, dtype=float)
    log_d = np.interp(years, point_years, log_points)
    if beyond_last == "trend" and len(point_years) >= 2:
        slope = (log_points[-1] - log_points[-2]) / (point_years[-1] - point_years[-2])
        after = years > point_years[-1]
        log_d = np.where(after, log_points[-1] + slope * (years - point_years[-1]), log_d)
    return np.exp(log_d)


def flat_hourly_share_fraction() -> np.ndarray:
    """The default day shape: every hour carries 1/24 of the day's tokens."""
    return np.full(HOURS_PER_DAY, 1.0 / HOURS_PER_DAY)


# Named day shapes. Only sourced shapes belong here; none beyond `flat` has been sourced yet
# (see scenarios/research/flagship_figures.md, "Diurnal load shapes").
BUILTIN_DIURNAL: dict[str, np.ndarray] = {"flat": flat_hourly_share_fraction()}
BUILTIN_DIURNAL["flat"].setflags(write=False)


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


def _quarter_index(label: object) -> int | None:
    """'2026' or 2026 -> 2026*4; '2026Q3' -> 2026*4 + 2; None if not a period label."""
    if isinstance(label, bool):
        return None
    if isinstance(label, int):
        return label * 4 if 1000 <= label <= 9999 else None
    if isinstance(label, float):
        quarters = label * 4
        return round(quarters) if abs(quarters - round(quarters)) < 1e-9 else None
    if isinstance(label, str):
        match = _LABEL.match(label)
        if match:
            return int(match.group(1)) * 4 + (int(match.group(2)) - 1 if match.group(2) else 0)
    return None


def _period_year(label: object) -> float | None:
    """A period label or a (fractional) calendar year, in years: '2026Q2' -> 2026.25."""
    if isinstance(label, float) and not isinstance(label, bool):
        return label
    quarters = _quarter_index(label)
    return None if quarters is None else quarters / 4.0


def _label(quarters: int, step: Step) -> str:
    year, quarter = divmod(quarters, 4)
    return str(year) if step == "year" else f"{year}Q{quarter + 1}"


def build_horizon(spec: HorizonIn, file: Path, prefix: str) -> Horizon:
    """The horizon's periods; a bad label or an end before the start is an InputError."""
    problems: list[Problem] = []
    bounds: list[int] = []
    for name in ("start", "end"):
        value = getattr(spec, name)
        quarters = _quarter_index(value)
        if quarters is None:
            problems.append(
                Problem(
                    str(file),
                    f"{prefix}horizon.{name}",
                    f"{value!r} is not a period.",
                    "write a year like 2026, or a quarter like '2026Q1'.",
                )
            )
        elif spec.step == "year" and quarters % 4:
            problems.append(
                Problem(
                    str(file),
                    f"{prefix}horizon.{name}",
                    f"'{value}' is a quarter but the horizon steps in years.",
                    "write a year like 2026, or set step: quarter.",
                )
            )
        else:
            bounds.append(quarters)
    if not problems and bounds[1] < bounds[0]:
        problems.append(
            Problem(
                str(file),
                f"{prefix}horizon.end",
                f"the end ({spec.end}) is before the start ({spec.start}).",
                "write an end at or after the start.",
            )
        )
    if problems:
        raise InputError(problems)
    stride = 4 if spec.step == "year" else 1
    quarters = np.arange(bounds[0], bounds[1] + 1, stride)
    start_years = quarters / 4.0
    start_years.setflags(write=False)
    return Horizon(
        labels=tuple(_label(int(q), spec.step) for q in quarters),
        start_years=start_years,
        step=spec.step,
    )


# --------------------------------------------------------------------------------------------
# Checks (collect every problem) and resolution into arrays
# --------------------------------------------------------------------------------------------


class _Checker:
    """Collects problems about one demand section, each naming its file and field."""

    def __init__(self, file: Path, prefix: str):
        self.file, self.prefix, self.problems = file, prefix, list[Problem]()

    def add(self, field: str, problem: str, fix: str) -> None:
        self.problems.append(Problem(str(self.file), self.prefix + field, problem, fix))

    def non_negative(self, field: str, value: float | None, what: str) -> None:
        if value is not None and value < 0:
            self.add(field, f"{value:g} is negative.", f"write {what} >= 0.")


def _start_tokens(work: WorkloadDemandIn, at: str, check: _Checker) -> float | None:
    """D0 for the forms that grow from it, in the workload's unit (tokens_per_day, or
    video_s_per_day for `unit: video_s`); an error if missing, negative or not applicable."""
    field = DAILY_FIELD[work.unit]
    other = DAILY_FIELD["tokens" if work.unit == "video_s" else "video_s"]
    if getattr(work, other) is not None:
        check.add(
            f"{at}.{other}",
            f"a workload with unit '{work.unit}' counts its demand in {field}.",
            f"write {field} instead, or change unit.",
        )
    start = getattr(work, field)
    what = "tokens" if work.unit == "tokens" else "video seconds"
    if isinstance(work.growth, PointsIn | CsvIn):
        if start is not None:
            check.add(
                f"{at}.{field}",
                f"growth kind '{work.growth.kind}' gives the {what} per day itself.",
                f"remove {field}, or give the start value as a point / CSV row.",
            )
        return None
    if start is None:
        check.add(
            f"{at}.{field}",
            f"missing: exponential and logistic growth start from today's {what} per day.",
            f"add {field}: e.g. {'1.0e+12' if work.unit == 'tokens' else '1.0e+05'}.",
        )
        return None
    check.non_negative(f"{at}.{field}", start, f"a number of {what} per day")
    return start if start >= 0 else None


def _exponential(
    growth: ExponentialIn, d0: float | None, horizon: Horizon, at: str, check: _Checker
) -> np.ndarray | None:
    given = [growth.annual_growth_fraction, growth.multiple_per_year]
    if sum(v is not None for v in given) != 1:
        check.add(
            f"{at}.growth",
            "exponential growth needs exactly one of annual_growth_fraction, multiple_per_year.",
            "write e.g. multiple_per_year: 6 (sixfold a year) or annual_growth_fraction: 5.0.",
        )
        return None
    if growth.multiple_per_year is not None:
        name, multiple = "multiple_per_year", growth.multiple_per_year
    else:
        name, multiple = "annual_growth_fraction", 1.0 + (growth.annual_growth_fraction or 0.0)
    if multiple <= 0:
        check.add(
            f"{at}.growth.{name}",
            f"a yearly multiple of {multiple:g} would make demand vanish or turn negative.",
            "write multiple_per_year > 0 (annual_growth_fraction > -1).",
        )
        return None
    if d0 is None:
        return None
    return exponential_tokens_per_day(d0, multiple, horizon.start_years - horizon.start_years[0])


def _logistic(
    growth: LogisticIn, d0: float | None, horizon: Horizon, at: str, check: _Checker
) -> np.ndarray | None:
    ceiling = growth.ceiling_tokens_per_day
    if d0 is None:
        return None
    if d0 <= 0:
        check.add(
            f"{at}.tokens_per_day",
            "logistic growth cannot start from zero tokens per day.",
            "write a positive tokens_per_day.",
        )
        return None
    if ceiling <= d0:
        check.add(
            f"{at}.growth.ceiling_tokens_per_day",
            f"the ceiling ({ceiling:g}) is not above the start ({d0:g} tokens per day).",
            "write a ceiling above tokens_per_day, or use exponential growth.",
        )
        return None
    if (growth.midpoint is None) == (growth.rate_per_year is None):
        check.add(
            f"{at}.growth",
            "logistic growth needs exactly one of midpoint, rate_per_year.",
            "write e.g. midpoint: 2029 (the year demand reaches half the ceiling).",
        )
        return None
    t0 = float(horizon.start_years[0])
    half_way = ceiling / d0 - 1.0  # > 1 while below half the ceiling
    if growth.rate_per_year is not None:
        rate = growth.rate_per_year
        if rate <= 0:
            check.add(f"{at}.growth.rate_per_year", f"{rate:g} is not > 0.", "write a rate > 0.")
            return None
        midpoint = t0 + logistic_years_to_midpoint(d0, ceiling, rate)
    else:
        midpoint_or_none = _period_year(growth.midpoint)
        if midpoint_or_none is None:
            check.add(
                f"{at}.growth.midpoint",
                f"{growth.midpoint!r} is not a period or a year.",
                "write a year like 2029 (or 2029.5), or a quarter like '2029Q3'.",
            )
            return None
        midpoint = midpoint_or_none
        if half_way == 1.0:
            check.add(
                f"{at}.growth.midpoint",
                f"a start of {d0:g} is exactly half the ceiling, so a midpoint fixes no rate.",
                "give rate_per_year instead of midpoint.",
            )
            return None
        if (midpoint - t0) * math.log(half_way) <= 0:
            where = "after" if half_way > 1 else "before"
            check.add(
                f"{at}.growth.midpoint",
                f"a start of {d0:g} is {'below' if half_way > 1 else 'above'} half the "
                f"ceiling, so the midpoint must lie {where} the start ({t0:g}).",
                f"write a midpoint {where} {t0:g}, or give rate_per_year instead.",
            )
            return None
        rate = logistic_rate_per_year(d0, ceiling, midpoint - t0)
    return logistic_tokens_per_day(ceiling, rate, midpoint, horizon.start_years)


def _points(growth: PointsIn, horizon: Horizon, at: str, check: _Checker) -> np.ndarray | None:
    years: list[float] = []
    values: list[float] = []
    ok = True
    for label, value in growth.points.items():
        year = _period_year(label)
        if year is None:
            check.add(
                f"{at}.growth.points.{label}",
                f"'{label}' is not a period.",
                "key each point by a year like 2027 or a quarter like '2027Q3'.",
            )
            ok = False
        elif value <= 0:
            check.add(
                f"{at}.growth.points.{label}",
                f"{value:g} is not positive; geometric interpolation needs positive points.",
                "write a positive number of tokens per day.",
            )
            ok = False
        else:
            years.append(year)
            values.append(value)
    if not ok:
        return None
    if len(set(years)) != len(years):
        check.add(f"{at}.growth.points", "two points name the same period.", "keep one of them.")
        return None
    order = np.argsort(years)
    point_years, point_values = np.asarray(years)[order], np.asarray(values)[order]
    start, end = horizon.start_years[0], horizon.start_years[-1]
    if point_years[0] > start:
        check.add(
            f"{at}.growth.points",
            f"the first point is after the horizon start ({horizon.labels[0]}).",
            f"add a point at or before {horizon.labels[0]}.",
        )
        return None
    if point_years[-1] < end and growth.beyond_last == "error":
        check.add(
            f"{at}.growth.points",
            f"the last point is before the horizon end ({horizon.labels[-1]}).",
            f"add a point for {horizon.labels[-1]}, or set beyond_last: hold or trend.",
        )
        return None
    mode: Literal["hold", "trend"] = "trend" if growth.beyond_last == "trend" else "hold"
    return geometric_interpolation(point_years, point_values, horizon.start_years, mode)


def read_demand_csv(path: Path, horizon: Horizon, column: str = "tokens_per_day") -> np.ndarray:
    """Tokens per day for each horizon period from a `period,tokens_per_day` CSV (`column`
    names the second header cell: `video_s_per_day` for a video workload).

    Rows outside the horizon are ignored; a missing period, a duplicate, a non-numeric or
    negative value is an InputError naming the file, the line and the fix.
    """
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise InputError.one(
            path, "", "CSV file not found.", "check the growth.file path."
        ) from None
    header = [cell.strip() for cell in rows[0]] if rows else []
    if header != ["period", column]:
        raise InputError.one(
            path, "line 1", f"header is {header}.", f"write the header 'period,{column}'."
        )
    problems: list[Problem] = []
    by_period: dict[int, float] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"line {line}"
        if len(row) != 2:
            problems.append(Problem(str(path), where, f"{len(row)} cells.", "write two cells."))
            continue
        quarters = _quarter_index(row[0].strip())
        if quarters is None:
            problems.append(
                Problem(
                    str(path),
                    f"{where}: period",
                    f"'{row[0]}' is not a period.",
                    "write a year like 2027 or a quarter like 2027Q3.",
                )
            )
            continue
        try:
            value = float(row[1])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            problems.append(
                Problem(
                    str(path),
                    f"{where}: {column}",
                    f"'{row[1].strip()}' is not a non-negative number.",
                    "write a number of tokens per day like 1.5e12."
                    if column == "tokens_per_day"
                    else "write a number of video seconds per day like 1.5e5.",
                )
            )
            continue
        if quarters in by_period:
            problems.append(
                Problem(str(path), f"{where}: period", f"'{row[0]}' repeats.", "keep one row.")
            )
        by_period[quarters] = value
    keys = [round(year * 4) for year in horizon.start_years]
    missing = [
        label for label, key in zip(horizon.labels, keys, strict=True) if key not in by_period
    ]
    if missing:
        problems.append(
            Problem(
                str(path),
                "period",
                f"no row for period(s) {', '.join(missing)}.",
                "add one row per plan period of the horizon.",
            )
        )
    if problems:
        raise InputError(problems)
    return np.array([by_period[key] for key in keys])


def _csv(
    growth: CsvIn, horizon: Horizon, file: Path, check: _Checker, column: str = "tokens_per_day"
) -> np.ndarray | None:
    path = Path(growth.file)
    if not path.is_absolute():
        path = file.parent / path
    try:
        return read_demand_csv(path, horizon, column)
    except InputError as exc:
        check.problems.extend(exc.problems)
        return None


def _hourly_shares(work: WorkloadDemandIn, at: str, check: _Checker) -> np.ndarray | None:
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
    work: WorkloadDemandIn, file: Path, prefix: str, at: str, check: _Checker
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


def _latency(spec: InteractiveIn | BatchIn, at: str, check: _Checker) -> LatencyClass:
    if isinstance(spec, BatchIn):
        return DeferrableBatch()
    for name in ("ttft_ms", "tpot_ms"):
        if getattr(spec, name) <= 0:
            check.add(f"{at}.latency.{name}", "a latency target must be > 0.", "write e.g. 500.")
    return Interactive(ttft_ms=spec.ttft_ms, tpot_ms=spec.tpot_ms)


def _workload_tokens(
    work: WorkloadDemandIn, horizon: Horizon, file: Path, at: str, check: _Checker
) -> np.ndarray | None:
    d0 = _start_tokens(work, at, check)
    match work.growth:
        case ExponentialIn() as growth:
            return _exponential(growth, d0, horizon, at, check)
        case LogisticIn() as growth:
            if work.unit == "video_s":
                check.add(
                    f"{at}.growth.kind",
                    "logistic growth is written in tokens (ceiling_tokens_per_day); a video "
                    "workload counts video seconds.",
                    "use exponential or points growth for a video workload.",
                )
                return None
            return _logistic(growth, d0, horizon, at, check)
        case PointsIn() as growth:
            return _points(growth, horizon, at, check)
        case CsvIn() as growth:
            return _csv(growth, horizon, file, check, DAILY_FIELD[work.unit])


def project_demand(spec: DemandIn, file: Path, prefix: str = "demand.") -> DemandProjection:
    """Resolve a validated demand section into arrays, reporting every problem at once.

    `file` names the YAML file in error messages and anchors relative CSV paths; `prefix` is the
    section's field path inside that file.
    """
    horizon = build_horizon(spec.horizon, file, prefix)
    check = _Checker(file, prefix)
    names = [w.name for w in spec.workloads]
    for i, name in enumerate(names):
        if name in names[:i]:
            check.add(f"workloads[{i}].name", f"'{name}' repeats.", "give each workload a name.")
    rows: list[np.ndarray | None] = []
    shares: list[DayShape | None] = []
    latency: list[LatencyClass] = []
    for i, work in enumerate(spec.workloads):
        at = f"workloads[{i}]"
        rows.append(_workload_tokens(work, horizon, file, at, check))
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
        elif not 0.0 <= work.output_share_fraction <= 1.0:
            check.add(
                f"{at}.output_share_fraction",
                f"{work.output_share_fraction:g} is not a fraction.",
                "write a share between 0 and 1 (e.g. 0.25 for 3 input tokens per output token).",
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
    )


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
