"""Unit parsing: pint turns profile strings ("700 W", "3.35 TB/s") into SI floats once, at load.

Nothing after the loaders sees a string with a unit. Conventions of the floats returned:
power in W, energy in J, bytes in B, bandwidth in B/s, throughput in op/s, area in mm^2.
pint (and numpy with it, 0.25 s) is imported on the first string parsed, not with this module, so
a command answered from the parsed-catalogue cache (planner/cache.py) never loads it.
"""

from __future__ import annotations

import math
import sys
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, cast

from planner.errors import InputError


@cache
def _import_pint() -> ModuleType:
    """Import pint once, on first use, without letting it load Dask (0.1-0.2 s of start-up).

    pint only probes for Dask to support Dask arrays of quantities, which the planner never
    builds. A `None` in `sys.modules` makes that probe answer "not installed"; it is removed at
    once, so the sweeps import the real Dask later, unaffected.
    """
    if "dask" in sys.modules:
        import pint

        return pint
    cast(dict[str, Any], sys.modules)["dask"] = None
    try:
        import pint
    finally:
        del sys.modules["dask"]
    return pint


if TYPE_CHECKING:
    import pint

Dimension = Literal["power", "bytes", "bytes_per_s", "ops_per_s", "area_mm2", "time_s", "energy"]

# Target unit and an example the error message shows.
_TARGETS: dict[str, tuple[str, str]] = {
    "power": ("watt", "700 W"),
    "bytes": ("byte", "80 GB"),
    "bytes_per_s": ("byte / second", "3.35 TB/s"),
    "ops_per_s": ("operation / second", "989 TFLOPS"),
    "area_mm2": ("millimeter ** 2", "814 mm^2"),
    "time_s": ("second", "2 s"),
    "energy": ("joule", "1.5 MWh"),
}
_INFORMATION = {"bytes", "bytes_per_s"}


@cache
def registry() -> pint.UnitRegistry:
    """The one unit registry: pint's defaults plus operations (TOPS) and FLOPs (TFLOPS)."""
    lib = _import_pint()
    try:  # pint keeps its parsed default definitions in the user's cache folder: 0.06 s, not 0.25
        ureg: pint.UnitRegistry = lib.UnitRegistry(cache_folder=":auto:")
    except Exception:  # an unwritable folder or a cache file another process is still writing
        # (pint's cache writes are not atomic): parse the definitions, as without a cache
        ureg = lib.UnitRegistry()
    ureg.define("operation = [operation] = op")
    ureg.define("flop = operation")
    ureg.define("FLOPS = flop / second")
    ureg.define("OPS = operation / second")
    return ureg


_NOUNS: dict[str, str] = {
    "power": "a power",
    "bytes": "a size in bytes",
    "bytes_per_s": "a bandwidth",
    "ops_per_s": "a throughput",
    "area_mm2": "an area",
    "time_s": "a duration",
    "energy": "an energy",
}


def _mentions_information(quantity: pint.Quantity) -> bool:
    """pint treats bits and bytes as dimensionless; insist the string named one."""
    return any(name.endswith(("bit", "byte")) for name, _ in quantity.unit_items())


def parse_quantity(value: object, dimension: Dimension, *, file: str | Path, field: str) -> float:
    """Parse `value` (a string with a unit) into the SI float of `dimension`.

    A bare number is refused for every dimension: the unit must be written.
    """
    example = _TARGETS[dimension][1]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError.one(
            file, field, f"{value!r} is not a quantity.", f"write e.g. '{example}'."
        )
    if isinstance(value, int | float):
        raise InputError.one(
            file, field, f"{value!r} has no unit.", f"write the unit, e.g. '{example}'."
        )
    outcome = _si_magnitude(value.strip(), dimension)
    if isinstance(outcome, float):
        return outcome
    kind, detail = outcome
    problems = {
        "unreadable": (
            f"'{value}' is not a quantity pint can read ({detail}).", f"write e.g. '{example}'."
        ),
        "wrong": (f"'{value}' is not {_NOUNS[dimension]}.", f"write e.g. '{example}'."),
        "infinite": (f"'{value}' is not a finite quantity.", f"write e.g. '{example}'."),
        "negative": (f"'{value}' is negative.", "write a value >= 0."),
    }  # fmt: skip
    problem, fix = problems[kind]
    raise InputError.one(file, field, problem, fix)


@lru_cache(maxsize=8192)
def _si_magnitude(text: str, dimension: Dimension) -> float | tuple[str, str]:
    """The SI magnitude of `text`, or (what is wrong, pint's words): parsed once per distinct
    string, since the range check and the reader both read each figure."""
    target = _TARGETS[dimension][0]
    errors = _import_pint().errors
    try:
        quantity: pint.Quantity = registry().Quantity(text)
    except (errors.PintError, ValueError, TypeError, AttributeError) as exc:
        return ("unreadable", str(exc))
    if dimension in _INFORMATION and not _mentions_information(quantity):
        return ("wrong", "")
    try:
        magnitude = float(quantity.to(target).magnitude)
    except errors.DimensionalityError:
        return ("wrong", "")
    if not math.isfinite(magnitude):
        return ("infinite", "")
    if magnitude < 0:
        return ("negative", "")
    return magnitude
