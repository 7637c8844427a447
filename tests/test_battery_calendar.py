"""The battery's calendar ageing cost (docs/extending.md, the worked example): a cost per MWh of
battery in service per year, added to the plan's objective in both backends and recomputed by the
independent checker; folded into the site model's annual cost per MWh like fixed O&M."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from models.capacity import CapacityInputs
from models.capacity_check import check_solution
from tests.test_capacity_model import BACKENDS, solved, tiny

ROOT = Path(__file__).resolve().parents[1]
CALENDAR_PER_MWH_YEAR = 1_000.0


def two_years_with_a_battery(**overrides: Any) -> CapacityInputs:
    """One part (A: 10, 100 tok/s, 1 MW busy), interactive demand of 100 tok/s in step 0 of a
    two-step day, both years; grid 100 then 10 per MWh; PUE 1.5; a lossless battery at 1 per MWh
    and 1 per MW. Year 1 stands for two years and is worth 0.9 today."""
    base: dict[str, Any] = dict(
        n_parts=1,
        n_years=2,
        n_steps=2,
        discount_fraction=np.array([1.0, 0.9]),
        duration_years=np.array([1.0, 2.0]),
        active_w=np.array([1e6]),
        pue=np.full((1, 2), 1.5),
        demand_tokens_per_s=np.array([[[100.0, 0.0], [100.0, 0.0]]]),
        price_per_mwh=np.array([[[100.0, 10.0], [100.0, 10.0]]]),
        unserved_penalty_per_mtok=1_000.0,
    )
    base.update(overrides)
    return tiny(**base)


@pytest.mark.parametrize("backend", BACKENDS)
def test_calendar_cost_adds_its_hand_computed_amount(backend: str) -> None:
    """Without the cost: the part (10), a 1.5 MWh / 1.5 MW battery built in year 0 (3), and
    energy charged at 10 for the 1.5 MW discharged in step 0: 1.5 x 4,380 x 10 = 65,700 a year,
    x (1 + 0.9 x 2) = 183,960; optimum 183,973. At 1,000 per MWh-year the 1.5 MWh in service
    in both periods add 1.5 x 1,000 x (1 x 1 + 0.9 x 2) = 4,200 (the battery still saves
    591,300 a year), and nothing else moves. The checker recomputes the term and the objective."""
    plain = solved(two_years_with_a_battery(), backend)
    assert plain.objective == pytest.approx(183_973.0, rel=1e-9)
    cost = np.full((1, 2), CALENDAR_PER_MWH_YEAR)
    aged = solved(two_years_with_a_battery(battery_calendar_cost_per_mwh_year=cost), backend)
    assert aged.objective - plain.objective == pytest.approx(4_200.0, rel=1e-9)
    assert aged.costs is not None and aged.costs.battery_calendar == pytest.approx(4_200.0)
    np.testing.assert_allclose(aged.battery_built_mwh, [[1.5, 0.0]], atol=1e-9)


def test_the_checker_catches_a_wrong_calendar_cost() -> None:
    """A solution that reports no calendar cost, or an objective without it, is flagged."""
    x = two_years_with_a_battery(battery_calendar_cost_per_mwh_year=np.full((1, 2), 1_000.0))
    s = solved(x, "cvxpy")
    assert s.costs is not None
    wrong = replace(s, costs=replace(s.costs, battery_calendar=0.0), objective=s.objective - 4_200)
    problems = check_solution(x, wrong)
    assert any("battery_calendar" in p for p in problems), problems
    assert any("objective" in p for p in problems), problems


def test_a_negative_calendar_cost_is_refused() -> None:
    from models.capacity_validation import InvalidCapacityInputs
    from models.dispatch import solve_capacity

    x = two_years_with_a_battery(battery_calendar_cost_per_mwh_year=np.full((1, 2), -1.0))
    with pytest.raises(InvalidCapacityInputs, match="battery_calendar_cost_per_mwh_year"):
        solve_capacity(x)


def test_the_site_model_adds_it_to_fixed_om(tmp_path: Path) -> None:
    """`site size` annualises the battery's capital cost and adds fixed O&M and the calendar
    cost, both per MWh-year: the annual cost per MWh rises by exactly the calendar cost."""
    from planner.sites.site import load_site

    source = ROOT / "scenarios/sites/north_carolina_greensboro.yaml"
    for extra in source.parent.glob("*.csv"):
        (tmp_path / extra.name).write_bytes(extra.read_bytes())
    data = yaml.safe_load(source.read_text())
    plain_file = tmp_path / "plain.yaml"
    plain_file.write_text(yaml.safe_dump(data))
    data["battery"]["calendar_cost_per_mwh_year"] = {
        "value": 4_100,
        "source": "https://atb.nrel.gov/electricity/2020/index.php?t=st&s=om",
        "confidence": "estimate",
        "note": "2.5 % of 165,000 per MWh a year (ATB: fixed O&M compensates degradation).",
    }
    aged_file = tmp_path / "aged.yaml"
    aged_file.write_text(yaml.safe_dump(data))
    plain, aged = load_site(plain_file), load_site(aged_file)
    assert math.isclose(
        aged.battery_annual_cost_per_mwh - plain.battery_annual_cost_per_mwh, 4_100, rel_tol=1e-12
    )


def test_a_scenario_battery_reaches_the_plan(tmp_path: Path) -> None:
    """A scenario's `battery.calendar_cost_per_mwh_year` becomes the plan's (S, Y) input; left
    out, the plan has no calendar term at all."""
    from planner.plan.resolve import resolve
    from planner.plan.scenario import load_scenario

    source = ROOT / "scenarios/tiny/flexible_connection.yaml"
    (tmp_path / "sites").symlink_to(ROOT / "scenarios/sites")
    (tmp_path / "tiny").mkdir()
    data = yaml.safe_load(source.read_text())
    data["battery"]["calendar_cost_per_mwh_year"] = {
        "value": 4_100,
        "source": "https://atb.nrel.gov/electricity/2020/index.php?t=st&s=om",
        "confidence": "estimate",
        "note": "2.5 % of 165,000 per MWh a year.",
    }
    aged_file = tmp_path / "tiny" / source.name
    aged_file.write_text(yaml.safe_dump(data))
    x = resolve(load_scenario(aged_file)).inputs
    n_s, n_y = x.shape[2], x.shape[3]
    cost = x.battery_calendar_cost_per_mwh_year
    assert cost is not None
    np.testing.assert_array_equal(cost, np.full((n_s, n_y), 4_100.0))
    assert resolve(load_scenario(source)).inputs.battery_calendar_cost_per_mwh_year is None


def test_the_decomposition_counts_it_once() -> None:
    """Benders: the term rides on the battery in service, a first-stage quantity, so the master
    carries it and each period's subproblem leaves it out; the decomposed plan costs what the
    monolith does, calendar term included."""
    from models.benders import BendersOptions, solve_benders
    from models.benders_runner import InProcessRunner

    x = two_years_with_a_battery(
        battery_calendar_cost_per_mwh_year=np.full((1, 2), CALENDAR_PER_MWH_YEAR), relax=True
    )
    want = solved(x, "pyomo")
    got = solve_benders(x, InProcessRunner, BendersOptions(mip_gap=1e-6)).solution
    assert got.objective == pytest.approx(want.objective, rel=1e-5)
    assert got.costs is not None and got.costs.battery_calendar == pytest.approx(4_200.0, rel=1e-5)
    assert check_solution(x, got) == []
