"""Writing a fit as the serving calibration table (docs/serving.md, C3).

`write_calibration` takes the fit of `validate` and the table it started from (for the families,
compute units, latencies and sources, which are not fitted) and writes
`DIR/workload_profiles/serving/calibration.yaml`, atomically, with every fitted figure's note
naming the rows behind it and the error bands from leave-one-part-out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from planner.atomic import atomic_write_text
from planner.serving.calibration import Fit
from planner.serving.fitted import CALIBRATION_FILE, CalibrationTable
from planner.serving.validation import ValidationReport

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


def error_bands(report: ValidationReport, family_of: Mapping[str, str]) -> dict[str, float]:
    """Largest |leave-one-part-out error| per family (and over all rows, as `default`)."""
    bands: dict[str, float] = {}
    for row in report.rows:
        if row.lopo_error_fraction is None:
            continue
        err = abs(row.lopo_error_fraction)
        for key in (family_of.get(row.part), "default"):
            if key is not None:
                bands[key] = max(bands.get(key, 0.0), err)
    return bands


def calibration_yaml(report: ValidationReport, table: CalibrationTable, source_name: str) -> str:
    """The table's YAML: the starting table's inputs with the fitted figures put in."""
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
    data["error_bands"] = {
        key: {
            "value": float(f"{value:.3g}"),
            "source": "fit",
            "confidence": "measured",
            "note": f"largest |leave-one-part-out error| of the {key} rows",
        }
        for key, value in sorted(error_bands(report, table.family_of).items())
    }
    parts = len({c.part.id for c in result.cases})
    header = HEADER.format(source=source_name, rows=total, parts=parts)
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_calibration(
    report: ValidationReport, table: CalibrationTable, out_dir: Path, source_name: str
) -> Path:
    """Write `out_dir/workload_profiles/serving/calibration.yaml` atomically; return its path."""
    target = out_dir / "workload_profiles" / CALIBRATION_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    text = calibration_yaml(report, table, source_name)
    return atomic_write_text(target, text)
