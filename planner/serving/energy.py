"""Energy per token against measured GPU energy (docs/serving.md, "Energy validation", E1-E3).

The ML.ENERGY benchmark (v3: vLLM 0.11.1 on H100 and B200, energy read by Zeus from the GPUs'
own sensors) publishes, per configuration, the average power of all its GPUs, the output
tokens/s and their ratio, joules per output token. The model answers the same three per part:
accelerator watts (S6 without the server's share), output tokens/s (S1-S5) and their ratio. So

    (1 + e_J) = (1 + e_W) / (1 + e_T)

with e = model / measured - 1 for J/token, watts and tokens/s: the energy error splits into the
power model's and the throughput model's. No energy row is fitted: the power model has no free
parameter and the throughput calibration is fitted to `measurements.csv` only.

- (E1) held-out rows: the shipped calibration table, ML.ENERGY's engine (vLLM) at its fitted
  speed factor;
- (E2) leave-one-part-out: the throughput calibration refitted without the part's rows of
  `measurements.csv`, then its energy rows predicted;
- (E3) median and max |error| of J/token, watts and tokens/s.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.catalogue.parts import Catalogue
from planner.csvio import commented_csv_rows, positive_number
from planner.errors import InputError, PlannerError, Problem
from planner.paths import shipped_dir
from planner.serving.calibration import Case, Parameters, fit
from planner.serving.efficiency import Efficiency, efficiency_for
from planner.serving.model import ServingRequest, estimate
from planner.serving.request import Parallel, WorkloadLike, is_parallel

NUMBERS = (
    "accelerators",
    "parts_per_replica",
    "concurrency",
    "input_tokens",
    "output_tokens",
    "output_tokens_per_s",
    "accelerator_watts",
    "joules_per_output_token",
)
TEXT = ("id", "part", "workload", "precision", "kv_precision", "parallel", "engine", "source_url")


def shipped_energy_measurements() -> Path:
    """The shipped CSV of measured serving power and throughput."""
    return shipped_dir("workload_profiles") / "energy_measurements.csv"


@dataclass(frozen=True)
class EnergyMeasurement:
    """One measured configuration: GPU-only power and throughput of all its accelerators."""

    id: str
    part: str
    workload: str
    precision: str
    kv_precision: str
    parallel: Parallel
    engine: str
    source_url: str
    accelerators: int
    parts_per_replica: int
    concurrency: int
    input_tokens: int
    output_tokens: int
    output_tokens_per_s: float
    accelerator_watts: float
    joules_per_output_token: float

    def request(self) -> ServingRequest:
        """The configuration as a serving request: lengths, precision, layout, batch cap."""
        return ServingRequest(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            precision=self.precision,
            kv_precision=self.kv_precision,
            parts_per_replica=self.parts_per_replica,
            parallel=self.parallel,
            max_batch=self.concurrency,
        )


def _row(
    row: Mapping[str, str], path: Path, line: int, problems: list[Problem]
) -> dict[str, Any] | None:
    values: dict[str, Any] = {name: (row.get(name) or "").strip() for name in TEXT}
    layout_known = is_parallel(values["parallel"])
    if not layout_known:
        problems.append(
            Problem(
                str(path),
                f"line {line}, parallel",
                f"'{values['parallel']}' is not a parallel layout.",
                "write tp, ep or tep.",
            )
        )
    for name in NUMBERS:
        number = positive_number(row, name, path, line, problems)
        if number is not None:
            values[name] = round(number) if name in NUMBERS[:5] else number
    return values if layout_known and len(values) == len(TEXT) + len(NUMBERS) else None


def load_energy_measurements(path: Path) -> list[EnergyMeasurement]:
    """Read the energy rows (comment lines skipped); every problem is reported at once."""
    problems: list[Problem] = []
    rows = []
    for line, row in commented_csv_rows(path):
        got = _row(row, path, line, problems)
        if got is not None:
            rows.append(EnergyMeasurement(**got))
    if problems:
        raise InputError(problems)
    return rows


@dataclass(frozen=True)
class EnergyRow:
    """Model vs one measured configuration, per part; errors are model / measured - 1."""

    id: str
    part: str
    workload: str
    measured_joules_per_output_token: float
    model_joules_per_output_token: float | None = None
    joules_error_fraction: float | None = None
    watts_error_fraction: float | None = None
    tokens_error_fraction: float | None = None
    lopo_joules_error_fraction: float | None = None
    note: str = ""


def _errors(m: EnergyMeasurement, part_model: tuple[float, float]) -> tuple[float, float, float]:
    """(J/token, watts, tokens/s) errors per part, from the model's (watts, tokens/s)."""
    watts, tokens = part_model
    measured_watts = m.accelerator_watts / m.accelerators
    measured_tokens = m.output_tokens_per_s / m.accelerators
    return (
        (watts / tokens) / m.joules_per_output_token - 1.0,
        watts / measured_watts - 1.0,
        tokens / measured_tokens - 1.0,
    )


def model_watts_and_tokens(
    m: EnergyMeasurement, catalogue: Catalogue, workload: WorkloadLike, eff: Efficiency
) -> tuple[float, float] | str:
    """The model's accelerator watts and output tokens/s per part, or why it has none."""
    try:
        est = estimate(catalogue[m.part], workload, m.request(), eff)
    except PlannerError as exc:
        return str(exc)
    return est.accelerator_watts_per_part, est.output_tokens_per_s_per_part


def fitted_engine(
    m: EnergyMeasurement, catalogue: Catalogue, stacks: Mapping[str, Efficiency]
) -> tuple[str | None, str]:
    """The row's engine where the calibration table has a speed factor for it on the part's
    stack, else the stack's reference engine (None), with a note saying so."""
    table = getattr(stacks, "calibration", None)
    stack = catalogue[m.part].software_stack
    key = None if table is None else table.engine_key(stack, m.engine)
    if key is None or (table is not None and key in table.engine_speeds):
        return m.engine, ""
    return None, f"no speed factor for {m.engine} on {stack}: the reference engine's figures"


def refit_efficiency(
    params: Parameters, m: EnergyMeasurement, catalogue: Catalogue, stacks: Mapping[str, Efficiency]
) -> Efficiency:
    """The efficiency of the row's part and engine under a refitted parameter set."""
    part = catalogue[m.part]
    table = getattr(stacks, "calibration", None)
    family = None if table is None else table.family_of.get(part.id)
    engine = None if table is None else table.engine_key(part.software_stack, m.engine)
    if engine is not None and engine not in params.engine_speed:
        engine = None
    return params.efficiency_of(efficiency_for(part, stacks), family, part.software_stack, engine)


def _lopo_params(cases: Sequence[Case], parts: set[str]) -> dict[str, Parameters]:
    """(E2) the throughput fit without each part's measurement rows."""
    return {p: fit([c for c in cases if c.part.id != p]).params for p in parts}


def validate_energy(
    rows: Sequence[EnergyMeasurement],
    catalogue: Catalogue,
    workloads: Mapping[str, WorkloadLike],
    stacks: Mapping[str, Efficiency],
    cases: Sequence[Case] = (),
) -> list[EnergyRow]:
    """(E1-E2) every energy row with the shipped table and, given the throughput `cases`, with
    its part left out of the throughput fit."""
    lopo = _lopo_params(cases, {m.part for m in rows}) if cases else {}
    return [_energy_row(m, catalogue, workloads, stacks, lopo.get(m.part)) for m in rows]


def _energy_row(
    m: EnergyMeasurement,
    catalogue: Catalogue,
    workloads: Mapping[str, WorkloadLike],
    stacks: Mapping[str, Efficiency],
    refit: Parameters | None,
) -> EnergyRow:
    """One row against the model (and, with `refit`, against its part-held-out fit)."""
    measured = m.joules_per_output_token
    if m.part not in catalogue.parts or m.workload not in workloads:
        return EnergyRow(m.id, m.part, m.workload, measured, note="part or workload unknown")
    workload = workloads[m.workload]
    engine, note = fitted_engine(m, catalogue, stacks)
    got = model_watts_and_tokens(
        m, catalogue, workload, efficiency_for(catalogue[m.part], stacks, engine)
    )
    if isinstance(got, str):
        return EnergyRow(m.id, m.part, m.workload, measured, note=got)
    joules, watts, tokens = _errors(m, got)
    held = None
    if refit is not None:
        again = model_watts_and_tokens(
            m, catalogue, workload, refit_efficiency(refit, m, catalogue, stacks)
        )
        held = None if isinstance(again, str) else _errors(m, again)[0]
    return EnergyRow(
        m.id, m.part, m.workload, measured,
        model_joules_per_output_token=got[0] / got[1],
        joules_error_fraction=joules, watts_error_fraction=watts,
        tokens_error_fraction=tokens, lopo_joules_error_fraction=held, note=note,
    )  # fmt: skip


def energy_summary(rows: Sequence[EnergyRow]) -> list[dict[str, object]]:
    """(E3) median and max |error| (percent) of each figure over the rows the model serves."""
    kinds = (
        ("J/token, held-out rows", "joules_error_fraction"),
        ("J/token, leave-one-part-out", "lopo_joules_error_fraction"),
        ("accelerator watts", "watts_error_fraction"),
        ("output tokens/s", "tokens_error_fraction"),
    )
    out: list[dict[str, object]] = []
    for label, name in kinds:
        errors = [abs(getattr(r, name)) for r in rows if getattr(r, name) is not None]
        out.append(
            {
                "validation": label,
                "rows": len(errors),
                "median_abs_error_pct": statistics.median(errors) * 100 if errors else None,
                "max_abs_error_pct": max(errors) * 100 if errors else None,
            }
        )
    return out
