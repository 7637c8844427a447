"""Demand projection: hand-computed growth values, day shapes that conserve tokens, file errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.demand.projection import (
    DeferrableBatch,
    DemandProjection,
    Interactive,
    geometric_interpolation,
    load_demand,
    logistic_tokens_per_day,
    parse_demand,
    project_demand,
    read_demand_csv,
    total_hourly_tokens_per_s,
)
from planner.errors import InputError, PlannerError

CHAT_LATENCY = {"kind": "interactive", "ttft_ms": 500, "tpot_ms": 50}


def workload(name: str = "chat", **fields: Any) -> dict[str, Any]:
    """A small workload fragment: 1e12 tokens/day growing sixfold a year, interactive, flat."""
    base: dict[str, Any] = {
        "name": name,
        "tokens_per_day": 1.0e12,
        "growth": {"kind": "exponential", "multiple_per_year": 6},
        "output_share_fraction": 0.25,
        "latency": CHAT_LATENCY,
    }
    base.update(fields)
    return base


def demand_file(tmp_path: Path, *workloads: dict[str, Any], **horizon: Any) -> Path:
    """Write a real `demand:` YAML file and return its path."""
    span = {"start": 2026, "end": 2028, **horizon}
    path = tmp_path / "demand.yaml"
    path.write_text(yaml.safe_dump({"demand": {"horizon": span, "workloads": list(workloads)}}))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_demand(path)
    return [str(p) for p in info.value.problems]


# ---------------------------------------------------------------------------- growth forms


def test_sixfold_a_year_from_1e12_is_3_6e13_after_two_years(tmp_path: Path) -> None:
    projection = load_demand(demand_file(tmp_path, workload()))
    assert projection.period_labels == ("2026", "2027", "2028")
    np.testing.assert_allclose(projection.tokens_per_day[0], [1e12, 6e12, 3.6e13], rtol=1e-12)


def test_annual_growth_fraction_equals_multiple_minus_one(tmp_path: Path) -> None:
    growth = {"kind": "exponential", "annual_growth_fraction": 5.0}
    projection = load_demand(demand_file(tmp_path, workload(growth=growth)))
    np.testing.assert_allclose(projection.tokens_per_day[0], [1e12, 6e12, 3.6e13], rtol=1e-12)


def test_quarterly_horizon_compounds_the_yearly_multiple(tmp_path: Path) -> None:
    """16x a year is 2x a quarter: 1, 2, 4, 8, 16 (x 1e12) from 2026Q1 to 2027Q1."""
    growth = {"kind": "exponential", "multiple_per_year": 16}
    path = demand_file(
        tmp_path, workload(growth=growth), start="2026Q1", end="2027Q1", step="quarter"
    )
    projection = load_demand(path)
    assert projection.period_labels == ("2026Q1", "2026Q2", "2026Q3", "2026Q4", "2027Q1")
    np.testing.assert_allclose(projection.tokens_per_day[0], 1e12 * 2.0 ** np.arange(5))


def test_logistic_reaches_half_the_ceiling_at_its_midpoint(tmp_path: Path) -> None:
    growth = {"kind": "logistic", "ceiling_tokens_per_day": 1e14, "midpoint": 2028}
    projection = load_demand(demand_file(tmp_path, workload(growth=growth), end=2032))
    row = projection.tokens_per_day[0]
    assert row[0] == pytest.approx(1e12, rel=1e-12)  # starts where it was told
    assert row[2] == pytest.approx(5e13, rel=1e-12)  # midpoint 2028: K / 2
    # Symmetry about the midpoint: D(2028 + x) = K - D(2028 - x), so D(2030) = 1e14 - 1e12.
    assert row[4] == pytest.approx(1e14 - 1e12, rel=1e-12)
    assert np.all(np.diff(row) > 0) and row[-1] < 1e14


def test_logistic_rate_gives_the_same_curve_as_its_midpoint(tmp_path: Path) -> None:
    """From D0 = 1e12 and K = 1e14 the midpoint 2 years out means r = ln(99) / 2 per year."""
    growth = {"kind": "logistic", "ceiling_tokens_per_day": 1e14, "rate_per_year": math.log(99) / 2}
    projection = load_demand(demand_file(tmp_path, workload(growth=growth)))
    assert projection.tokens_per_day[0, 2] == pytest.approx(5e13, rel=1e-12)


def test_points_interpolate_geometrically(tmp_path: Path) -> None:
    """1e11 in 2026 and 1e13 in 2028: the geometric mean 1e12 in 2027, not the mean 5.05e12."""
    growth = {"kind": "points", "points": {2026: 1e11, 2028: 1e13}}
    projection = load_demand(demand_file(tmp_path, workload(growth=growth, tokens_per_day=None)))
    np.testing.assert_allclose(projection.tokens_per_day[0], [1e11, 1e12, 1e13], rtol=1e-12)


def test_points_on_a_quarterly_horizon(tmp_path: Path) -> None:
    """16x between 2026 and 2027 is 2x a quarter; a quarter-keyed point is read as its start."""
    growth = {"kind": "points", "points": {2026: 1.0, "2027Q1": 16.0}}
    path = demand_file(
        tmp_path,
        workload(growth=growth, tokens_per_day=None),
        start="2026Q1",
        end="2027Q1",
        step="quarter",
    )
    np.testing.assert_allclose(load_demand(path).tokens_per_day[0], [1, 2, 4, 8, 16])


def test_points_beyond_the_last_hold_or_trend_only_when_asked(tmp_path: Path) -> None:
    points = {2026: 1e12, 2027: 3e12}
    for mode, expected in (("hold", 3e12), ("trend", 9e12)):
        growth = {"kind": "points", "points": points, "beyond_last": mode}
        projection = load_demand(
            demand_file(tmp_path, workload(growth=growth, tokens_per_day=None))
        )
        assert projection.tokens_per_day[0, 2] == pytest.approx(expected, rel=1e-12)
    growth = {"kind": "points", "points": points}
    (problem,) = problems_of(demand_file(tmp_path, workload(growth=growth, tokens_per_day=None)))
    assert "demand.workloads[0].growth.points: the last point is before the horizon end" in problem
    assert "Fix: add a point for 2028, or set beyond_last" in problem


def test_csv_gives_one_value_per_period(tmp_path: Path) -> None:
    (tmp_path / "chat.csv").write_text(
        "period,tokens_per_day\n2025,1\n2026,1e12\n2027,2.5e12\n\n2028,7e12\n"
    )
    growth = {"kind": "csv", "file": "chat.csv"}
    projection = load_demand(demand_file(tmp_path, workload(growth=growth, tokens_per_day=None)))
    np.testing.assert_allclose(projection.tokens_per_day[0], [1e12, 2.5e12, 7e12])


# ---------------------------------------------------------------------- mix and day shape


def test_output_share_splits_input_and_output(tmp_path: Path) -> None:
    projection = load_demand(demand_file(tmp_path, workload()))
    np.testing.assert_allclose(projection.output_tokens_per_day[0], [2.5e11, 1.5e12, 9e12])
    np.testing.assert_allclose(projection.input_tokens_per_day[0], [7.5e11, 4.5e12, 2.7e13])


def test_flat_day_spreads_tokens_evenly(tmp_path: Path) -> None:
    projection = load_demand(demand_file(tmp_path, workload()))
    hourly = projection.hourly_tokens_per_s(2026)
    np.testing.assert_allclose(hourly, np.full((1, 24), 1e12 / 86_400))
    np.testing.assert_allclose(projection.peak_tokens_per_s, projection.mean_tokens_per_s)


def evening_peak_shares() -> list[float]:
    """A made-up test shape (not a sourced profile): 1/16 an hour 18:00-22:00, the rest even."""
    peak = [1 / 16] * 4
    rest = (1 - sum(peak)) / 20
    return [rest] * 18 + peak + [rest] * 2


def test_day_shape_conserves_daily_tokens_and_sets_the_peak(tmp_path: Path) -> None:
    shares = evening_peak_shares()
    path = demand_file(
        tmp_path,
        workload("chat", diurnal=shares),
        workload("batch", latency={"kind": "batch"}, output_share_fraction=0.5),
    )
    projection = load_demand(path)
    for period in projection.period_labels:
        hourly = projection.hourly_tokens_per_s(period)
        assert hourly.shape == (2, 24)
        p = projection.horizon.index(period)
        np.testing.assert_allclose(hourly.sum(axis=1) * 3600, projection.tokens_per_day[:, p])
    # Chat peaks at max share x tokens/day / 3600; in 2028 that is (1/16) x 3.6e13 / 3600.
    assert projection.peak_tokens_per_s[0, 2] == pytest.approx(3.6e13 / 16 / 3600, rel=1e-12)
    assert hourly[0].argmax() == 18
    total = total_hourly_tokens_per_s(projection, "2028")
    np.testing.assert_allclose(total, hourly.sum(axis=0))
    assert projection.latency == (Interactive(ttft_ms=500, tpot_ms=50), DeferrableBatch())


def test_projection_arrays_are_read_only(tmp_path: Path) -> None:
    projection = load_demand(demand_file(tmp_path, workload()))
    with pytest.raises(ValueError):
        projection.tokens_per_day[0, 0] = 0.0


# ------------------------------------------------------------------------------ bad input


def test_errors_are_planner_errors_so_the_cli_exits_2() -> None:
    assert issubclass(InputError, PlannerError)


def test_negative_demand_names_file_field_and_fix(tmp_path: Path) -> None:
    path = demand_file(tmp_path, workload(tokens_per_day=-5))
    (problem,) = problems_of(path)
    assert problem == (
        f"{path}: demand.workloads[0].tokens_per_day: -5 is outside the possible range: "
        "tokens (or video seconds) a day must be from 0 to 1e+18. "
        "Fix: write a value from 0 to 1e+18; check the figure against its source."
    )


def test_shares_not_summing_to_one_are_refused(tmp_path: Path) -> None:
    shares = [1 / 24] * 23 + [1 / 24 + 2e-6]
    (problem,) = problems_of(demand_file(tmp_path, workload(diurnal=shares)))
    assert "demand.workloads[0].diurnal: the 24 shares sum to 1.000002" in problem
    assert "Fix: scale the shares so they sum to 1" in problem
    within = [1 / 24] * 23 + [1 / 24 + 5e-7]
    load_demand(demand_file(tmp_path, workload(diurnal=within)))  # inside 1e-6: accepted


def test_ceiling_below_the_start_is_refused(tmp_path: Path) -> None:
    growth = {"kind": "logistic", "ceiling_tokens_per_day": 5e11, "midpoint": 2028}
    (problem,) = problems_of(demand_file(tmp_path, workload(growth=growth)))
    assert "demand.workloads[0].growth.ceiling_tokens_per_day: the ceiling (5e+11)" in problem
    assert "Fix: write a ceiling above tokens_per_day" in problem


def test_midpoint_on_the_wrong_side_of_the_start_is_refused(tmp_path: Path) -> None:
    growth = {"kind": "logistic", "ceiling_tokens_per_day": 1e14, "midpoint": 2025}
    (problem,) = problems_of(demand_file(tmp_path, workload(growth=growth)))
    assert "growth.midpoint: a start of 1e+12 is below half the ceiling" in problem


@pytest.mark.parametrize(
    ("fields", "field", "fix"),
    [
        (
            {"growth": {"kind": "exponential", "annual_growth_fraction": -1.0}},
            "growth.annual_growth_fraction",
            "write a value above -1, up to 1000",
        ),
        ({"tokens_per_day": None}, "tokens_per_day", "add tokens_per_day"),
        (
            {"growth": {"kind": "logistic", "ceiling_tokens_per_day": 2e12, "midpoint": 2028}},
            "growth.midpoint",
            "give rate_per_year instead of midpoint",
        ),
        (
            {"latency": {"kind": "interactive", "ttft_ms": 0, "tpot_ms": 50}},
            "latency.ttft_ms",
            "write a value above 0, up to 3,600,000",
        ),
        (
            {
                "growth": {"kind": "points", "points": {2027: 1e12, 2028: 2e12}},
                "tokens_per_day": None,
            },
            "growth.points",
            "add a point at or before 2026",
        ),
    ],
)
def test_each_rule_names_its_field_and_fix(
    tmp_path: Path, fields: dict[str, Any], field: str, fix: str
) -> None:
    (problem,) = problems_of(demand_file(tmp_path, workload(**fields)))
    assert f"demand.workloads[0].{field}: " in problem
    assert f"Fix: {fix}" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Values outside their schema ranges are reported together, like every schema error;
    once they are fixed, the demand rules report theirs together."""
    second = workload("a", growth={"kind": "exponential"}, diurnal=[0.5, 0.5])
    path = demand_file(
        tmp_path, workload("a", tokens_per_day=-1, output_share_fraction=1.5), second
    )
    fields = [p.split(": ")[1] for p in problems_of(path)]
    assert fields == [
        "demand.workloads[0].tokens_per_day",
        "demand.workloads[0].output_share_fraction",
    ]
    path = demand_file(tmp_path, workload("a"), second)
    fields = [p.split(": ")[1] for p in problems_of(path)]
    assert fields == [
        "demand.workloads[1].name",
        "demand.workloads[1].growth",
        "demand.workloads[1].diurnal",
    ]


def test_schema_errors_name_the_field(tmp_path: Path) -> None:
    path = demand_file(tmp_path, workload(tokens_per_dya=1e12, growth={"kind": "cubic"}))
    problems = problems_of(path)
    assert any(
        "demand.workloads[0].tokens_per_dya" in p and "Fix: remove it" in p for p in problems
    )
    assert any("demand.workloads[0].growth" in p and "cubic" in p for p in problems)


def test_bad_horizon_is_refused(tmp_path: Path) -> None:
    (problem,) = problems_of(demand_file(tmp_path, workload(), start="2026Q3"))
    assert "demand.horizon.start: '2026Q3' is a quarter but the horizon steps in years" in problem
    (problem,) = problems_of(demand_file(tmp_path, workload(), start=2029))
    assert "demand.horizon.end: the end (2028) is before the start (2029)" in problem


def test_csv_with_missing_periods_and_bad_values(tmp_path: Path) -> None:
    csv_path = tmp_path / "chat.csv"
    csv_path.write_text("period,tokens_per_day\n2026,1e12\n2027,lots\n2027,-3\n")
    growth = {"kind": "csv", "file": "chat.csv"}
    problems = problems_of(demand_file(tmp_path, workload(growth=growth, tokens_per_day=None)))
    assert problems == [
        f"{csv_path}: line 3: tokens_per_day: 'lots' is not a non-negative number. "
        "Fix: write a number of tokens per day like 1.5e12.",
        f"{csv_path}: line 4: tokens_per_day: '-3' is not a non-negative number. "
        "Fix: write a number of tokens per day like 1.5e12.",
        f"{csv_path}: period: no row for period(s) 2027, 2028. "
        "Fix: add one row per plan period of the horizon.",
    ]


def test_csv_missing_file_and_header(tmp_path: Path) -> None:
    growth = {"kind": "csv", "file": "absent.csv"}
    (problem,) = problems_of(demand_file(tmp_path, workload(growth=growth, tokens_per_day=None)))
    assert "absent.csv: CSV file not found." in problem
    horizon = load_demand(demand_file(tmp_path, workload())).horizon
    (tmp_path / "bad.csv").write_text("year,tokens\n2026,1\n")
    with pytest.raises(InputError, match="line 1: header is"):
        read_demand_csv(tmp_path / "bad.csv", horizon)


def test_points_and_csv_refuse_a_start_value(tmp_path: Path) -> None:
    growth = {"kind": "points", "points": {2026: 1e12, 2028: 1e13}}
    (problem,) = problems_of(demand_file(tmp_path, workload(growth=growth)))
    assert "tokens_per_day: growth kind 'points' gives the tokens per day itself" in problem


# ------------------------------------------------------------------------------ properties


def project(workloads: list[dict[str, Any]], end: int) -> DemandProjection:
    data = {"demand": {"horizon": {"start": 2026, "end": end}, "workloads": workloads}}
    return project_demand(parse_demand(data, Path("mem.yaml")), Path("mem.yaml"))


# The schema refuses more than 1e18 tokens a day: starts up to 1e9 keep every point (x 50^5)
# and every ceiling (x 1e6) inside that range.
starts = st.floats(min_value=1.0, max_value=1e9)


@settings(max_examples=60, deadline=None)
@given(
    d0=starts,
    multiple=st.floats(min_value=1.0, max_value=20.0),
    ceiling_factor=st.floats(min_value=1.01, max_value=1e6),
    rate=st.floats(min_value=0.01, max_value=5.0),
    step_factors=st.lists(st.floats(min_value=1.0, max_value=50.0), min_size=1, max_size=5),
    end=st.integers(min_value=2026, max_value=2036),
)
def test_projections_are_positive_finite_and_monotone_for_non_negative_growth(
    d0: float,
    multiple: float,
    ceiling_factor: float,
    rate: float,
    step_factors: list[float],
    end: int,
) -> None:
    values = d0 * np.cumprod([1.0, *step_factors])
    points = {2026 + 2 * i: float(v) for i, v in enumerate(values)}
    projection = project(
        [
            workload(
                "exp",
                tokens_per_day=d0,
                growth={"kind": "exponential", "multiple_per_year": multiple},
            ),
            workload(
                "logistic",
                tokens_per_day=d0,
                growth={
                    "kind": "logistic",
                    "ceiling_tokens_per_day": d0 * ceiling_factor,
                    "rate_per_year": rate,
                },
            ),
            workload(
                "points",
                tokens_per_day=None,
                growth={"kind": "points", "points": points, "beyond_last": "trend"},
            ),
        ],
        end,
    )
    tokens = projection.tokens_per_day
    assert np.all(np.isfinite(tokens)) and np.all(tokens > 0)
    assert np.all(np.diff(tokens, axis=1) >= -1e-9 * tokens[:, 1:])
    assert np.all(tokens[1] < d0 * ceiling_factor * (1 + 1e-12))
    peak = projection.peak_tokens_per_s
    assert np.all(peak * 86_400 >= tokens * (1 - 1e-12))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=24, max_size=24))
def test_any_normalised_day_shape_conserves_tokens(raw: list[float]) -> None:
    weights = np.asarray(raw) + 1e-3
    shares = (weights / weights.sum()).tolist()
    projection = project([workload(diurnal=shares)], 2027)
    hourly = projection.hourly_tokens_per_s("2027")
    assert hourly.sum() * 3600 == pytest.approx(projection.tokens_per_day[0, 1], rel=1e-9)
    assert projection.peak_tokens_per_s[0, 1] == pytest.approx(hourly.max(), rel=1e-12)


def test_the_documented_fragment_loads(tmp_path: Path) -> None:
    """docs/demand.md's YAML example is a working demand section."""
    doc = (Path(__file__).parents[1] / "docs" / "demand.md").read_text(encoding="utf-8")
    fragment = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "demand").mkdir()
    rows = "".join(f"{year},{(year - 2025) * 1e12}\n" for year in range(2026, 2031))
    (tmp_path / "demand" / "tokens.csv").write_text("period,tokens_per_day\n" + rows)
    (tmp_path / "scenario.yaml").write_text(fragment)
    projection = load_demand(tmp_path / "scenario.yaml")
    assert projection.workload_names == ("chat", "agents", "national", "from_file", "video")
    assert projection.tokens_per_day[1, 3] == pytest.approx(5e14)  # logistic midpoint 2029
    assert projection.tokens_per_day[2, 1] == pytest.approx(4e14)  # a point, exactly
    assert projection.units[4] == "video_s" and projection.tokens_per_day[4].sum() == 0.0
    assert projection.video_s_per_day[4, 1] == pytest.approx(6.8e5 * 3)  # video seconds a day


def test_pure_functions_match_their_formulas() -> None:
    years = np.array([2026.0, 2027.0, 2028.0])
    np.testing.assert_allclose(logistic_tokens_per_day(10.0, 1.0, 2027.0, years)[1], 5.0)
    trend = geometric_interpolation(
        np.array([0.0, 1.0]), np.array([1.0, 4.0]), np.array([2.0]), "trend"
    )
    assert trend[0] == pytest.approx(16.0)
