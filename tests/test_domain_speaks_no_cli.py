"""Issue 17: the domain speaks no CLI. No string the code of `planner/` builds names a command-line
flag; a bad value the caller passed is named by its parameter (`hours`), and the CLI renames it
to the flag its user typed (`--hours`), in the field and in the fix.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.errors import InputError, Problem
from planner.sites.site import parse_hours

REPO = Path(__file__).resolve().parents[1]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


ERRORS = {"InputError", "Problem", "PlannerError", "InfeasiblePlan", "UnknownName"}


def _raised_text(tree: ast.AST) -> list[ast.Constant]:
    """The string pieces of every error the code builds: the arguments of InputError(...),
    InputError.one/option(...), Problem(...), PlannerError(...), InfeasiblePlan(...) and
    UnknownName(...), f-strings included. (Documentation, and the comments of files the domain
    writes for a user to run, may show a command line.)"""
    out: list[ast.Constant] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = func.value if isinstance(func, ast.Attribute) else None
        named = name in ERRORS or (getattr(owner, "id", "") in ERRORS)
        if named:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                out += [
                    c
                    for c in ast.walk(arg)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                ]
    return out


def test_no_error_the_domain_raises_names_a_cli_flag() -> None:
    found = []
    for path in sorted((REPO / "planner").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _raised_text(tree):
            if FLAG.search(node.value):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert found == []


def test_the_check_sees_flags_in_errors() -> None:
    tree = ast.parse('raise InputError.one("--hours", "", f"bad {x}", "try --relax")')
    assert [c.value for c in _raised_text(tree) if FLAG.search(c.value)] == [
        "--hours",
        "try --relax",
    ]


def test_the_domain_names_the_parameter_and_the_cli_the_flag() -> None:
    with pytest.raises(InputError) as info:
        parse_hours("weekly")
    assert str(info.value) == (
        "hours: 'weekly' is not a time resolution. Fix: write 'full' or 'rep:N', N in 1..365."
    )
    renamed = info.value.with_flags({"hours": "--hours"})
    assert str(renamed).startswith("--hours: 'weekly' is not a time resolution.")


def test_a_fix_that_speaks_of_a_parameter_gets_its_flag() -> None:
    problem = Problem("runs", "", "2 run(s) are damaged.", "skip them.", options=("skip_damaged",))
    assert str(problem) == "runs: 2 run(s) are damaged. Fix: skip them (skip_damaged)."
    flagged = problem.with_flags({"skip_damaged": "--skip-damaged"})
    assert str(flagged) == "runs: 2 run(s) are damaged. Fix: skip them (--skip-damaged)."
    file_field = Problem("a.yaml", "hours", "x.")  # a file's field is never renamed
    assert file_field.with_flags({"hours": "--hours"}) == file_field


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["site", "size", "x.yaml", "--hours", "weekly"], "error: --hours: 'weekly'"),
        (["export", "classify", "h20", "--buyer", "CN", "--date", "2025-13-01"], "error: --date:"),
        (["export", "classify", "h20", "--buyer", "XX"], "error: --buyer: 'XX'"),
        (["runs", "show", "nosuch", "--root", "."], ": RUN: no complete run is named 'nosuch'"),
        (["report", "nosuch", "--root", "."], ": RUNS: no complete run is named 'nosuch'"),
    ],
)
def test_each_command_names_its_own_flags(
    args: list[str], shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(
        (REPO / "scenarios/sites/guangdong_zhongshan.yaml").read_text()
    )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert shown in result.output
