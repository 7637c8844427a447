"""Published measured serving throughputs: the rows and the conditions they were measured under.

`workload_profiles/measurements.csv` holds one row per published result (MLPerf Inference
datacenter results, vendor pages, papers, engineering blogs) with its exact conditions and source.
They validate the model (`validation.py`), calibrate its efficiencies and floors
(`calibration.py`) and, where a row matches an estimate's conditions, replace the model's
throughput (`evidence.py`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from planner.errors import InputError, Problem
from planner.paths import shipped_dir
from planner.serving.request import (
    SERVING_PRECISIONS,
    Disaggregation,
    Parallel,
    ServingRequest,
    Speculative,
    is_parallel,
)

Scenario = Literal["offline", "server", "interactive", "single-stream", "fixed-concurrency"]
SCENARIOS: tuple[str, ...] = (
    "offline",
    "server",
    "interactive",
    "single-stream",
    "fixed-concurrency",
)
PHASES: tuple[str, ...] = ("both", "decode")
PARALLELS: tuple[str, ...] = ("tp", "ep", "tep")
# Scenarios whose TTFT / TPOT are limits the run met (elsewhere they are measured outcomes).
LATENCY_BOUND_SCENARIOS: tuple[str, ...] = ("server", "interactive")
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
    "phase",
    "speculative_tokens",
    "acceptance_fraction",
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
    "scale_up_domain",
    "parallel",
    "prefill_parts",
    "engine",
    "out_of_scope",
    "attention_precision",
    "attention_tp",
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


def shipped_measurements() -> Path:
    """The measurements file that ships with the planner (the calibration is fitted to it)."""
    return shipped_dir("workload_profiles") / "measurements.csv"


def shipped_test_measurements() -> Path:
    """The shipped test set: measurements no calibration is fitted to (V5)."""
    return shipped_dir("workload_profiles") / "test_measurements.csv"


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
    concurrency: int | None  # requests in flight per replica; None = as many as fit
    input_tokens: int
    output_tokens: int
    ttft_ms: float | None
    tpot_ms: float | None
    output_tokens_per_s: float  # the whole system's
    source_url: str
    notes: str
    path: Path
    decode_only: bool = False  # phase "decode": a disaggregated decode instance alone
    speculative_tokens: int | None = None  # MTP / draft tokens per step; None = none
    acceptance_fraction: float | None = None  # their published acceptance; None = not published
    confidence: str = ""
    # Parts in one scale-up domain of the measured system; None = the part's own (its profile)
    scale_up_domain: int | None = None
    # The layout the run used ("tp" | "ep" | "tep"); None = not stated
    parallel: Parallel | None = None
    # Parts of the system that only prefill (a disaggregated system measured whole); the rest
    # decode, in replicas of parts_per_replica. None = prefill and decode share the parts.
    prefill_parts: int | None = None
    engine: str | None = None  # the serving engine, e.g. tensorrt-llm, sglang, cloudmatrix-infer
    # Why the row measures conditions the model cannot represent (kept, listed, not fitted or
    # scored); None = in scope.
    out_of_scope: str | None = None
    # The attention projections' weights where the run kept them apart from the other weights'
    # precision otherwise than the workload's published checkpoint does; None = as published.
    attention_precision: str | None = None
    # "ep": devices per data-parallel attention group (the launch line's --tp-size over
    # --dp-size); None = 1, attention wholly data-parallel.
    attention_tp: int | None = None

    @property
    def speculative(self) -> Speculative | None:
        """The speculative decoding the row ran (None without, or with unpublished acceptance)."""
        if self.speculative_tokens is None or self.acceptance_fraction is None:
            return None
        return Speculative(self.speculative_tokens, self.acceptance_fraction)

    @property
    def unmodelled(self) -> str | None:
        """Why the model cannot reproduce the row's conditions, if it cannot."""
        if self.out_of_scope is not None:
            return f"out of scope: {self.out_of_scope}"
        if self.speculative_tokens is not None and self.acceptance_fraction is None:
            return "speculative decoding with an unpublished acceptance rate"
        return None

    @property
    def output_tokens_per_s_per_part(self) -> float:
        """Output tokens per second of one accelerator of the measured system."""
        return self.output_tokens_per_s / self.accelerators

    @property
    def low_concurrency(self) -> bool:
        """At most 8 requests in flight per part (batch-1 and low-concurrency rows)."""
        if self.concurrency is None:
            return False
        return self.concurrency <= 8 * (self.parts_per_replica or self.accelerators)

    @property
    def latency_targets(self) -> bool:
        """Whether the row's TTFT and TPOT were targets the run had to meet (a server or
        interactive run, its mean latencies: MLPerf's summary means under its p99 limits, a
        deployment tuned to a TPOT) rather than results measured at a batch the concurrency
        fixed (single-stream, fixed-concurrency, offline)."""
        return self.scenario in LATENCY_BOUND_SCENARIOS

    def request(self, base: ServingRequest | None = None) -> ServingRequest:
        """The serving request these conditions describe (latency targets only for server and
        interactive runs; elsewhere the concurrency sets the batch)."""
        base = base or ServingRequest()
        targets = self.latency_targets
        return replace(
            base,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            ttft_s=None if self.ttft_ms is None or not targets else self.ttft_ms / 1e3,
            tpot_s=None if self.tpot_ms is None or not targets else self.tpot_ms / 1e3,
            precision=self.precision,
            kv_precision=self.kv_precision,
            attention_precision=self.attention_precision,
            parts_per_replica=self.parts_per_replica,
            system_parts=self.accelerators,
            max_batch=self.concurrency if self.concurrency is not None else base.max_batch,
            decode_only=self.decode_only,
            speculative=self.speculative,
            scale_up_domain_parts=self.scale_up_domain,
            parallel=self.parallel,
            attention_tensor_parallel=self.attention_tp,
            disaggregated=self.split,
        )

    @property
    def split(self) -> Disaggregation | None:
        """The prefill/decode split of a disaggregated system measured whole."""
        if self.prefill_parts is None:
            return None
        return Disaggregation(self.prefill_parts, self.accelerators - self.prefill_parts)


class _RowReader:
    """Reads the fields of one CSV row, collecting every problem with its file line."""

    def __init__(self, row: Mapping[str, str], path: Path, line: int, problems: list[Problem]):
        self.row, self.path, self.line, self.problems = row, path, line, problems

    def problem(self, name: str, text: str, fix: str) -> None:
        self.problems.append(Problem(str(self.path), f"line {self.line}, {name}", text, fix))

    def text(self, name: str) -> str:
        return (self.row.get(name) or "").strip()

    def choice(self, name: str, allowed: tuple[str, ...], what: str) -> str | None:
        value = self.text(name).lower() or None
        if value is not None and value not in allowed:
            self.problem(name, f"'{value}' is not a {what}.", f"use one of: {', '.join(allowed)}.")
        return value

    def number(self, name: str, *, integer: bool = False, required: bool = False) -> float | None:
        text = self.text(name)
        if not text:
            if required:
                self.problem(name, "is empty.", "write the value.")
            return None
        try:
            value = float(text)
        except ValueError:
            self.problem(name, f"'{text}' is not a number.", "write a number.")
            return None
        if not math.isfinite(value):
            self.problem(name, f"'{text}' is not a finite number.", "write the measured number.")
            return None
        if not value > 0 or (integer and value != int(value)):
            want = "a whole number > 0" if integer else "a number > 0"
            self.problem(name, f"{text} is not {want}.", f"write {want}.")
            return None
        return value

    def count(self, name: str, *, required: bool = False) -> int | None:
        value = self.number(name, integer=True, required=required)
        return None if value is None else int(value)

    def speculative(self) -> tuple[int | None, float | None]:
        tokens = self.count("speculative_tokens")
        acceptance = self.number("acceptance_fraction")
        if acceptance is not None and (acceptance > 1 or tokens is None):
            self.problem(
                "acceptance_fraction",
                "is the acceptance of speculative tokens: a fraction in (0, 1], with "
                "speculative_tokens set.",
                "write the published acceptance rate, e.g. 0.85, beside speculative_tokens.",
            )
        return tokens, acceptance

    def measurement(self) -> Measurement | None:
        before = len(self.problems)
        for name in ("id", "part", "workload", "source_url"):
            if not self.text(name):
                self.problem(name, "is empty.", "write the value.")
        scenario = self.choice("scenario", SCENARIOS, "scenario")
        if scenario is None:
            self.problem("scenario", "is empty.", f"use one of: {', '.join(SCENARIOS)}.")
        precision = self.choice("precision", SERVING_PRECISIONS, "serving precision")
        kv = self.choice("kv_precision", SERVING_PRECISIONS, "serving precision")
        projections = self.choice("attention_precision", SERVING_PRECISIONS, "serving precision")
        phase = self.choice("phase", PHASES, "phase")
        parallel = self.choice("parallel", PARALLELS, "parallel layout")
        values = {
            "accelerators": self.count("accelerators", required=True),
            "parts_per_replica": self.count("parts_per_replica"),
            "concurrency": self.count("concurrency"),
            "input_tokens": self.count("input_tokens", required=True),
            "output_tokens": self.count("output_tokens", required=True),
            "ttft_ms": self.number("ttft_ms"),
            "tpot_ms": self.number("tpot_ms"),
            "output_tokens_per_s": self.number("output_tokens_per_s", required=True),
            "scale_up_domain": self.count("scale_up_domain"),
            "prefill_parts": self.count("prefill_parts"),
            "attention_tp": self.count("attention_tp"),
        }
        tokens, acceptance = self.speculative()
        prefill, parts = values["prefill_parts"], values["accelerators"]
        if prefill is not None and parts is not None and prefill >= parts:
            self.problem(
                "prefill_parts",
                f"{prefill} prefill parts leave none of the {parts} accelerators to decode.",
                "write the parts that only prefill (fewer than accelerators), or leave it empty.",
            )
        if len(self.problems) > before:
            return None
        return Measurement(
            id=self.text("id"),
            part=self.text("part"),
            workload=self.text("workload"),
            scenario=scenario or "",
            precision=precision or "",
            kv_precision=kv,
            attention_precision=projections,
            source_url=self.text("source_url"),
            notes=self.text("notes"),
            path=self.path,
            decode_only=phase == "decode",
            speculative_tokens=tokens,
            acceptance_fraction=acceptance,
            confidence=self.text("confidence"),
            parallel=parallel if is_parallel(parallel) else None,  # checked by choice() above
            engine=self.text("engine").lower() or None,
            out_of_scope=self.text("out_of_scope") or None,
            **values,  # type: ignore[arg-type]  # by name; required ones set when no problem
        )


def _read_rows(path: Path) -> tuple[list[dict[str, str]], list[int]]:
    """The CSV's data rows (comment lines skipped) and the file line of each."""
    if not path.is_file():
        raise InputError.one(path, "", "file not found.", "check the path.")
    with path.open(encoding="utf-8", newline="") as fh:
        numbered = [(n, line) for n, line in enumerate(fh, start=1) if not line.startswith("#")]
    rows = list(csv.DictReader(line for _, line in numbered))
    header = list(rows[0]) if rows else []
    missing = [c for c in REQUIRED if rows and c not in header]
    if missing or not rows:
        raise InputError.one(
            path,
            "header",
            f"missing columns: {', '.join(missing) or 'all (no rows)'}.",
            f"use the columns {', '.join(COLUMNS)} (docs/serving.md).",
        )
    return rows, [n for n, _ in numbered[1:]]


def load_measurements(path: Path) -> list[Measurement]:
    """Read and check a measurements CSV; every problem in it is reported at once."""
    rows, lines = _read_rows(path)
    problems: list[Problem] = []
    out: list[Measurement] = []
    seen: set[str] = set()
    for line, row in zip(lines, rows, strict=False):
        reader = _RowReader(row, path, line, problems)
        row_id = reader.text("id")
        if row_id in seen:
            reader.problem("id", f"'{row_id}' repeats.", "give every row a unique id.")
        seen.add(row_id)
        got = reader.measurement()
        if got is not None:
            out.append(got)
    if problems:
        raise InputError(problems)
    return out
