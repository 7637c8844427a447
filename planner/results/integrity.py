"""Is a run folder whole? Checks of run.json, summary.json and every table against the manifest.

In: a run folder and its parsed manifest. Out: None when whole, else one sentence saying what is
damaged. A table is checked by its recorded size (cheap: truncation, a missing or swapped file)
and, when `checksums` is asked for, by its recorded SHA-256 (any changed byte). Runs written
before sizes were recorded fall back to reading the Parquet footer. A damaged run is raised as
`DamagedRun`, which names the folder and the fix, so one bad folder never hides the others.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner.errors import InputError, Problem

PARQUET_MAGIC = b"PAR1"


class DamagedRun(InputError):
    """A folder that claims to be a complete run (it has run.json) but is not whole."""

    def __init__(self, folder: Path, field: str, problem: str):
        self.folder, self.field, self.problem = Path(folder), field, problem
        super().__init__(
            Problem(
                str(folder),
                field,
                f"the run is damaged: {problem}",
                "move this folder out of the runs root (or delete it) and write the run again; "
                "`planner runs list` shows which runs are damaged, the others are unaffected.",
            )
        )

    @property
    def run_id(self) -> str:
        """The damaged run's id: its folder name."""
        return self.folder.name


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_object(folder: Path, name: str) -> dict[str, Any]:
    """`folder/name` parsed as a JSON object, or DamagedRun saying why it cannot be."""
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedRun(folder, name, f"{name} is missing.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedRun(folder, name, f"{name} cannot be read ({exc}).") from None
    if not isinstance(data, dict):
        raise DamagedRun(folder, name, f"{name} is not a JSON object.")
    return data


def table_path(folder: Path, table_name: str, record: Any) -> Path:
    """The table's file inside `folder`; DamagedRun when the record is malformed or points out."""
    field = f"run.json: tables.{table_name}"
    if not isinstance(record, Mapping) or not isinstance(record.get("file"), str):
        raise DamagedRun(folder, field, "the table's record has no file name.")
    path = folder / record["file"]
    if not path.resolve().is_relative_to(folder.resolve()):
        raise DamagedRun(folder, field, f"the table file '{record['file']}' is outside the run.")
    return path


def _footer_problem(path: Path) -> str | None:
    """A Parquet file ends in its footer and the magic bytes: a cut one fails this test."""
    import pyarrow.parquet as pq

    try:
        with path.open("rb") as fh:
            fh.seek(-len(PARQUET_MAGIC), 2)
            if fh.read() != PARQUET_MAGIC:
                return "does not end in a Parquet footer (truncated?)"
        pq.read_metadata(path)
    except (OSError, ValueError) as exc:
        return f"is not a readable Parquet file ({exc})"
    return None


def table_problem(path: Path, record: Mapping[str, Any], checksums: bool) -> str | None:
    """What is wrong with one table file against its manifest record, or None."""
    if not path.is_file():
        return "is missing"
    size = path.stat().st_size
    if isinstance(record.get("bytes"), int):
        if size != record["bytes"]:
            return f"has {size} bytes, run.json recorded {record['bytes']} (truncated or replaced)"
    elif (problem := _footer_problem(path)) is not None:
        return problem
    if checksums and isinstance(record.get("sha256"), str) and sha256_of(path) != record["sha256"]:
        return "does not match the SHA-256 in run.json (its bytes changed after writing)"
    return None


def check_tables(folder: Path, manifest: Mapping[str, Any], checksums: bool) -> dict[str, Path]:
    """Every table's path, each checked against its record; DamagedRun at the first bad one."""
    records = manifest.get("tables", {})
    if not isinstance(records, Mapping):
        raise DamagedRun(folder, "run.json: tables", "the tables entry is not a mapping.")
    paths = {}
    for table_name, record in records.items():
        path = table_path(folder, str(table_name), record)
        problem = table_problem(path, record, checksums)
        if problem is not None:
            raise DamagedRun(folder, f"{record['file']}", f"table '{table_name}' {problem}.")
        paths[str(table_name)] = path
    return paths
