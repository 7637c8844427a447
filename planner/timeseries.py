"""Hourly series of one year and the time axis the site model runs on.

A site's year is 8,760 hours (a non-leap calendar year, local standard time). The model runs
either on every hour (`full`) or on N representative days chosen by `tsam` (`rep:N`): each day
stands for the days of its cluster, so every hour of representative day d carries the weight
`weight_h = count_d` and the weights sum to 8,760 h.

Storage wraps within each representative day (hour 0 follows hour 23 of the same day); over the
full year it wraps over the year (hour 0 follows hour 8,759). Deferrable load moves only within
its day in both modes.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError

HOURS_PER_YEAR = 8_760
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365


def year_index(year: int) -> pd.DatetimeIndex:
    """Hour starts of a non-leap calendar year (local standard time, no daylight saving)."""
    start = pd.Timestamp(year=year, month=1, day=1)
    return pd.date_range(start, periods=HOURS_PER_YEAR, freq="h")


def read_hourly_csv(path: Path, column: str, *, file: Path, field: str) -> np.ndarray:
    """One column of an 8,760-row CSV as floats >= 0; every problem names the YAML field."""
    if not path.is_file():
        raise InputError.one(
            file, field, f"CSV file '{path}' not found.", "check the path (relative to the YAML)."
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError.one(
            file, field, f"'{path.name}' is not a readable CSV ({exc}).", "fix the CSV."
        ) from None
    if column not in frame.columns:
        raise InputError.one(
            file,
            field,
            f"'{path.name}' has no column '{column}' (columns: {', '.join(map(str, frame))}).",
            "name the column with 'column:' or add it to the CSV.",
        )
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if values.shape[0] != HOURS_PER_YEAR:
        raise InputError.one(
            file,
            field,
            f"'{path.name}' column '{column}' has {values.shape[0]} rows, not {HOURS_PER_YEAR}.",
            "give one row per hour of a non-leap year (8,760 rows after the header).",
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError.one(
            file,
            field,
            f"'{path.name}' column '{column}' has {bad.size} rows that are empty, not numbers "
            f"or not finite (nan, inf): first at data row {bad[0] + 1}.",
            "write a finite number in every row.",
        )
    negative = np.flatnonzero(values < 0)
    if negative.size:
        raise InputError.one(
            file,
            field,
            f"'{path.name}' column '{column}' has {negative.size} negative values "
            f"(first {values[negative[0]]} at data row {negative[0] + 1}).",
            "write values >= 0.",
        )
    return values


@dataclass(frozen=True)
class TimeAxis:
    """The model's time steps: weights, storage predecessor, day and billing period of each."""

    weight_h: np.ndarray  # (T,)
    prev_step: np.ndarray  # (T,) int
    day: np.ndarray  # (T,) int
    billing_period: np.ndarray  # (T,) int
    billing_period_months: np.ndarray  # (P,)
    hour_of_year: np.ndarray  # (T,) int, the calendar hour each step is (or represents)

    @property
    def n_steps(self) -> int:
        """T, the number of time steps."""
        return int(self.weight_h.shape[0])


def full_year_axis(year: int) -> TimeAxis:
    """Every hour, weight 1; storage wraps over the year; 12 monthly billing periods."""
    steps = np.arange(HOURS_PER_YEAR)
    month = year_index(year).month.to_numpy() - 1
    return TimeAxis(
        weight_h=np.ones(HOURS_PER_YEAR),
        prev_step=np.roll(steps, 1),
        day=steps // HOURS_PER_DAY,
        billing_period=month.astype(int),
        billing_period_months=np.ones(12),
        hour_of_year=steps,
    )


def within_day_prev_step(n_days: int) -> np.ndarray:
    """Predecessor of each hour when storage wraps within its day: hour 0 follows hour 23."""
    hour = np.tile(np.arange(HOURS_PER_DAY), n_days)
    day_start = np.repeat(np.arange(n_days) * HOURS_PER_DAY, HOURS_PER_DAY)
    return day_start + (hour - 1) % HOURS_PER_DAY


@dataclass(frozen=True)
class RepresentativeDays:
    """N typical days: the day of the year each one is, and how many days it stands for."""

    day_of_year: np.ndarray  # (N,) int, the medoid day each representative copies
    count_days: np.ndarray  # (N,) float, days of the year it stands for (sum 365)
    series: dict[str, np.ndarray]  # name -> (N x 24,) the representative values


_CHOSEN: OrderedDict[str, RepresentativeDays] = OrderedDict()  # by digest of the inputs
_CHOSEN_KEPT = 8


def representative_days(series: Mapping[str, np.ndarray], n_days: int) -> RepresentativeDays:
    """Cluster the 365 days of the hourly `series` into `n_days` typical days with tsam.

    Hierarchical clustering with medoids: each typical day is a real day of the year, so a
    time-of-use tariff keeps its shape. Series that do not vary are passed through unchanged.
    The day holding the peak of the first series (facility load) is kept as a period of its own.
    The same series and `n_days` again (a sweep's cases) get the days chosen before, as a copy.
    """
    digest = hashlib.sha256(repr((n_days, list(series))).encode())
    for values in series.values():
        digest.update(np.ascontiguousarray(values, dtype=float).tobytes())
    key = digest.hexdigest()
    if key not in _CHOSEN:
        _CHOSEN[key] = _representative_days(series, n_days)
        while len(_CHOSEN) > _CHOSEN_KEPT:
            _CHOSEN.popitem(last=False)
    chosen = _CHOSEN[key]
    return RepresentativeDays(
        chosen.day_of_year.copy(),
        chosen.count_days.copy(),
        {name: values.copy() for name, values in chosen.series.items()},
    )


def _representative_days(series: Mapping[str, np.ndarray], n_days: int) -> RepresentativeDays:
    if not 1 <= n_days <= DAYS_PER_YEAR:
        raise ValueError(f"n_days must be in [1, {DAYS_PER_YEAR}], got {n_days}")
    names = list(series)
    varying = [n for n in names if np.ptp(series[n]) > 0]
    if not varying or n_days == DAYS_PER_YEAR:
        days = np.arange(DAYS_PER_YEAR) if n_days == DAYS_PER_YEAR else _evenly(n_days)
        counts = np.full(days.shape[0], DAYS_PER_YEAR / days.shape[0])
        return RepresentativeDays(days, counts, _copy_days(series, days))
    import tsam  # here, not above: flat series never pay its import (about 1 s, with sklearn)

    frame = pd.DataFrame({n: series[n] for n in varying}, index=year_index(2025))
    extremes = tsam.ExtremeConfig(method="replace", max_value=[varying[0]]) if n_days > 1 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = tsam.aggregate(
            frame,
            n_days,
            period_duration=HOURS_PER_DAY,
            cluster=tsam.ClusterConfig(method="hierarchical", representation="medoid"),
            extremes=extremes,
            preserve_column_means=False,
        )
    assignment = np.asarray(result.cluster_assignments)
    clusters = sorted(result.cluster_counts)
    counts = np.array([float(result.cluster_counts[c]) for c in clusters])
    typical = result.cluster_representatives
    days = np.array([_medoid_day(frame, typical.loc[c], assignment, c) for c in clusters])
    return RepresentativeDays(days, counts, _copy_days(series, days))


def _evenly(n_days: int) -> np.ndarray:
    return np.linspace(0, DAYS_PER_YEAR - 1, n_days).round().astype(int)


def _medoid_day(frame: pd.DataFrame, typical: pd.DataFrame, assignment: np.ndarray, c: int) -> int:
    """The day of the year whose hours match the typical day best (the medoid itself)."""
    values = frame.to_numpy().reshape(DAYS_PER_YEAR, HOURS_PER_DAY, -1)
    target = typical[frame.columns].to_numpy()
    members = np.flatnonzero(assignment == c)
    candidates = members if members.size else np.arange(DAYS_PER_YEAR)
    errors = ((values[candidates] - target[None]) ** 2).sum(axis=(1, 2))
    return int(candidates[int(np.argmin(errors))])


def _copy_days(series: Mapping[str, np.ndarray], days: np.ndarray) -> dict[str, np.ndarray]:
    hours = (days[:, None] * HOURS_PER_DAY + np.arange(HOURS_PER_DAY)[None]).ravel()
    return {name: np.asarray(values)[hours] for name, values in series.items()}


def weekday_and_weekend(axis: TimeAxis) -> tuple[TimeAxis, np.ndarray]:
    """Each representative day twice, as weekdays (5/7 of its weight) then as weekend days
    (2/7), so a demand with a weekly swing meets each day's prices and sun on both kinds of day.
    Returns the axis and (T,) True on weekend steps; a series on the old axis is
    `np.tile(series, 2)` on the new one. Storage still wraps within each day."""
    n_days = axis.n_steps // HOURS_PER_DAY
    weekend = np.repeat([False, True], axis.n_steps)
    split = TimeAxis(
        weight_h=np.concatenate([axis.weight_h * 5 / 7, axis.weight_h * 2 / 7]),
        prev_step=within_day_prev_step(2 * n_days),
        day=np.concatenate([axis.day, axis.day + n_days]),
        billing_period=np.tile(axis.billing_period, 2),
        billing_period_months=axis.billing_period_months,
        hour_of_year=np.tile(axis.hour_of_year, 2),
    )
    return split, weekend


def representative_axis(rep: RepresentativeDays) -> TimeAxis:
    """Time axis of representative days: weights = days each stands for; storage wraps daily.

    Demand charges: one billing period holding every representative hour, charged for 12
    months. The model therefore bills the year's highest import peak in every month, which is
    conservative (a monthly tariff bills each month's own, possibly lower, peak).
    """
    n = rep.day_of_year.shape[0]
    hours = np.arange(HOURS_PER_DAY)
    return TimeAxis(
        weight_h=np.repeat(rep.count_days, HOURS_PER_DAY).astype(float),
        prev_step=within_day_prev_step(n),
        day=np.repeat(np.arange(n), HOURS_PER_DAY),
        billing_period=np.zeros(n * HOURS_PER_DAY, dtype=int),
        billing_period_months=np.array([12.0]),
        hour_of_year=(rep.day_of_year[:, None] * HOURS_PER_DAY + hours[None]).ravel(),
    )
