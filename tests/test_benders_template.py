"""Subproblems stamped from a period's template (models/benders_template.py) are the LPs Pyomo
compiles for each day, and solve to the same values and cuts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.benders_inputs import blocks, subproblem_inputs
from models.benders_master import Master
from models.benders_runner import SubproblemSet, block_owners
from models.benders_sub import FLEET_FIELDS, Fleet, Subproblem, SubResult, compile_block
from models.benders_template import PRICE_LOW, equal_lps, labels, make_template, stamp_of
from planner.bench.plan import plan_inputs


def test_each_numbers_form_is_read_off_the_two_probes() -> None:
    """P1 (hours 1, sun 1) and P2 (hours 2, sun labelled): constant, hours, sun, both; a sum of
    forms has none, and the template is refused."""
    n = 4
    label = labels((2, 2)).ravel()
    p1 = np.array([5.0, 3.0, -0.5, 7.0, 0.0, np.inf])
    p2 = np.array([5.0, 6.0, -0.5 * label[2], 14.0 * label[1], 0.0, np.inf])
    stamp = stamp_of(p1, p2, n)
    assert stamp is not None
    np.testing.assert_array_equal(stamp.hours, [False, True, False, True, False, False])
    np.testing.assert_array_equal(stamp.sun, [-1, -1, 2, 1, -1, -1])
    sun = np.array([[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_allclose(
        stamp.at(10.0, sun, np.ones(4)), [5.0, 30.0, -0.15, 14.0, 0.0, np.inf]
    )
    affine = np.array([5.0, 6.0, 1.0 + 2.0 * label[0]])  # 1 + 2 f: not a product
    assert stamp_of(np.array([5.0, 3.0, 3.0]), affine, n) is None
    assert stamp_of(np.array([0.0]), np.array([1.0]), n) is None  # a number that appears


def test_a_number_holding_a_price_is_read_off_the_price_free_probe() -> None:
    """The energy bill, hours x (carbon + price): P0 (price 0) gives the carbon, P1 - P0 the
    slope, P2 names the price's cell and the hours; a price times the sun has no form."""
    price = labels((2, 1, 2), PRICE_LOW).ravel()
    sun = labels((2, 2)).ravel()
    p0 = np.array([30.0, 0.0, 4.0])
    p1 = np.array([130.0, 1.0, 4.0])
    p2 = np.array([2 * (30.0 + 100.0 * price[3]), price[0], 4.0 * sun[1]])
    stamp = stamp_of(p1, p2, 4, p0, 4)
    assert stamp is not None
    np.testing.assert_array_equal(stamp.price, [3, 0, -1])
    np.testing.assert_array_equal(stamp.hours, [True, False, False])
    np.testing.assert_array_equal(stamp.sun, [-1, -1, 1])
    day_sun = np.array([[0.1, 0.2], [0.3, 0.4]])
    day_price = np.array([[[500.0, 600.0]], [[700.0, 800.0]]])
    np.testing.assert_allclose(
        stamp.at(10.0, day_sun, day_price), [10 * (30 + 100 * 800), 500.0, 0.8]
    )
    both = np.array([2 * (30.0 + 100.0 * price[3]) * sun[0]])
    assert stamp_of(p1[:1], both, 4, p0[:1], 4) is None


@pytest.fixture(scope="module")
def case() -> tuple:
    """A resized flagship with weekday and weekend days in each of two periods."""
    x = plan_inputs("p3y2s2d6", relax=True)
    return x, blocks(x)


def test_every_stamped_day_is_the_lp_pyomo_compiles(case: tuple) -> None:
    """Each period's first day is compiled by Pyomo and made a template; every other day the
    template fits is stamped, and equals Pyomo's own LP for that day to 1e-12."""
    x, parts = case
    templates = []
    stamped = 0
    for block in parts:
        xb = subproblem_inputs(x, block)
        template = next((t for t in templates if t.fits(xb)), None)
        if template is None:
            made = make_template(xb, compile_block(xb))
            assert made is not None, f"block {block.key}: no template"
            templates.append(made)
            continue
        assert equal_lps(template.compiled(xb).lp, compile_block(xb).lp), block.key
        stamped += 1
    assert len(templates) == 4, "weekdays and weekends of two periods"
    assert stamped == len(parts) - 4
    day = subproblem_inputs(x, parts[1])
    scale = np.linspace(0.5, 1.7, day.price_per_mwh.shape[0])[:, None, None]
    dearer = replace(day, price_per_mwh=day.price_per_mwh * scale + 3.0)
    assert templates[0].fits(dearer), "a day of other prices is stamped"
    assert equal_lps(templates[0].compiled(dearer).lp, compile_block(dearer).lp)


def cut_value(result: SubResult, at: Fleet, q: Fleet) -> float:
    """The cut V(at) + dV/dq (q - at) of a subproblem solved at fleet `at`, read at fleet q."""
    return result.value + sum(
        float(np.sum(getattr(result.gradient, f) * (getattr(q, f) - getattr(at, f))))
        for f in FLEET_FIELDS
    )


def test_a_stamped_subproblem_solves_as_the_compiled_one(case: tuple) -> None:
    """At the master's first point, a stamped subproblem solved cold gives the value, slack and
    cut of the same block compiled by Pyomo; the set stamps all but one block per kind of day.
    In the set each block starts from a sibling's basis, and where the day's LP has several
    optimal duals (a site paying a demand charge has them) it may end at another, so there its
    cut need not equal Pyomo's: it is checked as a cut, below V at other fleets."""
    x, parts = case
    master = Master(x, parts, {"threads": 1}, True)
    _, values, _, _ = master.solve()
    subs = SubproblemSet(x, parts, {"threads": 1})
    work = {k: master.fleet(values, b.year) for k, b in enumerate(parts)}
    got = subs.solve(work)
    assert len(subs.templates) == 4
    rng = np.random.default_rng(0)
    for k in (1, 7, 13, 23):
        want = Subproblem(x, parts[k], {"threads": 1}).solve(work[k])
        cold = SubproblemSet(x, parts, {"threads": 1}).solve({k: work[k]})[k]
        assert cold.value == pytest.approx(want.value, rel=1e-9)
        assert cold.slack_mw == pytest.approx(want.slack_mw, abs=1e-9)
        np.testing.assert_allclose(
            cold.gradient.parts, want.gradient.parts, rtol=1e-7, atol=1e-6 * abs(want.value)
        )
        assert got[k].value == pytest.approx(want.value, rel=1e-9)
        assert got[k].slack_mw == pytest.approx(want.slack_mw, abs=1e-9)
        for _ in range(3):
            scale = rng.uniform(0.8, 1.3, work[k].parts.shape)
            q = replace(work[k], parts=work[k].parts * scale)
            v = Subproblem(x, parts[k], {"threads": 1}).solve(q).value
            assert cut_value(got[k], work[k], q) <= v + 1e-9 * abs(v)


def test_each_worker_holds_a_run_of_days_of_every_period() -> None:
    """Blocks cut per period into consecutive runs, one per worker, turning each period so
    every worker holds as many weekdays as weekends; all workers busy."""
    x = plan_inputs("p3y2s2d6", relax=True)
    parts = blocks(x)
    owners = block_owners(parts, 2)
    assert owners == [0] * 6 + [1] * 6 + [1] * 6 + [0] * 6
    assert sorted(set(block_owners(parts, 5))) == [0, 1, 2, 3, 4]


def test_a_stamped_days_operation_reads_as_pyomos(case: tuple) -> None:
    """A stamped day's operation is read through its template's first-day model (costs scaled
    by the hours): the arrays and costs equal those read through the day's own Pyomo model."""
    from dataclasses import fields

    from models.capacity import CapacityCosts

    x, parts = case
    master = Master(x, parts, {"threads": 1}, True)
    _, values, _, _ = master.solve()
    subs = SubproblemSet(x, parts, {"threads": 1})
    k = 4  # a weekday stamped from day 0's template, with other hours
    work = {j: master.fleet(values, parts[j].year) for j in range(6)}
    stamped = subs.operations(work)[k]
    assert subs.built[k].reader is not None, "block 4 is stamped"
    assert x.weight_h[parts[k].steps[0]] != x.weight_h[parts[0].steps[0]]
    own = Subproblem(x, parts[k], {"threads": 1}).operation(work[k])
    for name in ("parts_busy", "grid_import_mw", "unserved_tokens_per_s", "soc_mwh"):
        np.testing.assert_allclose(
            getattr(stamped, name), getattr(own, name), rtol=1e-7, atol=1e-6, err_msg=name
        )
    assert stamped.costs is not None and own.costs is not None
    for f in fields(CapacityCosts):  # atol: a cost that is nought to the solver's tolerance
        np.testing.assert_allclose(  # (unserved_penalty -3.9e-6 against -3.9e-6 + 2e-10)
            getattr(stamped.costs, f.name),
            getattr(own.costs, f.name),
            rtol=1e-9,
            atol=1e-6,
            err_msg=f.name,
        )
    assert stamped.costs.energy > 0


def test_blocks_built_ahead_solve_as_blocks_built_on_their_first_solve(case: tuple) -> None:
    """A worker builds its blocks while the parent solves the first master (ProcessRunner):
    built ahead with the peers its first solve will have, the set makes the same templates and
    answers the same; a block whose build fails is left unbuilt and fails when solved."""
    x, parts = case
    master = Master(x, parts, {"threads": 1}, True)
    _, values, _, _ = master.solve()
    work = {k: master.fleet(values, b.year) for k, b in enumerate(parts)}
    ahead = SubproblemSet(x, parts, {"threads": 1})
    ahead.build(list(work))
    assert sorted(ahead.built) == sorted(work) and len(ahead.templates) == 4
    ahead.build([len(parts)])  # a block that does not exist: its build fails, quietly
    assert len(ahead.built) == len(work)
    lazy = SubproblemSet(x, parts, {"threads": 1})
    got, want = ahead.solve(work), lazy.solve(work)
    assert len(lazy.templates) == 4
    for k in work:
        assert got[k].value == pytest.approx(want[k].value, rel=1e-12)
        assert got[k].slack_mw == pytest.approx(want[k].slack_mw, abs=1e-9)
    with pytest.raises(IndexError):
        ahead.solve({len(parts): work[0]})
