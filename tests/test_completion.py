"""Shell completion of part, workload, scenario and regime ids, through click's completion API
(the same calls bash, zsh and fish make), and once end to end through `_PLANNER_COMPLETE`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer._completion_classes import BashComplete  # click's ShellComplete, as typer ships it

from cli.app import app

ROOT = Path(__file__).resolve().parent.parent


def complete(args: list[str], incomplete: str) -> list[str]:
    """What the shell would offer after `planner ARGS INCOMPLETE<TAB>`."""
    shell = BashComplete(typer.main.get_command(app), {}, "planner", "_PLANNER_COMPLETE")
    return [item.value for item in shell.get_completions(args, incomplete)]


@pytest.mark.parametrize(
    ("args", "incomplete", "expected"),
    [
        (["hardware", "show"], "h20", ["h20", "h200"]),
        (["hardware", "compare", "h20"], "mi30", ["mi300x", "mi308x"]),
        (["export", "classify"], "ascend-91", ["ascend-910b", "ascend-910c"]),
        (["export", "terms"], "b3", ["b300", "b30a"]),
        (["serving", "estimate", "--workload"], "qwen3-3", ["qwen3-30b-a3b", "qwen3-32b"]),
        (["serving", "estimate", "--part"], "gb", ["gb200"]),
        (["workload", "show"], "llama-3.1-", ["llama-3.1-405b", "llama-3.1-70b", "llama-3.1-8b"]),
        (["plan", "cn_maas_2026", "--regime"], "us-2026", ["us-2026-01"]),
        (["export", "classify", "--regime"], "cn-", ["cn-2025-11", "cn-2026-01"]),
        (["export", "regimes", "new", "--from"], "us-2025-0", ["us-2025-01", "us-2025-04",
                                                               "us-2025-05", "us-2025-08"]),
        (["scenario", "new", "--parts"], "h20,ascend-910", ["h20,ascend-910b", "h20,ascend-910c"]),
        (["scenario", "new", "--workload"], "deepseek", ["deepseek-r1", "deepseek-v3"]),
    ],
)  # fmt: skip
def test_ids_complete(args: list[str], incomplete: str, expected: list[str]) -> None:
    assert complete(args, incomplete) == expected


def test_scenarios_complete_by_name_and_by_path(tmp_path: Path, monkeypatch) -> None:
    for command in (["plan"], ["demand", "show"], ["scenario", "check"], ["sweep", "run"]):
        assert complete(command, "cn_")[0] == "cn_maas_2026"
    (tmp_path / "mine.yaml").write_text("name: x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    assert complete(["plan"], "")[-2:] == ["mine.yaml", "sub/"]  # no .txt offered
    assert complete(["scenario", "check"], "mi") == ["mine.yaml"]


def test_completion_offers_exactly_the_ids_the_loaders_accept() -> None:
    from planner.catalogue.parts import Catalogue
    from planner.rules import RegimeLibrary
    from planner.serving.workloads import WorkloadLibrary

    assert complete(["hardware", "show"], "") == sorted(Catalogue.load().parts)
    assert complete(["workload", "show"], "") == sorted(WorkloadLibrary.load().workloads)
    assert complete(["plan", "x", "--regime"], "") == sorted(RegimeLibrary.load().regimes)


def test_overlays_on_the_line_are_completed_too(tmp_path: Path) -> None:
    folder = tmp_path / "export_regimes"
    folder.mkdir()
    (folder / "us-2027-01.yaml").write_text("id: us-2027-01\n")
    args = ["export", "classify", "--profiles", str(tmp_path), "--regime"]
    assert complete(args, "us-2027") == ["us-2027-01"]
    assert complete(["export", "classify", "--regime"], "us-2027") == []


def test_the_shell_script_and_a_completion_end_to_end() -> None:
    code = "import sys; sys.argv = ['planner']; from cli.app import main; main()"
    env = {**os.environ, "_PLANNER_COMPLETE": "source_bash"}
    script = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert "_planner_completion" in script.stdout and "complete -o" in script.stdout
    env |= {
        "_PLANNER_COMPLETE": "complete_bash", "COMP_WORDS": "planner hardware show h20",
        "COMP_CWORD": "3",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.stdout.split() == ["h20", "h200"], done.stderr
