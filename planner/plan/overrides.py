"""Named overrides of a scenario: the parameters a sweep varies or samples (docs/sweeps.md).

A parameter is either a *knob* the planner defines or a *path* into the scenario file.

Knobs:
- `regime`: the export-regime snapshot id fixed for the whole plan (as `planner plan --regime`);
- `demand.scale`: multiplies every workload's daily demand (tokens or video seconds) by k;
- `demand.growth`: raises each workload's growth over the first period to the power k,
  D'(t) = D(t0) x (D(t) / D(t0))^k: 0 holds demand flat, 1 leaves it, 2 squares each multiple
  (a sixfold year becomes a 36-fold one). It applies to every growth form alike;
- `serving.band`: takes every modelled serving rate r (tokens/s of a part) at r f^k, f the part
  family's largest held-out miss factor for the workload's kind, dense or mixture of experts
  (leave-one-part-out and the test set; calibration.yaml `error_bands`), -1 <= k <= 1: -1 puts
  each rate a factor f below the model, +1 a factor f above; video rates carry no band and stay;
- `serving.band.<family>` (`serving.band.hopper`, `serving.band.blackwell`, ...;
  `serving.band.default` for parts of no fitted family): the same for one part family's parts
  alone, over `serving.band`, so families can be moved apart (Blackwell at its high edge, Hopper
  at its low one);
- `sample`: the index of a Monte Carlo draw (recorded with the case, changes nothing).

Paths are dotted keys into the YAML; list items are picked by their `name`, `part` or `workload`
(`sites.hebei-zhangjiakou.pue`, `parts.h200.supply_cap_parts.2027`,
`battery.energy_capex_per_kwh`). A path ending on a figure (`{value, source, ...}`) sets its value;
a value written with a unit (`"400 MW"`) keeps its unit and takes the new magnitude. Every
override is validated with the scenario schema, so a value the schema refuses is an input error.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from planner.errors import InputError, Problem
from planner.plan.scenario import Scenario, parse_scenario
from planner.serving.fitted import band_families, load_calibration
from planner.yamlio import read_yaml

ParamValue = float | str
KNOBS: tuple[str, ...] = ("regime", "demand.scale", "demand.growth", "serving.band", "sample")
FAMILY_BAND = "serving.band."  # serving.band.<family>: one part family's k
_ITEM_KEYS = ("name", "part", "workload")
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _child(node: Any, key: str) -> tuple[Any, Any] | None:
    """(container key or index, child) of one path step, or None when it does not exist."""
    if isinstance(node, dict):
        for k in node:
            if str(k) == key:
                return k, node[k]
        return None
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and any(str(item.get(k)) == key for k in _ITEM_KEYS):
                return i, item
    return None


def _with_magnitude(old: Any, value: float) -> Any:
    """`value` written like `old`: a figure's value, a number, or a number with its unit."""
    if isinstance(old, dict) and "value" in old:
        return {**old, "value": _with_magnitude(old["value"], value)}
    if isinstance(old, str):
        match = _NUMBER.match(old)
        if match is None:
            raise ValueError(f"'{old}' has no leading number to replace")
        return f"{value!r}{old[match.end() :]}"
    if old is None or isinstance(old, bool) or not isinstance(old, int | float):
        raise ValueError(f"it holds {old!r}, not a number or a figure")
    return value


def set_path(data: Mapping[str, Any], path: str, value: float) -> dict[str, Any]:
    """A deep copy of the scenario mapping with the number at `path` replaced by `value`."""
    out = copy.deepcopy(dict(data))
    keys = path.split(".")
    node: Any = out
    for depth, key in enumerate(keys):
        found = _child(node, key)
        if found is None:
            where = ".".join(keys[:depth]) or "the top level"
            raise KeyError(f"'{key}' is not found under {where}")
        slot, child = found
        if depth == len(keys) - 1:
            node[slot] = _with_magnitude(child, value)
        node = child
    return out


def check_parameter(
    name: str, path: Path, data: Mapping[str, Any], field: str, *, option: bool = False
) -> Problem | None:
    """A problem when `name` is neither a knob nor a numeric path of this scenario; `field` is
    where `name` was written (a parameter the caller passed, with `option`)."""
    if is_knob(name):
        return None
    try:
        set_path(data, name, 1.0)
    except (KeyError, ValueError) as exc:
        return Problem(
            str(path),
            field,
            f"parameter '{name}' cannot be varied: {exc}.",
            f"use a knob ({', '.join(KNOBS)}, {FAMILY_BAND}<family>) or a dotted path to a "
            "number in the scenario, "
            "e.g. sites.<name>.pue or parts.<part>.price_per_part.",
            option=option,
        )
    return None


def _per_day_scaled(scenario: Scenario, scale: Callable[[np.ndarray], np.ndarray]) -> Scenario:
    """The scenario with `scale` applied to every daily demand (tokens and video seconds)."""
    d = scenario.demand
    video = d.video_s_per_day if d.video_s_per_day is not None else None
    changed = replace(
        d,
        tokens_per_day=scale(d.tokens_per_day),
        video_s_per_day=None if video is None else scale(video),
    )
    return replace(scenario, demand=changed)


def scale_growth(scenario: Scenario, exponent: float) -> Scenario:
    """Demand with each workload's growth over the first period raised to `exponent`."""

    def grown(per_day: np.ndarray) -> np.ndarray:
        first = per_day[:, :1]
        ratio = np.divide(per_day, first, out=np.ones_like(per_day), where=first > 0)
        return first * ratio**exponent

    return _per_day_scaled(scenario, grown)


def scale_demand(scenario: Scenario, factor: float) -> Scenario:
    """Every workload's daily demand (tokens or video seconds) multiplied by `factor`."""
    return _per_day_scaled(scenario, lambda per_day: per_day * factor)


def apply_overrides(path: Path, params: Mapping[str, ParamValue]) -> tuple[Scenario, str | None]:
    """The scenario at `path` with `params` applied, and the regime they fix (None: by date).

    Paths are applied to the file's mapping and the result is validated like a scenario file;
    the demand knobs then act on the projected demand.
    """
    data: dict[str, Any] = read_yaml(path)
    regime: str | None = None
    problems: list[Problem] = []
    for name, value in params.items():
        if is_knob(name):
            continue
        try:
            data = set_path(data, name, float(value))
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(
                Problem(
                    str(path),
                    name,
                    f"cannot set it to {value!r}: {exc}.",
                    "give a number (with its unit if the file writes one).",
                )
            )
    if problems:
        raise InputError(problems)
    scenario = parse_scenario(data, path)
    for name, value in params.items():
        if name == "regime":
            regime = str(value)
        elif name != "sample" and is_knob(name):
            scenario = with_knob(scenario, name, knob_number(name, value, path), path)
    return scenario, regime


def with_knob(scenario: Scenario, name: str, k: float, path: Path) -> Scenario:
    """The scenario with one numeric knob (demand or serving band) applied."""
    if name == "demand.scale":
        return scale_demand(scenario, k)
    if name == "demand.growth":
        return scale_growth(scenario, k)
    return with_serving_band(scenario, k, path, name)


def is_knob(name: str) -> bool:
    """Whether `name` is a knob the planner defines (not a path into the scenario file)."""
    return name in KNOBS or (name.startswith(FAMILY_BAND) and len(name) > len(FAMILY_BAND))


def knob_number(name: str, value: ParamValue, path: Path) -> float:
    """A numeric knob's value as a number; anything else is an input error naming the knob."""
    try:
        return float(value)
    except ValueError:
        raise InputError.one(
            str(path), name, f"is {value!r}, not a number.", f"give a number, e.g. {name}=1."
        ) from None


def with_serving_band(
    scenario: Scenario, k: float, path: Path, knob: str = "serving.band"
) -> Scenario:
    """The scenario with its serving rates taken at k times their error band (-1 <= k <= 1):
    every part's (`serving.band`) or one family's (`serving.band.<family>`)."""
    if not -1.0 <= k <= 1.0:
        raise InputError.one(
            str(path),
            knob,
            f"is {k:g}; it counts error bands (the worst held-out miss of each part family).",
            "give a number from -1 (every modelled rate at its band's low edge) to 1.",
        )
    if knob == "serving.band":
        return replace(scenario, serving_band=k)
    family = knob.removeprefix(FAMILY_BAND)
    others = tuple(kv for kv in scenario.serving_band_by_family if kv[0] != family)
    return replace(scenario, serving_band_by_family=(*others, (family, k)))


def vary_problems(
    vary: Mapping[str, Sequence[ParamValue]], overlays: Sequence[Path]
) -> list[Problem]:
    """A sweep grid's values: numbers but for the regime's; error bands within [-1, 1]; each
    `serving.band.<family>` a family of the calibration table the cases will read."""
    out = []
    for name, values in vary.items():
        if name != "regime" and not all(isinstance(v, float) for v in values):
            fix = "give numbers, e.g. 0.5,1,2."
            out.append(Problem("", "vary", f"'{name}' takes numbers only.", fix, option=True))
        elif name.startswith("serving.band") and not all(-1.0 <= float(v) <= 1.0 for v in values):
            text, fix = f"'{name}' counts error bands, from -1 to 1.", "e.g. -1,-0.5,0,0.5."
            out.append(Problem("", "vary", text, fix, option=True))
    families = [n.removeprefix(FAMILY_BAND) for n in vary if n.startswith(FAMILY_BAND)]
    known = band_families(load_calibration(overlays)) if families else set()
    for family in (f for f in families if f not in known):
        text = f"'{FAMILY_BAND}{family}' names no part family of the calibration table."
        fix = f"use one of {', '.join(sorted(known))}."
        out.append(Problem("", "vary", text, fix, option=True))
    return out
