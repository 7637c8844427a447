"""Issue 16, "unclear messages": each case from the issue, through the command a user runs.

- a bad date names its field and its line;
- `hidden_size: 0` says what a hidden size must be (not a parameter-count mismatch);
- `--solver nosuch` lists the solvers there are (not "numerical error: try --relax");
- a NaN in a part profile is blamed on the profile, not on the scenario;
- a price in another currency says which, what the scenario counts in and how to convert;
- the site shortfall in MW: tests/test_site_cli.py (deferrable load, hand-worked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "scenarios/tiny/one_site_two_parts.yaml"
SITE = REPO / "scenarios/sites/guangdong_zhongshan.yaml"
H20 = REPO / "hardware_profiles/nvidia/h20.yaml"
LLAMA = REPO / "workload_profiles/llama-3.1-70b.yaml"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_bad_date_names_its_field_and_line(tmp_path: Path) -> None:
    text = H20.read_text(encoding="utf-8")
    assert "date: 2025-05," in text
    path = tmp_path / "overlay/hardware_profiles/nvidia/h20.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text.replace("date: 2025-05,", "date: 2025-13-05,"), encoding="utf-8")
    line = 1 + text.splitlines().index(next(x for x in text.splitlines() if "date: 2025-05," in x))
    code, output = _run("hardware", "show", "h20", "--profiles", str(tmp_path / "overlay"))
    assert code == 2
    assert (
        f"{path}: unit_price.date (line {line}): '2025-13-05' is not a date (month must be in "
        "1..12). Fix: write dates as YYYY-MM-DD with a real month and day." in output
    )


def test_a_zero_hidden_size_says_what_it_must_be(tmp_path: Path) -> None:
    data = yaml.safe_load(LLAMA.read_text(encoding="utf-8"))
    data["architecture"]["hidden_size"]["value"] = 0
    path = _write(tmp_path / "overlay/workload_profiles" / LLAMA.name, data)
    code, output = _run(
        "workload", "show", "llama-3.1-70b", "--profiles", str(tmp_path / "overlay")
    )
    assert code == 2
    assert (
        f"{path}: architecture.hidden_size.value: 0 is outside the possible range: the width of "
        "each token's hidden vector must be from 1 to 10,000,000." in output
    )
    assert "the architecture gives" not in output  # no parameter count from a zero width


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo"])
@pytest.mark.parametrize("command", ["plan", "site"])
def test_an_unknown_solver_lists_the_solvers(tmp_path: Path, backend: str, command: str) -> None:
    target = ["plan", str(TINY)] if command == "plan" else ["site", "size", str(SITE)]
    out = tmp_path / "run"
    code, output = _run(*target, "--backend", backend, "--solver", "nosuch", "--out", str(out))
    assert code == 2
    assert "unknown solver 'nosuch'. Known solvers: " in output
    assert "highs" in output.split("Known solvers:")[1]
    assert "numerical error" not in output and "--relax" not in output
    assert not out.exists()


def test_a_nan_in_a_part_profile_is_blamed_on_the_profile(tmp_path: Path) -> None:
    data = yaml.safe_load(H20.read_text(encoding="utf-8"))
    data["unit_price"]["value"] = float("nan")
    path = _write(tmp_path / "overlay/hardware_profiles/nvidia/h20.yaml", data)
    out = tmp_path / "run"
    code, output = _run(
        "plan", str(TINY), "--profiles", str(tmp_path / "overlay"), "--out", str(out)
    )
    assert code == 2
    assert f"{path}: unit_price.value: nan is not a number a figure can hold." in output
    assert f"{TINY}:" not in output  # the scenario is not blamed
    assert not out.exists()


def test_a_price_in_another_currency_says_which_and_how_to_convert(tmp_path: Path) -> None:
    data = yaml.safe_load(H20.read_text(encoding="utf-8"))
    data["unit_price"].update(value=80_000, currency="CNY")
    path = _write(tmp_path / "overlay/hardware_profiles/nvidia/h20.yaml", data)
    out = tmp_path / "run"
    code, output = _run(
        "plan", str(TINY), "--profiles", str(tmp_path / "overlay"), "--out", str(out)
    )
    assert code == 2
    assert (
        f"{TINY}: parts[0].price_per_part: 'h20' has no price_per_part here, and its profile "
        f"({path}) prices it at 80,000 CNY: that price is in CNY, and the scenario counts money "
        "in USD with no CNY rate to convert it. Fix: add exchange_rates.CNY: {value: <USD per 1 "
        "CNY>, source: ..., confidence: ...} to the scenario, or give this price in USD."
    ) in output
    assert "has no price (its profile has none)" not in output
    assert not out.exists()
