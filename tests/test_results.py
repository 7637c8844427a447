"""Run folders: written atomically, read back whole, never half-visible after a failure."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.errors import InputError, PlannerError
from planner.results.folders import (
    MANIFEST,
    find_run,
    list_runs,
    read_run,
    run_folder_name,
    write_run,
)

CREATED = dt.datetime(2026, 3, 1, 12, 30, 5, tzinfo=dt.UTC)


def _dispatch(import_mw: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": np.arange(len(import_mw)),
            "weight_h": 1.0,
            "grid_import_mw": import_mw,
        }
    )


def _write(root: Path, name: str = "alpha", **kw: object) -> Path:
    args: dict[str, object] = {
        "kind": "site",
        "name": name,
        "summary": {"status": "optimal", "objective": 10.0, "currency": "USD"},
        "tables": {"dispatch": _dispatch([1.0, 2.0, 3.0])},
        "resolved_inputs": {"assumptions": []},
        "root": root,
        "created": CREATED,
    }
    args.update(kw)
    return write_run(**args)  # type: ignore[arg-type]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_run_round_trips_tables_summary_and_hashed_inputs(tmp_path: Path) -> None:
    site_yaml = tmp_path / "site.yaml"
    site_yaml.write_text("name: x\n", encoding="utf-8")
    run_dir = _write(
        tmp_path / "runs",
        summary={"status": "optimal", "objective": 12.5, "gap": math.nan, "n": np.int64(3)},
        inputs_used=[site_yaml],
        solver_log="HiGHS: optimal\n",
    )
    assert run_dir == tmp_path / "runs" / "alpha-20260301T123005Z"
    run = read_run(run_dir)
    assert (run.kind, run.name, run.status) == ("site", "alpha", "optimal")
    assert run.created == "2026-03-01T12:30:05+00:00"
    assert run.summary == {"status": "optimal", "objective": 12.5, "gap": None, "n": 3}
    assert run.table("dispatch")["grid_import_mw"].sum() == 6.0
    assert run.solver_log() == "HiGHS: optimal\n"
    (record,) = run.inputs
    assert record["sha256"] == hashlib.sha256(b"name: x\n").hexdigest()
    assert (run_dir / record["copy"]).read_text(encoding="utf-8") == "name: x\n"
    assert run_dir.stat().st_mode & 0o755 == 0o755  # readable by others, not a private temp dir


def test_default_folder_is_name_and_timestamp_with_a_suffix_on_collision(tmp_path: Path) -> None:
    first = _write(tmp_path, name="a b/<c>")
    second = _write(tmp_path, name="a b/<c>")
    assert first.name == "a-b-c-20260301T123005Z"
    assert second.name == "a-b-c-20260301T123005Z-2"
    assert run_folder_name("...", CREATED) == "run-20260301T123005Z"
    assert [r.name for r in list_runs(tmp_path)] == ["a b/<c>", "a b/<c>"]


def test_exception_inside_writer_leaves_no_folder(tmp_path: Path) -> None:
    bad = pd.DataFrame({"mixed": [1, "two"]})  # pyarrow cannot store a column of int and str
    with pytest.raises(Exception, match=r"mixed|Conversion|convert"):
        _write(tmp_path, tables={"good": _dispatch([1.0]), "bad": bad})
    assert _leftovers(tmp_path) == []
    assert list_runs(tmp_path) == []


def test_failed_rewrite_keeps_the_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "fixed"
    _write(tmp_path, out_dir=out, summary={"status": "optimal", "objective": 1.0})
    with pytest.raises(InputError, match="input file not found"):
        _write(tmp_path, out_dir=out, inputs_used=[tmp_path / "missing.yaml"])
    assert read_run(out).summary["objective"] == 1.0
    assert _leftovers(tmp_path) == ["fixed"]
    _write(tmp_path, out_dir=out, summary={"status": "optimal", "objective": 2.0})
    assert read_run(out).summary["objective"] == 2.0
    assert _leftovers(tmp_path) == ["fixed"]


def test_will_not_overwrite_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError) as err:
        _write(tmp_path, out_dir=out)
    assert "not a run folder" in str(err.value) and "Fix:" in str(err.value)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert _leftovers(tmp_path) == ["precious"]


def test_out_dir_in_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^out: folder .* does not exist"):
        _write(tmp_path, out_dir=tmp_path / "nope" / "run")


def test_bad_table_names_and_reserved_columns_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="table name"):
        _write(tmp_path, tables={"Bad Name": _dispatch([1.0])})
    with pytest.raises(ValueError, match="'run' column"):
        _write(tmp_path, tables={"t": pd.DataFrame({"run": [1]})})
    assert _leftovers(tmp_path) == []


def test_incomplete_and_temporary_folders_are_not_runs(tmp_path: Path) -> None:
    good = _write(tmp_path)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.json").write_text("{}", encoding="utf-8")
    hidden = tmp_path / ".alpha.tmp-123"
    hidden.mkdir()
    (hidden / MANIFEST).write_text("{}", encoding="utf-8")
    assert [r.path for r in list_runs(tmp_path)] == [good]
    with pytest.raises(InputError, match="not a complete run folder"):
        read_run(tmp_path / "half")


def test_find_run_by_path_folder_name_or_latest_name(tmp_path: Path) -> None:
    older = _write(tmp_path, name="beta")
    newer = _write(tmp_path, name="beta", created=CREATED + dt.timedelta(hours=1))
    assert find_run("beta", tmp_path).path == newer
    assert find_run(older.name, tmp_path).path == older
    assert find_run(str(older), tmp_path / "elsewhere").path == older
    with pytest.raises(PlannerError, match="did you mean"):
        find_run("betta-20260301T123005Z", tmp_path)


_SLOW_WRITER = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    import pandas as pd
    from planner.results.folders import write_run

    # Ctrl-C as at a terminal: a shell that starts a job in the background without job
    # control leaves SIGINT ignored in it, and Python then installs no KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)

    class SlowToSerialise:
        # json falls back to str(); this stands for a writer busy mid-way through a run
        def __str__(self):
            print("WRITING", flush=True)
            time.sleep(60)
            return "never"

    write_run(
        kind="plan",
        name="interrupted",
        summary={"objective": 1.0},
        tables={"fleet": pd.DataFrame({"units_count": range(1000)})},
        resolved_inputs={"slow": SlowToSerialise()},
        root=Path(sys.argv[1]),
    )
    """
)


def _start_slow_writer(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "WRITING", proc.stderr.read() if proc.stderr else ""
    tmp_dirs = [p for p in root.iterdir() if p.name.startswith(".interrupted") and p.is_dir()]
    assert len(tmp_dirs) == 1 and (tmp_dirs[0] / "tables" / "fleet.parquet").is_file()
    return proc


def test_sigint_mid_write_leaves_nothing(tmp_path: Path) -> None:
    proc = _start_slow_writer(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in stderr
    assert _leftovers(tmp_path) == []
    assert list_runs(tmp_path) == []


def test_kill_mid_write_leaves_only_a_hidden_incomplete_folder(tmp_path: Path) -> None:
    proc = _start_slow_writer(tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    assert all(name.startswith(".") for name in _leftovers(tmp_path))
    assert list_runs(tmp_path) == []


def test_summary_json_is_valid_json_without_nan(tmp_path: Path) -> None:
    run_dir = _write(tmp_path, summary={"x": math.inf, "y": [1.0, math.nan]})
    text = (run_dir / "summary.json").read_text(encoding="utf-8")
    assert json.loads(text) == {"x": None, "y": [1.0, None]}
    assert "NaN" not in text and "Infinity" not in text


# --------------------------------------------------------------------------- a real site run


@pytest.fixture(scope="module")
def site_sizing():  # type: ignore[no-untyped-def]
    from planner.sites.site import load_site, parse_hours
    from planner.sites.sizing import size_site

    site = load_site(Path(__file__).parents[1] / "scenarios/sites/north_carolina_greensboro.yaml")
    return size_site(site, parse_hours("rep:4"))


def test_site_run_tables_add_up_to_the_objective(tmp_path: Path, site_sizing) -> None:  # type: ignore[no-untyped-def]
    from planner.results.folders import write_site_run

    run = read_run(write_site_run(site_sizing, root=tmp_path))
    costs = run.table("costs")
    assert costs["cost_per_year"].sum() == pytest.approx(run.summary["objective"], rel=1e-9)
    dispatch = run.table("dispatch")
    assert len(dispatch) == site_sizing.inputs.n_steps == 96
    sizes = run.table("sizes").set_index("asset")
    assert sizes.loc["battery", "energy_mwh"] == pytest.approx(site_sizing.solution.battery_mwh)
    assert run.summary["it_capacity_mw"] == pytest.approx(100.0)
    assert run.summary["unserved_it_mwh"] == pytest.approx(0.0, abs=1e-6)
    assumptions = {a["field"]: a for a in run.resolved_inputs()["assumptions"]}
    assert assumptions["load.pue"]["value"] == 1.2
    assert assumptions["load.pue"]["confidence"] == "estimate"
    assert assumptions["grid.demand_charge_per_mw_month"]["url"].startswith("https://")
    copies = sorted(Path(i["copy"]).name for i in run.inputs)
    assert copies == ["north_carolina_greensboro.yaml", "north_carolina_it_load.csv"]
