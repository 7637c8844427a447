"""Races and kills: real processes, SIGKILL at chosen and at random moments, concurrent writers.

The promise (docs/results.md, Durability): after a SIGKILL at any moment of writing or rewriting a
run, the next start lists either the old run or the new one under its name, never neither and
never a half-written one; two writers of one name in one second get two folders.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from planner.results.folders import list_runs, read_run, write_run

REPO = Path(__file__).resolve().parents[1]
PLANNER = str(Path(sys.executable).parent / "planner")

# The child writes run `fixed` (objective = argv[3]) and stops for good at the named moment,
# after printing AT, so the parent can SIGKILL it exactly there.
_CHILD = textwrap.dedent(
    """
    import datetime as dt, os, shutil, sys, time
    from pathlib import Path
    import pandas as pd
    from planner import atomic
    from planner.results import folders

    root, moment = Path(sys.argv[1]), sys.argv[2]
    objective, rows = float(sys.argv[3]), int(sys.argv[4])

    def stop():
        print("AT", flush=True)
        time.sleep(120)

    def wrap(module, name, before=False, after=False):
        real = getattr(module, name)
        def wrapped(*args, **kwargs):
            if before:
                stop()
            result = real(*args, **kwargs)
            if after:
                stop()
            return result
        setattr(module, name, wrapped)

    if moment == "before_flush":
        wrap(atomic, "fsync_tree", before=True)
    elif moment == "before_exchange":
        wrap(atomic, "exchange_paths", before=True)
    elif moment == "after_exchange":
        wrap(atomic, "exchange_paths", after=True)
    elif moment in ("between_renames", "after_renames"):
        atomic.exchange_paths = lambda a, b: False  # the two-rename fallback
        real_replace = os.replace
        def replace(a, b):
            real_replace(a, b)
            if moment == "between_renames" and ".old-" in str(b):
                stop()
            if moment == "after_renames" and ".old-" not in str(b) and ".old-" not in str(a):
                stop()
        atomic.os.replace = replace
    elif moment == "before_release":
        wrap(folders, "release_name", before=True)
    print("START", flush=True)
    out = None if moment in ("before_release", "default") else root / "fixed"
    folders.write_run(
        out,
        kind="plan",
        name="fixed",
        summary={"objective": objective},
        tables={
            "fleet": pd.DataFrame({"units_count": range(rows)}),
            "costs": pd.DataFrame({"c": [objective]}),
        },
        resolved_inputs={},
        root=root,
        created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    print("DONE", flush=True)
    """
)


def _start(root: Path, moment: str, objective: float, rows: int = 1000) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), moment, str(objective), str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def _kill_at(root: Path, moment: str, objective: float) -> None:
    proc = _start(root, moment, objective)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "START", proc.communicate()[1]
    line = proc.stdout.readline().strip()
    assert line == "AT", (line, proc.communicate()[1])
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def _listed_next_start(root: Path) -> list[float]:
    """What a fresh process lists (its listing recovers interrupted rewrites)."""
    out = subprocess.run(
        [PLANNER, "runs", "list", "--root", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=120,
    ).stdout
    return [row["objective"] for row in json.loads(out) if row["status"] != "damaged"]


def _old_run(root: Path) -> Path:
    return write_run(
        root / "fixed",
        kind="plan",
        name="fixed",
        summary={"objective": 1.0},
        tables={"fleet": pd.DataFrame({"units_count": [1]}), "costs": pd.DataFrame({"c": [1.0]})},
        resolved_inputs={},
    )


@pytest.mark.parametrize(
    ("moment", "listed"),
    [
        ("before_flush", 1.0),  # new run written in its temp folder, not flushed yet
        ("before_exchange", 1.0),  # new run flushed, about to swap
        ("after_exchange", 2.0),  # swapped, old run not yet removed
        ("between_renames", 1.0),  # fallback: old moved aside, new not yet in place -> restored
        ("after_renames", 2.0),  # fallback: new in place, old not yet removed
    ],
)
def test_sigkill_during_a_rewrite_leaves_the_old_or_the_new_run(
    tmp_path: Path, moment: str, listed: float
) -> None:
    _old_run(tmp_path)
    _kill_at(tmp_path, moment, 2.0)
    assert _listed_next_start(tmp_path) == [listed]
    assert not any(".old-" in p.name for p in tmp_path.iterdir())  # recovery tidied up
    write_run(
        tmp_path / "fixed",
        kind="plan",
        name="fixed",
        summary={"objective": 3.0},
        tables={"fleet": pd.DataFrame({"units_count": [3]})},
        resolved_inputs={},
    )
    assert [r.summary["objective"] for r in list_runs(tmp_path)] == [3.0]


def test_sigkill_after_publishing_keeps_the_run_and_its_name_reserved(tmp_path: Path) -> None:
    _kill_at(tmp_path, "before_release", 2.0)
    (run,) = list_runs(tmp_path)
    assert run.run_id == "fixed-20260101T000000Z" and run.summary["objective"] == 2.0
    proc = _start(tmp_path, "default", 5.0)
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    ids = sorted(r.run_id for r in list_runs(tmp_path))
    assert ids == ["fixed-20260101T000000Z", "fixed-20260101T000000Z-2"]


def test_sigkill_at_random_moments_never_leaves_neither(tmp_path: Path) -> None:
    _old_run(tmp_path)
    rng = random.Random(16)
    current = 1.0
    for attempt in range(10):
        new = 10.0 + attempt
        proc = _start(tmp_path, "none", new, rows=300_000)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "START"
        time.sleep(rng.uniform(0.0, 0.25))  # a write takes ~0.1-0.2 s after START
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        runs = list_runs(tmp_path)
        assert len(runs) == 1, attempt
        assert runs[0].summary["objective"] in (current, new), attempt
        read_run(runs[0].path)  # whole, checksums included
        current = runs[0].summary["objective"]


_SAME_NAME = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from pathlib import Path
    import pandas as pd
    from planner.results.folders import write_run

    root, start, me = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    time.sleep(max(0.0, start - time.time()))
    path = write_run(kind="plan", name="same", summary={"objective": me},
                     tables={"fleet": pd.DataFrame({"units_count": [me]})}, resolved_inputs={},
                     root=root, created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    print(path.name, flush=True)
    """
)


def test_writers_of_one_name_in_one_second_get_a_folder_each(tmp_path: Path) -> None:
    start = time.time() + 4.0  # every child imported and waiting before this instant
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SAME_NAME, str(tmp_path), str(start), str(float(i))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for i in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    names = sorted(o.strip() for o, _ in outs)
    base = "same-20260101T000000Z"
    assert names == [base, f"{base}-2", f"{base}-3", f"{base}-4"]
    objectives = sorted(r.summary["objective"] for r in list_runs(tmp_path))
    assert objectives == [0.0, 1.0, 2.0, 3.0]
    assert not any(p.name.endswith(".reserved") for p in tmp_path.iterdir())
