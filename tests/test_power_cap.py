"""Power-capped serving (docs/serving.md, S9): sourced curves, `serving estimate --power-cap`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.power_cap import fit_exponent, load_power_caps, read_power_caps


def test_fit_exponent_recovers_a_power_law() -> None:
    rho = np.array([0.5, 0.7, 0.9])
    assert fit_exponent(rho, rho**0.3) == pytest.approx(0.3)


def test_a100_series_is_the_hand_derived_point() -> None:
    """250 W -> 175 W: power 0.820, throughput 0.939 of uncapped: alpha = ln 0.939 / ln 0.820."""
    table = load_power_caps()
    a100 = next(s for s in table.series if s.part == "a100-sxm")
    assert a100.exponent == pytest.approx(math.log(0.939) / math.log(0.820))


def test_rtx_series_read_against_the_uncapped_run() -> None:
    """The 300 W point of the dense series: 298.7 / 573.0 W and 1033.5 / 1386.7 tokens/s."""
    table = load_power_caps()
    dense = next(s for s in table.series if s.id == "rtx-pro-6000-qwen3.6-27b-n32")
    assert dense.power_fraction[-1] == pytest.approx(298.7 / 573.0)
    assert dense.throughput_fraction[-1] == pytest.approx(1033.5 / 1386.7)


def test_curve_caps_only_below_the_uncapped_draw() -> None:
    """A part drawing 420 W of 700 W: caps of 60% and up do nothing; 50% = 350 W cuts power to
    350 W and throughput to (350/420)^alpha."""
    table, part = load_power_caps(), Catalogue.load()["h200"]
    curve = table.curve(part, 420.0)
    assert curve.basis == "transferred" and curve.confidence == "estimate"
    assert curve.busy_w.tolist() == pytest.approx([350.0, 420.0, 420.0, 420.0, 420.0, 420.0])
    assert curve.throughput_fraction[0] == pytest.approx((350 / 420) ** curve.exponent)
    assert np.all(curve.throughput_fraction[1:] == 1.0)
    alphas = [s.exponent for s in table.series]
    assert curve.exponent == pytest.approx(np.mean(alphas))


def test_curve_is_concave_and_saves_energy_per_token() -> None:
    table, part = load_power_caps(), Catalogue.load()["rtx-pro-6000-server"]
    curve = table.curve(part, 600.0)
    assert curve.basis == "own-series" and curve.confidence == "measured"
    slope = np.diff(curve.throughput_fraction) / np.diff(curve.busy_w)
    assert np.all(np.diff(slope) <= 1e-12)  # concave tokens vs watts
    per_joule = curve.throughput_fraction / curve.busy_w
    assert np.all(np.diff(per_joule) <= 1e-12)  # tokens per joule highest at the lowest cap


def test_bad_series_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "power_caps.yaml"
    bad.write_text(
        "series:\n  - {id: x, part: h100-sxm, device: d, workload: w, tdp_w: 700, source: s,\n"
        "     confidence: press, points: [{cap_w: 600, power_fraction: 0.8, "
        "throughput_fraction: 0.5}]}\n"
    )
    with pytest.raises(InputError) as exc:
        read_power_caps(bad)
    assert "series[0].points" in str(exc.value) and "concave" in str(exc.value)


def test_serving_estimate_power_cap() -> None:
    args = ["serving", "estimate", "--part", "h100-sxm", "--workload", "llama-3.1-70b"]
    runner = CliRunner()
    full = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    capped = runner.invoke(app, [*args, "--power-cap", "0.7", "--format", "json"])
    assert capped.exit_code == 0, capped.output
    row = json.loads(capped.stdout)
    part = Catalogue.load()["h100-sxm"]
    overhead = part.server_overhead_w or 0.0
    busy = full["watts_per_part"] - overhead
    assert row["power_cap_w"] == pytest.approx(490.0)
    assert row["watts_per_part"] == pytest.approx(min(busy, 490.0) + overhead)
    tau = (min(busy, 490.0) / busy) ** row["cap_curve_exponent"]
    assert row["cap_throughput_fraction"] == pytest.approx(tau)
    assert row["total_tokens_per_s_per_part"] == pytest.approx(
        full["total_tokens_per_s_per_part"] * tau
    )
    outside = runner.invoke(app, [*args, "--power-cap", "0.3"])
    assert outside.exit_code == 2
