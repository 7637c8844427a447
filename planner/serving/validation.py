"""The serving model against published measurements (docs/serving.md, V1-V5).

- (V1) in-sample: each row at the parameters fitted to all rows (C1-C2);
- (V2) leave-one-out: each row as if it had been left out of the fit (the leverage formula of
  the linearised fit; a refit for the few rows of high leverage);
- (V3) leave-one-part-out: every row of a part hidden at once, the fit redone on the others and
  the part's rows predicted: how a part with no measurements of its own fares;
- (V4) summary: median and maximum |error| each way, and on the batch-1 / low-concurrency rows;
- (V5) as shipped: each row of a file the table was never fitted to (a test set) at the shipped
  calibration table's own figures, no refit: how the model a plan reads fares on new results.

Errors are model / measured - 1.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.calibration import (
    Case,
    Fit,
    Parameters,
    fit,
    leave_one_out_log_errors,
    log_error,
    model_for,
    resolve_case,
)
from planner.serving.efficiency import Efficiency, efficiency_for
from planner.serving.measurements import Measurement
from planner.serving.request import ServingEstimate, WorkloadLike
from planner.serving.step import is_moe

ERROR_NAMES = ("error_fraction", "loo_error_fraction", "lopo_error_fraction")
HIGH_LEVERAGE = 0.2  # rows above it are left out by a refit, not the linearised formula


@dataclass(frozen=True)
class ValidationRow:
    """Model vs one measurement; errors are model / measured - 1."""

    id: str
    part: str
    workload: str
    scenario: str
    precision: str
    measured_tokens_per_s_per_part: float
    model_tokens_per_s_per_part: float | None = None
    error_fraction: float | None = None
    loo_error_fraction: float | None = None
    lopo_model_tokens_per_s_per_part: float | None = None
    lopo_error_fraction: float | None = None
    bound: str | None = None
    parts_per_replica: int | None = None
    batch: int | None = None
    parallel: str = ""
    low_concurrency: bool = False
    note: str = ""
    moe: bool = False  # the workload is a mixture of experts


@dataclass(frozen=True)
class ValidationReport:
    """The model's estimate against every measured row, with the fit it used, and its error
    statistics as fractions (in-sample, leave-one-out, leave-one-part-out)."""

    rows: list[ValidationRow]
    fit: Fit | None = None
    as_shipped: bool = False  # (V5): the shipped table's figures, no fit (error_fraction)

    def errors(self, name: str, *, low_concurrency: bool = False) -> list[float]:
        """|errors| of one kind over the modelled rows (only low-concurrency ones if asked)."""
        return [
            abs(getattr(r, name))
            for r in self.rows
            if getattr(r, name) is not None and (r.low_concurrency or not low_concurrency)
        ]

    def median(self, name: str, *, low_concurrency: bool = False) -> float | None:
        """Median |error| of one kind, a fraction; None without rows."""
        errors = self.errors(name, low_concurrency=low_concurrency)
        return statistics.median(errors) if errors else None

    def maximum(self, name: str, *, low_concurrency: bool = False) -> float | None:
        """Largest |error| of one kind, a fraction; None without rows."""
        errors = self.errors(name, low_concurrency=low_concurrency)
        return max(errors) if errors else None

    @property
    def median_abs_error_fraction(self) -> float | None:
        """Median |model / measured - 1| over the modelled rows, in-sample."""
        return self.median("error_fraction")

    @property
    def max_abs_error_fraction(self) -> float | None:
        """Largest |model / measured - 1| over the modelled rows, in-sample."""
        return self.maximum("error_fraction")

    @property
    def loo_median_abs_error_fraction(self) -> float | None:
        """Median |error| with each row left out of the fit it is predicted by."""
        return self.median("loo_error_fraction")

    @property
    def loo_max_abs_error_fraction(self) -> float | None:
        """Largest |error| with each row left out of the fit it is predicted by."""
        return self.maximum("loo_error_fraction")

    @property
    def lopo_median_abs_error_fraction(self) -> float | None:
        """Median |error| with each row's part left out of the fit."""
        return self.median("lopo_error_fraction")

    @property
    def lopo_max_abs_error_fraction(self) -> float | None:
        """Largest |error| with each row's part left out of the fit."""
        return self.maximum("lopo_error_fraction")

    def summary(self) -> dict[str, float | int | None]:
        """Medians and maxima of |error| (fractions) each way, overall and at low concurrency."""
        out: dict[str, float | int | None] = {
            "rows": len(self.rows),
            "modelled_rows": len(self.errors("error_fraction")),
            "parts": len({r.part for r in self.rows if r.error_fraction is not None}),
            "low_concurrency_rows": len(self.errors("error_fraction", low_concurrency=True)),
        }
        for name, label in zip(ERROR_NAMES, ("in_sample", "loo", "lopo"), strict=True):
            out[f"{label}_median_abs_error_fraction"] = self.median(name)
            out[f"{label}_max_abs_error_fraction"] = self.maximum(name)
            out[f"{label}_low_concurrency_max_abs_error_fraction"] = self.maximum(
                name, low_concurrency=True
            )
        return out


def _fraction(log_value: float | None) -> float | None:
    return None if log_value is None else math.exp(log_value) - 1.0


def leave_one_out(result: Fit) -> dict[str, float]:
    """(V2) each row's log error had it been left out: by the leverage formula where the row
    moves the fit little (h < HIGH_LEVERAGE), else by refitting without it."""
    linear, leverage = leave_one_out_log_errors(result)
    out: dict[str, float] = {}
    for i, case in enumerate(result.cases):
        if leverage[i] < HIGH_LEVERAGE:
            out[case.m.id] = float(linear[i])
            continue
        refit = fit([c for c in result.cases if c is not case])
        out[case.m.id] = log_error(case, refit.params.efficiency(case))
    return out


def leave_one_part_out(result: Fit) -> dict[str, float]:
    """(V3) for each part: refit without its rows, then each of its rows' log error."""
    out: dict[str, float] = {}
    for part in sorted({c.part.id for c in result.cases}):
        kept = [c for c in result.cases if c.part.id != part]
        hidden = [c for c in result.cases if c.part.id == part]
        if not kept:
            continue
        refit = fit(kept)
        for case in hidden:
            out[case.m.id] = log_error(case, refit.params.efficiency(case))
    return out


def unmodelled(m: Measurement, note: str) -> ValidationRow:
    """A row the model cannot score, with why."""
    return ValidationRow(
        m.id, m.part, m.workload, m.scenario, m.precision, m.output_tokens_per_s_per_part, note=note
    )


def _row(
    case: Case, got: ServingEstimate | str, errors: Mapping[str, float | None]
) -> ValidationRow:
    m = case.m
    measured = ValidationRow(
        id=m.id,
        part=m.part,
        workload=m.workload,
        scenario=m.scenario,
        precision=m.precision,
        measured_tokens_per_s_per_part=m.output_tokens_per_s_per_part,
        low_concurrency=m.low_concurrency,
        moe=is_moe(case.workload),
    )
    if isinstance(got, str):
        return replace(measured, note=got)
    lopo = errors.get("lopo")
    return replace(
        measured,
        model_tokens_per_s_per_part=got.output_tokens_per_s_per_part,
        error_fraction=_fraction(errors["in"]),
        loo_error_fraction=_fraction(errors.get("loo")),
        lopo_model_tokens_per_s_per_part=None
        if lopo is None
        else m.output_tokens_per_s_per_part * math.exp(lopo),
        lopo_error_fraction=_fraction(lopo),
        bound=got.bound,
        parts_per_replica=got.parts_per_replica,
        batch=got.batch,
        parallel=got.parallel,
    )


def validate(
    measurements: Sequence[Measurement],
    catalogue: Catalogue,
    workloads: Mapping[str, WorkloadLike],
    stacks: Mapping[str, Efficiency],
    *,
    leave_out: bool = True,
) -> ValidationReport:
    """(V1-V4) fit the parameters to every modelled row, then each row in-sample, left out
    (leverage) and with its whole part left out (refit). `leave_out=False` skips V2 and V3."""
    resolved = [(m, resolve_case(m, catalogue, workloads, stacks)) for m in measurements]
    cases = [c for _, c in resolved if isinstance(c, Case)]
    result = fit(cases) if cases else None
    loo: dict[str, float] = {}
    lopo: dict[str, float] = {}
    if result is not None and leave_out:
        loo = leave_one_out(result)
        lopo = leave_one_part_out(result)
    rows = []
    for m, case in resolved:
        if isinstance(case, str):
            rows.append(unmodelled(m, case))
            continue
        assert result is not None
        eff = result.params.efficiency(case)
        got = model_for(case, eff)
        in_sample = None if isinstance(got, str) else log_error(case, eff)
        errors = {"in": in_sample, "loo": loo.get(m.id), "lopo": lopo.get(m.id)}
        rows.append(_row(case, got, errors))
    return ValidationReport(rows, result)


def shipped_efficiency(case: Case, stacks: Mapping[str, Efficiency]) -> Efficiency | str:
    """The row's efficiency as a plan reads it: the calibration table's figures for the part
    and the row's serving engine, or why there are none (an engine the table has no factor for)."""
    try:
        return efficiency_for(case.part, stacks, case.m.engine or None)
    except InputError as exc:
        return str(exc)


def fitted_efficiency(case: Case, params: Parameters) -> Efficiency | str:
    """The row's efficiency at a fit's figures, or why there is none: an engine the fit has no
    factor for is refused, as the shipped table refuses it (`shipped_efficiency`), so a test set
    scores the same rows whichever way it is read."""
    if case.engine is not None and case.engine not in params.engine_speed:
        stack, engine = case.engine.split("/", 1)
        return f"no speed factor for serving engine '{engine}' on the {stack} stack in this fit"
    return params.efficiency(case)


def predict(
    measurements: Sequence[Measurement],
    catalogue: Catalogue,
    workloads: Mapping[str, WorkloadLike],
    stacks: Mapping[str, Efficiency],
    params: Parameters | None = None,
) -> ValidationReport:
    """(V5) each row at the shipped calibration table's figures (or at a fit's `params`),
    nothing refitted: on rows the table was not fitted to, the most honest of the errors (a
    test set); on the rows it was fitted to, the in-sample errors again."""
    rows = []
    for m in measurements:
        case = resolve_case(m, catalogue, workloads, stacks)
        if isinstance(case, str):
            eff: Efficiency | str = case
        elif params is not None:
            eff = fitted_efficiency(case, params)
        else:
            eff = shipped_efficiency(case, stacks)
        if isinstance(case, str) or isinstance(eff, str):
            rows.append(unmodelled(m, case if isinstance(case, str) else str(eff)))
            continue
        got = model_for(case, eff)
        error = None if isinstance(got, str) else log_error(case, eff)
        rows.append(_row(case, got, {"in": error}))
    return ValidationReport(rows, None, as_shipped=True)
