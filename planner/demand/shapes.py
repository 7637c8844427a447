"""Sourced day-and-week shapes of demand (demand_shapes/*.yaml, docs/demand.md "Day shapes").

A shape is the relative load in each hour of a mean weekday and a mean weekend day (any unit:
requests or tokens per minute, read off a public trace). With daily demand D the mean day of
the week, the tokens arriving in hour h are

    weekday: D x wd[h] / m,   weekend: D x we[h] / m,   m = (5 sum wd + 2 sum we) / 7,

so a week holds 7 D, and a weekend day holds sum(we)/sum(wd) of a weekday's tokens. A shape
with no weekend keeps the weekday's (no weekly swing). A scenario names a shape
(`shape: azure-conv-2024`) or gives its own file: a YAML like the shipped ones, or a CSV of
`hour,weekday[,weekend]`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import FiniteFloat

from planner.errors import InputError, Problem
from planner.paths import search_dirs
from planner.schema import Bounds, StrictModel
from planner.yamlio import read_yaml, validate

HOURS_PER_DAY = 24
WEEKDAYS, WEEKEND_DAYS = 5, 2


# An hour's relative load, in any unit a trace counts (requests or tokens per minute).
LOAD = Bounds("", hard=(0, 1e12), what="an hour's relative load")


class ShapeSourceIn(StrictModel):
    """Where a shape was read: the trace or figure, its address, and its paper."""

    title: str
    url: str
    paper: str | None = None
    license: str | None = None


class ShapeFile(StrictModel):
    """One shipped or user shape file."""

    id: str
    kind: str
    clock: str
    source: ShapeSourceIn
    confidence: str
    derivation: str
    weekday: Annotated[list[FiniteFloat], LOAD]
    weekend: Annotated[list[FiniteFloat] | None, LOAD] = None


@dataclass(frozen=True)
class DayShape:
    """Relative load per hour of a mean weekday and weekend day, and where it comes from."""

    id: str
    weekday: np.ndarray  # (24,) relative load
    weekend: np.ndarray  # (24,) same unit as weekday
    source: str  # title and address, one line
    confidence: str
    file: Path | None = None  # the file it was read from; None = written in the scenario

    @property
    def mean_day(self) -> float:
        """m: the mean day's total relative load over the week."""
        return float(WEEKDAYS * self.weekday.sum() + WEEKEND_DAYS * self.weekend.sum()) / 7

    @property
    def weekday_share_fraction(self) -> np.ndarray:
        """(24,) share of a mean day's demand arriving in each hour of a weekday."""
        return self.weekday / self.mean_day

    @property
    def weekend_share_fraction(self) -> np.ndarray:
        """(24,) share of a mean day's demand arriving in each hour of a weekend day."""
        return self.weekend / self.mean_day

    @property
    def peak_to_mean(self) -> float:
        """Busiest hour of the week / mean hour: max(wd, we) x 24 / m."""
        return float(max(self.weekday.max(), self.weekend.max()) * HOURS_PER_DAY / self.mean_day)


def day_shape_of_shares(name: str, shares: np.ndarray, source: str) -> DayShape:
    """A shape with the same day all week (a `diurnal:` list, or flat)."""
    return DayShape(name, shares, shares, source, "as written")


def _problem(file: Path, field: str, problem: str, fix: str) -> InputError:
    return InputError([Problem(str(file), field, problem, fix)])


def checked_shape(
    shape_id: str,
    weekday: list[float],
    weekend: list[float] | None,
    source: str,
    confidence: str,
    file: Path,
) -> DayShape:
    """A shape whose days have 24 hours, no negative load and some load."""
    for field, values in (("weekday", weekday), ("weekend", weekend)):
        if values is None:
            continue
        if len(values) != HOURS_PER_DAY:
            raise _problem(file, field, f"{len(values)} hours.", "give 24 values, hour 0 first.")
        if not all(math.isfinite(v) for v in values):  # a CSV may hold nan or inf
            raise _problem(file, field, "a value is not a finite number.", "give loads >= 0.")
        if min(values) < 0:
            raise _problem(file, field, "a value is negative.", "give loads >= 0.")
    wd = np.asarray(weekday, dtype=float)
    we = wd if weekend is None else np.asarray(weekend, dtype=float)
    if wd.sum() <= 0:
        raise _problem(file, "weekday", "the day holds no load.", "give some load > 0.")
    for array in (wd, we):
        array.setflags(write=False)
    return DayShape(shape_id, wd, we, source, confidence, file)


def read_shape_yaml(path: Path) -> DayShape:
    """One shape file (demand_shapes/*.yaml schema)."""
    raw = validate(ShapeFile, read_yaml(path), path)
    source = f"{raw.source.title} ({raw.source.url})"
    return checked_shape(raw.id, raw.weekday, raw.weekend, source, raw.confidence, path)


def read_shape_csv(path: Path) -> DayShape:
    """A user's shape: CSV rows `hour,weekday[,weekend]`, hours 0-23 in order."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise _problem(path, "file", f"cannot be read: {exc.strerror}.", "check the path.") from exc
    if not rows or "weekday" not in rows[0]:
        raise _problem(path, "header", "no 'weekday' column.", "write hour,weekday[,weekend].")
    try:
        hours = [int(r["hour"]) for r in rows]
        weekday = [float(r["weekday"]) for r in rows]
        weekend = [float(r["weekend"]) for r in rows] if "weekend" in rows[0] else None
    except (KeyError, TypeError, ValueError) as exc:
        raise _problem(path, "rows", f"a value is not a number ({exc}).", "fix it.") from exc
    if hours != list(range(HOURS_PER_DAY)):
        raise _problem(path, "hour", "hours are not 0..23 in order.", "write one row per hour.")
    return checked_shape(path.stem, weekday, weekend, str(path), "user file", path)


def shipped_shapes() -> dict[str, Path]:
    """Shape id -> file, from demand_shapes/ (ids are the file names)."""
    return {f.stem: f for d in search_dirs("demand_shapes") for f in sorted(d.glob("*.yaml"))}


def find_shape(ref: str, scenario_file: Path, field: str) -> DayShape:
    """A shape by id (demand_shapes/<id>.yaml) or by a path relative to the scenario file."""
    known = shipped_shapes()
    if ref in known:
        return read_shape_yaml(known[ref])
    path = (scenario_file.parent / ref).resolve()
    if path.suffix in (".yaml", ".yml", ".csv") and path.is_file():
        return read_shape_csv(path) if path.suffix == ".csv" else read_shape_yaml(path)
    names = ", ".join(sorted(known))
    raise _problem(
        scenario_file,
        field,
        f"'{ref}' is neither a shipped shape nor a .yaml/.csv file next to the scenario.",
        f"use one of {names}, or a path to your own shape file.",
    )
