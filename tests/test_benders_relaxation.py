"""The serving relaxation is a valid bound point by point, not only at the master's optimum: at
fixed master points (fleets short, ample, and between; batteries none to plenty; billed peaks
none to twice the master's), each block's theta as the relaxation's rows alone set it is at most
that block's true operating cost. The case stresses what the tiny scenarios leave out: two
sites with unequal demand charges, two billing periods of 5 and 7 months, a day whose steps
fall in both, blocks of two days, and steps of unequal weights (p3y2s2d3, resized flagship 1)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.benders_inputs import blocks
from models.benders_master import Master
from models.benders_sub import SLACK_FREE_MW, Subproblem
from models.capacity import CapacityInputs
from planner.bench.plan import plan_inputs

# (parts and CPU servers, battery and solar, billed peaks) as multiples of the master's optimum
POINTS = [(0.3, 1.0, 0.0), (0.3, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 3.0, 0.0), (0.6, 2.0, 0.3),
          (1.0, 1.0, 2.0)]  # fmt: skip


def charged_case() -> CapacityInputs:
    """p3y2s2d3 with charges of 20,000 and 30,000 CNY per MW-month, billed over two periods."""
    x = plan_inputs("p3y2s2d3", relax=True)
    charge = np.full(np.shape(x.demand_charge_per_mw_month), 30_000.0)
    charge[0, :] = 20_000.0
    day = np.asarray(x.day)
    billing = (day % 2).astype(int)
    split = day == day.max()  # the last day's steps alternate between the two periods
    billing[split] = np.arange(day.size)[split] % 2
    assert len(np.unique(np.asarray(x.weight_h))) > 1, "the case keeps steps of unequal weight"
    return dataclasses.replace(
        x,
        demand_charge_per_mw_month=charge,
        billing_period=billing,
        billing_period_months=np.array([5.0, 7.0]),
    )


def master_columns(master: Master, *names: str) -> np.ndarray:
    cols = [np.asarray(master.index.fleet[n]) for n in names]
    return np.concatenate([c[c >= 0].ravel() for c in cols]).astype(np.int32)


@pytest.mark.parametrize("point", POINTS, ids=lambda p: "x".join(map(str, p)))
def test_each_blocks_relaxed_bound_is_at_most_its_cost_at_a_fixed_point(point: tuple) -> None:
    x = charged_case()
    parts = blocks(x, 2)
    master = Master(x, parts, {"threads": 1}, True)
    master.relax_integers(True)
    _, optimum, _, _ = master.solve()
    fixed = [
        (master_columns(master, "parts", "cpu_servers"), point[0]),
        (master_columns(master, "battery_mwh", "battery_mw", "solar_mw"), point[1]),
        (master_columns(master, "peak_import_mw"), point[2]),
    ]
    for cols, factor in fixed:
        at = optimum[cols] * factor
        master.highs.changeColsBounds(cols.size, cols, at, at)
    _, values, _, _ = master.solve()
    checked = 0
    for k, block in enumerate(parts):
        result = Subproblem(x, block, {"threads": 1}).solve(master.fleet(values, block.year))
        if result.kind != "optimality" or result.slack_mw > SLACK_FREE_MW:
            continue  # the fleet cannot serve the block: its elastic value is no plan's cost
        theta = values[master.index.theta[k]]
        assert theta <= result.value * (1 + 1e-7) + 1e-3, f"block {block.key}"
        checked += 1
    assert checked >= len(parts) // 2, "most blocks were checked"
