"""A corpus of 100+ broken input files, mutated from the shipped ones so they follow the schemas
but for one fault each: every one exits 2 naming the file and the field, with no traceback and
nothing written.

Sources: every fourth hardware profile, every third workload profile, a pvlib site and the tiny
plan scenario. Faults, each applied to one figure (`{value, source, confidence}`) chosen by a
fixed stride so the corpus is the same on every run: a unit of the wrong dimension, a word for a
number, a negative number, an unknown confidence, a source that is neither a key nor a URL, a
misspelt `value` key, a list for a figure; and per file: a YAML syntax error, a required key
removed, an unknown top-level key. Each file goes through the command a user would run on it
(`hardware show` / `workload show` with the file as an overlay, `site size`, `plan`).
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

REPO = Path(__file__).resolve().parents[1]
SOURCES: dict[str, list[Path]] = {
    "part": sorted(
        p for p in (REPO / "hardware_profiles").glob("*/*.yaml") if p.parent.name != "servers"
    )[::4],
    "workload": sorted((REPO / "workload_profiles").glob("*.yaml"))[::3],
    "site": [REPO / "scenarios/sites/guangdong_zhongshan.yaml"],
    "scenario": [REPO / "scenarios/tiny/one_site_two_parts.yaml"],
}
REQUIRED = {"part": "id", "workload": "id", "site": "name", "scenario": "name"}
_NUMBER_WITH_UNIT = re.compile(r"^-?[\d.]+(?:e[+-]?\d+)?\s+\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Mutant:
    """One broken file: its kind, the shipped file it came from, the fault and where it is."""

    kind: str
    source: Path
    fault: str
    field: str  # what the error must name ("line" for a YAML syntax error)
    text: str  # the broken file's content

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.source.stem}-{self.fault}-{self.field}"


# --------------------------------------------------------------------------- figure faults


def _wrong_unit(fig: dict[str, Any]) -> bool:
    value = fig["value"]
    if isinstance(value, str) and _NUMBER_WITH_UNIT.match(value):
        fig["value"] = value.split()[0] + " kg"
        return True
    return False


def _not_a_number(fig: dict[str, Any]) -> bool:
    value = fig["value"]
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and _NUMBER_WITH_UNIT.match(value)
    ):
        fig["value"] = "lots"
        return True
    return False


def _negative(fig: dict[str, Any]) -> bool:
    value = fig["value"]
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        fig["value"] = -value
        return True
    if isinstance(value, str) and _NUMBER_WITH_UNIT.match(value) and not value.startswith("-"):
        fig["value"] = "-" + value
        return True
    return False


def _bad_confidence(fig: dict[str, Any]) -> bool:
    if "confidence" not in fig:
        return False
    fig["confidence"] = "guess"
    return True


def _unknown_source(fig: dict[str, Any]) -> bool:
    if "source" not in fig:
        return False
    fig["source"] = "no-such-source"
    return True


def _misspelt_value(fig: dict[str, Any]) -> bool:
    fig["vaule"] = fig.pop("value")
    return True


FIGURE_FAULTS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "wrong-unit": _wrong_unit,
    "not-a-number": _not_a_number,
    "negative": _negative,
    "bad-confidence": _bad_confidence,
    "unknown-source": _unknown_source,
    "misspelt-value": _misspelt_value,
}


def figures(node: Any, path: str = "") -> Iterator[str]:
    """Dotted paths (`sites[0].grid.import_cap`) of every figure in a parsed file."""
    if isinstance(node, dict):
        if "value" in node and not isinstance(node["value"], dict | list):
            yield path
            return
        for key, value in node.items():
            yield from figures(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from figures(value, f"{path}[{i}]")


def _at(data: Any, path: str) -> Any:
    node = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    return node


def _parent_and_key(data: Any, path: str) -> tuple[Any, str | int]:
    head, _, last = path.rpartition(".")
    if "[" in last:  # a list item: sites[0]
        base, index = last.split("[", 1)
        head = f"{head}.{base}" if head else base
        return _at(data, head), int(index.rstrip("]"))
    return (_at(data, head) if head else data), last


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def figure_mutants(kind: str, source: Path, data: Any) -> Iterator[Mutant]:
    """One mutant per fault, on the first figure from a fixed stride that the fault applies to."""
    paths = list(figures(data))
    for i, (fault, apply) in enumerate(FIGURE_FAULTS.items()):
        for j in range(len(paths)):
            path = paths[(i * 7 + j * 3) % len(paths)]
            mutated = copy.deepcopy(data)
            if apply(_at(mutated, path)):
                yield Mutant(kind, source, fault, path, _dump(mutated))
                break
    path = paths[len(paths) // 2]
    mutated = copy.deepcopy(data)
    parent, key = _parent_and_key(mutated, path)
    parent[key] = [1, 2]
    yield Mutant(kind, source, "figure-as-list", path, _dump(mutated))


def file_mutants(kind: str, source: Path, data: Any) -> Iterator[Mutant]:
    """Faults of the file as a whole: YAML syntax, a required key gone, an unknown key."""
    lines = _dump(data).splitlines()
    top = [i for i, line in enumerate(lines) if line[:1].isalpha()]  # top-level keys
    at = top[len(top) // 2]
    lines.insert(at, "\tindented: with a tab")  # YAML forbids a tab as indentation
    yield Mutant(kind, source, "yaml-syntax", "line", "\n".join(lines) + "\n")
    required = REQUIRED[kind]
    yield Mutant(kind, source, "missing", required, _dump({k: v for k, v in data.items()
                                                            if k != required}))  # fmt: skip
    yield Mutant(kind, source, "unknown-key", "colour", _dump({**data, "colour": "blue"}))


def corpus() -> list[Mutant]:
    mutants = []
    for kind, sources in SOURCES.items():
        for source in sources:
            data = yaml.safe_load(source.read_text(encoding="utf-8"))
            mutants += [*figure_mutants(kind, source, data), *file_mutants(kind, source, data)]
    return mutants


CORPUS = corpus()


# --------------------------------------------------------------------------- running one


def _place(mutant: Mutant, tmp: Path) -> tuple[Path, list[str]]:
    """Write the broken file where its command reads it; the command line."""
    source = mutant.source
    if mutant.kind in ("part", "workload"):
        sub = f"hardware_profiles/{source.parent.name}" if mutant.kind == "part" else (
            "workload_profiles")  # fmt: skip
        path = tmp / "overlay" / sub / source.name
        path.parent.mkdir(parents=True)
        path.write_text(mutant.text, encoding="utf-8")
        noun = "hardware" if mutant.kind == "part" else "workload"
        return path, [noun, "show", source.stem, "--profiles", str(tmp / "overlay")]
    path = tmp / source.name
    path.write_text(mutant.text, encoding="utf-8")
    for csv in source.parent.glob("*.csv"):
        shutil.copy(csv, tmp)
    verb = ["site", "size"] if mutant.kind == "site" else ["plan"]
    return path, [*verb, str(path), "--out", str(tmp / "run")]


def test_the_corpus_is_large_and_covers_every_kind_and_fault() -> None:
    assert len(CORPUS) >= 100
    assert {m.kind for m in CORPUS} == set(SOURCES)
    faults = {m.fault for m in CORPUS}
    assert faults >= {*FIGURE_FAULTS, "figure-as-list", "yaml-syntax", "missing", "unknown-key"}
    assert len({m.text for m in CORPUS}) == len(CORPUS)  # every mutant differs


@pytest.mark.parametrize("mutant", CORPUS, ids=[m.id for m in CORPUS])
def test_broken_file_exits_2_naming_file_and_field(mutant: Mutant, tmp_path: Path) -> None:
    path, command = _place(mutant, tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(app, command)
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no crash
    assert f"{path}:" in output, output
    field = mutant.field
    assert field in output, f"{field!r} not named in: {output}"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
