"""Reading the project's CSV tables of measurements: comment lines, line numbers, numbers > 0."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

from planner.errors import InputError, Problem


def commented_csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV whose lines starting with `#` are comments, each with its line number
    in the file (for messages); an input error naming the file when it is missing."""
    if not path.is_file():
        raise InputError.one(path, "", "file not found.", "check the path.")
    with path.open(encoding="utf-8", newline="") as fh:
        numbered = [(n, line) for n, line in enumerate(fh, start=1) if not line.startswith("#")]
    reader = csv.DictReader(line for _, line in numbered)
    return [(line, row) for (line, _), row in zip(numbered[1:], reader, strict=False)]


def positive_number(
    row: Mapping[str, str], name: str, path: Path, line: int, problems: list[Problem]
) -> float | None:
    """The row's field `name` as a number > 0, else None with a problem naming file, line and
    field."""
    text = (row.get(name) or "").strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if number > 0:
        return number
    problems.append(
        Problem(str(path), f"line {line}, {name}", f"'{text}' is not a number > 0.", "")
    )
    return None
