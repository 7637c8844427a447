"""Power-capped serving and flexible grid connections (docs/capacity_model.md, eqs. 19-21).

Hand-worked optima on toy figures (no real part or site), each solve checked by the independent
checker (`solved`), and the two backends agreeing on a case that uses both levers at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models.capacity import CapacityInputs
from models.capacity_check import check_solution
from models.capacity_flex import curtailed_hours, curtailment_steps, option_import_limit_mw
from models.capacity_validation import check_inputs
from tests.test_capacity_model import BACKENDS, solved, tiny

PENALTY_PER_TOKEN_S_YEAR = 8_760 * 3_600 / 1e6 * 1_000.0  # 31,536 at 1,000 per Mtok


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def capped(**overrides: Any) -> CapacityInputs:
    """One part A (10 each, 100 tok/s, 0 W idle, 1 MW busy), one year, one step of 8,760 h,
    PUE 1, free energy, a 1 MW grid, 200 tok/s demanded, 1,000 per Mtok unserved. A cap at 50%
    draws 0.5 MW and serves 80 tok/s (tau 0.8); one at 75% draws 0.75 MW and serves 95."""
    base: dict[str, Any] = dict(
        active_w=np.array([1e6]),
        demand_tokens_per_s=np.array([[[200.0]]]),
        grid_import_cap_mw=np.array([[1.0]]),
        unserved_penalty_per_mtok=1_000.0,
        battery_max_mwh=np.zeros(1),
        power_cap_fraction=np.array([0.5, 0.75]),
        capped_active_w=np.array([[0.5e6, 0.75e6]]),
        capped_throughput_fraction=np.array([[0.8, 0.95]]),
    )
    base.update(overrides)
    return tiny(n_parts=1, n_years=1, **base)


def test_short_watts_run_every_part_at_the_lowest_cap(backend: str) -> None:
    """Watts are short and parts cheap: tokens per MW are 160 at 50%, 126.7 at 75%, 100 full, so
    the 1 MW feeds two parts at 50%: 160 tok/s served, 40 unserved. Optimum 2 x 10 +
    40 x 31,536 = 1,261,460 (uncapped it would be 10 + 100 x 31,536 = 3,153,610)."""
    s = solved(capped(), backend)
    assert s.objective == pytest.approx(20 + 40 * PENALTY_PER_TOKEN_S_YEAR, rel=1e-9)
    assert s.capped_busy[0, 0, 0, 0, 0].tolist() == pytest.approx([2.0, 0.0], abs=1e-9)
    assert s.parts_busy.sum() == pytest.approx(0.0, abs=1e-9)
    assert s.unserved_tokens_per_s[0, 0, 0] == pytest.approx(40.0, rel=1e-9)
    no_caps = dict(power_cap_fraction=None, capped_active_w=None, capped_throughput_fraction=None)
    uncapped = solved(capped(**no_caps), backend)
    assert uncapped.objective == pytest.approx(10 + 100 * PENALTY_PER_TOKEN_S_YEAR, rel=1e-9)


def test_short_parts_run_uncapped(backend: str) -> None:
    """One part obtainable (supply cap 1) and watts to spare: it runs at full power (100 tok/s
    beats 95 and 80). Optimum 10 + 100 x 31,536."""
    s = solved(capped(supply_cap_parts=np.array([[1.0]])), backend)
    assert s.objective == pytest.approx(10 + 100 * PENALTY_PER_TOKEN_S_YEAR, rel=1e-9)
    assert s.parts_busy[0, 0, 0, 0, 0] == pytest.approx(1.0, abs=1e-9)
    assert s.capped_busy.sum() == pytest.approx(0.0, abs=1e-9)


def test_checker_recomputes_the_capped_terms() -> None:
    """A plan whose capped parts are claimed to serve more than the curve allows is caught."""
    x = capped()
    s = solved(x, "cvxpy")
    from dataclasses import replace

    tampered = replace(s, capped_busy=s.capped_busy * 1.25)
    problems = check_solution(x, tampered)
    assert any(p.startswith("(5)") for p in problems)
    assert any(p.startswith("(4)") for p in problems)
    assert any(p.startswith("(9)") for p in problems)


def options(**overrides: Any) -> CapacityInputs:
    """One site, two years, one representative day of two steps (4,380 h each), part A (10,
    100 tok/s, 1 MW busy), PUE 1, free energy, no battery, 100 tok/s deferrable within the day.
    Grid options: 0 firm, 2 MW from year 1, never curtailed; 1 flexible, 2 MW from year 0,
    import 0 MW when the grid calls, 100 h a year. The regional load peaks in step 0, so the
    flexible option's events fall on step 0 (its 4,380 h cover the 100 h, rounding up)."""
    base: dict[str, Any] = dict(
        n_steps=2,
        active_w=np.array([1e6]),
        demand_tokens_per_s=np.full((1, 2, 2), 100.0),
        deferrable=np.array([True]),
        grid_import_cap_mw=np.full((1, 2), 2.0),
        unserved_penalty_per_mtok=1_000.0,
        battery_max_mwh=np.zeros(1),
        grid_option_offered=np.array([[True, True]]),
        grid_option_cap_mw=np.array([[[0.0, 2.0], [2.0, 2.0]]]),
        grid_option_curtailed_mw=np.array([[2.0, 0.0]]),
        grid_option_curtailment_h=np.array([[0.0, 100.0]]),
        grid_load_mw=np.array([[18_000.0, 12_000.0]]),
    )
    base.update(overrides)
    return tiny(n_parts=1, n_years=2, **base)


def test_curtailment_falls_on_the_grid_peak() -> None:
    x = options()
    assert curtailment_steps(x)[0].tolist() == [[False, False], [True, False]]
    assert curtailed_hours(x)[0].tolist() == [0.0, 4_380.0]
    assert option_import_limit_mw(x)[0, 1].tolist() == [[0.0, 2.0], [0.0, 2.0]]


def test_flexible_connection_comes_online_earlier_and_rides_through(backend: str) -> None:
    """Flexible: power from year 0; each day's tokens move out of the called step 0 into step 1
    (two parts busy there, 2 MW): nothing unserved, optimum 2 x 10 = 20. Firm only: nothing
    can run in year 0 (100 x 31,536 unserved), one part busy all day in year 1: 3,153,610."""
    s = solved(options(), backend)
    assert s.objective == pytest.approx(20.0, rel=1e-9)
    assert s.grid_option_chosen[0].tolist() == pytest.approx([0.0, 1.0], abs=1e-9)
    assert s.grid_import_mw[0, :, 0].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert s.grid_import_mw[0, 0, 1] == pytest.approx(2.0, rel=1e-9)
    firm = solved(options(grid_option_offered=np.array([[True, False]])), backend)
    assert firm.objective == pytest.approx(10 + 100 * PENALTY_PER_TOKEN_S_YEAR, rel=1e-9)
    online = [np.flatnonzero(p.grid_import_mw[0].sum(axis=1) > 1e-9)[0] for p in (s, firm)]
    assert online == [0, 1]


def test_checker_catches_import_in_a_curtailment_step() -> None:
    x = options()
    s = solved(x, "cvxpy")
    from dataclasses import replace

    grid = s.grid_import_mw.copy()
    grid[0, 1, 0] = 0.5  # import during the year-1 event
    problems = check_solution(x, replace(s, grid_import_mw=grid))
    assert any(p.startswith("(21)") for p in problems)


def test_relaxed_choice_blends_the_options(backend: str) -> None:
    """LP relaxation: z in [0, 1] and the import limit is the blend sum z L; here the flexible
    option alone is optimal, so the LP and the MILP agree (20)."""
    s = solved(options(relax=True), backend)
    assert s.objective == pytest.approx(20.0, rel=1e-9)


def test_bad_flex_inputs_are_reported() -> None:
    x = capped(capped_throughput_fraction=np.array([[1.2, 0.9]]))
    assert any(p.field == "capped_throughput_fraction" for p in check_inputs(x))
    x = options(grid_load_mw=None)
    assert any(p.field == "grid_load_mw" for p in check_inputs(x))


def both(**overrides: Any) -> CapacityInputs:
    """Both levers and a battery: the flexible site caps its parts and discharges in the event."""
    base: dict[str, Any] = dict(
        power_cap_fraction=np.array([0.5, 0.75]),
        capped_active_w=np.array([[0.5e6, 0.75e6]]),
        capped_throughput_fraction=np.array([[0.8, 0.95]]),
        deferrable=np.array([False]),
        price_per_mwh=np.full((1, 2, 2), 30.0),
        battery_max_mwh=np.full(1, 1e9),
        battery_capex_per_mwh=np.full((1, 2), 50.0),
        battery_capex_per_mw=np.full((1, 2), 20.0),
        grid_option_cap_mw=np.array([[[0.0, 1.5], [1.5, 1.5]]]),
    )
    base.update(overrides)
    return options(**base)


@pytest.mark.parametrize("relax", [True, False])
def test_backends_agree_on_caps_and_options(relax: bool) -> None:
    x = both(relax=relax)
    plans = [solved(x, b) for b in BACKENDS]
    assert plans[0].objective == pytest.approx(plans[1].objective, rel=1e-6)
    for plan in plans:
        assert check_solution(x, plan) == []
        assert plan.capped_busy.sum() > 0  # capping is used
        assert plan.discharge_mw[0, :, 0].sum() > 0  # the battery rides through the event
