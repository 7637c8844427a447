"""One test per rule case of issue 13: the Jan-2026 data-centre filter, the H200/MI325X duty,
the Oct-2023 requirement brought forward, buyers headquartered abroad, cumulative caps."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.rules import Buyer, RegimeLibrary, classify, purchase_terms
from tests.test_export_engine import make_part

LIB = RegimeLibrary.load()
CATALOGUE = Catalogue.load()
FEB_2026 = dt.date(2026, 2, 1)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- Jan-2026: the case-by-case review covers datacentre parts only ------------------------------


@pytest.mark.parametrize("date", [dt.date(2025, 12, 1), FEB_2026])
def test_a_non_datacentre_part_keeps_the_notification_path(date: dt.date) -> None:
    """TPP 5,280 with PD 5.0 (< 5.92), not designed for datacentres: 3A090.a only through
    TPP >= 4,800, so License Exception NAC (notification) applies before and after 15-Jan-2026,
    with no duty; the same figures on a datacentre part are licensed case by case in 2026."""
    consumer = make_part(5280, pd=5.0, datacenter=False, memory_tb_per_s=1.8)
    c = classify(consumer, "CN", date, library=LIB)
    assert (c.eccn, c.status, c.rule) == (
        "3A090.a",
        "notification",
        "us-2023-10/nac-notification-d5",
    )
    assert c.fees.duty_fraction == 0.0
    server = make_part(5280, pd=5.0, datacenter=True, memory_tb_per_s=1.8)
    s = classify(server, "CN", FEB_2026, library=LIB)
    assert (s.status, s.review_policy) == ("licence_required", "case_by_case")


# --- the 25% duty names the H200 and MI325X --------------------------------------------------


@pytest.mark.parametrize(
    ("part_id", "duty"),
    [("h200", 0.25), ("mi325x", 0.25), ("a100-sxm", 0.0), ("l40s", 0.0), ("mi300x", 0.0)],
)
def test_the_duty_applies_to_the_named_parts_only(part_id: str, duty: float) -> None:
    t = purchase_terms(CATALOGUE[part_id], "CN", FEB_2026, state_funded_site=False, library=LIB)
    assert t.allowed and t.review_policy == "case_by_case"
    assert t.price_uplift_fraction == pytest.approx(duty)


# --- Oct-2023: the five named parts from 23-Oct-2023, the rest from 17-Nov-2023 ----------------


@pytest.mark.parametrize(
    ("part_id", "date", "status"),
    [
        ("l40s", dt.date(2023, 10, 20), "no_licence"),
        ("l40s", dt.date(2023, 10, 23), "licence_required"),
        ("h800", dt.date(2023, 10, 23), "licence_required"),
        ("a100-sxm", dt.date(2023, 10, 23), "licence_required"),
    ],
)
def test_the_oct_2023_requirement_from_23_october(part_id: str, date: dt.date, status: str) -> None:
    c = classify(CATALOGUE[part_id], "CN", date, library=LIB)
    assert c.status == status
    if status == "licence_required":
        assert c.review_policy == "presumption_of_denial"


# --- headquarters, not only location ---------------------------------------------------------


def test_a_china_headquartered_buyer_in_malaysia_needs_the_chinese_licence() -> None:
    """The Oct-2023 rule reaches entities headquartered in D:5 or Macau wherever located."""
    date, h100 = dt.date(2024, 6, 1), CATALOGUE["h100-sxm"]
    home = classify(h100, "CN", date, library=LIB)
    abroad = classify(h100, Buyer.of("MY", "CN"), date, library=LIB)
    local = classify(h100, "MY", date, library=LIB)
    assert (abroad.status, abroad.review_policy, abroad.rule) == (
        home.status,
        home.review_policy,
        home.rule,
    )
    assert home.status == "licence_required" and local.status == "no_licence"
    assert abroad.buyer == "MY" and abroad.headquarters == "CN"
    assert any("headquartered in CN" in r for r in abroad.reasons)


def test_headquarters_outside_d5_change_nothing() -> None:
    h100 = CATALOGUE["h100-sxm"]
    sg_owned = classify(h100, Buyer.of("MY", "SG"), dt.date(2024, 6, 1), library=LIB)
    assert sg_owned.status == "no_licence"


def test_under_the_diffusion_rule_a_china_owned_buyer_stays_tier_3() -> None:
    """Fixed us-2025-01: a Malaysian buyer is Tier 2 (licence, approval within the allocation);
    one headquartered in China keeps the presumption of denial."""
    h100 = CATALOGUE["h100-sxm"]
    tier2 = classify(h100, "MY", None, library=LIB, regime="us-2025-01")
    owned = classify(h100, Buyer.of("MY", "CN"), None, library=LIB, regime="us-2025-01")
    assert (tier2.review_policy, tier2.rule) == ("approval", "us-2025-01/diffusion-tier2")
    assert owned.review_policy == "presumption_of_denial"


def test_cli_headquarters_option_and_unknown_codes() -> None:
    args = ("export", "classify", "h100-sxm", "--date", "2024-06-01", "--format", "json")
    code, out, _ = run(*args, "--buyer", "MY", "--headquarters", "cn")
    assert code == 0
    row = json.loads(out)[0]
    assert (row["buyer"], row["headquarters"], row["status"]) == ("MY", "CN", "licence_required")
    code, _, err = run(*args, "--buyer", "MY", "--headquarters", "Zhongguo")
    assert code == 2
    assert "--headquarters" in err and "ISO 3166" in err and "Traceback" not in err


# --- AI Diffusion caps are one allowance for 2025-2027 ------------------------------------------


def test_the_diffusion_country_cap_is_cumulative_over_2025_2027() -> None:
    c = classify(CATALOGUE["h100-sxm"], "MY", None, library=LIB, regime="us-2025-01")
    cap = next(c for c in c.caps if c.kind == "country_allocation_tpp")
    assert cap.cumulative and (cap.first_year, cap.last_year) == (2025, 2027)
    assert cap.covers(2027) and not cap.covers(2028)
    lpp = next(c for c in c.caps if c.kind == "per_customer_exemption_tpp")
    assert not lpp.cumulative
