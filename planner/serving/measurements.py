"""Published measured serving throughputs: loading, validating the model, calibrating efficiencies.

`workload_profiles/measurements.csv` holds one row per published result (MLPerf Inference
datacenter results, vendor pages, papers) with its exact conditions and source. Three uses:

- validation: model vs measurement per row, in-sample and leave-one-out (docs/serving.md, V1-V3);
- calibration: a least-squares fit of a part's FLOP and bandwidth efficiency fractions to its
  rows, written as an overlay part profile usable with `--profiles`;
- override: a row matching an estimate's conditions replaces the model's throughput (labelled
  `measured`), and every estimate carries an error band from the nearest validated rows.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from scipy.optimize import least_squares

from planner.catalogue.parts import Catalogue, Part
from planner.errors import InputError, PlannerError, Problem
from planner.paths import shipped_dir
from planner.serving.efficiency import Efficiency, efficiency_for
from planner.serving.model import (
    SERVING_PRECISIONS,
    ServingEstimate,
    ServingRequest,
    WorkloadLike,
    estimate,
)

Scenario = Literal["offline", "server", "interactive"]
SCENARIOS: tuple[str, ...] = ("offline", "server", "interactive")
COLUMNS: tuple[str, ...] = (
    "id",
    "part",
    "workload",
    "scenario",
    "precision",
    "kv_precision",
    "accelerators",
    "parts_per_replica",
    "concurrency",
    "input_tokens",
    "output_tokens",
    "ttft_ms",
    "tpot_ms",
    "output_tokens_per_s",
    "system",
    "submitter",
    "software",
    "date",
    "source_url",
    "source_title",
    "confidence",
    "notes",
)
REQUIRED: tuple[str, ...] = (
    "id",
    "part",
    "workload",
    "scenario",
    "precision",
    "accelerators",
    "input_tokens",
    "output_tokens",
    "output_tokens_per_s",
    "source_url",
)
# A measurement overrides an estimate whose prompt and answer lengths are within this fraction.
MATCH_TOLERANCE_FRACTION = 0.10
# Weak pull of the fitted log-efficiencies toward this neutral point keeps a fit with one row
# determined; it is a regularisation choice, not a figure (docs/serving.md, C2).
PRIOR_FLOP_FRACTION = 0.5
PRIOR_BANDWIDTH_FRACTION = 0.7
PRIOR_WEIGHT = 0.1
FIT_BOUNDS = (0.02, 1.0)


def shipped_measurements() -> Path:
    """The measurements file that ships with the planner."""
    return shipped_dir("workload_profiles") / "measurements.csv"


@dataclass(frozen=True)
class Measurement:
    """One published measured throughput with the conditions it was measured under."""

    id: str
    part: str
    workload: str
    scenario: str
    precision: str
    kv_precision: str | None
    accelerators: int
    parts_per_replica: int | None
    concurrency: int | None  # requests in flight (caps the batch); None = as many as fit
    input_tokens: int
    output_tokens: int
    ttft_ms: float | None
    tpot_ms: float | None
    output_tokens_per_s: float  # the whole system's
    source_url: str
    notes: str
    path: Path

    @property
    def output_tokens_per_s_per_part(self) -> float:
        return self.output_tokens_per_s / self.accelerators

    def request(self, base: ServingRequest | None = None) -> ServingRequest:
        """The serving request these conditions describe (latency targets only for server runs)."""
        base = base or ServingRequest()
        return replace(
            base,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            ttft_s=None if self.ttft_ms is None else self.ttft_ms / 1e3,
            tpot_s=None if self.tpot_ms is None else self.tpot_ms / 1e3,
            precision=self.precision,
            kv_precision=self.kv_precision,
            parts_per_replica=self.parts_per_replica,
            max_batch=self.concurrency or base.max_batch,
        )


def _number(
    row: Mapping[str, str],
    name: str,
    path: Path,
    line: int,
    problems: list[Problem],
    *,
    integer: bool = False,
    required: bool = False,
) -> float | None:
    text = (row.get(name) or "").strip()
    where = f"line {line}, {name}"
    if not text:
        if required:
            problems.append(Problem(str(path), where, "is empty.", "write the value."))
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(Problem(str(path), where, f"'{text}' is not a number.", "write a number."))
        return None
    if not value > 0 or (integer and value != int(value)):
        want = "a whole number > 0" if integer else "a number > 0"
        problems.append(Problem(str(path), where, f"{text} is not {want}.", f"write {want}."))
        return None
    return value


def load_measurements(path: Path) -> list[Measurement]:
    """Read and check a measurements CSV; every problem in it is reported at once."""
    if not path.is_file():
        raise InputError.one(path, "", "file not found.", "check the path.")
    with path.open(encoding="utf-8", newline="") as fh:
        numbered = [(n, line) for n, line in enumerate(fh, start=1) if not line.startswith("#")]
    rows = list(csv.DictReader(line for _, line in numbered))
    header = list(rows[0]) if rows else []
    file_lines = [n for n, _ in numbered[1:]]  # the file line of each data row
    problems: list[Problem] = []
    missing = [c for c in REQUIRED if rows and c not in header]
    if missing or not rows:
        raise InputError.one(
            path,
            "header",
            f"missing columns: {', '.join(missing) or 'all (no rows)'}.",
            f"use the columns {', '.join(COLUMNS)} (docs/serving.md).",
        )
    out: list[Measurement] = []
    seen: set[str] = set()
    for index, row in zip(file_lines, rows, strict=False):
        before = len(problems)
        for name in ("id", "part", "workload", "source_url"):
            if not (row.get(name) or "").strip():
                problems.append(
                    Problem(str(path), f"line {index}, {name}", "is empty.", "write the value.")
                )
        scenario = (row.get("scenario") or "").strip().lower()
        if scenario not in SCENARIOS:
            problems.append(
                Problem(
                    str(path),
                    f"line {index}, scenario",
                    f"'{scenario}' is not a scenario.",
                    f"use one of: {', '.join(SCENARIOS)}.",
                )
            )
        precision = (row.get("precision") or "").strip().lower()
        kv = (row.get("kv_precision") or "").strip().lower() or None
        for name, value in (("precision", precision), ("kv_precision", kv)):
            if value is not None and value not in SERVING_PRECISIONS:
                problems.append(
                    Problem(
                        str(path),
                        f"line {index}, {name}",
                        f"'{value}' is not a serving precision.",
                        f"use one of: {', '.join(SERVING_PRECISIONS)}.",
                    )
                )
        numbers = {
            name: _number(row, name, path, index, problems, integer=integer, required=required)
            for name, integer, required in (
                ("accelerators", True, True),
                ("parts_per_replica", True, False),
                ("concurrency", True, False),
                ("input_tokens", True, True),
                ("output_tokens", True, True),
                ("ttft_ms", False, False),
                ("tpot_ms", False, False),
                ("output_tokens_per_s", False, True),
            )
        }
        row_id = (row.get("id") or "").strip()
        if row_id in seen:
            problems.append(
                Problem(
                    str(path),
                    f"line {index}, id",
                    f"'{row_id}' repeats.",
                    "give every row a unique id.",
                )
            )
        seen.add(row_id)
        if len(problems) > before:
            continue
        out.append(
            Measurement(
                id=row_id,
                part=row["part"].strip(),
                workload=row["workload"].strip(),
                scenario=scenario,
                precision=precision,
                kv_precision=kv,
                accelerators=int(numbers["accelerators"]),  # type: ignore[arg-type]
                parts_per_replica=None
                if numbers["parts_per_replica"] is None
                else int(numbers["parts_per_replica"]),
                concurrency=None if numbers["concurrency"] is None else int(numbers["concurrency"]),
                input_tokens=int(numbers["input_tokens"]),  # type: ignore[arg-type]
                output_tokens=int(numbers["output_tokens"]),  # type: ignore[arg-type]
                ttft_ms=numbers["ttft_ms"],
                tpot_ms=numbers["tpot_ms"],
                output_tokens_per_s=numbers["output_tokens_per_s"],  # type: ignore[arg-type]
                source_url=row["source_url"].strip(),
                notes=(row.get("notes") or "").strip(),
                path=path,
            )
        )
    if problems:
        raise InputError(problems)
    return out


# ---------------------------------------------------------------- validation


@dataclass(frozen=True)
class ValidationRow:
    """Model vs one measurement; errors are model / measured - 1."""

    id: str
    part: str
    workload: str
    scenario: str
    precision: str
    measured_tokens_per_s_per_part: float
    model_tokens_per_s_per_part: float | None
    error_fraction: float | None
    loo_model_tokens_per_s_per_part: float | None
    loo_error_fraction: float | None
    bound: str | None
    parts_per_replica: int | None
    batch: int | None
    note: str = ""


def _not_modelled(m: Measurement, why: str) -> ValidationRow:
    """A measurement the model could not reproduce (unknown part, no fit...), with the reason."""
    return ValidationRow(
        m.id,
        m.part,
        m.workload,
        m.scenario,
        m.precision,
        m.output_tokens_per_s_per_part,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        why,
    )


@dataclass(frozen=True)
class ValidationReport:
    rows: list[ValidationRow]

    def _errors(self, name: str) -> list[float]:
        return [abs(getattr(r, name)) for r in self.rows if getattr(r, name) is not None]

    @property
    def median_abs_error_fraction(self) -> float | None:
        errors = self._errors("error_fraction")
        return statistics.median(errors) if errors else None

    @property
    def max_abs_error_fraction(self) -> float | None:
        errors = self._errors("error_fraction")
        return max(errors) if errors else None

    @property
    def loo_median_abs_error_fraction(self) -> float | None:
        errors = self._errors("loo_error_fraction")
        return statistics.median(errors) if errors else None

    @property
    def loo_max_abs_error_fraction(self) -> float | None:
        errors = self._errors("loo_error_fraction")
        return max(errors) if errors else None


def _model(
    part: Part, workload: WorkloadLike, m: Measurement, eff: Efficiency
) -> ServingEstimate | str:
    try:
        return estimate(part, workload, m.request(), eff)
    except PlannerError as exc:
        return str(exc)


def _resolve(
    m: Measurement, catalogue: Catalogue, workloads: Mapping[str, WorkloadLike]
) -> tuple[Part, WorkloadLike] | str:
    if m.part not in catalogue.parts:
        return f"part '{m.part}' is not in the catalogue"
    if m.workload not in workloads:
        return f"workload '{m.workload}' is not in the library"
    return catalogue[m.part], workloads[m.workload]


def fit_efficiency(
    cases: Sequence[tuple[Part, WorkloadLike, Measurement]], start: Efficiency, basis: str
) -> Efficiency:
    """(C1) least squares on log(model / measured) over `cases` for the FLOP and bandwidth
    fractions (interconnect kept), plus a weak pull toward a neutral point (C2)."""

    def residuals(x: np.ndarray) -> np.ndarray:
        eff = replace(start, flop_fraction=float(x[0]), bandwidth_fraction=float(x[1]))
        out = []
        for part, workload, m in cases:
            got = _model(part, workload, m, eff)
            model = got.output_tokens_per_s_per_part if isinstance(got, ServingEstimate) else 1e-9
            out.append(math.log(model / m.output_tokens_per_s_per_part))
        out.append(PRIOR_WEIGHT * math.log(x[0] / PRIOR_FLOP_FRACTION))
        out.append(PRIOR_WEIGHT * math.log(x[1] / PRIOR_BANDWIDTH_FRACTION))
        return np.array(out)

    x0 = np.clip([start.flop_fraction, start.bandwidth_fraction], *FIT_BOUNDS)
    fit = least_squares(residuals, x0, bounds=FIT_BOUNDS, diff_step=1e-3, x_scale=0.1)
    return replace(
        start, flop_fraction=float(fit.x[0]), bandwidth_fraction=float(fit.x[1]), basis=basis
    )


def validate(
    measurements: Sequence[Measurement],
    catalogue: Catalogue,
    workloads: Mapping[str, WorkloadLike],
    stacks: Mapping[str, Efficiency],
    *,
    leave_one_out: bool = True,
) -> ValidationReport:
    """(V1-V3) each row against the model at the part's current efficiencies and, leaving the
    row out, at efficiencies fitted to the other rows of the same software stack."""
    resolved = {m.id: _resolve(m, catalogue, workloads) for m in measurements}
    rows = []
    for m in measurements:
        got = resolved[m.id]
        measured = m.output_tokens_per_s_per_part
        if isinstance(got, str):
            rows.append(_not_modelled(m, got))
            continue
        part, workload = got
        eff = efficiency_for(part, stacks)
        model = _model(part, workload, m, eff)
        if isinstance(model, str):
            rows.append(_not_modelled(m, model))
            continue
        loo_value = loo_error = None
        if leave_one_out:
            others = []
            for o in measurements:
                found = resolved[o.id]
                if o.id == m.id or isinstance(found, str):
                    continue
                if found[0].software_stack == part.software_stack:
                    others.append((found[0], found[1], o))
            if others:
                loo_eff = fit_efficiency(others, eff, f"fit without {m.id}")
                loo = _model(part, workload, m, loo_eff)
                if isinstance(loo, ServingEstimate):
                    loo_value = loo.output_tokens_per_s_per_part
                    loo_error = loo_value / measured - 1.0
        value = model.output_tokens_per_s_per_part
        rows.append(
            ValidationRow(
                id=m.id,
                part=m.part,
                workload=m.workload,
                scenario=m.scenario,
                precision=m.precision,
                measured_tokens_per_s_per_part=measured,
                model_tokens_per_s_per_part=value,
                error_fraction=value / measured - 1.0,
                loo_model_tokens_per_s_per_part=loo_value,
                loo_error_fraction=loo_error,
                bound=model.bound,
                parts_per_replica=model.parts_per_replica,
                batch=model.batch,
            )
        )
    return ValidationReport(rows)


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Calibration:
    part: str
    rows: list[str]
    efficiency: Efficiency
    in_sample_errors: list[float]
    overlay_path: Path


def _describe(rows: Sequence[str], errors: Sequence[float], source: Path) -> str:
    worst = max((abs(e) for e in errors), default=0.0)
    return (
        f"least-squares fit of log(model/measured) to {len(rows)} row(s) of {source.name} "
        f"({', '.join(rows)}); in-sample errors within +-{worst:.0%}"
    )


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class FittedFigure:
    """One serving fraction as the overlay records it."""

    value: float
    confidence: str
    note: str


def overlay_profile(part: Part, figures: Mapping[str, FittedFigure], source: Path) -> str:
    """A full copy of the part's profile YAML with its `serving:` block set to `figures`."""
    with part.path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    data["serving"] = {
        name: {
            "value": round(f.value, 4),
            "source": "planner-calibration",
            "confidence": f.confidence,
            "note": f.note,
        }
        for name, f in figures.items()
    }
    sources = data.setdefault("sources", {})
    sources["planner-calibration"] = {
        "title": f"planner serving calibrate: least-squares fit to {source.name} (docs/serving.md)"
    }
    header = (
        f"# Calibrated overlay of {part.path.name}: serving block fitted by "
        "`planner serving calibrate`.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _identified(
    cases: Sequence[tuple[Part, WorkloadLike, Measurement]], eff: Efficiency
) -> tuple[bool, bool]:
    """Whether the rows constrain the FLOP and the bandwidth fraction: some row's decode step must
    be bound by compute for the first, by memory for the second."""
    bounds = set()
    for part, workload, m in cases:
        got = _model(part, workload, m, eff)
        if isinstance(got, ServingEstimate):
            bounds.add(got.step_bound)
    return "compute" in bounds, "memory" in bounds


def _figures(
    fitted: Efficiency, start: Efficiency, flop_ok: bool, bw_ok: bool, confidence: str, note: str
) -> dict[str, FittedFigure]:
    kept = f"not identified by these rows: kept at {start.basis}"
    return {
        "flop_efficiency_fraction": FittedFigure(fitted.flop_fraction, confidence, note)
        if flop_ok
        else FittedFigure(start.flop_fraction, "estimate", kept),
        "bandwidth_efficiency_fraction": FittedFigure(fitted.bandwidth_fraction, confidence, note)
        if bw_ok
        else FittedFigure(start.bandwidth_fraction, "estimate", kept),
        "interconnect_efficiency_fraction": FittedFigure(
            start.interconnect_fraction, "estimate", f"not fitted: kept at {start.basis}"
        ),
    }


def calibrate(
    measurements: Sequence[Measurement],
    catalogue: Catalogue,
    workloads: Mapping[str, WorkloadLike],
    stacks: Mapping[str, Efficiency],
    out_dir: Path,
    source: Path,
) -> list[Calibration]:
    """(C1) fit each part's efficiencies to its rows and write `out_dir/hardware_profiles/...`.

    A fraction the rows cannot identify (no row bound by it) keeps the part's current value and
    is written as an estimate saying so.
    """
    by_part: dict[str, list[tuple[Part, WorkloadLike, Measurement]]] = {}
    skipped: list[str] = []
    for m in measurements:
        got = _resolve(m, catalogue, workloads)
        if isinstance(got, str):
            skipped.append(f"{m.id}: {got}")
            continue
        by_part.setdefault(m.part, []).append((got[0], got[1], m))
    if not by_part:
        raise InputError.one(
            source,
            "part",
            "no row names a part and workload the planner knows"
            + (f" ({'; '.join(skipped)})" if skipped else "")
            + ".",
            "check the part and workload ids (planner hardware list, planner workload list).",
        )
    results = []
    for part_id, cases in sorted(by_part.items()):
        part = cases[0][0]
        start = efficiency_for(part, stacks)
        ids = [m.id for _, _, m in cases]
        fitted = fit_efficiency(cases, start, f"calibrated to {len(ids)} row(s) of {source.name}")
        flop_ok, bw_ok = _identified(cases, fitted)
        fitted = replace(
            fitted,
            flop_fraction=fitted.flop_fraction if flop_ok else start.flop_fraction,
            bandwidth_fraction=fitted.bandwidth_fraction if bw_ok else start.bandwidth_fraction,
        )
        errors = []
        for p, w, m in cases:
            got = _model(p, w, m, fitted)
            if isinstance(got, ServingEstimate):
                errors.append(got.output_tokens_per_s_per_part / m.output_tokens_per_s_per_part - 1)
        confidence = "measured" if len(cases) >= 2 else "estimate"
        figures = _figures(
            fitted, start, flop_ok, bw_ok, confidence, _describe(ids, errors, source)
        )
        target = out_dir / "hardware_profiles" / part.path.parent.name / f"{part.id}.yaml"
        _atomic_write(target, overlay_profile(part, figures, source))
        results.append(Calibration(part_id, ids, fitted, errors, target))
    return results
