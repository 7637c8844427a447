"""Real parts from the shipped catalogue against the public record of the US rules for China."""

from __future__ import annotations

import datetime as dt

import pytest

from planner.catalogue.parts import Catalogue
from planner.rules import RegimeLibrary, classify, purchase_terms

LIB = RegimeLibrary.load()
CATALOGUE = Catalogue.load()


def part(part_id: str):  # type: ignore[no-untyped-def]
    if part_id not in CATALOGUE.parts:
        pytest.skip(f"profile {part_id} not in the catalogue yet")
    return CATALOGUE[part_id]


# (part, Oct-2022 bucket, Oct-2023 bucket): A800/H800 were designed to pass 2022 (NVLink cut to
# 400 GB/s) and are caught in 2023; H20 and L20 were designed under the 2023 thresholds.
RECORD = [
    ("a100-sxm", "3A090.a", "3A090.a"),
    ("a800", None, "3A090.a"),
    ("h100-sxm", "3A090.a", "3A090.a"),
    ("h800", None, "3A090.a"),
    ("h20", None, None),
    ("l20", None, None),
    ("l40s", None, "3A090.a"),
]


@pytest.mark.parametrize(("part_id", "eccn_2022", "eccn_2023"), RECORD)
def test_china_buyer_under_2022_and_2023(
    part_id: str, eccn_2022: str | None, eccn_2023: str | None
) -> None:
    p = part(part_id)
    c22 = classify(p, "CN", None, library=LIB, regime="us-2022-10")
    c23 = classify(p, "CN", None, library=LIB, regime="us-2023-10")
    assert c22.eccn == eccn_2022
    assert c23.eccn == eccn_2023
    assert c22.status == ("licence_required" if eccn_2022 else "no_licence")
    assert c23.status == ("licence_required" if eccn_2023 else "no_licence")
    if eccn_2023:
        assert c23.review_policy == "presumption_of_denial"
        assert c23.rule == "us-2023-10/3a090a-datacenter-d5"


def test_known_tpp_values() -> None:
    expected = {"a100-sxm": 4992, "h100-sxm": 15832, "h20": 2368, "l20": 1912, "l40s": 5864}
    for part_id, tpp in expected.items():
        c = classify(part(part_id), "CN", None, library=LIB, regime="us-2023-10")
        assert c.tpp == pytest.approx(tpp, rel=1e-6), part_id


@pytest.mark.parametrize(
    ("date", "status", "policy", "rule"),
    [
        (dt.date(2025, 4, 8), "no_licence", None, None),
        (
            dt.date(2025, 4, 9),
            "licence_required",
            "presumption_of_denial",
            "us-2025-04/h20-class-licence",
        ),
        (
            dt.date(2025, 8, 10),
            "licence_required",
            "presumption_of_denial",
            "us-2025-04/h20-class-licence",
        ),
        (dt.date(2025, 8, 11), "licence_required", "approval", "us-2025-08/h20-class-licence"),
        (dt.date(2026, 6, 1), "licence_required", "approval", "us-2025-08/h20-class-licence"),
    ],
)
def test_h20_licence_history(
    date: dt.date, status: str, policy: str | None, rule: str | None
) -> None:
    c = classify(part("h20"), "CN", date, library=LIB)
    assert (c.status, c.review_policy, c.rule) == (status, policy, rule)


def test_h200_in_2026_carries_the_25_percent_duty() -> None:
    t = purchase_terms(
        part("h200"), "CN", dt.date(2026, 3, 1), state_funded_site=False, library=LIB
    )
    assert t.allowed
    assert t.review_policy == "case_by_case"
    assert t.price_uplift_fraction == pytest.approx(0.25)
    # The duty is its own control, named for the H200 and MI325X (export_regimes/us-2026-01.yaml,
    # proclamation of 14-Jan-2026 as summarised by Crane Worldwide and Husch Blackwell).
    assert "us-2026-01/case-by-case-h200-mi325x" in t.rules


def test_h20_after_august_2025_carries_the_15_percent_revenue_share() -> None:
    t = purchase_terms(part("h20"), "CN", dt.date(2025, 9, 1), state_funded_site=False, library=LIB)
    assert t.allowed
    assert t.price_uplift_fraction == pytest.approx(0.15)
    assert t.rules == ("us-2025-08/h20-class-licence",)


def test_blackwell_stays_denied_in_2026() -> None:
    for part_id in ("b200", "b300", "gb200"):
        t = purchase_terms(
            part(part_id), "CN", dt.date(2026, 3, 1), state_funded_site=False, library=LIB
        )
        assert not t.allowed, part_id
        assert t.review_policy == "presumption_of_denial"


def test_china_only_skus_are_not_in_the_2026_opening() -> None:
    c = classify(part("h800"), "CN", dt.date(2026, 3, 1), library=LIB)
    assert (c.review_policy, c.rule) == ("presumption_of_denial", "us-2023-10/3a090a-datacenter-d5")


def test_ascend_bought_in_china_needs_no_us_licence_and_earns_the_subsidy() -> None:
    p = part("ascend-910b")
    c = classify(p, "CN", dt.date(2026, 3, 1), library=LIB)
    assert not c.subject and c.status == "no_licence" and c.rule is None
    assert any("not an export" in r for r in c.reasons)
    t = purchase_terms(p, "CN", dt.date(2026, 3, 1), state_funded_site=True, library=LIB)
    assert t.allowed and t.power_subsidy_fraction == pytest.approx(0.5)
    h20 = purchase_terms(
        part("h20"), "CN", dt.date(2026, 3, 1), state_funded_site=True, library=LIB
    )
    assert not h20.allowed
    assert "cn-2025-11/state-funded-domestic-only" in h20.rules


def test_ascend_bought_abroad_carries_the_gp10_warning() -> None:
    c = classify(part("ascend-910b"), "MY", dt.date(2025, 6, 1), library=LIB)
    assert any("us-2025-05/gp10-ascend-guidance" in r for r in c.reasons)
