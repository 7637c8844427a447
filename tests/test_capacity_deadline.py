"""Batch work due within H hours (eq. 6b, issue 14): hand-solved optima in both backends, the
day wrapping at midnight, first come first served, and the checker catching late work."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from models.capacity import CapacityInputs, may_still_wait
from models.capacity_check import check_solution
from models.capacity_validation import check_inputs
from tests.test_capacity_model import BACKENDS, solved, tiny

HOURS = 24


def one_day(arrivals: dict[int, float], deadline_h: float) -> CapacityInputs:
    """Part A only (10 each, 100 tok/s, no power), one year of one representative day of 24
    hours, relaxed; a deferrable workload arriving in the given hours (tok/s), due within
    `deadline_h` hours (inf: anywhere within the day). The penalty dwarfs any purchase."""
    demand = np.zeros((1, 1, HOURS))
    for hour, rate in arrivals.items():
        demand[0, 0, hour] = rate
    return tiny(
        n_parts=1,
        n_years=1,
        n_steps=HOURS,
        demand_tokens_per_s=demand,
        deferrable=np.array([True]),
        deadline_h=np.array([deadline_h]),
        unserved_penalty_per_mtok=1_000.0,
        relax=True,
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize(
    ("arrivals", "deadline_h", "parts"),
    [
        # 2,400 tok/s arriving in hour 0: spread over the whole day needs 100 tok/s, one part
        ({0: 2_400.0}, math.inf, 1.0),
        # due within 4 hours: 600 tok/s in hours 0-3, six parts
        ({0: 2_400.0}, 4, 6.0),
        # due within the hour it arrives: 24 parts, as an interactive workload
        ({0: 2_400.0}, 1, 24.0),
        # arriving at 22:00, due within 4 hours: served 22:00-02:00 across midnight, six parts
        ({22: 2_400.0}, 4, 6.0),
        # two bursts half a day apart, each due within 4 hours: 300 tok/s each, three parts
        ({0: 1_200.0, 12: 1_200.0}, 4, 3.0),
    ],
)
def test_deadline_optimum_by_hand(
    backend: str, arrivals: dict[int, float], deadline_h: float, parts: float
) -> None:
    s = solved(one_day(arrivals, deadline_h), backend)
    assert s.parts_installed.max() == pytest.approx(parts, rel=1e-7)
    assert s.objective == pytest.approx(10.0 * parts, rel=1e-7)
    assert s.unserved_tokens_per_s.max() == pytest.approx(0.0, abs=1e-6)


def test_work_served_too_late_is_caught_by_the_checker() -> None:
    """The 4-hour plan with hour 0's work moved to hours 4-7 breaks (6b)."""
    x = one_day({0: 2_400.0}, 4)
    s = solved(x, "cvxpy")
    late = np.roll(s.parts_busy, 4, axis=-1)
    problems = check_solution(x, replace(s, parts_busy=late))
    assert any(p.startswith("(6b) deadline") for p in problems), problems


def test_the_waiting_window_by_hand() -> None:
    """Work arriving in hour 23, due within 3 hours, may wait at the end of hours 23 and 0."""
    m = may_still_wait(3)
    assert np.flatnonzero(m[23]).tolist() == [0, 23]
    assert m.sum(axis=0).tolist() == [2.0] * HOURS


def test_a_deadline_needs_whole_hours_and_hourly_days() -> None:
    def fields(**overrides: Any) -> list[str]:
        return [p.field for p in check_inputs(replace(one_day({0: 1.0}, 4), **overrides))]

    assert "deadline_h" in fields(deadline_h=np.array([2.5]))
    assert "deadline_h" in fields(deadline_h=np.array([0.0]))
    assert "deadline_h" in fields(weight_h=np.r_[np.full(23, 365.0), 730.0])
    assert fields() == []
