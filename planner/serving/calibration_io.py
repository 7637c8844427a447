"""Writing a fit as the serving calibration table (docs/serving.md, C3).

`write_calibration` takes the fit of `validate` and the table it started from (for the families,
compute units, latencies and sources, which are not fitted) and writes
`DIR/workload_profiles/serving/calibration.yaml`, atomically, with every fitted figure's note
naming the rows behind it and the error bands from leave-one-part-out and the test set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from planner.atomic import atomic_write_text
from planner.serving.calibration import FAILED_LOG_ERROR, Fit
from planner.serving.fitted import CALIBRATION_FILE, CalibrationTable
from planner.serving.validation import ValidationReport, ValidationRow

HEADER = """\
# Serving calibration table (docs/serving.md, "Calibration"; loaded by planner/serving/fitted.py).
# Written by `planner serving calibrate {source}`: a least-squares fit of log(model / measured)
# over {rows} rows of {parts} parts; do not edit the fitted values by hand, refit instead.
# Families, compute units and the collectives' latencies alpha are inputs (sourced), kept from
# the table the fit started from; each stack's per-peer delta is fitted.
"""


def _figure(value: float, rows: int, what: str, source_name: str) -> dict[str, Any]:
    confidence = "measured" if rows >= 2 else "estimate"
    note = f"fitted to {rows} row(s) of {source_name} ({what})"
    if rows < 2:
        note += "; too few rows to identify it, so it stays near the fit's neutral anchor"
    return {"value": float(f"{value:.4g}"), "source": "fit", "confidence": confidence, "note": note}


def _counts(result: Fit) -> tuple[dict[str, int], dict[str, int]]:
    families: dict[str, int] = {}
    stacks: dict[str, int] = {}
    for case in result.cases:
        if case.family is not None:
            families[case.family] = families.get(case.family, 0) + 1
        stacks[case.stack] = stacks.get(case.stack, 0) + 1
    return families, stacks


def _engine_counts(result: Fit) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in result.cases:
        if case.engine is not None:
            counts[case.engine] = counts.get(case.engine, 0) + 1
    return counts


@dataclass(frozen=True)
class Band:
    """An error band: the largest miss factor less 1, and the held-out row that set it."""

    value: float
    row: str
    error_fraction: float  # that row's model / measured - 1
    scored: str  # "leave-one-part-out" or "test set"


def held_out_errors(
    report: ValidationReport, tested: ValidationReport | None
) -> list[tuple[ValidationRow, float, str]]:
    """Every held-out error: each fitted row with its part left out, each test row at the fit
    (a test row the fit saw is skipped, and so is a row the model could not serve at all,
    which the fit counts 1000x too slow: that is no estimate, not a miss to widen a band by)."""
    out = [(r, r.lopo_error_fraction, "leave-one-part-out") for r in report.rows]
    fitted = {r.id for r in report.rows}
    if tested is not None:
        out += [(r, r.error_fraction, "test set") for r in tested.rows if r.id not in fitted]
    failed = math.expm1(FAILED_LOG_ERROR) + 1e-9
    return [(r, e, how) for r, e, how in out if e is not None and e > failed]


def error_bands(
    report: ValidationReport, family_of: Mapping[str, str], tested: ValidationReport | None = None
) -> dict[str, Band]:
    """Per family and kind of model ("hopper", "hopper-moe"; "default", "default-moe" over all
    rows) the largest factor by which a held-out row missed, either way, less 1: a row 2x too
    fast and one 2x too slow both give 1.0 (fitted.py, `error_bands`)."""
    bands: dict[str, Band] = {}
    for row, err, how in held_out_errors(report, tested):
        miss = math.exp(abs(math.log1p(err))) - 1.0
        suffix = "-moe" if row.moe else ""
        for family in (family_of.get(row.part), "default"):
            key = None if family is None else family + suffix
            if key is not None and miss > bands.get(key, Band(-1.0, "", 0.0, "")).value:
                bands[key] = Band(miss, row.id, err, how)
    return bands


def error_band_entries(
    report: ValidationReport, family_of: Mapping[str, str], tested: ValidationReport | None
) -> dict[str, dict[str, Any]]:
    """The table's `error_bands` entries, each naming the held-out row that set it."""
    return {
        key: {
            "value": float(f"{band.value:.3g}"),
            "source": "fit",
            "confidence": "measured",
            "note": f"largest miss factor of the {key} rows held out, less 1: {band.row} "
            f"({band.error_fraction:+.1%}, {band.scored})",
        }
        for key, band in sorted(error_bands(report, family_of, tested).items())
    }


def calibration_yaml(
    report: ValidationReport,
    table: CalibrationTable,
    source_name: str,
    tested: ValidationReport | None = None,
) -> str:
    """The table's YAML: the starting table's inputs with the fitted figures put in; the error
    bands from leave-one-part-out and the test set `tested` scored at the fit."""
    result = report.fit
    assert result is not None
    data = yaml.safe_load(table.path.read_text(encoding="utf-8"))
    p = result.params
    families, stacks = _counts(result)
    total = len(result.cases)
    moe_rows = sum(1 for c in result.cases if c.workload.routed_expert_params > 0)
    unit_rows = sum(1 for c in result.cases if c.base.compute_units > 0)
    data["default"] = {
        "flop_efficiency_fraction": _figure(p.flop["default"], total, "all rows", source_name),
        "bandwidth_efficiency_fraction": _figure(
            p.bandwidth["default"], total, "all rows", source_name
        ),
        "layer_floor_s": _figure(p.floor_s["default"], total, "all rows", source_name),
        "expert_floor_s": _figure(p.expert_floor_s, moe_rows, "MoE rows", source_name),
        "expert_efficiency_fraction": _figure(p.expert_fraction, moe_rows, "MoE rows", source_name),
        "unit_bandwidth_bytes_per_s": _figure(
            p.unit_bandwidth_bytes_per_s, unit_rows, "rows of parts with known SMs", source_name
        ),
        "collective_peer_latency_s": _figure(
            p.peer_latency_s["default"], total, "all rows", source_name
        ),
    }
    for family, block in data.get("families", {}).items():
        for name in ("flop_efficiency_fraction", "bandwidth_efficiency_fraction"):
            block.pop(name, None)
        if family in families:
            n = families[family]
            block["flop_efficiency_fraction"] = _figure(p.flop[family], n, family, source_name)
            block["bandwidth_efficiency_fraction"] = _figure(
                p.bandwidth[family], n, family, source_name
            )
    data["stacks"] = {
        stack: {
            "layer_floor_s": _figure(p.floor_s[stack], n, f"{stack} rows", source_name),
            "collective_peer_latency_s": _figure(
                p.peer_latency_s[stack], n, f"{stack} rows", source_name
            ),
        }
        for stack, n in sorted(stacks.items())
    }
    engines = _engine_counts(result)
    data["engines"] = {
        key: {"speed_factor": _figure(p.engine_speed[key], n, f"{key} rows", source_name)}
        for key, n in sorted(engines.items())
    }
    data["error_bands"] = error_band_entries(report, table.family_of, tested)
    parts = len({c.part.id for c in result.cases})
    header = HEADER.format(source=source_name, rows=total, parts=parts)
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_calibration(
    report: ValidationReport,
    table: CalibrationTable,
    out_dir: Path,
    source_name: str,
    tested: ValidationReport | None = None,
) -> Path:
    """Write `out_dir/workload_profiles/serving/calibration.yaml` atomically; return its path.
    `tested`: the test set scored at the fit (its errors widen the bands)."""
    target = out_dir / "workload_profiles" / CALIBRATION_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    text = calibration_yaml(report, table, source_name, tested)
    return atomic_write_text(target, text)
