"""Catalogue and rule figures corrected against the public record (issue 13)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue


def classify(*args: str) -> list[dict]:
    result = CliRunner().invoke(app, ["export", "classify", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_tpp_of_the_910c_mi355x_and_mlu370_as_3a090_counts_it() -> None:
    """910C: 800 FP16 TFLOPS x 16 = 12,800; MI355X: FP6 at the FP4 rate, 10,050 x 6 = 60,300;
    MLU370-X8: two ICs of 1,024 each, assessed one by one, so outside 3A090 altogether."""
    rows = {
        r["part"]: r
        for r in classify(
            "ascend-910c", "mi355x", "mlu370-x8", "--buyer", "CN", "--date", "2026-02-01"
        )
    }
    assert rows["ascend-910c"]["tpp"] == pytest.approx(12_800)
    assert rows["mi355x"]["tpp"] == pytest.approx(60_400, rel=0.005)
    mlu = rows["mlu370-x8"]
    assert mlu["tpp"] == pytest.approx(1_024) and mlu["eccn"] is None
    assert not any("could be 3A090" in reason for reason in mlu["reasons"])


@pytest.mark.parametrize(
    ("date", "status"),
    [
        ("2023-10-20", "no_licence"),
        ("2023-10-23", "licence_required"),
        ("2023-11-20", "licence_required"),
    ],
)
def test_the_a800_and_h800_needed_a_licence_from_23_october_2023(date: str, status: str) -> None:
    """BIS brought the Oct-2023 licence requirement forward to 23-Oct-2023 for five NVIDIA parts
    (NVIDIA 8-K, 24-Oct-2023); the L20, designed under the rule, is not among them."""
    rows = {r["part"]: r for r in classify("a800", "h800", "l20", "--buyer", "CN", "--date", date)}
    assert rows["a800"]["status"] == rows["h800"]["status"] == status
    assert rows["l20"]["status"] != "licence_required"


def test_b200_fp64_is_37_tflops() -> None:
    assert Catalogue.load()["b200"].peak("fp64") == pytest.approx(37e12)
