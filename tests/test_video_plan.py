"""A plan with video generation: scenarios/tiny/one_site_video.yaml solved by hand, both backends,
the independent checker, the JSON summary's video keys, and bad video input as exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from models.capacity_check import check_solution
from planner.errors import InputError
from planner.plan.scenario import parse_scenario
from planner.plan.solve import PlanResult, resolve, solve_plan, summary

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT / "scenarios" / "tiny" / "one_site_video.yaml"
HOURS = 8760.0
# docs/cli.md "JSON (stable keys)" of `planner plan`
DOCUMENTED_KEYS = {
    "scenario", "status", "currency", "net_present_cost", "cost_per_million_served_tokens",
    "unserved_tokens", "served_mtok_by_year", "mip_gap", "relaxed", "backend", "solver",
    "build_s", "solve_s", "costs", "estimate_share", "parts", "installed", "sites", "binding",
    "duals_from_lp_relaxation", "rules", "notes",
}  # fmt: skip
VIDEO_KEYS = {
    "video_cost_per_minute", "unserved_video_s", "served_video_minutes_by_year",
    "video_cost_share_fraction", "workload_units",
}  # fmt: skip


def raw() -> dict[str, Any]:
    return yaml.safe_load(VIDEO.read_text(encoding="utf-8"))


def plan(relax: bool, backend: str = "cvxpy", data: dict[str, Any] | None = None) -> PlanResult:
    resolved = resolve(parse_scenario(data or raw(), VIDEO), relax=relax)
    result = solve_plan(resolved, backend=backend)
    assert check_solution(result.resolved.inputs, result.solution) == []
    return result


@pytest.fixture(scope="module")
def lp() -> PlanResult:
    return plan(relax=True)


def per_part_cost(x: Any) -> float:
    """Price + energy of one H200 busy both years: 2 x 8,760 h x 80 per MWh x PUE 1.25 x
    (busy + host) W x 1e-6."""
    return float(
        x.price_per_part[0, 0]
        + 2 * HOURS * 80 * 1.25 * (x.active_w[0] + x.server_overhead_w[0]) * 1e-6
    )


def test_lp_optimum_by_hand(lp: PlanResult) -> None:
    """Flat demand, no discounting, no resale, one part: the LP buys exactly the busy parts,
    D_chat / k_chat + D_video / k_video, in 2026, each costing price + two years' energy:

        NPC = (1e10 / 86,400 / k_chat + 2,000 / 86,400 / k_video) x per-part cost.

    k_video = 989.5e12 x 0.34 / 1.2886e17 = 2.611e-3 video s/s per H200 (docs/serving.md V1),
    so video needs 0.023148 / 2.611e-3 = 8.866 parts; an H200 draws 700 W busy + 575 W host."""
    x = lp.resolved.inputs
    assert x.video is not None and x.video.tolist() == [False, True]
    assert x.tokens_per_s_per_part[1, 0] == pytest.approx(2.6109e-3, rel=1e-4)
    assert x.active_w[0] + x.server_overhead_w[0] == pytest.approx(1_275.0)
    assert x.demand_tokens_per_s[1, 0, 0] == pytest.approx(2_000 / 86_400)
    n_chat = 1e10 / 86_400 / x.tokens_per_s_per_part[0, 0]
    n_video = 2_000 / 86_400 / x.tokens_per_s_per_part[1, 0]
    assert n_video == pytest.approx(8.866, abs=1e-3)
    npc = (n_chat + n_video) * per_part_cost(x)
    assert lp.solution.objective == pytest.approx(npc, rel=1e-6)
    assert lp.solution.parts_bought[0, 0, 0] == pytest.approx(n_chat + n_video, rel=1e-6)


def test_summary_splits_the_cost_between_tokens_and_video(lp: PlanResult) -> None:
    """One part type, fully busy: the video share is its share of busy parts, n_v / (n_c + n_v);
    a minute of video costs NPC x share / (2 years x 2,000 s a day x 365 / 60) minutes."""
    x, s = lp.resolved.inputs, summary(lp)
    n = x.demand_tokens_per_s[:, 0, 0] / x.tokens_per_s_per_part[:, 0]
    share = n[1] / n.sum()
    assert s["video_cost_share_fraction"] == pytest.approx(share, rel=1e-6)
    minutes = 2_000 * 365 / 60
    assert s["served_video_minutes_by_year"] == pytest.approx({"2026": minutes, "2027": minutes})
    assert s["video_cost_per_minute"] == pytest.approx(
        s["net_present_cost"] * share / (2 * minutes), rel=1e-6
    )
    served_mtok = 2 * 1e10 * 365 / 1e6  # video seconds are not tokens
    assert s["cost_per_million_served_tokens"] == pytest.approx(
        s["net_present_cost"] * (1 - share) / served_mtok, rel=1e-6
    )
    assert s["unserved_video_s"] == pytest.approx(0.0, abs=1e-6)
    assert s["workload_units"] == {"chat": "tokens", "video": "video_s"}


def test_milp_optimum_in_whole_servers() -> None:
    """12.91 busy parts round up to two servers of 8: 16 H200s each paying price + idle and host
    energy, plus (busy - idle) energy for the 12.91 parts' worth of work."""
    milp = plan(relax=False)
    x = milp.resolved.inputs
    busy = float((x.demand_tokens_per_s[:, 0, 0] / x.tokens_per_s_per_part[:, 0]).sum())
    unit = 2 * HOURS * 80 * 1.25 * 1e-6
    standing = 16 * (x.price_per_part[0, 0] + unit * (x.idle_w[0] + x.server_overhead_w[0]))
    npc = standing + unit * (x.active_w[0] - x.idle_w[0]) * busy
    assert milp.solution.parts_bought.sum() == pytest.approx(16.0)
    assert milp.solution.objective == pytest.approx(npc, rel=2e-4)


@pytest.mark.parametrize("relax", [True, False])
def test_cvxpy_and_pyomo_agree(relax: bool) -> None:
    a, b = plan(relax, "cvxpy"), plan(relax, "pyomo")
    assert a.solution.objective == pytest.approx(b.solution.objective, rel=1e-6 if relax else 1e-4)
    np.testing.assert_allclose(
        a.solution.unserved_tokens_per_s, b.solution.unserved_tokens_per_s, atol=1e-6
    )


def test_unserved_video_is_reported_in_seconds_and_priced_per_minute() -> None:
    """Ban the only part and give the chat no demand: all 2 x 2,000 x 365 video seconds go
    unserved, at 1e5 per minute, and no cost per minute of video can be quoted."""
    data = raw()
    data["rules"]["banned_parts"] = ["h200"]
    data["demand"]["workloads"][0]["tokens_per_day"] = 0.0
    s = summary(plan(relax=True, data=data))
    assert s["unserved_video_s"] == pytest.approx(2 * 2_000 * 365, rel=1e-9)
    assert s["costs"]["unserved_penalty"] == pytest.approx(2 * 2_000 * 365 / 60 * 1e5, rel=1e-9)
    assert s["video_cost_per_minute"] is None  # nothing generated


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_json_keeps_its_documented_keys_and_adds_the_video_ones(tmp_path: Path) -> None:
    code, out, err = run(
        "plan", str(VIDEO), "--relax", "--format", "json", "--out", str(tmp_path / "r")
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= DOCUMENTED_KEYS | VIDEO_KEYS
    assert data["video_cost_per_minute"] > 0


def test_a_video_workload_without_its_penalty_is_exit_code_2(tmp_path: Path) -> None:
    data = raw()
    del data["unserved_penalty_per_video_minute"]
    path = tmp_path / "no_penalty.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as info:
        resolve(parse_scenario(data, path))
    problem = info.value.problems[0]
    assert (problem.file, problem.field) == (str(path), "unserved_penalty_per_video_minute")
    assert "add unserved_penalty_per_video_minute" in problem.fix
    code, _, err = run("plan", str(path))
    assert code == 2 and "unserved_penalty_per_video_minute" in err and "Traceback" not in err


def test_a_video_profile_on_token_demand_is_exit_code_2(tmp_path: Path) -> None:
    data = raw()
    del data["demand"]["workloads"][1]["unit"]
    data["demand"]["workloads"][1]["tokens_per_day"] = data["demand"]["workloads"][1].pop(
        "video_s_per_day"
    )
    data["demand"]["workloads"][1]["output_share_fraction"] = 0.5
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = run("plan", str(path))
    assert code == 2 and "Traceback" not in err
    assert "serving[1].profile" in err and "set unit: video_s" in err
