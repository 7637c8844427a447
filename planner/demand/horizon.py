"""Plan periods: years or quarters, their labels and their start in years (2026.25)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.demand.schema import HorizonIn, Step
from planner.errors import InputError, Problem

PeriodLabel = int | str
_LABEL = re.compile(r"^\s*(\d{4})(?:\s*[-_ ]?\s*[Qq]([1-4]))?\s*$")


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
    steps = np.arange(bounds[0], bounds[1] + 1, stride)
    start_years = steps / 4.0
    start_years.setflags(write=False)
    return Horizon(
        labels=tuple(_label(int(q), spec.step) for q in steps),
        start_years=start_years,
        step=spec.step,
    )
