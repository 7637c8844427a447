"""Power-capped serving (docs/serving.md, S9): tokens/s and watts of a busy part under a cap.

`workload_profiles/serving/power_caps.yaml` holds measured series (a part serving an LLM at
several `nvidia-smi -pl` caps). Each point becomes a power fraction rho (power drawn / power drawn
uncapped) and a throughput fraction tau; per series we fit tau = rho^alpha (least squares in
logs, 0 < alpha < 1: concave, so tokens per joule rise as the cap falls). A part with series of
its own takes the mean alpha of them ("own-series"); any other part takes the mean over every
series ("transferred from the measured parts", an estimate).

At a cap c (a fraction of TDP) a busy part that draws P_busy uncapped draws
min(P_busy, c x TDP): rho = min(1, c TDP / P_busy) and it serves tau = rho^alpha of its
uncapped tokens/s. A cap above the uncapped draw does nothing (memory-bound decode on an H200
draws 137-300 W of 700 W, ma-2026 in the file).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field

from planner.catalogue.parts import Part
from planner.errors import InputError, Problem
from planner.paths import search_dirs
from planner.provenance import Confidence, SourceIn
from planner.schema import Bounds, StrictModel
from planner.yamlio import read_yaml, validate

POWER_CAPS_FILE = Path("serving") / "power_caps.yaml"
CAP_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # caps the plan may choose, fraction of TDP


# Ranges of a measured series (planner.schema.Bounds): watts of one part (as a part's TDP,
# planner.catalogue.parts), tokens/s of one part, and fractions of the uncapped run that may
# exceed 1 by measurement noise (shipped: caps 175 to 600 W, 299 to 573 W drawn, 1,034 to
# 2,473 tokens/s, fractions 0.82 to 0.94).
PART_WATTS = Bounds("", hard=(0, 20_000), typical=(10, 3_000), low_open=True, what="watts")
OF_UNCAPPED = Bounds(
    "", hard=(0, 1.05), typical=(0.3, 1.05), low_open=True, what="a fraction of the uncapped run"
)


class CapPointIn(StrictModel):
    """One cap: measured mean power and tokens/s, or both as fractions of the uncapped run."""

    cap_w: Annotated[float, PART_WATTS]
    power_w: Annotated[float | None, PART_WATTS] = None
    tokens_per_s: Annotated[
        float | None,
        Bounds("", hard=(0, 1e9), typical=(1, 1e6), low_open=True, what="tokens/s of a part"),
    ] = None
    power_fraction: Annotated[float | None, OF_UNCAPPED] = None
    throughput_fraction: Annotated[float | None, OF_UNCAPPED] = None


class CapSeriesIn(StrictModel):
    """One part's throughput and power measured under a series of power caps, with its source."""

    id: str
    part: str
    device: str
    workload: str
    tdp_w: Annotated[float, PART_WATTS]
    source: str
    confidence: Confidence
    note: str | None = None
    points: list[CapPointIn] = Field(min_length=1)


class PowerCapsFile(StrictModel):
    """Schema of `workload_profiles/serving/power_caps.yaml`."""

    series: list[CapSeriesIn] = Field(min_length=1)
    sources: dict[str, SourceIn] = {}


@dataclass(frozen=True)
class CapSeries:
    """One measured series as (rho, tau) points and its fitted exponent."""

    id: str
    part: str
    power_fraction: np.ndarray  # rho of each capped point
    throughput_fraction: np.ndarray  # tau of each capped point
    exponent: float  # alpha of tau = rho^alpha
    source: str  # title of the cited document
    confidence: str


@dataclass(frozen=True)
class PowerCapCurve:
    """One part's tokens/s and watts at each cap, for one uncapped busy draw."""

    part: str
    cap_fraction: np.ndarray  # (J,) cap / TDP
    cap_w: np.ndarray  # (J,)
    busy_w: np.ndarray  # (J,) watts a busy part draws at each cap (without its host share)
    throughput_fraction: np.ndarray  # (J,) tokens/s at the cap / tokens/s uncapped
    exponent: float
    basis: str  # "own-series" (the part's own series) or "transferred" (every series' mean)
    confidence: str
    sources: tuple[str, ...]  # the series ids it rests on


def fit_exponent(rho: np.ndarray, tau: np.ndarray) -> float:
    """alpha minimising sum (ln tau - alpha ln rho)^2 over the points with rho < 1."""
    keep = rho < 1.0 - 1e-9
    x, y = np.log(rho[keep]), np.log(np.minimum(tau[keep], 1.0))
    return float(x @ y / (x @ x)) if keep.any() else math.nan


def _series(path: Path, i: int, s: CapSeriesIn, titles: dict[str, str]) -> CapSeries:
    """(rho, tau) of a series: absolute points are read against its first (uncapped) point."""
    at = f"series[{i}]"
    absolute = [p.power_w is not None and p.tokens_per_s is not None for p in s.points]
    fractions = [
        p.power_fraction is not None and p.throughput_fraction is not None for p in s.points
    ]
    if not all(a or f for a, f in zip(absolute, fractions, strict=True)):
        raise InputError.one(
            path, f"{at}.points", "a point needs power_w and tokens_per_s, or both fractions.",
            "give the measured pair or the pair of fractions of the uncapped run.",
        )  # fmt: skip
    ref = s.points[0]
    if any(absolute) and not (absolute[0] and math.isclose(ref.cap_w, s.tdp_w)):
        raise InputError.one(
            path, f"{at}.points[0]", "a series with measured watts starts with its uncapped run.",
            f"list the point at cap_w: {s.tdp_w:g} first.",
        )  # fmt: skip
    rho, tau = [], []
    for p in s.points[1:] if absolute[0] else s.points:
        if p.power_w is not None and p.tokens_per_s is not None:
            rho.append(p.power_w / float(ref.power_w or 1.0))
            tau.append(p.tokens_per_s / float(ref.tokens_per_s or 1.0))
        else:
            rho.append(float(p.power_fraction or 1.0))
            tau.append(float(p.throughput_fraction or 1.0))
    rho_a, tau_a = np.array(rho), np.array(tau)
    alpha = fit_exponent(rho_a, tau_a)
    if not 0.0 < alpha < 1.0:
        raise InputError.one(
            path, f"{at}.points", f"the fitted exponent {alpha:.3g} is outside (0, 1): throughput "
            "would not be concave in watts.", "check the points' power and throughput.",
        )  # fmt: skip
    title = titles.get(s.source, s.source)
    return CapSeries(s.id, s.part, rho_a, tau_a, alpha, title, s.confidence)


@dataclass(frozen=True)
class PowerCapTable:
    """Every measured series, by part."""

    series: tuple[CapSeries, ...]
    path: Path

    def curve(
        self, part: Part, busy_w: float, caps: Sequence[float] = CAP_FRACTIONS
    ) -> PowerCapCurve:
        """(S9) the part's curve at `caps` (fractions of TDP) for an uncapped busy draw."""
        tdp = part.tdp_w
        if tdp is None or tdp <= 0:
            raise InputError.one(
                part.path, "tdp", f"{part.id} has no TDP, which a power cap is a fraction of.",
                "add 'tdp' with its source to the part profile.",
            )  # fmt: skip
        own = [s for s in self.series if s.part == part.id]
        used = own or list(self.series)
        alpha = float(np.mean([s.exponent for s in used]))
        cap = np.asarray(caps, dtype=float)
        rho = np.minimum(1.0, cap * tdp / max(busy_w, 1e-9))
        confidence = "measured" if own and all(s.confidence == "measured" for s in own) else (
            "press" if own else "estimate"
        )  # fmt: skip
        return PowerCapCurve(
            part=part.id,
            cap_fraction=cap,
            cap_w=cap * tdp,
            busy_w=rho * busy_w,
            throughput_fraction=rho**alpha,
            exponent=alpha,
            basis="own-series" if own else "transferred",
            confidence=confidence,
            sources=tuple(s.id for s in used),
        )


def read_power_caps(path: Path) -> PowerCapTable:
    """Load and check one power-cap table (every series fitted; bad ones name their field)."""
    raw = validate(PowerCapsFile, read_yaml(path), path)
    titles = {k: v.title for k, v in raw.sources.items()}
    problems: list[Problem] = []
    series = []
    for i, s in enumerate(raw.series):
        try:
            series.append(_series(path, i, s, titles))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return PowerCapTable(tuple(series), path)


def power_caps_file(overlays: Sequence[Path] = ()) -> Path:
    """The power-cap table's file: the shipped one, or the last overlay's."""
    found = [d / POWER_CAPS_FILE for d in search_dirs("workload_profiles", overlays)]
    return [p for p in found if p.is_file()][-1]


def load_power_caps(overlays: Sequence[Path] = ()) -> PowerCapTable:
    """The shipped table, or the last overlay's (an overlay replaces it whole)."""
    return read_power_caps(power_caps_file(overlays))
