"""Watts as a lever in the capacity model: power-capped serving and flexible grid connections.

Pure numpy shared by both backends and the checker (docs/capacity_model.md, eqs. 19-21):

- (19) power caps: a busy part may run at a cap j below its full draw: it then draws
  `capped_active_w[p, j]` W and serves `capped_throughput_fraction[p, j]` of its uncapped tokens/s.
  Parts busy at cap j are a column of their own, so the fleet's operating point is a convex
  combination of the curve's breakpoints (time-sharing across parts): linear, an LP.
- (20) grid options: a site may choose one of several connections {cap by year, import allowed
  during a curtailment event, curtailment hours a year}; a binary per (site, option).
- (21) curtailment events: the steps where the grid calls are the representative steps with the
  highest regional grid load, taken until their weights cover the option's hours a year.

Axes beyond capacity.py: J power caps below 1, O grid options per site (padded; `offered` says
which exist).
"""

from __future__ import annotations

import numpy as np

from models.capacity import CapacityInputs
from models.common import InputProblem


def cap_count(x: CapacityInputs) -> int:
    """J, the number of caps below full power a busy part may run at (0 = capping off)."""
    return 0 if x.power_cap_fraction is None else int(np.shape(x.power_cap_fraction)[0])


def capped_active_w(x: CapacityInputs) -> np.ndarray:
    """(P, J) watts of a busy part at each cap (empty (P, 0) when capping is off)."""
    n_p = np.shape(x.idle_w)[0]
    if x.capped_active_w is None:
        return np.zeros((n_p, 0))
    return np.asarray(x.capped_active_w, dtype=float)


def capped_throughput(x: CapacityInputs) -> np.ndarray:
    """(P, J) tokens/s at each cap as a fraction of uncapped (empty when capping is off)."""
    n_p = np.shape(x.idle_w)[0]
    if x.capped_throughput_fraction is None:
        return np.zeros((n_p, 0))
    return np.asarray(x.capped_throughput_fraction, dtype=float)


def option_count(x: CapacityInputs) -> int:
    """O, the padded number of grid options per site (0 = no site has a choice)."""
    return 0 if x.grid_option_offered is None else int(np.shape(x.grid_option_offered)[1])


def offered_options(x: CapacityInputs) -> np.ndarray:
    """(N, 2) the (site, option) pairs that exist, in C order: the index set of the choice z."""
    if x.grid_option_offered is None:
        return np.zeros((0, 2), dtype=int)
    return np.argwhere(np.asarray(x.grid_option_offered, dtype=bool))


def option_sites(x: CapacityInputs) -> np.ndarray:
    """(S',) sites that choose among grid options, ascending."""
    return np.unique(offered_options(x)[:, 0])


def curtailment_steps(x: CapacityInputs) -> np.ndarray:
    """(21) (S, O, T) bool: the steps in which option o's grid calls a curtailment at site s.

    The steps are ranked by the regional load `grid_load_mw[s, t]`, highest first (ties: the
    earlier step), and taken while the weight already taken is below the option's hours a
    year: the events cover at least those hours (rounding up to whole representative steps,
    so the plan rides through at least as many hours as the option allows the grid to call).
    """
    n_s, n_o = np.shape(x.grid_option_offered) if x.grid_option_offered is not None else (0, 0)
    n_t = np.shape(x.weight_h)[0]
    out = np.zeros((n_s, n_o, n_t), dtype=bool)
    if not n_o or x.grid_load_mw is None or x.grid_option_curtailment_h is None:
        return out
    hours = np.asarray(x.grid_option_curtailment_h, dtype=float)
    for s in range(n_s):
        order = np.argsort(-np.asarray(x.grid_load_mw[s], dtype=float), kind="stable")
        order = order[x.weight_h[order] > 0]
        before = np.concatenate([[0.0], np.cumsum(x.weight_h[order])[:-1]])  # weight taken
        for o in range(n_o):
            out[s, o, order[before < hours[s, o] - 1e-9]] = True
    return out


def option_import_limit_mw(x: CapacityInputs) -> np.ndarray:
    """(20-21) (S, O, Y, T) import allowed by option o: its cap in y, or in a curtailment step
    the smaller of that cap and the import it keeps during an event."""
    cap = np.asarray(x.grid_option_cap_mw, dtype=float)  # (S, O, Y)
    kept = np.asarray(x.grid_option_curtailed_mw, dtype=float)[:, :, None]  # (S, O, 1)
    called = curtailment_steps(x)[:, :, None, :]  # (S, O, 1, T)
    full = np.broadcast_to(cap[..., None], (*cap.shape, called.shape[-1]))
    return np.where(called, np.minimum(full, kept[..., None]), full)


def curtailed_hours(x: CapacityInputs) -> np.ndarray:
    """(S, O) hours a year the modelled events cover (>= the option's, whole steps)."""
    return np.einsum("sot,t->so", curtailment_steps(x).astype(float), x.weight_h)


def check_flex_inputs(x: CapacityInputs) -> list[InputProblem]:
    """Shapes and ranges of the power-cap and grid-option arrays (all problems at once)."""
    n_p, n_s = np.shape(x.idle_w)[0], np.shape(x.pue)[0]
    n_y, n_t = np.shape(x.year_start_years)[0], np.shape(x.weight_h)[0]
    n_j, n_o = cap_count(x), option_count(x)
    shapes = {
        "power_cap_fraction": (n_j,),
        "capped_active_w": (n_p, n_j),
        "capped_throughput_fraction": (n_p, n_j),
        "grid_option_offered": (n_s, n_o),
        "grid_option_cap_mw": (n_s, n_o, n_y),
        "grid_option_curtailed_mw": (n_s, n_o),
        "grid_option_curtailment_h": (n_s, n_o),
        "grid_load_mw": (n_s, n_t),
    }
    problems = [
        InputProblem(name, f"has shape {np.shape(getattr(x, name))}, expected {shape}.",
                     "give one value per axis entry (J caps, O options).")
        for name, shape in shapes.items()
        if getattr(x, name) is not None and np.shape(getattr(x, name)) != shape
    ]  # fmt: skip
    capping = [x.power_cap_fraction, x.capped_active_w, x.capped_throughput_fraction]
    if any(a is None for a in capping) and any(a is not None for a in capping):
        problems.append(
            InputProblem(
                "power_cap_fraction",
                "is given without its curve.",
                "give the caps, their watts and throughput together.",
            )
        )
    options = [x.grid_option_cap_mw, x.grid_option_curtailed_mw, x.grid_option_curtailment_h]
    if x.grid_option_offered is not None and any(a is None for a in options):
        problems.append(
            InputProblem(
                "grid_option_offered",
                "is given without the options.",
                "give each option's cap, curtailed import and hours.",
            )
        )
    if problems:
        return problems
    return check_flex_ranges(x)


def check_flex_ranges(x: CapacityInputs) -> list[InputProblem]:
    """Caps in (0, 1), watts within [idle, active], throughput in (0, 1], options >= 0."""
    problems: list[InputProblem] = []
    if cap_count(x):
        c = np.asarray(x.power_cap_fraction, dtype=float)
        if np.any((c <= 0) | (c >= 1)):
            problems.append(
                InputProblem(
                    "power_cap_fraction",
                    "is outside (0, 1).",
                    "list caps below full power, e.g. 0.5-0.9.",
                )
            )
        a = capped_active_w(x)
        if np.any(a < x.idle_w[:, None] - 1e-9) or np.any(a > x.active_w[:, None] + 1e-9):
            problems.append(
                InputProblem(
                    "capped_active_w",
                    "is outside [idle_w, active_w].",
                    "a capped busy part draws between idle and busy.",
                )
            )
        tau = capped_throughput(x)
        if np.any((tau <= 0) | (tau > 1)):
            problems.append(
                InputProblem(
                    "capped_throughput_fraction",
                    "is outside (0, 1].",
                    "a cap cannot raise throughput.",
                )
            )
    if option_count(x):
        for name in ("grid_option_cap_mw", "grid_option_curtailed_mw", "grid_option_curtailment_h"):
            if np.any(np.asarray(getattr(x, name), dtype=float) < 0):
                problems.append(InputProblem(name, "has negative values.", "use values >= 0."))
        needs_load = np.any(np.asarray(x.grid_option_curtailment_h) > 0)
        if needs_load and x.grid_load_mw is None:
            problems.append(
                InputProblem(
                    "grid_load_mw",
                    "is missing for curtailable options.",
                    "give the regional load that places the events.",
                )
            )
    return problems
