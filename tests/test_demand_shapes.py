"""Sourced day-and-week shapes (issue 14): the arithmetic of a week, the shipped shapes, a user's
CSV, their errors, and a plan that keeps each day's peak and the week's tokens."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.demand.shapes import read_shape_csv, read_shape_yaml, shipped_shapes
from planner.errors import InputError
from planner.plan.resolve import resolve
from planner.plan.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_half_load_weekend_by_hand(tmp_path: Path) -> None:
    """Weekday load 1 every hour, weekend 0.5: m = (5 x 24 + 2 x 12) / 7 = 144/7, so a weekday
    hour carries 7/144 of the mean day, a weekend hour 3.5/144, and a week 7 mean days."""
    csv = tmp_path / "half.csv"
    csv.write_text("hour,weekday,weekend\n" + "".join(f"{h},1,0.5\n" for h in range(24)))
    shape = read_shape_csv(csv)
    assert shape.weekday_share_fraction == pytest.approx(np.full(24, 7 / 144))
    assert shape.weekend_share_fraction == pytest.approx(np.full(24, 3.5 / 144))
    week = 5 * shape.weekday_share_fraction.sum() + 2 * shape.weekend_share_fraction.sum()
    assert week == pytest.approx(7.0)
    assert shape.peak_to_mean == pytest.approx(24 * 7 / 144)


def test_shipped_shapes_cite_their_trace_and_swing() -> None:
    shapes = {name: read_shape_yaml(path) for name, path in shipped_shapes().items()}
    assert {"azure-conv-2024", "azure-code-2024", "burstgpt-conv-2023"} <= set(shapes)
    for shape in shapes.values():
        assert "github.com" in shape.source and shape.confidence == "derived"
        assert shape.peak_to_mean > 1.3
    code = shapes["azure-code-2024"]
    assert code.weekend.sum() < 0.5 * code.weekday.sum()  # coding falls away at the weekend


def test_demand_show_reports_a_peak_above_the_mean_for_interactive_work() -> None:
    code, out, _ = run("demand", "show", "cn_maas_2026", "--format", "json")
    assert code == 0
    chat = [r for r in json.loads(out) if r["workload"] == "chat"]
    assert chat and all(r["peak_tokens_per_s"] >= 1.3 * r["mean_tokens_per_s"] for r in chat)
    assert all("Azure LLM inference trace 2024" in r["shape"] for r in chat)


def _tiny_with(tmp_path: Path, **work: object) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["demand"]["workloads"][0].update(work)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_weekly_plan_keeps_the_weekday_peak_and_the_years_tokens(tmp_path: Path) -> None:
    path = _tiny_with(tmp_path, shape="azure-code-2024")
    scenario = load_scenario(path)
    x = resolve(scenario).inputs
    assert x.weight_h.shape == (2 * 24,)  # one representative day, as weekday and weekend
    assert x.weight_h.sum() == pytest.approx(8760.0)
    per_year = np.einsum("wyt,t->wy", x.demand_tokens_per_s, x.weight_h) * 3600
    daily = scenario.demand.tokens_per_day
    assert per_year == pytest.approx(daily * 365, rel=1e-9)
    peak = x.demand_tokens_per_s.max(axis=2)
    assert peak == pytest.approx(scenario.demand.peak_tokens_per_s, rel=1e-9)


def test_an_unknown_shape_exits_2_naming_the_field_and_the_choices(tmp_path: Path) -> None:
    path = _tiny_with(tmp_path, shape="azure-chat")
    code, out, err = run("demand", "show", str(path))
    assert code == 2
    assert "demand.workloads[0].shape" in err and "azure-conv-2024" in err
    assert "Traceback" not in out + err


def test_shape_and_diurnal_together_are_refused(tmp_path: Path) -> None:
    path = _tiny_with(tmp_path, shape="azure-conv-2024", diurnal=[1 / 24] * 24)
    with pytest.raises(InputError, match="both `shape` and `diurnal`"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("hour,weekday\n" + "".join(f"{h},1\n" for h in range(23)), "hours are not 0..23"),
        ("hour,weekday\n" + "".join(f"{h},-1\n" for h in range(24)), "negative"),
        ("hour,load\n0,1\n", "no 'weekday' column"),
        ("hour,weekday\n" + "".join(f"{h},x\n" for h in range(24)), "not a number"),
    ],
)
def test_a_bad_shape_csv_names_its_file(tmp_path: Path, body: str, words: str) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(body)
    with pytest.raises(InputError, match=words) as info:
        read_shape_csv(csv)
    assert "bad.csv" in str(info.value)
