"""Golden files of the CLI's surface (issue 17): `planner --help`, every sub-command's `--help`,
and the keys of one documented JSON output (`planner plan SCENARIO --format json` on the tiny
scenario), so a refactor cannot change what users see or parse by accident.

The goldens live in tests/golden/ (tests/golden/README.md). After a deliberate change to the CLI,
regenerate them and review the diff before committing:

    PLANNER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden_cli.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup
from typer.testing import CliRunner

from cli.app import COMMANDS, app, load_command

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("PLANNER_UPDATE_GOLDEN") == "1"
TINY = REPO / "scenarios/tiny/one_site_two_parts.yaml"
# A fixed terminal, no colour: help is laid out by rich to the terminal's width.
TERMINAL = {"COLUMNS": "100", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"}
# Help is rendered in a fresh interpreter without PLANNER_RUNS (tests/conftest.py points it at a
# temporary folder) or PLANNER_PROFILES, whose values would show as the options' defaults.
_RENDER = """
import json, sys
from typer.testing import CliRunner
from cli.app import app
terminal = json.loads(sys.argv[1])
out = {}
for args in json.loads(sys.argv[2]):
    result = CliRunner().invoke(app, [*args, "--help"], env=terminal, terminal_width=100)
    out[" ".join(args)] = [result.exit_code, result.output]
print(json.dumps(out))
"""


def _commands() -> list[list[str]]:
    """`[]` (planner itself), each noun, and each noun's verbs, as argument lists."""
    out: list[list[str]] = [[]]
    for name in COMMANDS:
        out.append([name])
        command = load_command(name)
        if isinstance(command, TyperGroup):
            out += [[name, verb] for verb in command.commands]
    return out


def _check(name: str, text: str) -> None:
    """Compare `text` with the golden file `name`, or write it when updating."""
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no golden {path}; run with PLANNER_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} differs: if the change is meant, rerun with PLANNER_UPDATE_GOLDEN=1 and review "
        "the diff"
    )


def test_every_command_has_a_help_golden() -> None:
    """No golden is left over from a command that went away."""
    names = {"help/" + "_".join(["planner", *args]) + ".txt" for args in _commands()}
    if not UPDATE:
        on_disk = {f"help/{p.name}" for p in (GOLDEN / "help").glob("*.txt")}
        assert on_disk == names


@cache
def _helps() -> dict[str, tuple[int, str]]:
    """Every command's help, rendered once, in a clean environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PLANNER_RUNS", "PLANNER_PROFILES")}
    done = subprocess.run(
        [sys.executable, "-c", _RENDER, json.dumps(TERMINAL), json.dumps(_commands())],
        capture_output=True, text=True, env={**env, **TERMINAL}, cwd=REPO, check=True,
    )  # fmt: skip
    return {k: (code, text) for k, (code, text) in json.loads(done.stdout).items()}


@pytest.mark.parametrize("args", _commands(), ids=lambda a: " ".join(["planner", *a]))
def test_help_is_as_recorded(args: list[str]) -> None:
    code, output = _helps()[" ".join(args)]
    assert code == 0, output
    text = "\n".join(line.rstrip() for line in output.splitlines()).strip() + "\n"
    _check("help/" + "_".join(["planner", *args]) + ".txt", text)


def key_paths(node: Any, at: str = "") -> list[str]:
    """Every key path of a JSON document; list items as `[]`, each path once."""
    paths: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{at}.{key}" if at else str(key)
            paths.append(here)
            paths += key_paths(value, here)
    elif isinstance(node, list):
        for item in node:
            paths += key_paths(item, f"{at}[]")
    return list(dict.fromkeys(paths))


def test_key_paths_collapse_lists() -> None:
    assert key_paths({"a": [{"b": 1}, {"b": 2, "c": {"d": 3}}]}) == [
        "a",
        "a[].b",
        "a[].c",
        "a[].c.d",
    ]


def test_plan_json_keys_are_as_recorded(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["plan", str(TINY), "--format", "json", "--out", str(out)], env=TERMINAL
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    _check("plan_json_keys.txt", "\n".join(key_paths(document)) + "\n")
