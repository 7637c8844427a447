"""The mutation corpus, continued for issue 16's new refusals: each mutant breaks one shipped file
in one way the schemas now refuse, and goes through the command a user would run on it; every
one exits 2 naming the file, the field and a fix, with no traceback and nothing written.

Faults, generated from the schemas' own range declarations (planner.schema.Bounds), so a field
that gains a range gains its cases: a value ten times the hard maximum; a value below the hard
minimum (at it, where the minimum itself is refused); NaN (YAML `.nan`) and infinity (`.inf`)
in a figure or a plain number; a quantity string that is not finite (`inf MW`); a date no
calendar holds (field and line named); and, for parts, a second file with the same id (both
files named). The sources are those of tests/test_mutation_corpus.py; the fields of each file
are taken by a fixed stride, so the corpus is the same on every run.
"""

from __future__ import annotations

import copy
import math
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from test_mutation_corpus import SOURCES
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import PartFile
from planner.plan.scenario import ScenarioFile
from planner.schema import UNITS, Bounds, _bounded_fields, _entries
from planner.serving.workloads import WorkloadFile
from planner.sites.schema import SiteFile

SCHEMAS: dict[str, type[BaseModel]] = {
    "part": PartFile,
    "workload": WorkloadFile,
    "site": SiteFile,
    "scenario": ScenarioFile,
}
FIELDS_PER_FILE = 4


@dataclass(frozen=True)
class Mutant:
    kind: str
    source: Path
    fault: str
    field: str  # what the error must name
    text: str  # the broken file
    twin: bool = False  # a second copy of the part under another vendor folder

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.source.stem}-{self.fault}-{self.field}"


# --------------------------------------------------------------------------- where the ranges are


def bounded_numbers(node: Any, where: str = "") -> Iterator[tuple[str, Bounds, Any]]:
    """(field path, range, value) of every number a validated file holds under a declared range,
    the path as errors name it (`sites[0].pue.value`, `peak_dense.bf16.value`)."""
    if isinstance(node, BaseModel):
        bounded = _bounded_fields(type(node))
        for name in type(node).model_fields:
            at = f"{where}.{name}" if where else name
            value = getattr(node, name)
            if name in bounded:
                for number, path in _entries(value, at):
                    yield path, bounded[name], number
            else:
                yield from bounded_numbers(value, at)
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from bounded_numbers(item, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from bounded_numbers(item, f"{where}[{i}]")


def _steps(path: str) -> list[str | int]:
    return [
        int(p[1:-1]) if p.startswith("[") else p for p in re.findall(r"[^.\[\]]+|\[\d+\]", path)
    ]


def _child(node: Any, step: str | int) -> Any:
    if isinstance(node, dict) and step not in node and isinstance(step, str) and step.isdigit():
        return node[int(step)]  # a period key written 2026
    return node[step]


def set_at(data: Any, path: str, value: Any) -> None:
    """Set the value at an error's field path in the parsed YAML."""
    *head, last = _steps(path)
    node = data
    for step in head:
        node = _child(node, step)
    if isinstance(node, dict) and last not in node and isinstance(last, str) and last.isdigit():
        last = int(last)
    node[last] = value


def _written(number: float, bounds: Bounds, like: Any) -> Any:
    """`number` (in the range's unit) as the file writes that field: with the unit for a
    quantity, an int where the file has an int."""
    if bounds.unit:
        return f"{number:g} {bounds.unit}"
    if isinstance(like, int) and not isinstance(like, bool) and number == int(number):
        return int(number)
    return number


def range_faults(bounds: Bounds, value: Any) -> Iterator[tuple[str, Any]]:
    """The out-of-range values for one number: above the maximum, below the minimum (whole
    numbers stay whole, so the range, not the type, refuses them)."""
    low, high = bounds.hard
    whole = isinstance(value, int) and not isinstance(value, bool)
    if math.isfinite(high):
        above = high * 10 + 1 if whole else (high * 10 if high > 0 else high + 10)
        yield "above-hard-max", _written(above, bounds, value)
    if bounds.low_open:
        yield "at-open-min", _written(low, bounds, value)
    elif low > 0:
        below = low - 1 if whole and low >= 1 else (low / 10 if low >= 1 else low / 2)
        yield "below-hard-min", _written(below, bounds, value)
    elif low < 0:
        yield "below-hard-min", _written(low * 10, bounds, value)


# --------------------------------------------------------------------------- the corpus


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def field_mutants(kind: str, source: Path, data: Any) -> Iterator[Mutant]:
    """Range, NaN and infinity faults on a fixed stride of the file's bounded numbers."""
    model = SCHEMAS[kind].model_validate(data)
    found = list(bounded_numbers(model))
    stride = max(1, len(found) // FIELDS_PER_FILE)
    for path, bounds, value in found[::stride][:FIELDS_PER_FILE]:
        for fault, bad in range_faults(bounds, value):
            mutated = copy.deepcopy(data)
            set_at(mutated, path, bad)
            yield Mutant(kind, source, fault, path, _dump(mutated))
        for fault, bad in (("nan", math.nan), ("inf", math.inf)):
            mutated = copy.deepcopy(data)
            set_at(mutated, path, bad)
            yield Mutant(kind, source, fault, path, _dump(mutated))
        if bounds.unit:
            mutated = copy.deepcopy(data)
            set_at(mutated, path, f"inf {bounds.unit}")
            yield Mutant(kind, source, "inf-quantity", path, _dump(mutated))


def date_mutant(kind: str, source: Path, data: Any) -> Iterator[Mutant]:
    """A `sources:` entry dated 2025-13-05 (YAML reads it as a date; no calendar holds it)."""
    sources = data.get("sources") or {}
    if not sources:
        return
    key = next(iter(sources))
    mutated = copy.deepcopy(data)
    mutated["sources"][key]["date"] = "BADDATE"
    text = _dump(mutated).replace("date: BADDATE", "date: 2025-13-05")
    line = 1 + next(i for i, x in enumerate(text.splitlines()) if "2025-13-05" in x)
    yield Mutant(kind, source, "bad-date", f"sources.{key}.date (line {line})", text)


def corpus() -> list[Mutant]:
    mutants: list[Mutant] = []
    for kind, sources in SOURCES.items():
        for source in sources:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
            mutants += [*field_mutants(kind, source, data), *date_mutant(kind, source, data)]
            if kind == "part":
                mutants.append(Mutant(kind, source, "same-id", "id", _dump(data), twin=True))
    return mutants


CORPUS = corpus()


# --------------------------------------------------------------------------- running one


def _place(mutant: Mutant, tmp: Path) -> tuple[list[Path], list[str]]:
    """Write the broken file(s) where the command reads them; the files to name, the command."""
    source = mutant.source
    if mutant.kind in ("part", "workload"):
        folder = (
            f"hardware_profiles/{source.parent.name}"
            if mutant.kind == "part"
            else "workload_profiles"
        )
        path = tmp / "overlay" / folder / source.name
        path.parent.mkdir(parents=True)
        path.write_text(mutant.text, encoding="utf-8")
        named = [path]
        if mutant.twin:
            twin = tmp / "overlay/hardware_profiles/zz-copies" / source.name
            twin.parent.mkdir(parents=True)
            shutil.copy(path, twin)
            named.append(twin)
        noun = "hardware" if mutant.kind == "part" else "workload"
        return named, [noun, "show", source.stem, "--profiles", str(tmp / "overlay")]
    path = tmp / source.name
    path.write_text(mutant.text, encoding="utf-8")
    for csv in source.parent.glob("*.csv"):
        shutil.copy(csv, tmp)
    verb = ["site", "size"] if mutant.kind == "site" else ["plan"]
    return [path], [*verb, str(path), "--out", str(tmp / "run")]


def test_the_corpus_covers_every_kind_and_every_new_fault() -> None:
    assert len(CORPUS) >= 100
    assert {m.kind for m in CORPUS} == set(SOURCES)
    faults = {m.fault for m in CORPUS}
    assert faults >= {
        "above-hard-max",
        "below-hard-min",
        "at-open-min",
        "nan",
        "inf",
        "inf-quantity",
        "bad-date",
        "same-id",
    }
    assert len({(m.text, m.twin) for m in CORPUS}) == len(CORPUS)
    assert {u for m in CORPUS for u in UNITS if f" {u}'" in m.text or f" {u}\n" in m.text}


@pytest.mark.parametrize("mutant", CORPUS, ids=[m.id for m in CORPUS])
def test_refused_file_exits_2_naming_file_field_and_fix(mutant: Mutant, tmp_path: Path) -> None:
    named, command = _place(mutant, tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(app, command)
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for path in named:
        assert f"{path}" in output, output
    assert f"{named[0]}: {mutant.field}: " in output or f": {mutant.field}: " in output, output
    assert "Fix: " in output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
