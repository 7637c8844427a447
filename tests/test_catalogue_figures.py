"""Catalogue figures checked against the public record (issue 13): each doubtful figure shows its
range and an honest confidence; corrected figures give the TPP the rules see."""

from __future__ import annotations

import pytest

from planner.catalogue.parts import BIT_LENGTH, Catalogue
from planner.catalogue.tpp import assessed_processing_performance, total_processing_performance


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_910c_fp16_links_and_board_power(catalogue: Catalogue) -> None:
    """Huawei Connect 2025: 800 TFLOPS FP16 (TPP 12,800) and 784 GB/s links; board power an
    estimate of 800 W (two 910B-class dies at up to 400 W), not the 620 W read before."""
    part = catalogue["ascend-910c"]
    assert total_processing_performance(part).tpp == pytest.approx(12_800)
    assert part.scale_up_bandwidth_bytes_per_s == pytest.approx(784e9)
    assert part.tdp_w == pytest.approx(800)
    tdp = part.provenance["tdp_w"]
    assert tdp.confidence == "estimate" and "620-800 W" in (tdp.note or "")


def test_910b_figures_carry_their_ranges(catalogue: Catalogue) -> None:
    """FP16 320-336 TFLOPS (TPP 5,120-5,376, above 4,800 either way), HBM 1.2-1.6 TB/s and
    310-400 W: the ranges are in the notes, and the disputed figures are estimates."""
    part = catalogue["ascend-910b"]
    tpp = total_processing_performance(part)
    assert tpp.tpp == pytest.approx(5_120)
    assert "320-336" in (part.provenance["peak_dense.fp16"].note or "")
    for field, text in (("memory_bandwidth_bytes_per_s", "1.2-1.6"), ("tdp_w", "310-400")):
        figure = part.provenance[field]
        assert figure.confidence == "estimate" and text in (figure.note or ""), field


def test_zhenwu_compute_is_the_low_end_of_a_stated_range(catalogue: Catalogue) -> None:
    """1,945 P over 16,384 cards = 118.7 TFLOPS; 'beats the A800' would mean up to 312."""
    part = catalogue["zhenwu-ppu"]
    assert part.peak("bf16") == pytest.approx(119e12)
    figure = part.provenance["peak_dense.bf16"]
    assert figure.confidence == "estimate" and "119-312" in (figure.note or "")


def test_fp6_counts_six_bits_and_the_mi355x_is_assessed_at_fp6(catalogue: Catalogue) -> None:
    """CDNA 4 runs FP6 at the FP4 rate: 10,050 TFLOPS x 6 = 60,300 (about 60,400)."""
    assert BIT_LENGTH["fp6"] == 6
    tpp = total_processing_performance(catalogue["mi355x"])
    assert tpp.precision == "fp6" and tpp.tpp == pytest.approx(60_400, rel=0.005)


def test_mlu370_is_assessed_per_chip(catalogue: Catalogue) -> None:
    """Two Siyuan 370 chips on one card: 2,048 for the card, 1,024 per IC as 3A090 counts."""
    part = catalogue["mlu370-x8"]
    assert total_processing_performance(part).tpp == pytest.approx(2_048)
    assert assessed_processing_performance(part).tpp == pytest.approx(1_024)


def test_b200_fp64(catalogue: Catalogue) -> None:
    assert catalogue["b200"].peak("fp64") == pytest.approx(37e12)


# --- parts added for a 2026 plan (issue 13) ----------------------------------------------------


def classify_on(part_id: str, date: str, buyer: str = "CN"):  # type: ignore[no-untyped-def]
    from planner.rules import RegimeLibrary, classify, parse_date

    return classify(
        Catalogue.load()[part_id], buyer, parse_date(date), library=RegimeLibrary.load()
    )


@pytest.mark.parametrize(
    ("date", "policy", "revenue_share"),
    [("2025-04-20", "presumption_of_denial", 0.0), ("2025-09-01", "approval", 0.15)],
)
def test_the_mi308x_rules_now_match_a_part(date: str, policy: str, revenue_share: float) -> None:
    """The Apr-2025 and Aug-2025 H20/MI308 controls name `mi308x`; its TPP 4,272 (a lower
    bound) and unknown die area leave it 'could be 3A090.b', which the named control covers."""
    c = classify_on("mi308x", date)
    assert c.status == "licence_required" and c.review_policy == policy
    assert c.fees.revenue_share_fraction == pytest.approx(revenue_share)
    assert c.rule is not None and c.rule.endswith("/h20-class-licence")


def test_estimate_grade_parts_say_so(catalogue: Catalogue) -> None:
    for part_id in ("mi308x", "ascend-950pr", "ascend-950dt", "b30a"):
        part = catalogue[part_id]
        peaks = [k for k in part.provenance if k.startswith("peak_dense.")]
        assert peaks and all(part.provenance[k].confidence == "estimate" for k in peaks), part_id
    assert total_processing_performance(catalogue["ascend-950pr"]).tpp == pytest.approx(6_240)
    assert total_processing_performance(catalogue["ascend-950dt"]).tpp == pytest.approx(8_000)


@pytest.mark.parametrize(
    ("part_id", "policy"),
    [("rtx-pro-6000-server", "case_by_case"), ("b30a", "presumption_of_denial")],
)
def test_new_nvidia_parts_for_china_in_2026(part_id: str, policy: str) -> None:
    """RTX PRO 6000 Server (TPP 8,000, 1.8 TB/s) fits the Jan-2026 opening, without the duty
    that names the H200 and MI325X; the B30A (TPP ~26,000) does not."""
    c = classify_on(part_id, "2026-02-01")
    assert (c.eccn, c.status, c.review_policy) == ("3A090.a", "licence_required", policy)
    assert c.fees.duty_fraction == 0.0
