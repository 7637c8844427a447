"""Catalogue and rule figures corrected against the public record (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_a_chinese_headquartered_buyer_in_malaysia_needs_the_chinese_licence() -> None:
    """The Oct-2023 rule reaches entities headquartered in D:5 or Macau wherever they are
    (15 CFR 742.6(a)(6)(iii)): on 2024-06-01 an H100 for a CN-headquartered buyer in Malaysia
    needs the licence a buyer in China needs; a Malaysian buyer does not."""

    def status(*buyer: str) -> tuple[str, str | None]:
        (row,) = classify("h100-sxm", *buyer, "--date", "2024-06-01")
        return row["status"], row["review_policy"]

    assert status("--buyer", "MY", "--headquarters", "CN") == status("--buyer", "CN")
    assert status("--buyer", "CN") == ("licence_required", "presumption_of_denial")
    assert status("--buyer", "MY")[0] == "no_licence"


def test_an_unknown_headquarters_exits_2_naming_the_option() -> None:
    result = CliRunner().invoke(
        app, ["export", "classify", "h100-sxm", "--buyer", "MY", "--headquarters", "ZZZ"]
    )
    assert result.exit_code == 2 and "--headquarters" in result.stderr


def test_a_scenario_names_its_buyers_headquarters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The tiny H20/H200 scenario with its site in Malaysia: a CN-headquartered owner pays the
    China terms (H200: 25% duty under us-2026-01; H20: 15% revenue share under us-2025-08), a
    Malaysian one pays none."""
    import yaml

    from planner.plan.resolve import resolve
    from planner.plan.scenario import load_scenario

    tiny = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "one_site_two_parts.yaml"

    def uplift(**buyer: str) -> dict[str, float]:
        data = yaml.safe_load(tiny.read_text())
        data["rules"]["buyer"] = buyer
        data["sites"][0].update(country="MY", province="Johor", timezone="Asia/Kuala_Lumpur")
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        plan = resolve(load_scenario(path))
        fees = plan.inputs.price_uplift_fraction[:, 0]
        return dict(zip(plan.axes.parts, fees.tolist(), strict=True))

    assert uplift(country="MY") == {"h20": 0.0, "h200": 0.0}
    assert uplift(country="MY", headquarters="CN") == pytest.approx({"h20": 0.15, "h200": 0.25})


def test_a_misspelt_chinese_province_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    """'Neimenggu' would silently lose Inner Mongolia's 50% power subsidy; it exits 2 instead."""
    import yaml

    tiny = Path(__file__).resolve().parent.parent / "scenarios" / "tiny" / "cn_two_parts.yaml"
    data = yaml.safe_load(tiny.read_text())
    data["sites"][0]["province"] = "Neimenggu"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(app, ["plan", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "sites[0].province" in result.stderr and "did you mean 'Inner Mongolia'" in result.stderr
    assert not (tmp_path / "run").exists()


def test_every_province_a_rule_names_is_on_the_list() -> None:
    from planner.rules import RegimeLibrary
    from planner.sites.schema import CN_PROVINCES

    library = RegimeLibrary.load()
    named = {
        region
        for regime in library
        for control in regime.controls
        for region in (getattr(control, "regions", None) or ())
    }
    assert named and named <= set(CN_PROVINCES)
