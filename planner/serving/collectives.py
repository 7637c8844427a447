"""Collective microbenchmarks against the model's collectives (docs/serving.md, "Collectives").

The step model charges each all-reduce, dispatch and combine from four figures of the part's
stack: the synchronisation latency alpha, the further latency delta of each peer, the fraction
e_ic of the link a collective reaches and, for expert dispatch and combine, the stack's own
fixed cost (S2). The serving rows see those figures only through whole decode steps, where a
per-peer delta trades freely with the per-layer floor tau. A kernel timed alone sees them
directly: `collective_measurements.csv` holds such timings, each with its source, and this
module models each the way a decode step would (`all_reduce_time_s`, `exchange_time_s`):

- (K1) all_reduce: `message_bytes` on each of `devices` devices, the faster of one-shot and
  two-shot, alpha + delta (t - 1) a synchronisation;
- (K2) dispatch / combine: each device sends `message_bytes` (its tokens x k routes x hidden x
  element bytes), a share (n - 1) / n to others, after max(alpha, the stack's all-to-all cost);
- (K3) error = model / measured - 1, by row and by stack (median and max |error|).

Only collectives inside one scale-up domain are modelled; the link is one device's share of the
part's scale-up bandwidth, one direction, x e_ic, and in a full mesh (`scale_up_topology: mesh`)
the g - 1 of its d - 1 peer links a group of g devices uses.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from planner.catalogue.parts import Catalogue, Part
from planner.csvio import commented_csv_rows, positive_number
from planner.errors import InputError, Problem
from planner.paths import shipped_dir
from planner.serving.efficiency import Efficiency, efficiency_for
from planner.serving.step import all_reduce_time_s, exchange_time_s, group_link_bytes_per_s

Collective = Literal["all_reduce", "dispatch", "combine"]
COLLECTIVES: tuple[Collective, ...] = ("all_reduce", "dispatch", "combine")
GRAPHS = ("yes", "no", "unknown")  # whether CUDA or HIP graphs hid the kernel launch
NUMBERS = ("devices", "message_bytes", "measured_us")
TEXT = ("id", "part", "collective", "library", "graphs", "source_url", "confidence")


def shipped_collective_measurements() -> Path:
    """The shipped CSV of collective microbenchmarks."""
    return shipped_dir("workload_profiles") / "collective_measurements.csv"


@dataclass(frozen=True)
class CollectiveMeasurement:
    """One timed collective: `devices` devices of `part`, `message_bytes` each (K1, K2)."""

    id: str
    part: str
    collective: Collective
    library: str
    graphs: str  # "yes", "no" or "unknown": whether CUDA/HIP graphs hid the launch
    source_url: str
    confidence: str
    devices: int
    message_bytes: float
    measured_us: float


def _row(
    row: Mapping[str, str], path: Path, line: int, problems: list[Problem]
) -> dict[str, Any] | None:
    values: dict[str, Any] = {name: (row.get(name) or "").strip() for name in TEXT}
    found: list[tuple[str, str, str]] = []  # (field, what is wrong, the fix)
    if values["collective"] not in COLLECTIVES:
        what = f"'{values['collective']}' is not a collective the model charges."
        found.append(("collective", what, f"write one of {', '.join(COLLECTIVES)}."))
    if values["graphs"] not in GRAPHS:
        what = f"'{values['graphs']}' does not say whether graphs hid the launch."
        found.append(("graphs", what, f"write one of {', '.join(GRAPHS)}."))
    ok = not found
    for name in NUMBERS:
        number = positive_number(row, name, path, line, problems)
        ok = ok and number is not None
        if number is not None and name == "devices" and (number < 2 or number != int(number)):
            what = f"'{row.get(name, '').strip()}' is not a whole number of devices >= 2."
            found.append(("devices", what, ""))
            ok = False
        elif number is not None:
            values[name] = int(number) if name == "devices" else number
    problems.extend(Problem(str(path), f"line {line}, {f}", w, fix) for f, w, fix in found)
    return values if ok else None


def load_collective_measurements(path: Path) -> list[CollectiveMeasurement]:
    """Read the collective rows (comment lines skipped); every problem is reported at once."""
    problems: list[Problem] = []
    rows = []
    for line, row in commented_csv_rows(path):
        got = _row(row, path, line, problems)
        if got is not None:
            got["collective"] = cast(Collective, got["collective"])
            rows.append(CollectiveMeasurement(**got))
    if problems:
        raise InputError(problems)
    return rows


def within_domain(m: CollectiveMeasurement, part: Part) -> bool:
    """Whether the model prices the timing: a link figure, and its devices in one domain."""
    domain = (part.scale_up_domain_parts or 1) * part.devices
    return part.device_link_bytes_per_s > 0 and m.devices <= domain


def modelled_s(m: CollectiveMeasurement, part: Part, eff: Efficiency) -> float:
    """(K1, K2) the model's seconds for the timed collective at `eff`'s figures."""
    whole = part.device_link_bytes_per_s / 2.0 * eff.interconnect_fraction
    link = group_link_bytes_per_s(whole, m.devices, part.mesh_peers)
    if m.collective == "all_reduce":
        alpha, delta = eff.collective_latency_s, eff.collective_peer_latency_s
        return all_reduce_time_s(m.devices, m.message_bytes, alpha, delta, link)
    latency = max(eff.collective_latency_s, eff.all_to_all_latency_s)
    return exchange_time_s(m.devices, m.message_bytes, latency, link)


@dataclass(frozen=True)
class CollectiveRow:
    """Model vs one timed collective; error = model / measured - 1."""

    id: str
    part: str
    stack: str
    collective: Collective
    devices: int
    message_bytes: float
    graphs: str
    measured_us: float
    model_us: float | None  # None: the model cannot price it (why in `note`)
    note: str = ""

    @property
    def error(self) -> float | None:
        """model / measured - 1, or None without a model figure."""
        return None if self.model_us is None else self.model_us / self.measured_us - 1.0


def validate_collectives(
    rows: Sequence[CollectiveMeasurement],
    catalogue: Catalogue,
    stacks: Mapping[str, Efficiency],
) -> list[CollectiveRow]:
    """(K1-K3) every timed collective against the shipped figures of its part's stack."""
    out = []
    for m in rows:
        if m.part not in catalogue.parts:
            out.append(_priced(m, "", None, f"part '{m.part}' is not in the catalogue"))
            continue
        part = catalogue[m.part]
        if not within_domain(m, part):
            domain = (part.scale_up_domain_parts or 1) * part.devices
            why = f"{m.devices} devices exceed one scale-up domain ({domain}) or no link figure"
            out.append(_priced(m, part.software_stack, None, why))
            continue
        seconds = modelled_s(m, part, efficiency_for(part, stacks))
        out.append(_priced(m, part.software_stack, seconds * 1e6))
    return out


def _priced(
    m: CollectiveMeasurement, stack: str, model_us: float | None, why: str = ""
) -> CollectiveRow:
    return CollectiveRow(
        m.id, m.part, stack, m.collective, m.devices, m.message_bytes, m.graphs,
        m.measured_us, model_us, why,
    )  # fmt: skip


def collectives_summary(rows: Sequence[CollectiveRow]) -> list[dict[str, object]]:
    """(K3) by stack, collective and whether the launch is inside the timing (kernels timed
    without graphs): rows, median and max |error| in percent, and the median signed error (the
    model faster than measured below zero)."""
    groups: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        if r.error is not None:
            launch = "in the timing" if r.graphs == "no" else "hidden or not said"
            groups.setdefault((r.stack, r.collective, launch), []).append(r.error)
    return [
        {
            "stack": stack,
            "collective": kind,
            "launch": launch,
            "rows": len(errors),
            "median_abs_error_pct": 100 * statistics.median(abs(e) for e in errors),
            "max_abs_error_pct": 100 * max(abs(e) for e in errors),
            "median_error_pct": 100 * statistics.median(errors),
        }
        for (stack, kind, launch), errors in sorted(groups.items())
    ]
