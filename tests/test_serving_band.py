"""The `serving.band` knob: a plan's serving rates taken at k times their error band.

Each part family's band, for dense models and for mixtures of experts, is the largest factor f
by which a held-out row of it missed, either way (leave-one-part-out and the test set;
calibration.yaml, `error_bands`, written as f - 1): the rate a part would have if the model were
as far off as the worst held-out row is r f^k."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from models.capacity_check import check_solution
from planner.errors import InputError
from planner.plan.overrides import apply_overrides
from planner.plan.resolve_parts import band_factors
from planner.plan.resolver import Resolver
from planner.plan.solve import ResolvedPlan, resolve, solve_plan
from planner.results.folders import read_run
from planner.results.plan_story import plan_story

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "tiny" / "subsidy_choice.yaml"  # H20 and Zhenwu PPU, one workload
TABLE = ROOT / "workload_profiles" / "serving" / "calibration.yaml"


def band_of(family: str) -> float:
    """The family's error band as the shipped calibration table writes it."""
    return float(yaml.safe_load(TABLE.read_text())["error_bands"][family]["value"])


def banded(k: float) -> ResolvedPlan:
    return resolve(apply_overrides(SCENARIO, {"serving.band": k})[0])


@pytest.fixture(scope="module")
def base() -> ResolvedPlan:
    return resolve(apply_overrides(SCENARIO, {})[0])


@pytest.mark.parametrize("k", [-1.0, -0.5, 1.0])
def test_each_rate_moves_by_its_own_family_band(base: ResolvedPlan, k: float) -> None:
    """Qwen3-30B-A3B (a mixture of experts) on the H20 (Hopper's MoE band, 0.823: a test row
    1.82x too fast) and on the Zhenwu PPU (no family of its own: the default's MoE band, 1.91: a
    test row 2.91x too slow) move apart: at k = -1 to 1/1.82 and 1/2.91 of their rates."""
    ratio = banded(k).inputs.tokens_per_s_per_part / base.inputs.tokens_per_s_per_part
    expected = [(1.0 + band_of("hopper-moe")) ** k, (1.0 + band_of("default-moe")) ** k]
    assert ratio[0] == pytest.approx(expected, rel=1e-12)
    assert band_of("hopper-moe") == 0.823 and band_of("default-moe") == 1.91


def test_one_family_moves_alone(base: ResolvedPlan) -> None:
    """`serving.band.hopper = -1` takes the H20 (Hopper) to the low edge of Hopper's bands and
    leaves the Zhenwu PPU (no fitted family) as modelled; a family's own k overrides
    `serving.band` for its parts: with `serving.band = 0.5` beside `serving.band.default = -1`
    the H20 rises by half a Hopper band and the PPU falls by a whole default one."""
    hopper = band_of("hopper-moe"), band_of("default-moe")
    for params, (k_h20, k_ppu) in (
        ({"serving.band.hopper": -1.0}, (-1.0, 0.0)),
        ({"serving.band": 0.5, "serving.band.default": -1.0}, (0.5, -1.0)),
    ):
        plan = resolve(apply_overrides(SCENARIO, params)[0])
        ratio = plan.inputs.tokens_per_s_per_part / base.inputs.tokens_per_s_per_part
        expected = [(1.0 + hopper[0]) ** k_h20, (1.0 + hopper[1]) ** k_ppu]
        assert ratio[0] == pytest.approx(expected, rel=1e-12)
        (note,) = [n for n in plan.notes if "serving.band" in n]
        assert all(f"{knob} = {v:g}" in note for knob, v in params.items())


def test_a_family_the_table_does_not_know_is_an_input_error(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["plan", str(SCENARIO), "--set", "serving.band.hoper=-1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "serving.band.hoper" in result.output and "hopper" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_zero_is_the_model_and_says_nothing(base: ResolvedPlan) -> None:
    plan = banded(0.0)
    assert (plan.inputs.tokens_per_s_per_part == base.inputs.tokens_per_s_per_part).all()
    assert not any("serving.band" in note for note in plan.notes)


def test_the_plan_says_how_far_each_part_moved() -> None:
    notes = [n for n in banded(-1.0).notes if "serving.band" in n]
    assert len(notes) == 1 and "h20 x0.65 (MoE x0.55)" in notes[0]
    assert "zhenwu-ppu x0.56 (MoE x0.34)" in notes[0]


def test_slower_rates_cost_more(base: ResolvedPlan) -> None:
    """At the band's low edge the same demand needs more parts: the optimum cannot fall, and on
    this scenario it rises (every part serves fewer tokens, none is free)."""
    low = banded(-1.0)
    costs = []
    for plan in (base, low):
        result = solve_plan(plan, backend="pyomo", mip_gap=1e-9, duals=False)
        assert check_solution(plan.inputs, result.solution) == []
        costs.append(result.solution.objective)
    assert costs[1] > costs[0] * 1.05


@pytest.mark.parametrize("k", [-1.5, 2.0])
def test_a_band_beyond_one_is_an_input_error(k: float) -> None:
    with pytest.raises(InputError) as err:
        apply_overrides(SCENARIO, {"serving.band": k})
    problem = err.value.problems[0]
    assert problem.field == "serving.band" and problem.file == str(SCENARIO)
    assert "from -1" in problem.fix


def test_cli_refuses_it_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["plan", str(SCENARIO), "--set", "serving.band=3", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "serving.band" in result.output and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("knob", ["serving.band", "demand.scale", "demand.growth"])
def test_a_knob_that_is_not_a_number_is_an_input_error(knob: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["plan", str(SCENARIO), "--set", f"{knob}=abc", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert f"{knob}: is 'abc', not a number" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_the_run_records_its_settings(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["plan", str(SCENARIO), "--set", "serving.band=-0.5", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"] == {"serving.band": -0.5}
    assert any("serving.band = -0.5" in note for note in summary["notes"])
    assert plan_story(read_run(out)).startswith("A what-if of the scenario (serving.band = -0.5).")


class _Band:
    """A calibration table whose every family has the same error band, dense and MoE apart."""

    def __init__(self, dense: float, moe: float) -> None:
        self.bands = {False: dense, True: moe}

    def error_band(self, part_id: str, moe: bool = False) -> tuple[float, str]:
        return self.bands[moe], "test"


def test_a_band_of_100_percent_or_more_has_both_edges() -> None:
    """A miss of 2.25x (a band of 1.25) either way: k = 1 takes the rate at 2.25x, k = -1 at
    1 / 2.25, with no singularity (the band is a factor, not a linear error)."""
    stacks = SimpleNamespace(calibration=_Band(0.1, 1.25))
    parts = [SimpleNamespace(id="h20"), SimpleNamespace(id="zhenwu-ppu")]
    for k, moe_factor in ((1.0, 2.25), (-1.0, 1 / 2.25), (-0.5, 1 / 1.5)):
        r = Resolver(apply_overrides(SCENARIO, {"serving.band": k})[0])
        factors = band_factors(r, parts, stacks)  # type: ignore[arg-type]
        assert factors[("h20", True)] == pytest.approx(moe_factor)
        assert factors[("zhenwu-ppu", False)] == pytest.approx(1.1**k)
        assert not r.problems


def test_a_table_without_bands_by_kind_gives_its_family_band_to_both() -> None:
    """A calibration overlay written before the MoE bands has one band a family: MoE workloads
    take it too, so older overlays keep working."""
    from planner.serving.efficiency import load_stacks

    table = load_stacks().calibration
    assert table is not None
    old = type(table)(**{**vars(table), "error_bands": {
        k: v for k, v in table.error_bands.items() if not k.endswith("-moe")
    }})  # fmt: skip
    assert old.error_band("h20", moe=True) == old.error_band("h20", moe=False)
    assert table.error_band("h20", moe=True)[0] == 0.823
    assert table.error_band("h20", moe=False)[0] == pytest.approx(0.545)
