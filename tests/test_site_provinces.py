"""Province names come from a list with a did-you-mean (issue 13): 'Neimenggu' silently dropped
the 50% power subsidy of cn-2025-11 before; now it is an error naming file, field and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.errors import InputError
from planner.plan.scenario import parse_scenario
from planner.rules import RegimeLibrary
from planner.sites.schema import CN_PROVINCES, province_problem

ROOT = Path(__file__).resolve().parent.parent
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"


def cn_scenario(province: str) -> dict[str, Any]:
    data = yaml.safe_load(CN.read_text(encoding="utf-8"))
    data["sites"][0]["province"] = province
    return data


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("Neimenggu", "Inner Mongolia"), ("Nei Mongol", "Inner Mongolia"), ("Guizho", "Guizhou"),
     ("gansu", "Gansu"), ("Xizang", "Tibet")],
)  # fmt: skip
def test_unknown_names_get_a_did_you_mean(name: str, suggestion: str) -> None:
    assert f"did you mean '{suggestion}'?" in (province_problem("CN", name) or "")


def test_listed_names_and_unlisted_countries_pass() -> None:
    assert len(CN_PROVINCES) == 31 and "Inner Mongolia" in CN_PROVINCES
    assert province_problem("CN", "Inner Mongolia") is None
    assert province_problem("MY", "Johor") is None  # no list for Malaysia: free text


def test_a_scenario_with_a_misspelt_province_is_refused() -> None:
    with pytest.raises(InputError) as info:
        parse_scenario(cn_scenario("Neimenggu"), CN)
    text = str(info.value)
    assert "sites[0].province: 'Neimenggu' is not a province of CN" in text
    assert "did you mean 'Inner Mongolia'?" in text


def test_the_plan_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "cn.yaml"
    path.write_text(yaml.safe_dump(cn_scenario("Neimenggu")), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", str(path), "--relax"])
    assert result.exit_code == 2
    assert "Inner Mongolia" in result.stderr and "Traceback" not in result.stderr


def test_a_regime_file_names_its_subsidy_provinces_from_the_list(tmp_path: Path) -> None:
    shipped = RegimeLibrary.load()["cn-2025-11"].path.read_text(encoding="utf-8")
    folder = tmp_path / "export_regimes"
    folder.mkdir()
    bad = shipped.replace("[Gansu, Guizhou, Inner Mongolia]", "[Gansu, Guizhou, Neimenggu]")
    (folder / "cn-2025-11.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError) as info:
        RegimeLibrary.load([tmp_path])
    assert "regions[2]" in str(info.value) and "did you mean 'Inner Mongolia'?" in str(info.value)
