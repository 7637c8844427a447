"""The domestic-chip power subsidy as the optimiser's choice (eq. 18 of docs/capacity_model.md).

A private site in a subsidy province may hold foreign parts; if it runs domestic parts only in a
year it earns the rule's cut of its power bill. The model decides with a binary d per site and
year. Scenario: scenarios/tiny/subsidy_choice.yaml (test values, one private Guizhou site).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from models.capacity import CapacityInputs, foreign_parts_bound, peak_busy_parts
from models.capacity_check import check_solution
from planner.errors import InputError
from planner.plan.scenario import load_scenario
from planner.plan.solve import PlanResult, ResolvedPlan, resolve, solve_plan, summary
from planner.rules import RegimeLibrary

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "tiny" / "subsidy_choice.yaml"
HOURS = 8_760.0


def small_subsidy_overlay(folder: Path, fraction: float) -> Path:
    """A profiles overlay whose cn-2025-11 snapshot cuts power bills by `fraction`, not 50%."""
    shipped = RegimeLibrary.load()["cn-2025-11"].path.read_text(encoding="utf-8")
    regimes = folder / "export_regimes"
    regimes.mkdir(parents=True, exist_ok=True)
    text = shipped.replace("power_subsidy_fraction: 0.5", f"power_subsidy_fraction: {fraction}")
    assert text != shipped
    (regimes / "cn-2025-11.yaml").write_text(text, encoding="utf-8")
    return folder


def planned(resolved: ResolvedPlan, backend: str = "cvxpy") -> PlanResult:
    """Solve to a 1e-9 gap and run the independent checker on the plan."""
    result = solve_plan(resolved, backend=backend, mip_gap=1e-9, duals=False)
    assert check_solution(resolved.inputs, result.solution) == []
    return result


@pytest.fixture(scope="module")
def resolved() -> ResolvedPlan:
    return resolve(load_scenario(SCENARIO))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> ResolvedPlan:
    overlay = small_subsidy_overlay(tmp_path_factory.mktemp("overlay"), 0.05)
    return resolve(load_scenario(SCENARIO), overlays=[overlay])


def cost_by_enumeration(x: CapacityInputs) -> tuple[float, tuple[int, int], bool]:
    """The MILP optimum worked by hand: (cost, (H20 bought, Zhenwu bought), domestic only).

    One flat batch demand D tok/s for Y years, flat price pi, PUE, no discounting, no resale,
    parts bought in the first year (buying later leaves demand unserved at 1,000 USD/Mtok).
    A fleet of n_p parts costs
        sum_p n_p price_p (1 + uplift_p)
        + Y x E x (1 - f [n_H20 = 0]) x [sum_p n_p (idle + host)_p + sum_p (active - idle)_p b_p]
    with E = 8,760 h x PUE x pi x 1e-6 (currency per W-year) and b_p the parts busy on average,
    tokens going first to the part with the least dynamic watts per token/s; the subsidy f
    applies only to a fleet without a foreign part (d = 1)."""
    demand = float(x.demand_tokens_per_s[0].mean())
    k = x.tokens_per_s_per_part[0]
    years = x.shape[3]
    e = HOURS * float(x.pue[0, 0]) * float(x.price_per_mwh[0, 0, 0]) * 1e-6
    f = 0.0 if x.subsidy_choice_fraction is None else float(x.subsidy_choice_fraction[0, 0])
    paid = x.price_per_part[:, 0] * (1 + x.price_uplift_fraction[:, 0])
    best = (math.inf, (0, 0), False)
    for n in itertools.product(range(25), repeat=2):
        parts = np.array(n, dtype=float)
        if parts @ k < demand:
            continue
        watts = parts @ (x.idle_w + x.server_overhead_w)
        left = demand
        for p in np.argsort((x.active_w - x.idle_w) / k):
            busy = min(parts[p], left / k[p])
            watts += (x.active_w[p] - x.idle_w[p]) * busy
            left -= busy * k[p]
        domestic_only = n[0] == 0
        cost = parts @ paid + years * e * watts * (1 - f * domestic_only)
        best = min(best, (cost, n, domestic_only))
    return best


def test_the_subsidy_is_offered_to_the_private_guizhou_site(resolved: ResolvedPlan) -> None:
    """No forced cut (the site may buy the H20), a 50% cut by choice every year."""
    x = resolved.inputs
    assert resolved.axes.parts == ("h20", "zhenwu-ppu")
    assert x.allowed.all()
    np.testing.assert_allclose(resolved.power_subsidy_fraction, 0.0)
    assert x.subsidy_choice_fraction is not None
    np.testing.assert_allclose(x.subsidy_choice_fraction, 0.5)


def test_with_the_subsidy_the_site_runs_domestic_parts_only(resolved: ResolvedPlan) -> None:
    """Qwen3-30B-A3B at bf16 (the scenario pins it): 7,460 tok/s per H20, 5,037 per Zhenwu. Per
    token/s over three years with every part busy, the H20 costs (4,600 + 3 x 10.95 x 690 W) /
    7,460 = 3.65 USD and the Zhenwu (4,000 + 3 x 10.95 x 708 W) / 5,037 = 5.41 USD at full
    price, 3.10 USD with half the power bill. 11 H20 (d = 0) carry 1.3% more than the 81,019
    tok/s asked and cost about 298,269 USD; 17 Zhenwu with the subsidy (d = 1; 16 would be 0.5%
    short), 5.7% more, about 260,423 USD: 68,000 + 1/2 x 3 x 10.95 x (17 x 360 W + 347.86 W x
    16.08 busy). The enumeration over both counts and d confirms it."""
    result = planned(resolved)
    cost, (n_h20, n_zhenwu), domestic_only = cost_by_enumeration(resolved.inputs)
    assert domestic_only and n_h20 == 0 and n_zhenwu == 17
    assert cost == pytest.approx(260_423, rel=1e-4)
    sol = result.solution
    assert sol.objective == pytest.approx(cost, rel=1e-9)
    np.testing.assert_allclose(sol.parts_bought.sum(axis=(1, 2)), [0, n_zhenwu], atol=1e-6)
    np.testing.assert_allclose(sol.domestic_only, 1.0)
    np.testing.assert_allclose(sol.power_subsidy_fraction, 0.5)
    np.testing.assert_allclose(sol.subsidised_import_mw, sol.grid_import_mw, rtol=1e-9)
    assert sol.costs is not None and sol.costs.power_subsidy_credit > 0
    s = summary(result)
    assert [r["power_subsidy_fraction"] for r in s["sites"]] == pytest.approx([0.5] * 3)
    assert all(r["domestic_only_for_subsidy"] for r in s["sites"])
    assert [c["year"] for c in s["subsidy_choices"]] == ["2026", "2027", "2028"]
    assert any("runs domestic parts only in 2026" in n for n in s["notes"])
    assert s["costs"]["power_subsidy_credit"] == pytest.approx(sol.costs.power_subsidy_credit)


def test_a_subsidy_too_small_to_matter_flips_the_choice(small: ResolvedPlan) -> None:
    """At a 5% cut the Zhenwu fleet costs 68,000 + 0.95 x 384,847 = about 433,604 USD, more than
    11 H20 at about 298,269 USD (11 x 7,460 tok/s covers the 81,019 asked): the site buys the
    H20 and forgoes the subsidy (d = 0)."""
    assert small.inputs.subsidy_choice_fraction is not None
    np.testing.assert_allclose(small.inputs.subsidy_choice_fraction, 0.05)
    result = planned(small)
    cost, (n_h20, n_zhenwu), domestic_only = cost_by_enumeration(small.inputs)
    assert not domestic_only and (n_h20, n_zhenwu) == (11, 0)
    assert cost == pytest.approx(298_269, rel=1e-4)
    sol = result.solution
    assert sol.objective == pytest.approx(cost, rel=1e-9)
    np.testing.assert_allclose(sol.parts_bought.sum(axis=(1, 2)), [11, 0], atol=1e-6)
    np.testing.assert_allclose(sol.domestic_only, 0.0, atol=1e-9)
    np.testing.assert_allclose(sol.subsidised_import_mw, 0.0, atol=1e-9)
    s = summary(result)
    assert s["subsidy_choices"] == []
    assert [r["power_subsidy_fraction"] for r in s["sites"]] == pytest.approx([0.0] * 3)


@pytest.mark.parametrize("relax", [True, False])
def test_cvxpy_and_pyomo_agree(resolved: ResolvedPlan, relax: bool) -> None:
    """The LP relaxation (d in [0, 1]) to 1e-6, the MILP to its 1e-9 gap; same choice."""
    case = replace(resolved, inputs=replace(resolved.inputs, relax=relax))
    a, b = planned(case, "cvxpy"), planned(case, "pyomo")
    tol = 1e-6 if relax else 1e-8
    assert a.solution.objective == pytest.approx(b.solution.objective, rel=tol)
    if relax:  # the relaxation can only be cheaper than the MILP optimum
        assert a.solution.objective <= 260_423 * (1 + 1e-4)
    else:
        np.testing.assert_allclose(a.solution.domestic_only, b.solution.domestic_only)


def test_the_checker_catches_a_rebate_beside_a_foreign_part(resolved: ResolvedPlan) -> None:
    """Hand-break the small-subsidy plan (11 H20): claim d = 1 and the rebate on
    every MWh while the H20 stay installed; the checker names family (18) and the objective."""
    x = resolved.inputs
    honest = planned(resolved).solution
    assert x.subsidy_choice_fraction is not None
    cut = replace(x, subsidy_choice_fraction=x.subsidy_choice_fraction * 0.1)
    sol = planned(replace(resolved, inputs=cut)).solution
    assert sol.parts_installed[0].sum() > 0  # H20 in service
    broken = replace(
        sol,
        domestic_only=np.ones_like(sol.domestic_only),
        subsidised_import_mw=sol.grid_import_mw.copy(),
        power_subsidy_fraction=np.full_like(sol.power_subsidy_fraction, 0.5),
    )
    problems = check_solution(x, broken)
    assert any("no foreign part where d = 1" in p for p in problems), problems
    assert any(
        "(17) cost term power_subsidy_credit" in p or "(17) objective" in p for p in problems
    )
    over = replace(honest, subsidised_import_mw=honest.grid_import_mw * 1.5)
    assert any("rebate <= import" in p for p in check_solution(x, over))


def test_big_m_counts_the_parts_the_demand_can_keep_busy(resolved: ResolvedPlan) -> None:
    """M from eq. (18): a batch day's 24 x D tokens could all be served in one hour, so at most
    ceil(24 x 81,019 / 7,460) = ceil(260.66) = 261 H20 are ever busy; one cohort a year, each
    alive to 2028: M = 261, 522, 783. The 1 MW site would hold 1e6 / 360 W = 2,777 standing
    H20 (no bind); a 4.5 kW site holds 4,500 / 360 = 12.5, which binds."""
    x = resolved.inputs
    assert peak_busy_parts(x)[0] == pytest.approx(24 * 81_018.5 / 7_459.66, rel=1e-4)
    np.testing.assert_allclose(foreign_parts_bound(x), [[261, 522, 783]])
    tight = replace(x, dc_max_mw=np.array([0.0045]), dc_existing_mw=np.array([0.0]))
    np.testing.assert_allclose(foreign_parts_bound(tight), [[12.5, 12.5, 12.5]])


def test_an_infinite_grid_cap_at_a_choice_site_is_an_input_error(resolved: ResolvedPlan) -> None:
    """u <= G d needs a finite G; the planner names the model input and the fix (exit 2)."""
    x = resolved.inputs
    infinite = np.full_like(x.grid_import_cap_mw, math.inf)
    bad = replace(resolved, inputs=replace(x, grid_import_cap_mw=infinite))
    with pytest.raises(InputError) as err:
        solve_plan(bad, duals=False)
    assert "grid_import_cap_mw" in str(err.value) and "finite grid import cap" in str(err.value)


def test_cli_prints_the_choice_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", str(SCENARIO), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.stderr
    assert "domestic parts only for the power subsidy: gz 2026, gz 2027, gz 2028" in result.stderr
