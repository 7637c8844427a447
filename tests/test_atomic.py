"""planner/atomic.py: the one write-then-rename helper, and the rule that it is the only one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner.atomic import (
    atomic_write,
    atomic_write_text,
    exchange_paths,
    recover_replaced_dirs,
    release_name,
    replace_dir,
    reserve_name,
)

REPO = Path(__file__).resolve().parents[1]
# Files that still rename on their own, each owned by work in progress elsewhere; switching them
# to planner.atomic is a one-line change (see the hardening branch's report).
NOT_YET = {"planner/results/report.py", "planner/serving/measurements.py"}


def _is_run(folder: Path) -> bool:
    return (folder / "run.json").is_file()


def test_atomic_write_replaces_whole_and_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    atomic_write_text(path, "old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("ne")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.json"]
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["table.json"]


def test_keep_suffix_lets_a_writer_choose_the_format_by_name(tmp_path: Path) -> None:
    seen: list[str] = []

    def write(tmp: Path) -> None:
        seen.append(tmp.suffix)
        tmp.write_text("x")

    atomic_write(tmp_path / "m.mps", write, keep_suffix=True)
    assert seen == [".mps"] and (tmp_path / "m.mps").read_text() == "x"


def test_replace_dir_swaps_a_folder_whole(tmp_path: Path) -> None:
    out, new = tmp_path / "run", tmp_path / ".run.tmp"
    out.mkdir()
    (out / "run.json").write_text("old")
    new.mkdir()
    (new / "run.json").write_text("new")
    replace_dir(new, out)
    assert (out / "run.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_exchange_swaps_two_folders_where_linux_can(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    if not exchange_paths(a, b):
        pytest.skip("this file system cannot exchange (the two-rename fallback is used)")
    assert (b / "x").read_text() == "a" and not (a / "x").exists()


def test_recovery_restores_a_parked_run_and_drops_finished_or_empty_parkings(
    tmp_path: Path,
) -> None:
    parked = tmp_path / ".lost.old-1-aa" / "lost"  # kill between the two renames
    parked.mkdir(parents=True)
    (parked / "run.json").write_text("{}")
    done = tmp_path / ".kept.old-1-bb" / "kept"  # kill after the second rename
    done.mkdir(parents=True)
    (done / "run.json").write_text("old")
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "run.json").write_text("new")
    (tmp_path / ".empty.old-1-cc").mkdir()  # kill before the first rename
    restored = recover_replaced_dirs(tmp_path, _is_run)
    assert restored == [tmp_path / "lost"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "lost"]
    assert (tmp_path / "kept" / "run.json").read_text() == "new"


def test_a_name_is_reserved_once(tmp_path: Path) -> None:
    target = tmp_path / "run-1"
    assert reserve_name(target)
    assert not reserve_name(target)
    release_name(target)
    target.mkdir()
    assert not reserve_name(target)  # taken by a folder
    assert not (tmp_path / ".run-1.reserved").exists()


def test_no_other_module_renames_files_on_its_own() -> None:
    """One write-then-rename helper: nothing but planner/atomic.py calls os.replace/rename."""
    pattern = re.compile(r"os\.replace\(|os\.rename\(|\b\w*tmp\w*\.(?:rename|replace)\(")
    found = []
    for folder in ("planner", "cli", "models", "benches"):
        for path in (REPO / folder).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            hits = pattern.findall(path.read_text(encoding="utf-8"))
            if hits and rel != "planner/atomic.py" and rel not in NOT_YET:
                found.append(f"{rel}: {hits}")
    assert not found
