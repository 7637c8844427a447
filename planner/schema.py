"""The strict, frozen schema base every input file kind shares, and the ranges of its numbers.

Every input schema (hardware and workload profiles, sites, scenarios and their demand, export
regimes, day shapes, the serving tables) derives from `StrictModel`: an unknown key is refused
(`extra="forbid"`), a validated file cannot be changed afterwards (`frozen=True`), and NaN or
infinity is never a number (`allow_inf_nan=False`; `FigureIn` refuses them in its `value`).

Every numeric field declares its plausible range once, next to the field:

    tdp: Annotated[FigureIn, Bounds("W", hard=(0, 20_000), typical=(10, 3_000), low_open=True)]

`hard` is what the quantity can physically or logically be: a value outside it is refused with an
`InputError` naming the file, the field, the value and the range (exit code 2). `typical` is what
real inputs hold: a value inside `hard` but outside `typical` loads, with an `InputWarning` naming
the same, so a slip (`tdp: 700 kW`) is refused or at least seen. Ranges are bounds of plausibility,
not data: each states in a comment what it rests on (the span of the shipped files, a definition).
`check_bounds` walks a validated file and applies every declaration; `planner.yamlio.validate`
calls it for every file kind, so a new field is checked by writing its `Bounds`, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from planner.errors import InputError, Problem

if TYPE_CHECKING:  # pint loads only when a file holds a quantity (planner.units)
    from planner.units import Dimension


class StrictModel(BaseModel):
    """The base of every input schema: unknown keys refused, frozen, finite numbers only."""

    # defer_build: a schema's validator is built on its first validation, not at import, so a
    # command answered from the parsed-catalogue cache (planner/cache.py) builds none.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


# Display units a range may be written in: the dimension pint parses the file's string as, and
# how many SI units (W, J, s, B, B/s, op/s, mm^2) one display unit holds.
UNITS: dict[str, tuple[Dimension, float]] = {
    "W": ("power", 1.0),
    "MW": ("power", 1e6),
    "MWh": ("energy", 3.6e9),
    "h": ("time_s", 3600.0),
    "s": ("time_s", 1.0),
    "GB": ("bytes", 1e9),
    "GB/s": ("bytes_per_s", 1e9),
    "TFLOPS": ("ops_per_s", 1e12),
    "mm^2": ("area_mm2", 1.0),
}


@dataclass(frozen=True)
class Bounds:
    """The hard and typical range of one numeric field, in `unit` ("" for a plain number).

    A field holding a dict or a list of figures applies the range to each entry. `low_open`
    refuses the hard low end itself (a TDP of 0 W), `high_open` the high end (a cap of 1).
    `what` says in domain words what the number is, for the message ("the width of each token's
    vector"); `fix` adds a hint to a refusal's fix in domain words.
    """

    unit: str
    hard: tuple[float, float]
    typical: tuple[float, float] | None = None  # None: the hard range is the typical one
    low_open: bool = False
    high_open: bool = False
    what: str = ""
    fix: str = ""  # a domain hint added to the fix of a refusal ("leave the precision out")

    def __post_init__(self) -> None:
        low, high = self.hard
        t_low, t_high = self.typical or self.hard
        if self.unit and self.unit not in UNITS:
            raise ValueError(f"unknown display unit {self.unit!r}")
        if not (low <= t_low <= t_high <= high):
            raise ValueError(f"typical range {self.typical} is not inside {self.hard}")

    def hard_text(self) -> str:
        """'from 0 to 100,000 MW', 'above 0, up to 1', 'at least 1'."""
        low, high = self.hard
        unit = f" {self.unit}" if self.unit else ""
        if math.isinf(high):
            return f"{'above' if self.low_open else 'at least'} {_num(low)}{unit}"
        if self.high_open:
            floor = f"above {_num(low)}" if self.low_open else f"from {_num(low)}"
            return f"{floor}, below {_num(high)}{unit}"
        if self.low_open:
            return f"above {_num(low)}, up to {_num(high)}{unit}"
        return f"from {_num(low)} to {_num(high)}{unit}"

    def typical_text(self) -> str:
        """The typical range as a message writes it, e.g. '0 to 10,000 MW'."""
        low, high = self.typical or self.hard
        unit = f" {self.unit}" if self.unit else ""
        return f"{_num(low)} to {_num(high)}{unit}"

    def within_hard(self, value: float) -> bool:
        """Whether `value` lies in the hard range (open ends excluded)."""
        low, high = self.hard
        above = value > low if self.low_open else value >= low
        return above and (value < high if self.high_open else value <= high)

    def within_typical(self, value: float) -> bool:
        """Whether `value` lies in the typical range (the hard one when none is given)."""
        low, high = self.typical or self.hard
        return low <= value <= high


def _num(value: float) -> str:
    """A range end or a value as people write it: 2200; 20,000; 0.5; 1e+15."""
    if math.isinf(value):
        return "infinity"
    if value == int(value) and abs(value) < 1e9:  # 8760, 20,000
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:.4g}"


# --------------------------------------------------------------------------- the walk


@dataclass
class BoundsReport:
    """What `check_bounds` found: refusals (hard range) and warnings (typical range)."""

    problems: list[Problem]
    warnings: list[Problem]


def _bounds_in(annotation: Any) -> Bounds | None:
    """The Bounds of an optional alias: `Pue | None` is Optional[Annotated[FigureIn, Bounds]]."""
    for arg in get_args(annotation):
        if get_origin(arg) is Annotated:
            found = [m for m in arg.__metadata__ if isinstance(m, Bounds)]
            if found:
                return found[0]
    return None


@cache
def _bounded_fields(cls: type[BaseModel]) -> dict[str, Bounds]:
    """The fields of a schema class that declare a range, by name."""
    out: dict[str, Bounds] = {}
    for name, info in cls.model_fields.items():
        found = [m for m in info.metadata if isinstance(m, Bounds)]
        bounds = found[0] if found else _bounds_in(info.annotation)
        if bounds is not None:
            out[name] = bounds
    return out


def _entries(node: Any, where: str, figure: bool = False) -> Iterator[tuple[Any, str]]:
    """The numbers a bounded field holds, each with its field path: a figure's `value`, each
    entry of a dict or a list, or the number itself. Outside a figure, pydantic has checked the
    type already, so a word there is a literal alternative (`diurnal: flat`), not a number."""
    if node is None:
        return
    if isinstance(node, BaseModel):  # a FigureIn (or a subclass): its value
        yield from _entries(getattr(node, "value", None), f"{where}.value", figure=True)
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _entries(item, f"{where}.{key}", figure)
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from _entries(item, f"{where}[{i}]", figure)
    elif figure or not isinstance(node, str):
        yield node, where


def _si_value(value: Any, bounds: Bounds, file: str, where: str) -> float | None:
    """The value in the range's unit; None when it is not a number of that kind, which the
    file's reader reports in its own words (a unit of the wrong dimension, a word, a date)."""
    if isinstance(value, bool):
        return None
    if not bounds.unit:
        return float(value) if isinstance(value, int | float) else None
    from planner.units import parse_quantity

    dimension, scale = UNITS[bounds.unit]
    try:
        return parse_quantity(value, dimension, file=file, field=where) / scale
    except InputError:
        return None


def _check_one(value: Any, bounds: Bounds, file: str, where: str, report: BoundsReport) -> None:
    number = _si_value(value, bounds, file, where)
    if number is None:
        return
    shown = f"{value!r}" if isinstance(value, str) else _num(number)
    if bounds.unit and isinstance(value, str):
        shown += f" ({_num(number)} {bounds.unit})"
    what = f" {bounds.what}" if bounds.what else ""
    if not bounds.within_hard(number):
        check = "the unit and the figure" if bounds.unit else "the figure"
        report.problems.append(
            Problem(
                file,
                where,
                f"{shown} is outside the possible range: {what.strip() or 'it'} must be "
                f"{bounds.hard_text()}.",
                f"write a value {bounds.hard_text()}"
                + (f" ({bounds.fix})" if bounds.fix else "")
                + f"; check {check} against its source.",
            )
        )
    elif not bounds.within_typical(number):
        report.warnings.append(
            Problem(
                file,
                where,
                f"{shown} is outside the typical range {bounds.typical_text()}; it is used as "
                "written.",
                "check the figure"
                + (" and its unit" if bounds.unit else "")
                + " against its source.",
            )
        )


def _walk(node: Any, where: str, file: str, report: BoundsReport) -> None:
    if isinstance(node, BaseModel):
        bounded = _bounded_fields(type(node))
        for name in type(node).model_fields:
            value = getattr(node, name)
            at = f"{where}.{name}" if where else name
            bounds = bounded.get(name)
            if bounds is not None:
                for number, path in _entries(value, at):
                    _check_one(number, bounds, file, path, report)
            else:
                _walk(value, at, file, report)
    elif isinstance(node, dict):
        for key, item in node.items():
            _walk(item, f"{where}.{key}", file, report)
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            _walk(item, f"{where}[{i}]", file, report)


def check_bounds(model: BaseModel, file: str) -> BoundsReport:
    """Every declared range of a validated file: values outside the hard range as problems,
    values outside the typical range as warnings, each naming the file and the field."""
    report = BoundsReport([], [])
    _walk(model, "", file, report)
    return report
