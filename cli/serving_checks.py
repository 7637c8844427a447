"""`planner serving validate --energy | --collectives`: the checks beside the throughput fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cli.render import OutputFormat, emit
from planner.catalogue.parts import Catalogue
from planner.serving.calibration import Case, resolve_case
from planner.serving.collectives import (
    collectives_summary,
    load_collective_measurements,
    shipped_collective_measurements,
    validate_collectives,
)
from planner.serving.efficiency import load_stacks
from planner.serving.energy import (
    energy_summary,
    load_energy_measurements,
    shipped_energy_measurements,
    validate_energy,
)
from planner.serving.measurements import load_measurements, shipped_measurements
from planner.serving.workloads import WorkloadLibrary


def pct(fraction: float | None) -> float | None:
    """A fraction as percent (None stays None)."""
    return None if fraction is None else 100.0 * fraction


def energy_report(csv_path: Path | None, profiles: Any, leave_out: bool, fmt: OutputFormat) -> None:
    """`validate --energy`: the energy rows against the model, then the summary (E1-E3)."""
    overlays = profiles or ()
    catalogue = Catalogue.load(overlays)
    workloads = {w.id: w for w in WorkloadLibrary.load(overlays)}
    stacks = load_stacks(overlays)
    rows = load_energy_measurements(csv_path or shipped_energy_measurements())
    cases: list[Case] = []
    if leave_out:
        resolved = (
            resolve_case(m, catalogue, workloads, stacks)
            for m in load_measurements(shipped_measurements())
        )
        cases = [c for c in resolved if isinstance(c, Case)]
    report = validate_energy(rows, catalogue, workloads, stacks, cases)
    table = [
        {
            "id": r.id,
            "part": r.part,
            "measured_j_per_token": r.measured_joules_per_output_token,
            "model_j_per_token": r.model_joules_per_output_token,
            "j_error_pct": pct(r.joules_error_fraction),
            "lopo_j_error_pct": pct(r.lopo_joules_error_fraction),
            "watts_error_pct": pct(r.watts_error_fraction),
            "tokens_error_pct": pct(r.tokens_error_fraction),
            "note": r.note,
        }
        for r in report
    ]
    title = "model vs measured GPU energy (J per output token, per part)"
    emit_check(table, energy_summary(report), fmt, title, "|error| summary, percent")


def collectives_report(csv_path: Path | None, profiles: Any, fmt: OutputFormat) -> None:
    """`validate --collectives`: each timed collective against the model (K1-K3)."""
    overlays = profiles or ()
    catalogue = Catalogue.load(overlays)
    stacks = load_stacks(overlays)
    rows = load_collective_measurements(csv_path or shipped_collective_measurements())
    report = validate_collectives(rows, catalogue, stacks)
    table = [
        {
            "id": r.id,
            "part": r.part,
            "collective": r.collective,
            "devices": r.devices,
            "message_bytes": r.message_bytes,
            "graphs": r.graphs,
            "measured_us": r.measured_us,
            "model_us": r.model_us,
            "error_pct": pct(r.error),
            "note": r.note,
        }
        for r in report
    ]
    title = "model vs timed collectives (microseconds per call)"
    emit_check(
        table, collectives_summary(report), fmt, title, "|error| by stack and collective, percent"
    )


def emit_check(
    table: list[dict[str, Any]], summary: list[dict[str, object]], fmt: OutputFormat,
    title: str, summary_title: str,
) -> None:  # fmt: skip
    """A check's rows, then its summary (tables); one object with both in JSON."""
    if fmt is OutputFormat.json:
        emit({"rows": table, "summary": summary}, fmt)
        return
    emit(table, fmt, title=title)
    if fmt is OutputFormat.table:
        emit(summary, fmt, title=summary_title)
