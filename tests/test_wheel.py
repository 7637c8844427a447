"""The built wheel carries the hardware catalogue: installed outside the repo, it lists every part.

Builds the wheel with the project's own venv (hatchling, no build isolation, no network),
installs it with `--no-deps` into a fresh venv in `tmp_path`, and makes the third-party
dependencies importable through a `.pth` line naming the project venv's site-packages. Lines of
a `.pth` file are only appended to `sys.path`, so the editable-install hooks living in that
directory stay inactive and `planner` must come from the wheel; the test checks that it does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED_IDS = sorted(
    p.stem for p in (REPO / "hardware_profiles").glob("*/*.yaml") if p.parent.name != "servers"
)


def run(args: list[str | Path], cwd: Path) -> str:
    """Run a command with no user overlays and no PYTHONPATH; fail with its output."""
    env = {k: v for k, v in os.environ.items() if k not in {"PLANNER_PROFILES", "PYTHONPATH"}}
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repo with only the built wheel installed; returns its bin/."""
    root = tmp_path_factory.mktemp("wheel")
    assert not root.is_relative_to(REPO)
    wheels = root / "wheels"
    build = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, REPO]
    run([sys.executable, "-m", "pip", *build], cwd=root)
    (wheel,) = wheels.glob("power_compute_planner-*.whl")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    python = venv / "bin" / "python"
    site_packages = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root
        ).strip()
    )
    (site_packages / "project_deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel], root
    )
    return venv / "bin"


def test_planner_is_imported_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = run(
        [
            installed / "python",
            "-c",
            "import planner, planner.paths; print(planner.__file__);"
            " print(planner.paths.shipped_dir('hardware_profiles'))",
        ],
        cwd=tmp_path,
    )
    module_file, data_dir = (Path(line) for line in out.splitlines())
    venv = installed.parent
    assert module_file.is_relative_to(venv), module_file
    assert data_dir == module_file.parent / "_data" / "hardware_profiles"


def test_installed_cli_lists_every_shipped_part(installed: Path, tmp_path: Path) -> None:
    # issue 13 added mi308x, ascend-950pr/dt, rtx-pro-6000, b30a; issue 15 six host CPUs
    assert len(SHIPPED_IDS) == 32
    out = run([installed / "planner", "hardware", "list", "--format", "json"], cwd=tmp_path)
    assert sorted(row["id"] for row in json.loads(out)) == SHIPPED_IDS
