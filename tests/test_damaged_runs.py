"""Damaged run folders: listed as damaged, refused by name (exit 2), never blocking other runs.

A run records each table's size and SHA-256 in run.json and is flushed to disk before it is
renamed into place; these tests break runs after writing (as a disk, a copy or a person might)
and check what every `runs` command, `compare` and `report` then do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from planner import atomic
from planner.results.folders import MANIFEST, SUMMARY, list_runs, read_run, scan_runs, write_run
from planner.results.integrity import DamagedRun

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _write(root: Path, name: str, minutes: int) -> Path:
    return write_run(
        kind="site",
        name=name,
        summary={"status": "optimal", "currency": "USD", "objective": 100.0 + minutes},
        tables={
            "dispatch": pd.DataFrame({"step": range(500), "grid_import_mw": 2.0}),
            "costs": pd.DataFrame({"item": ["energy"], "cost_per_year": [100.0 + minutes]}),
        },
        resolved_inputs={},
        root=root,
        created=T0 + dt.timedelta(minutes=minutes),
    )


def _truncate(run: Path) -> None:
    path = run / "tables" / "dispatch.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(run: Path) -> None:
    path = run / "tables" / "dispatch.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


def _garble_manifest(run: Path) -> None:
    (run / MANIFEST).write_text('{"kind": "site", "tables": {', encoding="utf-8")


def _drop_summary(run: Path) -> None:
    (run / SUMMARY).unlink()


def _escape_table(run: Path) -> None:
    manifest = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
    manifest["tables"]["dispatch"]["file"] = "../../../etc/hostname"
    (run / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated parquet": (_truncate, "bytes"),
    "unreadable run.json": (_garble_manifest, "run.json cannot be read"),
    "missing summary.json": (_drop_summary, "summary.json is missing"),
    "table outside the run": (_escape_table, "outside the run"),
}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _write(tmp_path, "good", 0)
    _write(tmp_path, "bad", 5)
    return tmp_path


def _bad(root: Path) -> Path:
    return next(p for p in root.iterdir() if p.name.startswith("bad-"))


def test_run_json_records_size_and_sha256_of_every_table(tmp_path: Path) -> None:
    run = _write(tmp_path, "x", 0)
    manifest = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
    for record in manifest["tables"].values():
        data = (run / record["file"]).read_bytes()
        assert record["bytes"] == len(data)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_run_is_listed_as_damaged_and_the_other_still_works(
    root: Path, damage: str
) -> None:
    breaker, reason = DAMAGE[damage]
    bad = _bad(root)
    breaker(bad)
    code, out, err = _run("runs", "list", "--root", str(root), "--format", "json")
    assert code == 0, err
    rows = {r["run"]: r for r in json.loads(out)}
    assert rows[bad.name]["status"] == "damaged" and reason in rows[bad.name]["problem"]
    good = next(r for r in rows.values() if r["name"] == "good")
    assert good["status"] == "optimal" and good["objective"] == 100.0 and good["problem"] is None
    assert f"damaged run {bad.name}" in err
    assert [r.name for r in list_runs(root)] == ["good"]

    for command in (
        ("runs", "show", bad.name),
        ("runs", "show", str(bad)),
        ("compare", "good", bad.name),
        ("report", bad.name, "--out", str(root.parent / f"{root.name}.html")),
        ("runs", "query", "SELECT count(*) FROM costs"),
    ):
        code, out, err = _run(*command, "--root", str(root))
        assert code == 2, (command, out)
        assert bad.name in err and "damaged" in err and "Traceback" not in err, command

    code, out, err = _run("runs", "show", "good", "--root", str(root), "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["objective"] == 100.0
    code, out, err = _run(
        "runs", "query", "SELECT sum(cost_per_year) AS c FROM costs", "--root", str(root),
        "--skip-damaged", "--format", "json",
    )  # fmt: skip
    assert code == 0 and json.loads(out) == [{"c": 100.0}]
    assert f"skipped damaged run {bad.name}" in err


def test_changed_bytes_of_the_same_size_are_caught_by_the_checksum(root: Path) -> None:
    bad = _bad(root)
    _flip_a_byte(bad)
    runs, damaged = scan_runs(root)  # the cheap scan checks sizes only
    assert len(runs) == 2 and damaged == []
    with pytest.raises(DamagedRun, match="SHA-256"):
        read_run(bad)
    code, _, err = _run("runs", "show", "bad", "--root", str(root))
    assert code == 2 and "SHA-256" in err and bad.name in err
    code, _, err = _run("runs", "query", "SELECT 1 AS one", "--root", str(root))
    assert code == 2 and bad.name in err


def test_a_run_written_before_sizes_were_recorded_is_checked_by_its_parquet_footer(
    root: Path,
) -> None:
    bad = _bad(root)
    manifest = json.loads((bad / MANIFEST).read_text(encoding="utf-8"))
    for record in manifest["tables"].values():
        del record["bytes"], record["sha256"]
    (bad / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert read_run(bad).table("dispatch")["grid_import_mw"].sum() == 1000.0
    _truncate(bad)
    with pytest.raises(DamagedRun, match="Parquet"):
        read_run(bad, checksums=False)


def test_files_and_folders_are_flushed_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file and folder of the run reaches fsync before the rename publishes it, and the
    parent folder after (else a power cut could publish a name whose contents are lost)."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace
    real_exchange = atomic.exchange_paths

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
        events.append(("rename", str(Path(a).resolve())))
        real_replace(a, b)

    def exchange(a: Path, b: Path) -> bool:
        events.append(("rename", str(Path(a).resolve())))
        return real_exchange(a, b)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic, "exchange_paths", exchange)
    out = tmp_path.resolve() / "fixed"
    for _ in range(2):  # a new folder, then a rewrite of it
        events.clear()
        write_run(out, kind="site", name="x", summary={}, resolved_inputs={},
                  tables={"dispatch": pd.DataFrame({"a": [1.0]})})  # fmt: skip
        (rename,) = [i for i, e in enumerate(events) if e[0] == "rename"]
        tmp = events[rename][1]
        synced_before = {path for kind, path in events[:rename] if kind == "fsync"}
        for rel in ("", "tables", "tables/dispatch.parquet", MANIFEST, SUMMARY):
            assert str(Path(tmp) / rel).rstrip("/") in synced_before, rel
        assert ("fsync", str(tmp_path.resolve())) in events[rename + 1 :]
