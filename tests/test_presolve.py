"""Parts left out before the build (models/presolve.py): never-held and dominated parts go, the
optimum does not move, and the solution comes back on the scenario's whole parts axis."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from models.capacity import CapacityInputs
from models.capacity_check import check_solution
from models.dispatch import solve_capacity
from models.presolve import INPUT_PARTS_AXIS, parts_to_keep, reduce_parts
from planner.bench.plan import plan_inputs
from planner.plan.scenario import load_scenario
from planner.plan.solve import resolve, solve_plan, summary

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"


@pytest.fixture(scope="module")
def tiny() -> CapacityInputs:
    return resolve(load_scenario(TINY), relax=True).inputs


def with_copy_of(x: CapacityInputs, p: int, **changes: np.ndarray | float) -> CapacityInputs:
    """x with one more part at the end: a copy of part p, then `changes` applied to the copy
    (a field name -> the copy's value on that field's parts axis)."""
    grown = {}
    for f in fields(x):
        axis, value = INPUT_PARTS_AXIS[f.name], getattr(x, f.name)
        if axis is None or value is None:
            continue
        value = np.asarray(value)
        copy = np.take(value, [p], axis=axis).copy()
        if f.name in changes:
            index: list[slice | int] = [slice(None)] * value.ndim
            index[axis] = 0
            copy[tuple(index)] = changes[f.name]
        grown[f.name] = np.concatenate([value, copy], axis=axis)
    return replace(x, **grown)


def cheapest_part(x: CapacityInputs) -> int:
    """The part the tiny LP buys (least price + energy per token/s; tests/test_plan.py)."""
    return int(np.argmin(x.price_per_part[:, 0] / x.tokens_per_s_per_part[0]))


def test_every_input_field_has_a_parts_axis_or_none() -> None:
    """The table knows every field, and each axis it names is the parts axis (P = 20 on the
    national bench case, every optional family present or absent)."""
    x = plan_inputs("p20y2s2", relax=True)
    assert {f.name for f in fields(x)} == set(INPUT_PARTS_AXIS)
    for name, axis in INPUT_PARTS_AXIS.items():
        value = getattr(x, name)
        if axis is not None and value is not None:
            assert np.shape(value)[axis] == 20, name


def test_parts_no_site_may_hold_are_left_out_and_the_plan_is_unchanged() -> None:
    """A Chinese buyer may hold half the catalogue's parts on the national case: they leave the
    model, and the plan is the one the whole model finds (same optimum, bought nothing)."""
    x = plan_inputs("p12y2s2", relax=True)
    keep = parts_to_keep(x)
    assert keep.reduced and all(q is None for q in keep.reasons.values())
    assert not np.asarray(x.allowed)[list(keep.reasons)].any()
    whole = solve_capacity(x, presolve_parts=False)
    reduced = solve_capacity(x)
    assert reduced.objective == pytest.approx(whole.objective, rel=1e-7)
    assert reduced.parts_bought.shape == whole.parts_bought.shape
    assert reduced.parts_busy.shape == whole.parts_busy.shape
    assert reduced.parts_bought[list(keep.reasons)].sum() == 0
    assert reduced.duals is not None and reduced.duals.supply_cap_per_part.shape[0] == 12
    assert check_solution(x, reduced) == []
    assert reduced.parts_left_out == keep.reasons


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo"])
def test_a_dearer_copy_is_dominated_and_the_optimum_does_not_move(
    tiny: CapacityInputs, backend: str
) -> None:
    best = cheapest_part(tiny)
    x = with_copy_of(tiny, best, price_per_part=tiny.price_per_part[best] * 1.1)
    keep = parts_to_keep(x)
    assert keep.reasons == {2: best}
    whole = solve_capacity(x, backend=backend, presolve_parts=False)
    reduced = solve_capacity(x, backend=backend)
    assert reduced.objective == pytest.approx(whole.objective, rel=1e-7)
    assert check_solution(x, reduced) == []
    assert reduced.parts_bought[2].sum() == 0


def test_an_identical_copy_keeps_the_first(tiny: CapacityInputs) -> None:
    x = with_copy_of(tiny, 0)
    assert parts_to_keep(x).reasons == {2: 0}


@pytest.mark.parametrize(
    "change",
    [
        "faster and dearer",
        "dominator capped",
        "copy installed",
        "less idle power",
        "shorter lived",
        "smaller tpp under a cap",
        "other side of the domestic line",
        "dominator allowed in fewer periods",
        "server not a multiple",
    ],
)
def test_a_copy_better_in_one_respect_stays(tiny: CapacityInputs, change: str) -> None:
    """Each condition of dominance, broken alone, keeps the copy in the model."""
    best = cheapest_part(tiny)
    dear = tiny.price_per_part[best] * 1.1
    x = with_copy_of(tiny, best, price_per_part=dear)  # dominated as it stands
    copy = 2
    if change == "faster and dearer":
        faster = tiny.tokens_per_s_per_part[:, best] * 1.01
        x = with_copy_of(tiny, best, price_per_part=dear, tokens_per_s_per_part=faster)
    elif change == "dominator capped":
        caps = np.array(x.supply_cap_parts, dtype=float)
        caps[best] = 1e6
        x = replace(x, supply_cap_parts=caps)
    elif change == "copy installed":
        base = np.array(x.base_parts, dtype=float)
        base[copy, 0, 0] = 8
        x = replace(x, base_parts=base)
    elif change == "less idle power":
        x = with_copy_of(tiny, best, price_per_part=dear, idle_w=tiny.idle_w[best] * 0.9)
    elif change == "shorter lived":
        x = with_copy_of(tiny, best, price_per_part=dear, lifetime_years=0.5)
    elif change == "smaller tpp under a cap":
        x = replace(x, tpp_cap=np.full_like(np.asarray(x.tpp_cap, dtype=float), 1e12))
        tpp = np.array(x.tpp_per_part, dtype=float)
        tpp[copy] = tpp[best] * 0.5
        x = replace(x, tpp_per_part=tpp)
    elif change == "other side of the domestic line":
        domestic = np.array(x.domestic, dtype=bool)
        domestic[copy] = not domestic[best]
        x = replace(x, domestic=domestic)
    elif change == "dominator allowed in fewer periods":
        allowed = np.array(x.allowed, dtype=bool)
        allowed[best, :, 1] = False
        x = replace(x, allowed=allowed)
    elif change == "server not a multiple":
        per_server = np.array(x.parts_per_server)
        per_server[copy] = 4
        x = replace(x, parts_per_server=per_server)
    assert copy not in parts_to_keep(x).reasons


def test_a_part_left_out_is_named_in_the_plan_notes() -> None:
    """The same scenario with the tiny part h20 banned: the plan says h20 was left out and why,
    and its rows in the plan are zero."""
    scenario = load_scenario(TINY)
    resolved = resolve(scenario, relax=True)
    allowed = np.array(resolved.inputs.allowed, dtype=bool)
    h20 = resolved.axes.parts.index("h20")
    allowed[h20] = False
    resolved = replace(resolved, inputs=replace(resolved.inputs, allowed=allowed))
    result = solve_plan(resolved)
    notes = summary(result)["notes"]
    assert any("left out before solving" in n and "h20" in n for n in notes)
    assert result.solution.parts_bought[h20].sum() == 0


def test_reduced_inputs_hold_only_the_kept_parts(tiny: CapacityInputs) -> None:
    x = with_copy_of(tiny, 0)
    reduced = reduce_parts(x, parts_to_keep(x))
    assert reduced.shape[1] == 2
    assert np.array_equal(reduced.price_per_part, x.price_per_part[:2])
