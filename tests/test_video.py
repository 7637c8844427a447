"""Video generation: the compute-bound serving estimate, its CLI, and video demand in seconds.

Figures are checked against hand-worked numbers from the profiles (H200: 989.5 TFLOPS dense bf16,
700 W TDP, 575 W host share, $27,000) and the Wan2.1 card (docs/workloads.md: 6.523e17 FLOPs per
5.0625 s clip), with the cuda stack's video flop fraction 0.34 (software_stacks.yaml).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.demand.projection import load_demand
from planner.errors import InputError
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.model import ServingRequest, estimate
from planner.serving.video import estimate_video
from planner.serving.workloads import WorkloadLibrary

FLOPS_PER_VIDEO_S = 6.523288813568e17 / 5.0625  # docs/workloads.md, steps 1-6
H200_RATE = 989.5e12 * 0.34 / FLOPS_PER_VIDEO_S  # video s per s: 2.6109e-3


@pytest.fixture(scope="module")
def parts() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="module")
def wan() -> Any:
    return WorkloadLibrary.load()["wan2.1-t2v-14b"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_h200_generates_a_clip_in_32_minutes(parts: Catalogue, wan: Any) -> None:
    """(V1) 989.5e12 x 0.34 / 1.2886e17 = 2.611e-3 video s per s: one 5.06 s clip in 32.3 min.
    (V2) busy the whole time: 700 W + 575 W host share = 1,275 W; cost per minute of video at
    the default economics (5 years, no discounting, 80 per MWh, PUE 1.56):
    (27,000 / 5 / 8,760 + 1,275 x 1.56 x 80 / 1e6) per hour / (2.611e-3 x 3,600 s) x 60 = 4.95."""
    h200 = parts["h200"]
    est = estimate_video(h200, wan, efficiency_for(h200, load_stacks()))
    assert est.video_s_per_s_per_part == pytest.approx(2.6109e-3, rel=1e-4)
    assert est.video_s_per_s_per_part == pytest.approx(H200_RATE, rel=1e-9)
    assert est.seconds_per_clip_per_part / 60 == pytest.approx(32.32, abs=0.01)
    assert est.watts_per_part == pytest.approx(1_275.0)
    per_hour = 27_000 / 5 / 8_760 + 1_275 * 1.56 * 80 / 1e6
    assert est.cost_per_video_minute == pytest.approx(per_hour / (H200_RATE * 3_600) * 60)
    assert est.cost_per_video_minute == pytest.approx(4.95, abs=0.005)
    assert (est.precision, est.bound, est.parts_per_replica) == ("bf16", "compute", 1)


def test_video_rate_scales_with_peak_and_stack(parts: Catalogue, wan: Any) -> None:
    """Compute-bound: H20 / H200 = 148 / 989.5 (same stack); Ascend 910C on CANN at 0.25."""
    stacks = load_stacks()
    rate = {
        p: estimate_video(parts[p], wan, efficiency_for(parts[p], stacks)).video_s_per_s_per_part
        for p in ("h20", "h200", "ascend-910c")
    }
    assert rate["h20"] / rate["h200"] == pytest.approx(148 / 989.5)
    assert rate["ascend-910c"] == pytest.approx(780e12 * 0.25 / FLOPS_PER_VIDEO_S)


def test_a_stack_without_a_video_figure_is_an_input_error(parts: Catalogue, wan: Any) -> None:
    cpu = next(p for p in parts.parts.values() if p.software_stack == "cpu")
    with pytest.raises(InputError) as info:
        estimate_video(cpu, wan, efficiency_for(cpu, load_stacks()))
    problem = info.value.problems[0]
    assert problem.field == "stacks.cpu.video_flop_efficiency_fraction"
    assert "software_stacks.yaml" in problem.file and "add video_flop" in problem.fix


def test_token_and_video_models_refuse_each_others_workloads(parts: Catalogue, wan: Any) -> None:
    h200, stacks = parts["h200"], load_stacks()
    with pytest.raises(InputError, match="estimate_video"):
        estimate(h200, wan, ServingRequest(), efficiency_for(h200, stacks))
    with pytest.raises(InputError, match="not a video workload"):
        estimate_video(h200, WorkloadLibrary.load()["qwen3-8b"], efficiency_for(h200, stacks))


def test_serving_estimate_cli_gives_the_video_figure() -> None:
    code, out, err = run(
        "serving", "estimate", "--part", "h200", "--workload", "wan2.1-t2v-14b", "-f", "json"
    )
    assert code == 0, err
    row = json.loads(out)
    assert row["kind"] == "video" and row["bound"] == "compute"
    assert row["video_s_per_s_per_part"] == pytest.approx(H200_RATE, rel=1e-9)
    assert row["video_flop_efficiency_fraction"] == 0.34
    assert "software stack 'cuda'" in row["efficiency_basis"]
    code, _, err = run(
        "serving", "estimate", "--part", "h200", "--workload", "wan2.1-t2v-14b", "--precision",
        "fp2",
    )  # fmt: skip
    assert code == 2 and "'fp2' is not a serving precision" in err and "Traceback" not in err


def test_hardware_compare_with_a_video_workload() -> None:
    code, out, err = run(
        "hardware", "compare", "h20", "h200", "--workload", "wan2.1-t2v-14b", "-f", "json"
    )
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["h200"]["video_s_per_s_per_part"] == pytest.approx(H200_RATE, rel=1e-9)
    assert rows["h20"]["minutes_per_clip_per_part"] == pytest.approx(
        5.0625 / (148e12 * 0.34 / FLOPS_PER_VIDEO_S) / 60
    )
    assert rows["h20"]["serving_note"] is None


# ---------------------------------------------------------------------------- demand in video s


def video(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "video",
        "unit": "video_s",
        "video_s_per_day": 1.0e5,
        "growth": {"kind": "exponential", "multiple_per_year": 2},
        "latency": {"kind": "batch"},
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def chat() -> dict[str, Any]:
    return {
        "name": "chat",
        "tokens_per_day": 1.0e12,
        "growth": {"kind": "exponential", "multiple_per_year": 3},
        "output_share_fraction": 0.25,
        "latency": {"kind": "interactive", "ttft_ms": 500, "tpot_ms": 50},
    }


def demand_file(tmp_path: Path, *workloads: dict[str, Any]) -> Path:
    path = tmp_path / "demand.yaml"
    span = {"start": 2026, "end": 2028}
    path.write_text(yaml.safe_dump({"demand": {"horizon": span, "workloads": list(workloads)}}))
    return path


def test_video_demand_counts_seconds_not_tokens(tmp_path: Path) -> None:
    d = load_demand(demand_file(tmp_path, chat(), video()))
    assert d.units == ("tokens", "video_s")
    assert d.is_video.tolist() == [False, True]
    np.testing.assert_allclose(d.video_s_per_day[1], [1e5, 2e5, 4e5])
    np.testing.assert_allclose(d.tokens_per_day[1], 0.0)  # token sums leave video out
    np.testing.assert_allclose(d.per_day[:, 2], [9e12, 4e5])


def test_video_demand_from_a_csv_of_video_seconds(tmp_path: Path) -> None:
    (tmp_path / "video.csv").write_text("period,video_s_per_day\n2026,10\n2027,20\n2028,30\n")
    spec = video(video_s_per_day=None, growth={"kind": "csv", "file": "video.csv"})
    d = load_demand(demand_file(tmp_path, spec))
    np.testing.assert_allclose(d.video_s_per_day[0], [10, 20, 30])


def test_video_demand_errors_name_field_and_fix(tmp_path: Path) -> None:
    path = demand_file(
        tmp_path,
        video(tokens_per_day=5.0, output_share_fraction=0.5),
        video(name="v2", growth={"kind": "logistic", "ceiling_tokens_per_day": 1e9}),
        {k: v for k, v in chat().items() if k != "output_share_fraction"},
    )
    with pytest.raises(InputError) as info:
        load_demand(path)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "demand.workloads[0].tokens_per_day: a workload with unit 'video_s'" in text
    assert "demand.workloads[0].output_share_fraction: a video workload has no" in text
    assert "demand.workloads[1].growth.kind: logistic growth" in text
    assert "demand.workloads[2].output_share_fraction: missing" in text
    assert all(p.file == str(path) and p.fix for p in info.value.problems)
