"""The resolver: reads a scenario's fields into numbers, collecting every problem and note."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from planner.errors import Problem
from planner.plan.scenario import PeriodLabel, Scenario, ScenarioFile
from planner.provenance import FigureIn
from planner.sites.reader import FieldReader


class Resolver:
    """Collects problems and notes while turning the scenario into arrays."""

    def __init__(self, scenario: Scenario):
        self.scenario, self.raw, self.path = scenario, scenario.raw, scenario.path
        self.reader = FieldReader(scenario.path, scenario.raw.sources, scenario.raw.currency)
        self.notes: list[str] = []
        self.horizon = scenario.demand.horizon
        self.files_read: list[Path] = []  # data files beside the scenario (a run records them)

    @property
    def problems(self) -> list[Problem]:
        """Every problem found so far."""
        return self.reader.problems

    def problem(self, field: str, problem: str, fix: str) -> None:
        """Record a problem at `field` of the scenario file, with its fix."""
        self.reader.problem(field, problem, fix)

    def number(self, field: str, fig: FigureIn | None, default: float | None = None) -> float:
        """A plain number from the scenario (money in its currency); NaN when it failed to load."""
        value = self.reader.number(field, fig, default)
        return math.nan if value is None else value

    def period(self, label: PeriodLabel, field: str) -> int | None:
        """The index of a period label in the horizon; None, with a problem, if it is not in it."""
        try:
            return self.horizon.index(label if isinstance(label, str) else str(label))
        except KeyError:
            self.problem(
                field,
                f"period {label!r} is not in the horizon "
                f"{self.horizon.labels[0]}..{self.horizon.labels[-1]}.",
                "use a period of demand.horizon.",
            )
            return None

    def by_period(
        self, table: dict[PeriodLabel, FigureIn], field: str, default: float
    ) -> np.ndarray:
        """One value per period from a {period: figure} table; unlisted periods get `default`."""
        out = np.full(len(self.horizon.labels), default)
        for label, fig in table.items():
            y = self.period(label, f"{field}.{label}")
            if y is not None:
                out[y] = self.number(f"{field}.{label}", fig, default)
        return out

    def step_by_period(self, table: dict[PeriodLabel, Any], field: str) -> np.ndarray:
        """A step function: each listed period's value holds until the next listed one."""
        out = np.zeros(len(self.horizon.labels))
        for label in sorted(table, key=lambda k: self._start(k)):
            y = self.period(label, f"{field}.{label}")
            if y is not None:
                value = table[label]
                out[y:] = (
                    self.number(f"{field}.{label}", value)
                    if isinstance(value, FigureIn)
                    else float(value)
                )
        return out

    def _start(self, label: PeriodLabel) -> float:
        try:
            return float(self.horizon.start_years[self.horizon.index(str(label))])
        except KeyError:
            return math.inf


def read_video_penalty(r: Resolver, raw: ScenarioFile) -> float:
    """Price of a minute of video not generated; required when a workload counts video."""
    if not r.scenario.demand.is_video.any():
        return 0.0
    if raw.unserved_penalty_per_video_minute is None:
        r.problem(
            "unserved_penalty_per_video_minute",
            "missing: a video workload needs the price of a minute of video not generated.",
            "add unserved_penalty_per_video_minute: {value: ..., source: ..., confidence: ...}.",
        )
        return math.nan
    return r.number("unserved_penalty_per_video_minute", raw.unserved_penalty_per_video_minute)


def plan_years(r: Resolver) -> tuple[np.ndarray, np.ndarray]:
    """(Y,) period starts in years from the horizon start, and (Y,) period durations."""
    starts = np.asarray(r.horizon.start_years, dtype=float)
    step = 1.0 if r.horizon.step == "year" else 0.25
    tau = starts - starts[0]
    return tau, np.append(np.diff(starts), step)


def mid_dates(r: Resolver, duration: np.ndarray) -> list[dt.date]:
    """Mid-date of each period, when the rules in force are read."""
    out = []
    for start, span in zip(r.horizon.start_years, duration, strict=True):
        mid = float(start) + float(span) / 2
        year = int(mid)
        out.append(dt.date(year, 1, 1) + dt.timedelta(days=round((mid - year) * 365)))
    return out


def exchange_rate(
    r: Resolver, currency: str | None, field: str, priced: str = "the price"
) -> float:
    """Scenario currency per unit of `currency` (exchange rates are scenario data); `priced`
    says in domain words what is priced in that currency, for the message."""
    if currency is None or currency == r.raw.currency:
        return 1.0
    fig = r.raw.exchange_rates.get(currency)
    if fig is None:
        ours = r.raw.currency
        r.problem(
            field,
            f"{priced} is in {currency}, and the scenario counts money in {ours} with no "
            f"{currency} rate to convert it.",
            f"add exchange_rates.{currency}: {{value: <{ours} per 1 {currency}>, source: ..., "
            f"confidence: ...}} to the scenario, or give this price in {ours}.",
        )
        return math.nan
    return r.number(f"exchange_rates.{currency}", fig)
