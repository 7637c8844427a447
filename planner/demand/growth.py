"""Daily demand over the horizon: the four growth forms (exponential, logistic, points, CSV),
pure and vectorised over time, and their readers that collect every problem at once."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Literal

import numpy as np

from planner.demand.horizon import Horizon, _period_year, _quarter_index
from planner.demand.schema import CsvIn, ExponentialIn, LogisticIn, PointsIn, WorkloadDemandIn
from planner.errors import InputError, Problem

DAILY_FIELD: dict[str, str] = {"tokens": "tokens_per_day", "video_s": "video_s_per_day"}


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


# --------------------------------------------------------------------------------------------
# Checks (collect every problem) and resolution into arrays
# --------------------------------------------------------------------------------------------


class DemandChecker:
    """Collects problems about one demand section, each naming its file and field."""

    def __init__(self, file: Path, prefix: str):
        self.file, self.prefix, self.problems = file, prefix, list[Problem]()

    def add(self, field: str, problem: str, fix: str) -> None:
        """Record one problem at `field` (below this section's prefix) with its fix."""
        self.problems.append(Problem(str(self.file), self.prefix + field, problem, fix))


def _start_tokens(work: WorkloadDemandIn, at: str, check: DemandChecker) -> float | None:
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
    return start  # its range is the schema's (planner.demand.schema.PER_DAY)


def _exponential(
    growth: ExponentialIn, d0: float | None, horizon: Horizon, at: str, check: DemandChecker
) -> np.ndarray | None:
    given = [growth.annual_growth_fraction, growth.multiple_per_year]
    if sum(v is not None for v in given) != 1:
        check.add(
            f"{at}.growth",
            "exponential growth needs exactly one of annual_growth_fraction, multiple_per_year.",
            "write e.g. multiple_per_year: 6 (sixfold a year) or annual_growth_fraction: 5.0.",
        )
        return None
    multiple = (  # > 0 by the schema's ranges
        growth.multiple_per_year
        if growth.multiple_per_year is not None
        else 1.0 + (growth.annual_growth_fraction or 0.0)
    )
    if d0 is None:
        return None
    return exponential_tokens_per_day(d0, multiple, horizon.start_years - horizon.start_years[0])


def _logistic(
    growth: LogisticIn, d0: float | None, horizon: Horizon, at: str, check: DemandChecker
) -> np.ndarray | None:
    if d0 is None or not _logistic_start_ok(growth, d0, at, check):
        return None
    ceiling = growth.ceiling_tokens_per_day
    t0 = float(horizon.start_years[0])
    if growth.rate_per_year is not None:
        rate = growth.rate_per_year
        midpoint = t0 + logistic_years_to_midpoint(d0, ceiling, rate)
    else:
        midpoint_or_none = _logistic_midpoint_year(growth, d0, t0, at, check)
        if midpoint_or_none is None:
            return None
        midpoint = midpoint_or_none
        rate = logistic_rate_per_year(d0, ceiling, midpoint - t0)
    return logistic_tokens_per_day(ceiling, rate, midpoint, horizon.start_years)


def _logistic_start_ok(growth: LogisticIn, d0: float, at: str, check: DemandChecker) -> bool:
    """A logistic curve needs a positive start below its ceiling and one of midpoint, rate."""
    ceiling = growth.ceiling_tokens_per_day
    if d0 <= 0:
        check.add(
            f"{at}.tokens_per_day",
            "logistic growth cannot start from zero tokens per day.",
            "write a positive tokens_per_day.",
        )
        return False
    if ceiling <= d0:
        check.add(
            f"{at}.growth.ceiling_tokens_per_day",
            f"the ceiling ({ceiling:g}) is not above the start ({d0:g} tokens per day).",
            "write a ceiling above tokens_per_day, or use exponential growth.",
        )
        return False
    if (growth.midpoint is None) == (growth.rate_per_year is None):
        check.add(
            f"{at}.growth",
            "logistic growth needs exactly one of midpoint, rate_per_year.",
            "write e.g. midpoint: 2029 (the year demand reaches half the ceiling).",
        )
        return False
    return True


def _logistic_midpoint_year(
    growth: LogisticIn, d0: float, t0: float, at: str, check: DemandChecker
) -> float | None:
    """The calendar year demand reaches half the ceiling, if it fixes a positive rate: a start
    below half the ceiling needs a midpoint after the start year t0, one above it, before."""
    midpoint = _period_year(growth.midpoint)
    if midpoint is None:
        check.add(
            f"{at}.growth.midpoint",
            f"{growth.midpoint!r} is not a period or a year.",
            "write a year like 2029 (or 2029.5), or a quarter like '2029Q3'.",
        )
        return None
    half_way = growth.ceiling_tokens_per_day / d0 - 1.0  # > 1 while below half the ceiling
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
    return midpoint


def _points(growth: PointsIn, horizon: Horizon, at: str, check: DemandChecker) -> np.ndarray | None:
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


def _csv_rows(path: Path, column: str) -> list[list[str]]:
    """The data rows of a demand CSV, after checking it exists and its header names `column`."""
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
    return rows[1:]


def _csv_row(path: Path, line: int, row: list[str], column: str) -> tuple[int, float] | Problem:
    """One data row as (period in quarters since year 0, daily amount), or the problem with it."""
    where = f"line {line}"
    if len(row) != 2:
        return Problem(str(path), where, f"{len(row)} cells.", "write two cells.")
    quarters = _quarter_index(row[0].strip())
    if quarters is None:
        return Problem(
            str(path),
            f"{where}: period",
            f"'{row[0]}' is not a period.",
            "write a year like 2027 or a quarter like 2027Q3.",
        )
    try:
        value = float(row[1])
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        return Problem(
            str(path),
            f"{where}: {column}",
            f"'{row[1].strip()}' is not a non-negative number.",
            "write a number of tokens per day like 1.5e12."
            if column == "tokens_per_day"
            else "write a number of video seconds per day like 1.5e5.",
        )
    return quarters, value


def read_demand_csv(path: Path, horizon: Horizon, column: str = "tokens_per_day") -> np.ndarray:
    """Tokens per day for each horizon period from a `period,tokens_per_day` CSV (`column`
    names the second header cell: `video_s_per_day` for a video workload).

    Rows outside the horizon are ignored; a missing period, a duplicate, a non-numeric or
    negative value is an InputError naming the file, the line and the fix.
    """
    problems: list[Problem] = []
    by_period: dict[int, float] = {}
    for line, row in enumerate(_csv_rows(path, column), start=2):
        if not any(cell.strip() for cell in row):
            continue
        parsed = _csv_row(path, line, row, column)
        if isinstance(parsed, Problem):
            problems.append(parsed)
            continue
        quarters, value = parsed
        if quarters in by_period:
            problems.append(
                Problem(str(path), f"line {line}: period", f"'{row[0]}' repeats.", "keep one row.")
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
    growth: CsvIn,
    horizon: Horizon,
    file: Path,
    check: DemandChecker,
    column: str = "tokens_per_day",
) -> np.ndarray | None:
    try:
        return read_demand_csv(demand_csv_path(growth, file), horizon, column)
    except InputError as exc:
        check.problems.extend(exc.problems)
        return None


def demand_csv_path(growth: CsvIn, file: Path) -> Path:
    """The CSV a `kind: csv` growth names, relative to the file that names it."""
    path = Path(growth.file)
    return path if path.is_absolute() else file.parent / path


def workload_tokens(
    work: WorkloadDemandIn, horizon: Horizon, file: Path, at: str, check: DemandChecker
) -> np.ndarray | None:
    """One workload's daily demand for each horizon period (tokens, or video seconds, per day)
    from its growth form; None, with the problems recorded, when it cannot be computed."""
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
