"""The rules engine on synthetic parts: thresholds, dates, purchase terms, and bad regime files."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields, replace
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.catalogue.parts import Part
from planner.errors import InputError, UnknownName
from planner.rules import (
    RegimeLibrary,
    check_buyer,
    classify,
    parse_date,
    purchase_terms,
)

LIB = RegimeLibrary.load()
GB = 1e9


def make_part(
    tpp: float,
    *,
    pd: float | None = None,
    io_gb_per_s: float = 0.0,
    datacenter: bool = True,
    designed_in: str = "US",
    memory_tb_per_s: float = 1.0,
    scale_up_gb_per_s: float = 0.0,
    part_id: str = "synthetic",
) -> Part:
    """A part whose INT8 dense rate gives exactly `tpp` (TPP = TOPS x 8) and area gives `pd`."""
    area = None if pd is None or pd == 0 else tpp / pd
    given = dict(
        id=part_id,
        name=part_id,
        vendor="test",
        kind="gpu",
        datacenter=datacenter,
        designed_in=designed_in,
        fabricated_in="TW",
        software_stack="none",
        launch_date=None,
        process_node=None,
        die_area_mm2=area,
        cores=None,
        peak_dense_ops_per_s=MappingProxyType({"int8": tpp / 8 * 1e12}),
        memory_type="HBM3",
        memory_bytes=80e9,
        memory_bandwidth_bytes_per_s=memory_tb_per_s * 1e12,
        scale_up_bandwidth_bytes_per_s=scale_up_gb_per_s * GB,
        io_bandwidth_bytes_per_s=io_gb_per_s * GB,
        tdp_w=700.0,
        idle_w=70.0,
        server_overhead_w=500.0,
        unit_price=None,
        price_currency=None,
        price_date=None,
        availability="",
        flop_efficiency_fraction=None,
        bandwidth_efficiency_fraction=None,
        interconnect_efficiency_fraction=None,
        path=Path("synthetic.yaml"),
    )
    # Fields added to Part later (by other parts of the planner) default to unknown.
    rest = {f.name: None for f in fields(Part) if f.name not in given and f.init}
    rest.pop("provenance", None)
    return Part(**given, **rest)


def eccn_under(regime: str, part: Part, buyer: str = "CN") -> str | None:
    return classify(part, buyer, None, library=LIB, regime=regime).eccn


def oracle_2023(tpp: float, pd: float, datacenter: bool) -> str | None:
    """3A090 of Oct-2023 written out plainly from the rule text (independent of the YAML)."""
    if tpp >= 4800 or (datacenter and tpp >= 1600 and pd >= 5.92):
        return "3A090.a"
    if datacenter and (
        (2400 <= tpp < 4800 and 1.6 <= pd < 5.92) or (tpp >= 1600 and 3.2 <= pd < 5.92)
    ):
        return "3A090.b"
    return None


def near(threshold: float) -> st.SearchStrategy[float]:
    """Just below, at, or just above a threshold."""
    return st.sampled_from([threshold * (1 - 1e-6), threshold, threshold * (1 + 1e-6)])


# --- TPP and arithmetic ---------------------------------------------------------------------


def test_tpp_arithmetic_and_io_are_shown() -> None:
    c = classify(
        make_part(4992, pd=6.04, io_gb_per_s=664), "CN", None, library=LIB, regime="us-2022-10"
    )
    assert c.tpp == pytest.approx(4992)
    assert c.performance_density == pytest.approx(6.04)
    assert "x 8 bit = 4,992" in c.arithmetic
    assert "= 664 GB/s" in c.arithmetic
    assert c.eccn == "3A090.a" and c.rule == "us-2022-10/3a090-china"


# --- thresholds: hypothesis around every edge -----------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    tpp=st.one_of(near(4800), st.floats(0, 20000)),
    io=st.one_of(near(600), st.floats(0, 2000)),
)
def test_2022_needs_both_tpp_and_io(tpp: float, io: float) -> None:
    expected = "3A090.a" if tpp >= 4800 and io >= 600 else None
    assert eccn_under("us-2022-10", make_part(tpp, pd=1.0, io_gb_per_s=io)) == expected


@settings(max_examples=300, deadline=None)
@given(
    tpp=st.one_of(near(4800), near(2400), near(1600), st.floats(0, 30000)),
    pd=st.one_of(near(5.92), near(3.2), near(1.6), st.floats(0.01, 40)),
    datacenter=st.booleans(),
)
def test_2023_buckets_match_the_rule_text(tpp: float, pd: float, datacenter: bool) -> None:
    part = make_part(tpp, pd=pd, datacenter=datacenter)
    assert eccn_under("us-2023-10", part) == oracle_2023(tpp, pd, datacenter)


@pytest.mark.parametrize(
    ("tpp", "pd", "expected"),
    [
        (4800, 0.5, "3A090.a"),
        (4800 * (1 - 1e-6), 0.5, None),
        (1600, 5.92, "3A090.a"),
        (1600, 5.92 * (1 - 1e-6), "3A090.b"),
        (1600 * (1 - 1e-6), 5.92, None),
        (2400, 1.6, "3A090.b"),
        (2400, 1.6 * (1 - 1e-6), None),
        (2400 * (1 - 1e-6), 1.6, None),
        (1600, 3.2, "3A090.b"),
        (1600, 3.2 * (1 - 1e-6), None),
    ],
)
def test_2023_hand_checked_edges(tpp: float, pd: float, expected: str | None) -> None:
    assert eccn_under("us-2023-10", make_part(tpp, pd=pd)) == expected


def test_non_datacenter_parts_are_caught_only_at_4800() -> None:
    assert eccn_under("us-2023-10", make_part(4000, pd=10, datacenter=False)) is None
    consumer = classify(
        make_part(5286, pd=8.7, datacenter=False), "CN", None, library=LIB, regime="us-2023-10"
    )
    assert (consumer.eccn, consumer.status) == ("3A090.a", "notification")
    assert consumer.rule == "us-2023-10/nac-notification-d5"


def test_unknown_die_area_is_reported_not_guessed() -> None:
    c = classify(make_part(3000, pd=None), "CN", None, library=LIB, regime="us-2023-10")
    assert c.eccn is None
    assert any("could be 3A090.a" in r and "PD unknown" in r for r in c.reasons)


# --- licence status by buyer ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("buyer", "status", "policy"),
    [
        ("CN", "licence_required", "presumption_of_denial"),
        ("MO", "licence_required", "presumption_of_denial"),
        ("VN", "licence_required", "approval"),  # D:1, not D:5
        ("DE", "no_licence", None),
        ("US", "no_licence", None),
    ],
)
def test_2023_datacenter_a_by_buyer(buyer: str, status: str, policy: str | None) -> None:
    c = classify(make_part(15832, pd=19.45), buyer, None, library=LIB, regime="us-2023-10")
    assert (c.status, c.review_policy) == (status, policy)


def test_3a090b_needs_a_notification_for_china_and_nothing_for_vietnam() -> None:
    part = make_part(3000, pd=4.0)
    cn = classify(part, "CN", None, library=LIB, regime="us-2023-10")
    vn = classify(part, "VN", None, library=LIB, regime="us-2023-10")
    assert (cn.eccn, cn.status, cn.rule) == (
        "3A090.b",
        "notification",
        "us-2023-10/nac-notification-d5",
    )
    assert (vn.status, vn.rule) == ("no_licence", "us-2023-10/aca-d1d4")


def test_foreign_part_bought_at_home_is_not_subject() -> None:
    ascend_like = make_part(12000, pd=9, designed_in="CN")
    c = classify(ascend_like, "CN", dt.date(2025, 6, 1), library=LIB)
    assert c.eccn == "3A090.a" and not c.subject
    assert (c.status, c.rule) == ("no_licence", None)
    assert any("bought at home: not an export" in r for r in c.reasons)


def test_h20_class_test_catches_bandwidth_not_just_names() -> None:
    lookalike = make_part(2000, pd=2.0, memory_tb_per_s=4.0, part_id="h20-lookalike")
    slower = make_part(2000, pd=2.0, memory_tb_per_s=3.99, part_id="slower")
    april = dt.date(2025, 4, 20)
    assert classify(lookalike, "CN", april, library=LIB).rule == "us-2025-04/h20-class-licence"
    assert classify(slower, "CN", april, library=LIB).status == "no_licence"


# --- dates pick the right snapshot ----------------------------------------------------------


@pytest.mark.parametrize("snapshot", list(LIB), ids=lambda r: r.id)
def test_effective_date_switches_snapshot(snapshot) -> None:  # type: ignore[no-untyped-def]
    j = snapshot.jurisdiction
    before = LIB.in_force(snapshot.effective - dt.timedelta(days=1), j)
    on = LIB.in_force(snapshot.effective, j)
    assert on is not None and on.id == snapshot.id
    assert (before.id if before else None) == snapshot.extends


def test_no_us_regime_before_october_2022() -> None:
    c = classify(make_part(15832, pd=19.45), "CN", dt.date(2022, 10, 6), library=LIB)
    assert (c.status, c.regimes) == ("no_licence", ())


def test_diffusion_binds_only_when_fixed_not_before_its_compliance_date() -> None:
    part = make_part(15832, pd=19.45)
    feb = classify(part, "MY", dt.date(2025, 2, 1), library=LIB)
    assert feb.status == "no_licence"
    assert any("compliance not required before 2025-05-15" in r for r in feb.reasons)
    fixed = classify(part, "MY", None, library=LIB, regime="us-2025-01")
    assert (fixed.status, fixed.rule) == ("licence_required", "us-2025-01/diffusion-tier2")
    assert {c.kind: c.value for c in fixed.caps} == {
        "country_allocation_tpp": 790_000_000,
        "per_customer_exemption_tpp": 26_900_000,
    }
    assert classify(part, "JP", None, library=LIB, regime="us-2025-01").status == "no_licence"
    after = classify(part, "MY", dt.date(2025, 6, 1), library=LIB)
    assert (after.status, after.regimes[0]) == ("no_licence", "us-2025-05")


# --- purchase terms -------------------------------------------------------------------------


def terms(part: Part, date: dt.date, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("state_funded_site", False)
    return purchase_terms(part, "CN", date, library=LIB, **kw)


def test_purchase_terms_fees_bans_and_subsidies() -> None:
    # The 25% duty of the 14-Jan-2026 proclamation is applied to the parts it names, the H200 and
    # MI325X (Crane Worldwide and Husch Blackwell summaries, export_regimes/us-2026-01.yaml), so
    # the synthetic part carries the H200's id; an unnamed lookalike gets case-by-case, no duty.
    h200_like = make_part(
        15832, pd=19.45, memory_tb_per_s=4.8, scale_up_gb_per_s=900, part_id="h200"
    )
    b200_like = make_part(36000, pd=22.5, memory_tb_per_s=8.0)
    domestic = make_part(12000, pd=9, designed_in="CN")
    march = dt.date(2026, 3, 1)

    t = terms(h200_like, march)
    assert t.allowed and t.price_uplift_fraction == pytest.approx(0.25)
    assert t.rules == ("us-2026-01/case-by-case-h200-mi325x",)
    unnamed = terms(replace(h200_like, id="h200-lookalike"), march)
    assert unnamed.allowed and unnamed.price_uplift_fraction == 0.0
    assert unnamed.rules == ("us-2026-01/case-by-case-below-h200",)
    assert not terms(h200_like, march, state_funded_site=True).allowed
    assert not terms(h200_like, march, buyable_policies={"approval"}).allowed
    assert not terms(b200_like, march).allowed
    assert not terms(h200_like, dt.date(2025, 12, 1)).allowed

    home = terms(domestic, march, state_funded_site=True)
    assert home.allowed and home.price_uplift_fraction == 0
    assert home.power_subsidy_fraction == pytest.approx(0.5)
    assert terms(domestic, march, site_region="guizhou").power_subsidy_fraction == 0.5
    assert terms(domestic, march, site_region="Guangdong").power_subsidy_fraction == 0.0
    assert terms(domestic, dt.date(2025, 10, 1)).power_subsidy_fraction == 0.0


def test_revenue_share_pass_through_is_a_parameter() -> None:
    h20_like = make_part(2368, pd=2.91, memory_tb_per_s=4.0, part_id="h20")
    sept = dt.date(2025, 9, 1)
    assert terms(h20_like, sept).price_uplift_fraction == pytest.approx(0.15)
    half = terms(h20_like, sept, revenue_share_pass_through=0.5)
    assert half.price_uplift_fraction == pytest.approx(0.075)


# --- user input -----------------------------------------------------------------------------


def test_buyer_and_date_checks() -> None:
    assert check_buyer("cn") == "CN"
    for bad in ("China", "C", "XX"):
        with pytest.raises(InputError, match=r"^buyer: "):
            check_buyer(bad)
    assert parse_date("2025-06-01") == dt.date(2025, 6, 1)
    with pytest.raises(InputError, match=r"^date: "):
        parse_date("2025-13-01")


def test_a_date_or_a_regime_is_needed() -> None:
    with pytest.raises(InputError, match="neither a date nor a regime"):
        classify(make_part(100), "CN", None, library=LIB)


def test_unknown_regime_suggests_a_name() -> None:
    with pytest.raises(UnknownName, match="did you mean 'us-2023-10'"):
        LIB["us-2023-1O"]


def write(folder: Path, name: str, text: str) -> Path:
    regimes = folder / "export_regimes"
    regimes.mkdir(exist_ok=True)
    path = regimes / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


CHILD = """
id: us-2027-01
jurisdiction: US
title: test amendment
effective: 2027-01-01
extends: us-2026-01
citation: none
sources: {s: {title: test}}
controls:
  - id: case-by-case-below-h200
    title: raised duty
    buyers: {countries: [CN]}
    part: {eccn: [3A090.a], tpp_below: 21000}
    status: licence_required
    review_policy: case_by_case
    duty_fraction: 0.4
    source: s
    confidence: estimate
    note: what-if
"""


def test_a_new_rule_is_a_new_file(tmp_path: Path) -> None:
    write(tmp_path, "us-2027-01", CHILD)
    lib = RegimeLibrary.load([tmp_path])
    part = make_part(15832, pd=19.45, memory_tb_per_s=4.8)
    c = classify(part, "CN", dt.date(2027, 6, 1), library=lib)
    assert c.rule == "us-2027-01/case-by-case-below-h200"
    assert c.fees.duty_fraction == pytest.approx(0.4)
    assert lib["us-2026-01"].end == dt.date(2027, 1, 1)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("extends: us-2026-01", "extends: us-2026-1"), "extends"),
        (lambda t: t.replace("source: s\n", "source: nowhere\n"), "controls[0].source"),
        (
            lambda t: t.replace("duty_fraction: 0.4", "duty_fraction: 1.4"),
            "controls[0].duty_fraction",
        ),
        (
            lambda t: t.replace("tpp_below: 21000", "tpp_below: 21000, tpp_max: 3"),
            "controls[0].part.tpp_max",
        ),
        (lambda t: t.replace("    status: licence_required\n", ""), "controls[0].status"),
        (lambda t: t.replace("effective: 2027-01-01", "effective: 2027-13-01"), "a date"),
        (
            lambda t: t + "country_groups: {T: {members: [CN, NO], source: s, confidence: press}}",
            "country_groups.T.members",
        ),
        (lambda t: t.replace("title: raised duty", "title: [unclosed"), "line"),
    ],
)
def test_malformed_regime_file_names_file_and_field(tmp_path: Path, edit, field: str) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "us-2027-01", edit(CHILD))
    with pytest.raises(InputError) as err:
        RegimeLibrary.load([tmp_path])
    assert str(path) in str(err.value)
    assert field in str(err.value)
    assert "Fix:" in str(err.value)


def test_overlay_replaces_a_shipped_snapshot_by_id(tmp_path: Path) -> None:
    shipped = LIB["cn-2025-11"].path.read_text(encoding="utf-8")
    write(
        tmp_path,
        "cn-2025-11",
        shipped.replace("power_subsidy_fraction: 0.5", "power_subsidy_fraction: 0.3"),
    )
    lib = RegimeLibrary.load([tmp_path])
    domestic = replace(make_part(12000, pd=9), designed_in="CN")
    t = purchase_terms(domestic, "CN", dt.date(2026, 1, 1), state_funded_site=False, library=lib)
    assert t.power_subsidy_fraction == pytest.approx(0.3)
